package response

import (
	"slices"
	"time"

	"github.com/socwarden/warden/taxonomy"
)

// Tier is an action-autonomy tier (0–2): how much human involvement an
// action needs before it runs. It is not a model tier ([taxonomy.ModelTier]).
type Tier int

// The three action tiers.
const (
	// TierAuto actions (monitoring, logging, notes) run without a human.
	TierAuto Tier = 0
	// TierAutoConditional actions (temporary, reversible blocks with notice)
	// run without a human.
	TierAutoConditional Tier = 1
	// TierRequiresApproval actions (isolate, disable, firewall block) never
	// run without a granted approval.
	TierRequiresApproval Tier = 2
)

// clampTier maps any integer onto 0–2, so an out-of-range model tier can
// neither underflow the catalogue floor nor name a tier that does not exist.
func clampTier(t Tier) Tier { return min(max(t, TierAuto), TierRequiresApproval) }

// Action is one recommended response action, as the reasoning model proposed
// it. The orchestrator stores these on its investigation; in an [Approval]'s
// PendingActions, Tier holds the effective tier (catalogue and zone floors
// applied) instead of the model's.
type Action struct {
	Action     string `json:"action"`
	Target     string `json:"target,omitempty"`
	Tier       Tier   `json:"tier"`
	Rationale  string `json:"rationale,omitempty"`
	PlaybookID string `json:"playbook_id,omitempty"`
}

// ActionStatus is the status of one [ActionResult].
type ActionStatus string

// Action result statuses.
const (
	ActionExecuted   ActionStatus = "executed"
	ActionFailed     ActionStatus = "failed"
	ActionBlocked    ActionStatus = "blocked"
	ActionSkipped    ActionStatus = "skipped"
	ActionRolledBack ActionStatus = "rolled_back"
)

// ActionResult is one line per action a Respond call handled; it replaces
// the reference's raw action messages.
type ActionResult struct {
	Action                string       `json:"action"`
	Target                string       `json:"target,omitempty"`
	Tier                  Tier         `json:"tier"`
	Status                ActionStatus `json:"status"`
	ConstraintBlockedType BlockedType  `json:"constraint_blocked_type,omitempty"`
	ExecutionID           string       `json:"execution_id,omitempty"`
	ApprovalID            string       `json:"approval_id,omitempty"`
	ApprovedBy            string       `json:"approved_by,omitempty"`
	// Replayed is true when the line reports an execution recorded by an
	// earlier call with the same idempotency key: the executor was not called
	// again and no event was emitted again.
	Replayed  bool      `json:"replayed,omitempty"`
	Timestamp time.Time `json:"timestamp"`
	Error     string    `json:"error,omitempty"`
}

// AssetZone is the network zone of one asset, taken from the investigation's
// CTEM exposures.
type AssetZone struct {
	AssetID string `json:"asset_id"`
	Zone    string `json:"asset_zone"`
}

// Case is the part of an investigation the response package reads. The
// orchestrator builds it from its Investigation (which response cannot import)
// and copies results back.
type Case struct {
	InvestigationID string
	TenantID        string
	AlertID         string
	// Severity is the investigation's severity (critical, high, medium, low).
	Severity string
	// Classification and Confidence feed the auto_close criteria.
	Classification string
	Confidence     float64
	// Actions are the recommended actions in the model's order.
	Actions []Action
	// AssetZones are the zones of assets with CTEM exposures; the first entry
	// whose AssetID equals an action's target gives that target's zone when
	// no ZoneResolver is configured.
	AssetZones []AssetZone
	// Tactics and Techniques are the ATT&CK context for playbook selection.
	Tactics    []string
	Techniques []string
	// ApprovalID names the approval record this case's pause belongs to
	// (set from Open's result); empty means "the investigation's latest".
	ApprovalID string
	// Results are the action results already recorded on the investigation;
	// actions executed there are skipped silently.
	Results []ActionResult
}

// Playbook is a response playbook a [PlaybookStore] can suggest.
type Playbook struct {
	PlaybookID string   `json:"playbook_id"`
	Title      string   `json:"title,omitempty"`
	Severity   string   `json:"severity,omitempty"`
	Tactics    []string `json:"tactics,omitempty"`
	Techniques []string `json:"techniques,omitempty"`
	Steps      []any    `json:"steps,omitempty"`
}

// Report is what Respond returns: the result lines and the playbook
// suggestions, for the orchestrator to merge into its investigation.
type Report struct {
	Results   []ActionResult
	Playbooks []Playbook
	// QueriesExecuted is 1 when the playbook store was queried, else 0.
	QueriesExecuted int
}

