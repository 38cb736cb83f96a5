// Package taxonomy is the controlled vocabulary of Warden's audit trail: the 48
// event types and the category each belongs to, plus the closed vocabularies
// (categories, actor types, record severities) that the audit producer validates
// and the open vocabularies (decision types, outcome statuses, degradation
// levels, model tiers, ...) that services write into context, decision and
// outcome fields.
//
// Every type is string-based so it marshals to exactly the wire string. Matching
// is exact and case-sensitive. The package has no state and no dependencies; its
// tables are unexported and copied on return.
package taxonomy

import (
	"errors"
	"strconv"
)

// ErrUnknown is matched by errors.Is for every *UnknownValueError.
var ErrUnknown = errors.New("taxonomy: unknown value")

// UnknownValueError reports a string that is not in a closed vocabulary.
type UnknownValueError struct {
	// Kind is one of "event type", "category", "actor type", "severity",
	// "model tier", "degradation level".
	Kind  string
	Value string
}

func (e *UnknownValueError) Error() string {
	return "taxonomy: unknown " + e.Kind + " " + strconv.Quote(e.Value)
}

// Is reports whether target is ErrUnknown.
func (e *UnknownValueError) Is(target error) bool { return target == ErrUnknown }

func unknown(kind, value string) error { return &UnknownValueError{Kind: kind, Value: value} }

// EventType names an audit event, e.g. "alert.classified".
type EventType string

// Category groups event types: decision, action, approval, security, system.
type Category string

// The five categories, in their canonical order.
const (
	CategoryDecision Category = "decision"
	CategoryAction   Category = "action"
	CategoryApproval Category = "approval"
	CategorySecurity Category = "security"
	CategorySystem   Category = "system"
)

var categories = [...]Category{CategoryDecision, CategoryAction, CategoryApproval, CategorySecurity, CategorySystem}

// EventInfo describes one event type as the taxonomy table does.
type EventInfo struct {
	Type     EventType
	Category Category
	// TypicalActor is informational; the producer does not check it.
	TypicalActor ActorType
	Description  string
}

// eventIndex maps a wire value to its position in eventTable. It is built once
// from the table at package initialisation (a plain variable initialiser, no
// init function) and never written afterwards.
var eventIndex = func() map[EventType]int {
	m := make(map[EventType]int, len(eventTable))
	for i, info := range eventTable {
		m[info.Type] = i
	}
	return m
}()

// ParseEventType returns the event type for an exact wire value, or an
// *UnknownValueError.
func ParseEventType(s string) (EventType, error) {
	if _, ok := eventIndex[EventType(s)]; ok {
		return EventType(s), nil
	}
	return "", unknown("event type", s)
}

// Valid reports whether t is one of the 48 event types.
func (t EventType) Valid() bool { _, ok := eventIndex[t]; return ok }

// Category returns the category of t, or "" for an unknown type.
func (t EventType) Category() Category {
	if i, ok := eventIndex[t]; ok {
		return eventTable[i].Category
	}
	return ""
}

func (t EventType) String() string { return string(t) }

// MarshalText fails with *UnknownValueError for an invalid event type.
func (t EventType) MarshalText() ([]byte, error) {
	if !t.Valid() {
		return nil, unknown("event type", string(t))
	}
	return []byte(t), nil
}

// UnmarshalText parses with ParseEventType.
func (t *EventType) UnmarshalText(b []byte) error {
	v, err := ParseEventType(string(b))
	if err != nil {
		return err
	}
	*t = v
	return nil
}

// EventTypes returns all 48 event types in table order, in a fresh slice.
func EventTypes() []EventType {
	out := make([]EventType, len(eventTable))
	for i, info := range eventTable {
		out[i] = info.Type
	}
	return out
}

// EventTypesIn returns the event types of one category in table order; an
// unknown category yields an empty slice.
func EventTypesIn(c Category) []EventType {
	out := []EventType{}
	for _, info := range eventTable {
		if info.Category == c {
			out = append(out, info.Type)
		}
	}
	return out
}

