package orchestrator

import "slices"

// State is an investigation's position in the graph.
type State string

// The eight states.
const (
	StateReceived      State = "received"
	StateParsing       State = "parsing"
	StateEnriching     State = "enriching"
	StateReasoning     State = "reasoning"
	StateAwaitingHuman State = "awaiting_human"
	StateResponding    State = "responding"
	StateClosed        State = "closed"
	StateFailed        State = "failed"
)

// States returns the eight states in pipeline order.
func States() []State {
	return []State{StateReceived, StateParsing, StateEnriching, StateReasoning,
		StateAwaitingHuman, StateResponding, StateClosed, StateFailed}
}

// Valid reports whether s is one of the eight states.
func (s State) Valid() bool {
	switch s {
	case StateReceived, StateParsing, StateEnriching, StateReasoning,
		StateAwaitingHuman, StateResponding, StateClosed, StateFailed:
		return true
	}
	return false
}

// Terminal reports whether s is closed or failed. The only edge out of
// closed is the governance re-open (E12).
func (s State) Terminal() bool { return s == StateClosed || s == StateFailed }

// UnmarshalText rejects unknown states with ErrInvalidState, so a corrupted
// or foreign checkpoint never enters the machine.
func (s *State) UnmarshalText(b []byte) error {
	v := State(b)
	if !v.Valid() {
		return &stateError{string(b)}
	}
	*s = v
	return nil
}

type stateError struct{ value string }

func (e *stateError) Error() string {
	const limit = 64
	v := e.value
	if len(v) > limit {
		v = v[:limit]
	}
	return "orchestrator: invalid investigation state " + quote(v)
}

func (e *stateError) Is(target error) bool { return target == ErrInvalidState }

// AgentRole names an agent of the graph; the role permission matrix is keyed
// by it.
type AgentRole string

// The six agent roles.
const (
	RoleIOCExtractor    AgentRole = "ioc_extractor"
	RoleContextEnricher AgentRole = "context_enricher"
	RoleReasoningAgent  AgentRole = "reasoning_agent"
	RoleResponseAgent   AgentRole = "response_agent"
	RoleCTEMCorrelator  AgentRole = "ctem_correlator"
	RoleATLASMapper     AgentRole = "atlas_mapper"
)

// AgentRoles returns the six roles.
func AgentRoles() []AgentRole {
	return []AgentRole{RoleIOCExtractor, RoleContextEnricher, RoleReasoningAgent,
		RoleResponseAgent, RoleCTEMCorrelator, RoleATLASMapper}
}

// Edge is one edge of the state table (spec §3.1).
type Edge struct {
	// ID is E1 … E12.
	ID       string
	From, To State
}

// edges is the state table. E11 (any non-terminal → failed) is expanded per
// source state. Read-only after initialisation.
var edges = []Edge{
	{"E1", StateReceived, StateParsing},
	{"E2", StateParsing, StateClosed},
	{"E3", StateParsing, StateEnriching},
	{"E4", StateEnriching, StateReasoning},
	{"E5", StateReasoning, StateAwaitingHuman},
	{"E6", StateReasoning, StateResponding},
	{"E7", StateResponding, StateClosed},
	{"E8", StateAwaitingHuman, StateResponding},
	{"E9", StateAwaitingHuman, StateClosed},
	{"E10", StateAwaitingHuman, StateClosed},
	{"E11", StateReceived, StateFailed},
	{"E11", StateParsing, StateFailed},
	{"E11", StateEnriching, StateFailed},
	{"E11", StateReasoning, StateFailed},
	{"E11", StateAwaitingHuman, StateFailed},
	{"E11", StateResponding, StateFailed},
	{"E12", StateClosed, StateParsing},
}

// Edges returns the state table, E11 expanded per non-terminal source.
func Edges() []Edge { return slices.Clone(edges) }

// CanTransition reports whether from → to is an edge of the table.
func CanTransition(from, to State) bool {
	for _, e := range edges {
		if e.From == from && e.To == to {
			return true
		}
	}
	return false
}
