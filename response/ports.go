package response

import "context"

// Executor performs actions on the outside world (EDR, IdP, firewall, a
// Kafka topic). Execute must honour ctx: its deadline is the action's
// execution timeout. It should forward req.IdempotencyKey to the target
// system or dedupe on it, because after a crash between "started" and
// "finished" the responder re-sends the same key.
type Executor interface {
	Execute(ctx context.Context, req ExecutionRequest) (ExecutionResult, error)
}

// Rollbacker is implemented by executors that can undo an execution.
type Rollbacker interface {
	Rollback(ctx context.Context, e Execution) error
}

// ExecutorFunc adapts a function to Executor.
type ExecutorFunc func(ctx context.Context, req ExecutionRequest) (ExecutionResult, error)

// Execute calls f.
func (f ExecutorFunc) Execute(ctx context.Context, req ExecutionRequest) (ExecutionResult, error) {
	return f(ctx, req)
}

// PlaybookQuery selects playbook suggestions.
type PlaybookQuery struct {
	TenantID   string
	Severity   string
	Tactics    []string
	Techniques []string
	Limit      int
}

// PlaybookLimit is the number of playbooks Respond asks for.
const PlaybookLimit = 3

// PlaybookStore suggests playbooks for a case. Suggestions are advisory: an
// error is logged and never fails Respond.
type PlaybookStore interface {
	Select(ctx context.Context, q PlaybookQuery) ([]Playbook, error)
}

// ZoneResolver finds the network zone of a target. ok=false means "no zone
// known"; an error is treated as the worst case (tier floor 2, reason
// zone_unknown).
type ZoneResolver interface {
	ZoneOf(ctx context.Context, tenantID, target string) (zone string, ok bool, err error)
}

// ZoneResolverFunc adapts a function to ZoneResolver.
type ZoneResolverFunc func(ctx context.Context, tenantID, target string) (string, bool, error)

// ZoneOf calls f.
func (f ZoneResolverFunc) ZoneOf(ctx context.Context, tenantID, target string) (string, bool, error) {
	return f(ctx, tenantID, target)
}

// TimeoutOverrides supplies a tenant's approval windows (severity → hours),
// e.g. from the orchestrator's tenant configuration. An error is logged and
// the fixed table (WithTimeouts) or the defaults apply.
type TimeoutOverrides interface {
	ApprovalTimeoutOverrides(ctx context.Context, tenantID string) (map[string]int, error)
}

// TimeoutOverridesFunc adapts a function to TimeoutOverrides.
type TimeoutOverridesFunc func(ctx context.Context, tenantID string) (map[string]int, error)

// ApprovalTimeoutOverrides calls f.
func (f TimeoutOverridesFunc) ApprovalTimeoutOverrides(ctx context.Context, tenantID string) (map[string]int, error) {
	return f(ctx, tenantID)
}

// ApprovalStore keeps approval records. Implementations must make Create and
// Update atomic: they are what makes one decision win.
type ApprovalStore interface {
	// Create stores a new record; ErrConflict if its id exists or an
	// awaiting record already exists for its investigation.
	Create(ctx context.Context, a Approval) error
	Get(ctx context.Context, approvalID string) (Approval, bool, error)
	// Open returns the investigation's awaiting record, if any.
	Open(ctx context.Context, investigationID string) (Approval, bool, error)
	// Latest returns the investigation's most recently created record.
	Latest(ctx context.Context, investigationID string) (Approval, bool, error)
	// Update replaces the record if its stored version is expectedVersion
	// (else ErrConflict) and stores it with version expectedVersion+1.
	Update(ctx context.Context, a Approval, expectedVersion int) error
	// ListOpen returns every awaiting record.
	ListOpen(ctx context.Context) ([]Approval, error)
}

// ExecutionStore keeps execution records; at most one per idempotency key.
type ExecutionStore interface {
	// Create stores a new record; ErrConflict if its id or idempotency key
	// exists.
	Create(ctx context.Context, e Execution) error
	Get(ctx context.Context, executionID string) (Execution, bool, error)
	ByKey(ctx context.Context, idempotencyKey string) (Execution, bool, error)
	// Update is a compare-and-swap like ApprovalStore.Update.
	Update(ctx context.Context, e Execution, expectedVersion int) error
	ListByInvestigation(ctx context.Context, investigationID string) ([]Execution, error)
}

// Approver is the reviewer side of the approval gate: a terminal prompt, an
// HTTP or chat integration, or a policy. The responder calls it when a gate
// opens and again when a timeout re-routes the gate to the escalated role.
//
// Returning decided=true applies the decision at once (role and channel are
// checked as for any decision; a rejected decision is logged and the gate
// stays open). Returning decided=false leaves the gate open for a later
// [Responder.Decide] (an HTTP handler, a chat callback) or the sweeper. An
// error never grants anything: it is logged and the gate stays open.
//
// RequestApproval may block (a terminal prompt); Open and the sweep that
// re-routes wait for it, holding no lock.
type Approver interface {
	RequestApproval(ctx context.Context, a Approval) (d Decision, decided bool, err error)
}

// ApproverFunc adapts a function to Approver.
type ApproverFunc func(ctx context.Context, a Approval) (Decision, bool, error)

// RequestApproval calls f.
func (f ApproverFunc) RequestApproval(ctx context.Context, a Approval) (Decision, bool, error) {
	return f(ctx, a)
}

// AutoGrantBelow is an approval policy: a gate whose pending actions all have
// an effective tier below limit is granted at once with decision as (its
// Verdict is forced to approve, its Approver defaults to "policy:auto-grant"
// and its Role to senior_analyst); every other gate goes to next (nil: left
// open for an asynchronous decision).
//
// limit is capped at TierRequiresApproval: this helper never grants a tier-2
// action unattended, so a gate that exists because of a destructive or
// unknown action always reaches a person. Gates opened only for review (low
// confidence, shadow mode, degradation) hold tier-0/1 actions and can be
// auto-granted.
func AutoGrantBelow(limit Tier, decision Decision, next Approver) Approver {
	limit = min(limit, TierRequiresApproval)
	decision.Verdict = VerdictApprove
	if decision.Approver == "" {
		decision.Approver = "policy:auto-grant"
	}
	if decision.Role == "" {
		decision.Role = RoleSeniorAnalyst
	}
	return ApproverFunc(func(ctx context.Context, a Approval) (Decision, bool, error) {
		if a.MaxTier() < limit {
			return decision, true, nil
		}
		if next == nil {
			return Decision{}, false, nil
		}
		return next.RequestApproval(ctx, a)
	})
}