// Verdict is what a reviewer decided.
type Verdict string

// Verdicts.
const (
	VerdictApprove Verdict = "approve"
	VerdictDeny    Verdict = "deny"
	// VerdictTimeout applies the timeout step now, for hosts that run their
	// own timers instead of the sweeper.
	VerdictTimeout Verdict = "timeout"
)

// Role is an approver role. Roles are ranked; approving needs a rank at least
// that of the approval's required role.
type Role string

// Approver roles, lowest rank first.
const (
	RoleAnalyst       Role = "analyst"
	RoleSeniorAnalyst Role = "senior_analyst"
	RoleAdmin         Role = "admin"
)

// Rank orders roles: analyst 1, senior_analyst 2, admin 3; anything else 0
// (an unknown role can approve nothing).
func (r Role) Rank() int {
	switch r {
	case RoleAnalyst:
		return 1
	case RoleSeniorAnalyst:
		return 2
	case RoleAdmin:
		return 3
	}
	return 0
}

// Decision is a reviewer's decision on an approval (the orchestrator's
// HumanDecision).
type Decision struct {
	Verdict Verdict
	// Approver is the reviewer's identity; required for approve and deny.
	Approver string
	Role     Role
	// Channel is where the decision was made; empty means api.
	Channel taxonomy.ApprovalChannel
	Comment string
	// Classification is an optional analyst verdict the orchestrator records
	// in its shadow log; response does not read it.
	Classification string
}

// Outcome is the result of deciding or expiring an approval.
type Outcome string

// Approval outcomes.
const (
	OutcomeGranted           Outcome = "granted"
	OutcomeDenied            Outcome = "denied"
	OutcomeTimedOutClosed    Outcome = "timed_out_closed"
	OutcomeTimedOutEscalated Outcome = "timed_out_escalated"
	OutcomeTimedOutLeftOpen  Outcome = "timed_out_left_open"
	// OutcomePending is what [Approval.Outcome] reports for a record that is
	// still awaiting a decision; Resolve and Expire never return it.
	OutcomePending Outcome = "pending"
)

// ExpiredApproval is one approval a sweep timed out.
type ExpiredApproval struct {
	InvestigationID string
	TenantID        string
	ApprovalID      string
	Outcome         Outcome
}

// Actor names who performed a rollback.
type Actor struct {
	Type taxonomy.ActorType
	ID   string
}

// ApprovalState is the state of an approval record.
type ApprovalState string

// Approval states. Only awaiting_approval changes; the others are terminal.
const (
	StateAwaitingApproval ApprovalState = "awaiting_approval"
	StateGranted          ApprovalState = "granted"
	StateDenied           ApprovalState = "denied"
	StateTimedOut         ApprovalState = "timed_out"
)

// Approval is one approval gate record, as the ApprovalStore keeps it.
type Approval struct {
	ApprovalID      string          `json:"approval_id"`
	InvestigationID string          `json:"investigation_id"`
	TenantID        string          `json:"tenant_id"`
	AlertID         string          `json:"alert_id,omitempty"`
	State           ApprovalState   `json:"state"`
	PendingActions  []Action        `json:"pending_actions"`
	Reasons         []string        `json:"reasons,omitempty"`
	Severity        string          `json:"severity"`
	TimeoutSeconds  int64           `json:"timeout_seconds"`
	TimeoutBehavior TimeoutBehavior `json:"timeout_behavior"`
	RequestedAt     time.Time       `json:"requested_at"`
	Deadline        time.Time       `json:"approval_deadline"`
	AssignedTo      string          `json:"assigned_to"`
	RequiredRole    Role            `json:"required_role"`
	EscalationLevel int             `json:"escalation_level"`
	// EscalationNotified is set once the half-time reminder of the current
	// deadline window was sent.
	EscalationNotified bool `json:"escalation_notified"`
	// EscalationExhausted is set when a timeout found no re-route left: the
	// record stays open and decidable but is never timed out again.
	EscalationExhausted bool `json:"escalation_exhausted"`
	// Announced is set once response.prepared and approval.requested of the
	// record were emitted; an Open that finds an unannounced awaiting record
	// (its creator died first) announces it.
	Announced       bool                     `json:"announced,omitempty"`
	DecidedAt       time.Time                `json:"decided_at,omitzero"`
	DecidedBy       string                   `json:"decided_by,omitempty"`
	DecidedRole     Role                     `json:"decided_role,omitempty"`
	DecisionChannel taxonomy.ApprovalChannel `json:"decision_channel,omitempty"`
	DecisionComment string                   `json:"decision_comment,omitempty"`
	// Version is the optimistic-concurrency counter the store bumps on every
	// update.
	Version int `json:"version"`
}