// Describe returns the table row of t.
func Describe(t EventType) (EventInfo, bool) {
	if i, ok := eventIndex[t]; ok {
		return eventTable[i], true
	}
	return EventInfo{}, false
}

// Categories returns the five categories: decision, action, approval, security, system.
func Categories() []Category { return append([]Category(nil), categories[:]...) }

// ParseCategory returns the category for an exact wire value.
func ParseCategory(s string) (Category, error) {
	if Category(s).Valid() {
		return Category(s), nil
	}
	return "", unknown("category", s)
}

// Valid reports whether c is one of the five categories.
func (c Category) Valid() bool {
	for _, k := range categories {
		if k == c {
			return true
		}
	}
	return false
}

func (c Category) String() string { return string(c) }

// MarshalText fails with *UnknownValueError for an invalid category.
func (c Category) MarshalText() ([]byte, error) {
	if !c.Valid() {
		return nil, unknown("category", string(c))
	}
	return []byte(c), nil
}

// UnmarshalText parses with ParseCategory.
func (c *Category) UnmarshalText(b []byte) error {
	v, err := ParseCategory(string(b))
	if err != nil {
		return err
	}
	*c = v
	return nil
}

// ActorType says who acted: an agent, a human, the system or a scheduler.
type ActorType string

// The four actor types.
const (
	ActorAgent     ActorType = "agent"
	ActorHuman     ActorType = "human"
	ActorSystem    ActorType = "system"
	ActorScheduler ActorType = "scheduler"
)

// ActorTypes returns the four actor types.
func ActorTypes() []ActorType {
	return []ActorType{ActorAgent, ActorHuman, ActorSystem, ActorScheduler}
}

// ParseActorType returns the actor type for an exact wire value.
func ParseActorType(s string) (ActorType, error) {
	if ActorType(s).Valid() {
		return ActorType(s), nil
	}
	return "", unknown("actor type", s)
}

// Valid reports whether a is one of the four actor types.
func (a ActorType) Valid() bool {
	switch a {
	case ActorAgent, ActorHuman, ActorSystem, ActorScheduler:
		return true
	}
	return false
}

func (a ActorType) String() string { return string(a) }

// MarshalText fails with *UnknownValueError for an invalid actor type.
func (a ActorType) MarshalText() ([]byte, error) {
	if !a.Valid() {
		return nil, unknown("actor type", string(a))
	}
	return []byte(a), nil
}

// UnmarshalText parses with ParseActorType.
func (a *ActorType) UnmarshalText(b []byte) error {
	v, err := ParseActorType(string(b))
	if err != nil {
		return err
	}
	*a = v
	return nil
}

// Severity is the severity of the audit record itself (not of an alert; see
// AssignedSeverity). The default for a record is SeverityInfo.
type Severity string

// The three record severities.
const (
	SeverityInfo     Severity = "info"
	SeverityWarning  Severity = "warning"
	SeverityCritical Severity = "critical"
)

// Severities returns the three record severities.
func Severities() []Severity { return []Severity{SeverityInfo, SeverityWarning, SeverityCritical} }

// ParseSeverity returns the severity for an exact wire value.
func ParseSeverity(s string) (Severity, error) {
	if Severity(s).Valid() {
		return Severity(s), nil
	}
	return "", unknown("severity", s)
}

// Valid reports whether s is one of the three severities.
func (s Severity) Valid() bool {
	switch s {
	case SeverityInfo, SeverityWarning, SeverityCritical:
		return true
	}
	return false
}

func (s Severity) String() string { return string(s) }

// MarshalText fails with *UnknownValueError for an invalid severity.
func (s Severity) MarshalText() ([]byte, error) {
	if !s.Valid() {
		return nil, unknown("severity", string(s))
	}
	return []byte(s), nil
}

// UnmarshalText parses with ParseSeverity.
func (s *Severity) UnmarshalText(b []byte) error {
	v, err := ParseSeverity(string(b))
	if err != nil {
		return err
	}
	*s = v
	return nil
}