// Timeout is the approval window of the current deadline.
func (a Approval) Timeout() time.Duration { return time.Duration(a.TimeoutSeconds) * time.Second }

// MaxTier is the highest effective tier among the pending actions (TierAuto
// when there are none).
func (a Approval) MaxTier() Tier {
	t := TierAuto
	for _, p := range a.PendingActions {
		t = max(t, p.Tier)
	}
	return t
}

// Outcome maps the record's state to the outcome a decision or timeout
// produced; an open record reports OutcomePending, or OutcomeTimedOutLeftOpen
// once its escalations are exhausted.
func (a Approval) Outcome() Outcome {
	switch a.State {
	case StateGranted:
		return OutcomeGranted
	case StateDenied:
		return OutcomeDenied
	case StateTimedOut:
		return OutcomeTimedOutClosed
	}
	if a.EscalationExhausted {
		return OutcomeTimedOutLeftOpen
	}
	return OutcomePending
}

func (a Approval) clone() Approval {
	a.PendingActions = slices.Clone(a.PendingActions)
	a.Reasons = slices.Clone(a.Reasons)
	return a
}

// ExecutionStatus is the status of an [Execution].
type ExecutionStatus string

// Execution statuses.
const (
	ExecutionRunning    ExecutionStatus = "running"
	ExecutionSucceeded  ExecutionStatus = "succeeded"
	ExecutionFailed     ExecutionStatus = "failed"
	ExecutionRolledBack ExecutionStatus = "rolled_back"
)

// Execution is the stored record of one executed action.
type Execution struct {
	ExecutionID string `json:"execution_id"`
	// IdempotencyKey identifies the side effect: investigation, action
	// identity and (for gated actions) the approval that authorised it. The
	// store holds at most one execution per key, which is what keeps a
	// replayed approval or a resumed investigation from executing twice.
	IdempotencyKey  string            `json:"idempotency_key"`
	InvestigationID string            `json:"investigation_id"`
	TenantID        string            `json:"tenant_id"`
	AlertID         string            `json:"alert_id,omitempty"`
	Action          string            `json:"action"`
	Target          string            `json:"target,omitempty"`
	PlaybookID      string            `json:"playbook_id,omitempty"`
	Tier            Tier              `json:"tier"`
	Status          ExecutionStatus   `json:"status"`
	Attempts        int               `json:"attempts"`
	StartedAt       time.Time         `json:"started_at"`
	FinishedAt      time.Time         `json:"finished_at,omitzero"`
	DurationMS      int64             `json:"duration_ms"`
	Error           string            `json:"error,omitempty"`
	ApprovalID      string            `json:"approval_id,omitempty"`
	ApprovedBy      string            `json:"approved_by,omitempty"`
	Reversible      bool              `json:"reversible"`
	Detail          string            `json:"detail,omitempty"`
	RollbackData    map[string]string `json:"rollback_data,omitempty"`
	RolledBackAt    time.Time         `json:"rolled_back_at,omitzero"`
	RolledBackBy    string            `json:"rolled_back_by,omitempty"`
	RollbackReason  string            `json:"rollback_reason,omitempty"`
	Version         int               `json:"version"`
}

func (e Execution) clone() Execution {
	if e.RollbackData != nil {
		m := make(map[string]string, len(e.RollbackData))
		for k, v := range e.RollbackData {
			m[k] = v
		}
		e.RollbackData = m
	}
	return e
}

// ExecutionRequest is what the Executor is asked to do.
type ExecutionRequest struct {
	ExecutionID string
	// IdempotencyKey is stable across retries and process restarts; an
	// executor that forwards it to the target system (or dedupes on it)
	// performs the action at most once even if a crash interrupted the
	// first attempt.
	IdempotencyKey  string
	InvestigationID string
	TenantID        string
	AlertID         string
	Action          string
	Target          string
	Tier            Tier
	PlaybookID      string
	Rationale       string
	RiskClass       RiskClass
	Zone            string
	Consequence     ConsequenceClass
	ApprovalID      string
	// ApprovedBy is the approver of a gated action; empty for auto actions.
	ApprovedBy string
}

// ExecutionResult is what the Executor reports for a successful execution.
type ExecutionResult struct {
	Detail string
	// Reversible says whether this execution can be undone; the stored
	// execution is reversible only if the catalogue agrees.
	Reversible   bool
	RollbackData map[string]string
}
