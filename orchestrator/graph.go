package orchestrator

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/socwarden/warden/response"
	"github.com/socwarden/warden/taxonomy"
)

// Agents are the graph's nodes. The four enrichment-side nodes are optional
// (nil = skipped); the reasoner and the responder are required.
type Agents struct {
	IOCExtractor    Node
	ContextEnricher Node
	CTEMCorrelator  Node
	ATLASMapper     Node
	Reasoner        Node
	Responder       Responder
}

// Graph drives investigations through the state machine. It is safe for
// concurrent use: Run on different alerts runs fully in parallel, and calls
// for one investigation id (Run, Continue, Resume, ExpireApprovals, Reopen)
// take turns on a per-id lock inside one Graph.
type Graph struct {
	// Immutable after New.
	repo   Repository
	agents Agents
	cfg    config
	log    *slog.Logger
	em     emitter

	locks keyedMutex
}

var _ Reopener = (*Graph)(nil)

// New validates its arguments and returns a graph. repo is required, and so
// are agents.Reasoner and agents.Responder (ErrMissingNode).
func New(repo Repository, agents Agents, opts ...Option) (*Graph, error) {
	cfg, err := buildConfig(opts)
	if err != nil {
		return nil, err
	}
	if repo == nil {
		return nil, &ConfigError{Option: "repo", Reason: "nil repository"}
	}
	if agents.Reasoner == nil {
		return nil, fmt.Errorf("%w: reasoner", ErrMissingNode)
	}
	if agents.Responder == nil {
		return nil, fmt.Errorf("%w: responder", ErrMissingNode)
	}
	return &Graph{repo: repo, agents: agents, cfg: cfg, log: cfg.logger, em: newEmitter(cfg.producer, cfg.logger)}, nil
}

// AuditPanics counts events dropped because the audit producer panicked.
func (g *Graph) AuditPanics() uint64 { return g.em.panics.Load() }

// level reads the degradation level once per call. A read error, a panic or
// an unknown level is applied as deterministic_only (fail safe: no LLM, no
// auto-close, a human decides).
func (g *Graph) level(ctx context.Context, tenant string) (l taxonomy.DegradationLevel) {
	if g.cfg.degradation == nil {
		return taxonomy.DegradationFullCapability
	}
	defer func() {
		if r := recover(); r != nil {
			g.log.Warn("orchestrator: degradation source panicked; applying deterministic_only", "panic", r)
			l = taxonomy.DegradationDeterministicOnly
		}
	}()
	raw, err := g.cfg.degradation.Level(ctx, tenant)
	if err != nil {
		g.log.Warn("orchestrator: degradation level unreadable; applying deterministic_only", "tenant_id", tenant, "error", err)
		return taxonomy.DegradationDeterministicOnly
	}
	if raw == "" {
		return taxonomy.DegradationFullCapability
	}
	lv, perr := taxonomy.ParseDegradationLevel(string(raw))
	if perr != nil {
		g.log.Warn("orchestrator: unknown degradation level; applying deterministic_only", "level", string(raw))
		return taxonomy.DegradationDeterministicOnly
	}
	return lv
}

// Run creates an investigation for a and drives it as far as it goes
// without a human. It returns a non-nil error only for invalid input
// (ErrMissingTenant), ErrPassthrough, context cancellation (the
// investigation stays at its last checkpoint; Continue resumes it) and a
// repository failure on a checkpoint. Node failures end in StateFailed with
// a nil error.
func (g *Graph) Run(ctx context.Context, a Alert) (*Investigation, error) {
	tenant := strings.TrimSpace(a.TenantID)
	if tenant == "" {
		return nil, ErrMissingTenant
	}
	lvl := g.level(ctx, tenant)
	if lvl == taxonomy.DegradationPassthrough {
		g.passthroughEscalated(&a, tenant)
		return nil, ErrPassthrough
	}
	inv := NewInvestigation(g.cfg.newID())
	inv.AlertID, inv.TenantID = a.AlertID, tenant
	inv.Title, inv.Description = a.Title, a.Description
	inv.RuleFamily, inv.DataSource, inv.AssetClass = a.ruleFamily(), a.dataSource(), a.assetClass()
	inv.Tactics, inv.Techniques = cloneStrings(a.Tactics), alertTechniques(&a)
	inv.Entities = cloneEntities(a.Entities)
	inv.Embedding = cloneFloats(a.Embedding)
	inv.Severity = NormalizeSeverity(string(a.Severity))
	inv.CreatedAt = g.cfg.now()
	inv.UpdatedAt = inv.CreatedAt

	unlock := g.locks.lock(inv.InvestigationID)
	defer unlock()
	return g.drive(ctx, inv, lvl)
}

// alertTechniques are the SIEM's technique ids followed by the ATT&CK ids
// the entity extractor found in the alert text, de-duplicated in order.
func alertTechniques(a *Alert) []string {
	var out []string
	for _, t := range a.Techniques {
		if t = strings.TrimSpace(t); t != "" && !contains(out, t) {
			out = append(out, t)
		}
	}
	for _, e := range a.Entities.AttackTechniques {
		if t := strings.TrimSpace(e.PrimaryValue); t != "" && !contains(out, t) {
			out = append(out, t)
		}
	}
	return out
}

// Continue loads a checkpoint and runs the rest of the pipeline from its
// state: a host resumes crashed runs and re-opened investigations with it.
// awaiting_human → ErrAwaitingHuman (use Resume); closed or failed →
// ErrTerminal; unknown id → (nil, ErrNotFound). Work the checkpoint still
// owed (its audit events, a shadow record, opening the approval gate) is
// completed first.
func (g *Graph) Continue(ctx context.Context, id string) (*Investigation, error) {
	unlock := g.locks.lock(id)
	defer unlock()
	inv, err := g.load(ctx, id)
	if err != nil {
		return nil, err
	}
	lvl := g.level(ctx, inv.TenantID)
	wasTerminal := inv.State.Terminal()
	if err := g.completePending(ctx, inv, lvl); err != nil {
		return inv, err
	}
	switch {
	case inv.State == StateAwaitingHuman:
		return inv, ErrAwaitingHuman
	case inv.State.Terminal() && wasTerminal:
		return inv, ErrTerminal
	}
	return g.drive(ctx, inv, lvl)
}

func (g *Graph) load(ctx context.Context, id string) (*Investigation, error) {
	inv, err := g.repo.Load(ctx, id)
	if err != nil {
		return nil, err
	}
	if inv == nil {
		return nil, ErrNotFound
	}
	return inv, nil
}

// drive runs stages until the investigation pauses, ends, or ctx is done.
func (g *Graph) drive(ctx context.Context, inv *Investigation, lvl taxonomy.DegradationLevel) (*Investigation, error) {
	for {
		if err := ctx.Err(); err != nil {
			return inv, err
		}
		var err error
		switch inv.State {
		case StateReceived:
			err = g.checkpoint(ctx, inv, lvl, StateParsing,
				NewDecisionEntry(string(RoleIOCExtractor), "start_ioc_extraction", g.cfg.now()), agentActor, nil)
		case StateParsing:
			err = g.parse(ctx, inv, lvl)
		case StateEnriching:
			err = g.enrich(ctx, inv, lvl)
		case StateReasoning:
			err = g.reason(ctx, inv, lvl)
		case StateResponding:
			err = g.respond(ctx, inv, lvl)
		case StateAwaitingHuman:
			if err = g.completePending(ctx, inv, lvl); err == nil {
				return inv, g.final(ctx, inv)
			}
		default: // closed, failed
			return inv, g.final(ctx, inv)
		}
		if err != nil {
			return inv, err
		}
	}
}

// final is the idempotent closing save; it also clears the emitted events
// from the stored checkpoint.
func (g *Graph) final(ctx context.Context, inv *Investigation) error {
	if err := g.repo.Save(ctx, inv); err != nil {
		return fmt.Errorf("orchestrator: save: %w", err)
	}
	return nil
}

// actor of an edge.
type edgeActor struct {
	typ taxonomy.ActorType
	id  string
}

var (
	agentActor = edgeActor{taxonomy.ActorAgent, ActorOrchestrator}
	gateActor  = edgeActor{taxonomy.ActorSystem, ActorApprovalGate}
)

// checkpoint performs one edge: validate, append the entry, set the state,
// save, emit state_changed followed by the events more adds. A failed save
// means the edge did not happen: the in-memory investigation is restored,
// E11 is attempted once on a detached context, and the repository error is
// returned.
func (g *Graph) checkpoint(ctx context.Context, inv *Investigation, lvl taxonomy.DegradationLevel, to State,
	entry DecisionEntry, actor edgeActor, more func(es *events)) error {
	return g.checkpointWith(ctx, inv, lvl, to, entry, actor, nil, more)
}

// checkpointWith is checkpoint with events that precede state_changed
// (investigation.enriched, alert.classified).
func (g *Graph) checkpointWith(ctx context.Context, inv *Investigation, lvl taxonomy.DegradationLevel, to State,
	entry DecisionEntry, actor edgeActor, before, after func(es *events)) error {
	from := inv.State
	if !CanTransition(from, to) {
		return &TransitionError{From: from, To: to}
	}
	snap := snapshotOf(inv)
	now := g.cfg.now()
	entry.Timestamp = now
	inv.DecisionChain = append(inv.DecisionChain, entry)
	inv.State, inv.UpdatedAt = to, now
	es := g.newEvents(inv, lvl)
	if before != nil {
		before(es)
	}
	es.stateChanged(from, to, entry, actor.typ, actor.id)
	if after != nil {
		after(es)
	}
	inv.PendingEvents = es.list
	inv.sanitizeNumbers()
	if err := g.repo.Save(ctx, inv); err != nil {
		snap.restore(inv)
		g.log.Error("orchestrator: checkpoint failed", "investigation_id", inv.InvestigationID,
			"from", string(from), "to", string(to), "error", err)
		if to != StateFailed {
			g.failAfterSaveError(ctx, inv, lvl, err)
		}
		return fmt.Errorf("orchestrator: checkpoint %s → %s: %w", from, to, err)
	}
	g.flush(inv)
	return nil
}

// save is a checkpoint without an edge (gate opened, timeout escalated).
func (g *Graph) save(ctx context.Context, inv *Investigation, lvl taxonomy.DegradationLevel, more func(es *events)) error {
	snap := snapshotOf(inv)
	inv.UpdatedAt = g.cfg.now()
	es := g.newEvents(inv, lvl)
	if more != nil {
		more(es)
	}
	inv.PendingEvents = es.list
	inv.sanitizeNumbers()
	if err := g.repo.Save(ctx, inv); err != nil {
		snap.restore(inv)
		return fmt.Errorf("orchestrator: save: %w", err)
	}
	g.flush(inv)
	return nil
}

// failAfterSaveError attempts E11 once after a failed checkpoint.
func (g *Graph) failAfterSaveError(ctx context.Context, inv *Investigation, lvl taxonomy.DegradationLevel, cause error) {
	if inv.State.Terminal() {
		return
	}
	dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), DefaultCheckpointRetryTimeout)
	defer cancel()
	if err := g.fail(dctx, inv, lvl, cause); err != nil {
		g.log.Error("orchestrator: could not record the failure", "investigation_id", inv.InvestigationID, "error", err)
	}
}

// fail performs E11.
func (g *Graph) fail(ctx context.Context, inv *Investigation, lvl taxonomy.DegradationLevel, cause error) error {
	e := NewDecisionEntry("graph", "unrecoverable_error", g.cfg.now())
	e.Error = cause.Error()
	return g.checkpoint(ctx, inv, lvl, StateFailed, e, agentActor, nil)
}

// nodeFailed ends a stage whose node returned err: cancellation keeps the
// last checkpoint, anything else is E11. The returned error is what drive
// returns (nil after a recorded failure).
func (g *Graph) nodeFailed(ctx context.Context, inv *Investigation, lvl taxonomy.DegradationLevel, state State, err error) error {
	inv.State = state // a node may have written it
	if ctx.Err() != nil {
		return ctx.Err()
	}
	g.log.Warn("orchestrator: node failed", "investigation_id", inv.InvestigationID, "state", string(state), "error", err)
	return g.fail(ctx, inv, lvl, err)
}

// runNode executes n, recovering a panic as an error and restoring State.
func runNode(ctx context.Context, n Node, inv *Investigation) (err error) {
	state := inv.State
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("node panicked: %v", r)
		}
		inv.State = state
	}()
	return n.Execute(ctx, inv)
}

// parse is the parsing stage: FP short-circuit, IOC extraction, E3 (or E2).
func (g *Graph) parse(ctx context.Context, inv *Investigation, lvl taxonomy.DegradationLevel) error {
	if g.cfg.fp != nil {
		m, ok := g.checkFP(ctx, inv, lvl)
		if ok {
			switch {
			case g.shadowActive(ctx, inv):
				e := NewDecisionEntry(ActorOrchestrator, "shadow_fp_match", g.cfg.now()).WithConfidence(m.Confidence)
				e.Step, e.PatternID = "shadow_mode", m.PatternID
				inv.DecisionChain = append(inv.DecisionChain, e)
			case lvl == taxonomy.DegradationDeterministicOnly:
				e := NewDecisionEntry(ActorOrchestrator, "fp_match_not_applied", g.cfg.now()).WithConfidence(m.Confidence)
				e.Step, e.PatternID = "degraded_mode", m.PatternID
				inv.DecisionChain = append(inv.DecisionChain, e)
			default:
				return g.closeFP(ctx, inv, lvl, m)
			}
		}
	}
	if g.agents.IOCExtractor != nil && lvl != taxonomy.DegradationDeterministicOnly {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := runNode(ctx, g.agents.IOCExtractor, inv); err != nil {
			return g.nodeFailed(ctx, inv, lvl, StateParsing, err)
		}
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	return g.checkpoint(ctx, inv, lvl, StateEnriching, NewDecisionEntry("graph", "start_enrichment", g.cfg.now()), agentActor, nil)
}

// checkFP asks the FP short-circuit; an error or a panic is "no match".
func (g *Graph) checkFP(ctx context.Context, inv *Investigation, lvl taxonomy.DegradationLevel) (m FPMatch, ok bool) {
	defer func() {
		if r := recover(); r != nil {
			g.log.Warn("orchestrator: FP short-circuit panicked; no auto-close", "investigation_id", inv.InvestigationID, "panic", r)
			m, ok = FPMatch{}, false
		}
	}()
	q := FPQuery{
		TenantID: inv.TenantID, Title: inv.Title, Entities: &inv.Entities, RuleFamily: inv.RuleFamily,
		AssetClass: inv.AssetClass, DataSource: inv.DataSource, Severity: inv.Severity, Techniques: inv.Techniques,
	}
	if lvl == taxonomy.DegradationSecondaryActive {
		q.MinThreshold = DegradedAutoCloseConfidence
	}
	m, err := g.cfg.fp.CheckFP(ctx, q)
	inv.QueriesExecuted += max(m.Queries, 0)
	if err != nil {
		g.log.Warn("orchestrator: FP check failed; no auto-close", "investigation_id", inv.InvestigationID, "error", err)
		return FPMatch{}, false
	}
	if !m.Matched || m.Confidence < q.MinThreshold {
		return FPMatch{}, false
	}
	return m, true
}

// closeFP applies an FP match: E2, alert.short_circuited (only when no LLM
// was called), alert.auto_closed.
func (g *Graph) closeFP(ctx context.Context, inv *Investigation, lvl taxonomy.DegradationLevel, m FPMatch) error {
	e := ApplyFPMatch(inv, m, g.cfg.now())
	inv.DecisionChain = inv.DecisionChain[:len(inv.DecisionChain)-1] // the checkpoint appends it
	return g.checkpoint(ctx, inv, lvl, StateClosed, e, agentActor, func(es *events) {
		if inv.LLMCalls == 0 {
			es.shortCircuited(m)
		}
		es.autoClosed(ActorFPShortCircuit, m.PatternID, StateParsing, StateClosed)
	})
}

// ApplyFPMatch applies an FP match to inv: classification false_positive,
// confidence = the match's, and the auto_close_fp decision entry (returned
// too). It does not change State: the graph performs the transition (E2).
func ApplyFPMatch(inv *Investigation, m FPMatch, at time.Time) DecisionEntry {
	inv.Classification, inv.Confidence = ClassificationFalsePositive, finite(m.Confidence)
	e := NewDecisionEntry(ActorFPShortCircuit, "auto_close_fp", at).WithConfidence(m.Confidence)
	e.Step, e.PatternID = "fp_short_circuit", m.PatternID
	inv.DecisionChain = append(inv.DecisionChain, e)
	return e
}

// shadowActive reports whether the investigation's tenant and rule family
// are in shadow mode (no manager: never).
func (g *Graph) shadowActive(ctx context.Context, inv *Investigation) bool {
	if g.cfg.shadow == nil {
		return false
	}
	on, _ := g.cfg.shadow.IsActive(ctx, inv.TenantID, inv.RuleFamily)
	return on
}

// reason is the reasoning stage.
func (g *Graph) reason(ctx context.Context, inv *Investigation, lvl taxonomy.DegradationLevel) error {
	ran := false
	var reasoning string
	if lvl == taxonomy.DegradationDeterministicOnly {
		e := NewDecisionEntry(ActorOrchestrator, "reasoning_skipped", g.cfg.now())
		e.Step = "degraded_mode"
		inv.DecisionChain = append(inv.DecisionChain, e)
	} else {
		n := len(inv.DecisionChain)
		if err := runNode(ctx, g.agents.Reasoner, inv); err != nil {
			return g.nodeFailed(ctx, inv, lvl, StateReasoning, err)
		}
		ran = true
		for _, e := range inv.DecisionChain[min(n, len(inv.DecisionChain)):] {
			if e.Agent == AgentReasoning && e.Action == "classified" {
				reasoning = e.Reasoning
			}
		}
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	now := g.cfg.now()
	var reasons []string
	if need, rs := g.policyReasons(ctx, inv); need {
		reasons = appendUnique(reasons, ReasonDestructiveAction)
		reasons = appendUnique(reasons, rs...)
	}
	// The model's own rules come after the policy's destructive verdict so
	// destructive_action is listed once, first.
	for _, r := range HumanReviewReasons(inv) {
		reasons = appendUnique(reasons, r)
	}
	reasons = orderReasons(reasons)
	if applyTrustConstraint(inv, now) {
		reasons = appendUnique(reasons, ReasonUntrustedTelemetry)
	}
	shadow := false
	if len(reasons) == 0 && g.shadowActive(ctx, inv) {
		shadow = true
		e := NewDecisionEntry(ActorOrchestrator, "shadow_decision_logged", now).WithConfidence(inv.Confidence)
		e.Step, e.Reasoning = "shadow_mode", "Shadow mode active — decision logged, not executed"
		inv.DecisionChain = append(inv.DecisionChain, e)
		inv.ShadowMode = true
		reasons = append(reasons, ReasonShadowMode)
	}
	if lvl == taxonomy.DegradationDeterministicOnly {
		reasons = appendUnique(reasons, ReasonDegradedMode)
	}
	if lvl == taxonomy.DegradationSecondaryActive && recommendsAutoClose(inv) &&
		finite(inv.Confidence) < DegradedAutoCloseConfidence {
		reasons = appendUnique(reasons, ReasonDegradedAutoCloseThreshold)
	}
	inv.EscalationReasons = reasons
	classified := func(es *events) {
		if ran {
			es.classified(reasoning)
		}
	}
	if len(reasons) > 0 {
		inv.RequiresHumanApproval = true
		e := NewDecisionEntry(AgentReasoning, "await_human", now).WithDetails(map[string]any{"reasons": cloneStrings(reasons)})
		err := g.checkpointWith(ctx, inv, lvl, StateAwaitingHuman, e, agentActor, classified, func(es *events) {
			es.escalated(reasons)
			inv.GatePending = g.cfg.gate != nil
			if shadow {
				inv.ShadowPending = es.reserve()
			}
		})
		if err != nil {
			return err
		}
		return g.completePending(ctx, inv, lvl)
	}
	inv.RequiresHumanApproval = false
	return g.checkpointWith(ctx, inv, lvl, StateResponding, NewDecisionEntry(string(RoleResponseAgent), "start_response", now),
		agentActor, classified, nil)
}

// orderReasons puts the review reasons in the order of spec §3.7 (policy
// reasons right after destructive_action).
func orderReasons(rs []string) []string {
	if len(rs) < 2 {
		return rs
	}
	out := make([]string, 0, len(rs))
	if contains(rs, ReasonDestructiveAction) {
		out = append(out, ReasonDestructiveAction)
	}
	for _, r := range rs {
		if r != ReasonDestructiveAction && r != ReasonLowConfidenceHighSeverity {
			out = append(out, r)
		}
	}
	if contains(rs, ReasonLowConfidenceHighSeverity) {
		out = append(out, ReasonLowConfidenceHighSeverity)
	}
	return out
}

func recommendsAutoClose(inv *Investigation) bool {
	for _, a := range inv.RecommendedActions {
		if strings.EqualFold(strings.TrimSpace(a.Action), "auto_close") {
			return true
		}
	}
	return false
}

// completePending finishes what the last checkpoint still owed: its audit
// events, a shadow-decision record and opening the approval gate. A gate
// that decides at once has its outcome applied.
func (g *Graph) completePending(ctx context.Context, inv *Investigation, lvl taxonomy.DegradationLevel) error {
	dirty := len(inv.PendingEvents) > 0
	g.flush(inv)
	if inv.ShadowPending != "" {
		if g.cfg.shadow != nil {
			if err := g.cfg.shadow.recordShadow(ctx, inv.TenantID, inv.RuleFamily, shadowDecisionOf(inv),
				inv.Confidence, inv.InvestigationID, inv.ShadowPending); err != nil {
				g.log.Warn("orchestrator: shadow decision not recorded", "investigation_id", inv.InvestigationID, "error", err)
			}
		}
		inv.ShadowPending, dirty = "", true
	}
	outcome := OutcomePending
	if inv.GatePending && inv.State == StateAwaitingHuman {
		inv.GatePending, dirty = false, true
		if g.cfg.gate != nil {
			out, err := g.openGate(ctx, inv)
			if err != nil {
				g.log.Warn("orchestrator: approval request failed; investigation stays paused", "investigation_id", inv.InvestigationID, "error", err)
				e := NewDecisionEntry("graph", "approval_request_failed", g.cfg.now())
				e.Error = err.Error()
				inv.DecisionChain = append(inv.DecisionChain, e)
			} else {
				outcome = out
			}
		}
	}
	inv.GatePending = false
	if dirty {
		if err := g.save(ctx, inv, lvl, nil); err != nil {
			return err
		}
	}
	switch outcome {
	case OutcomeGranted, OutcomeDenied, OutcomeTimedOutClosed, OutcomeTimedOutEscalated:
		return g.apply(ctx, inv, lvl, outcome, HumanDecision{}, true)
	}
	return nil
}

func shadowDecisionOf(inv *Investigation) string {
	if inv.Classification == "" {
		return "unknown"
	}
	return inv.Classification
}

func (g *Graph) openGate(ctx context.Context, inv *Investigation) (out ApprovalOutcome, err error) {
	defer func() {
		if r := recover(); r != nil {
			out, err = "", fmt.Errorf("approval gate panicked: %v", r)
		}
	}()
	return g.cfg.gate.Open(ctx, inv, cloneStrings(inv.EscalationReasons))
}

// respond is the responding stage: Respond, then E7 (or E11).
func (g *Graph) respond(ctx context.Context, inv *Investigation, lvl taxonomy.DegradationLevel) error {
	before := len(inv.ActionResults)
	err := g.callResponder(ctx, inv)
	inv.State = StateResponding
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		g.log.Warn("orchestrator: responder failed", "investigation_id", inv.InvestigationID, "error", err)
		return g.fail(ctx, inv, lvl, err)
	}
	autoClosed := false
	for _, r := range inv.ActionResults[min(before, len(inv.ActionResults)):] {
		// A replayed line counts too: the run that executed it never reached
		// E7, so its alert.auto_closed was never emitted.
		if strings.EqualFold(r.Action, "auto_close") && r.Status == response.ActionExecuted {
			autoClosed = true
		}
	}
	return g.checkpoint(ctx, inv, lvl, StateClosed, NewDecisionEntry(string(RoleResponseAgent), "response_complete", g.cfg.now()),
		agentActor, func(es *events) {
			if autoClosed {
				es.autoClosed(ActorOrchestrator, "", StateResponding, StateClosed)
			}
		})
}

func (g *Graph) callResponder(ctx context.Context, inv *Investigation) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("responder panicked: %v", r)
		}
	}()
	return g.agents.Responder.Respond(ctx, inv)
}

// Resume applies a human decision to a paused investigation. Invalid
// decisions are rejected before anything is loaded (ErrInvalidVerdict,
// ErrApproverRequired); an unknown id is (nil, ErrNotFound); an
// investigation that is not awaiting_human comes back unchanged with
// ErrNotAwaitingHuman. With an approval gate the gate decides (its errors
// are returned with the unchanged investigation, except a decision the gate
// already recorded, which is applied now); without one, approve → granted,
// deny → denied, timeout → timed_out_escalated for critical/high (and
// approval.escalated) or timed_out_closed.
func (g *Graph) Resume(ctx context.Context, id string, d HumanDecision) (*Investigation, error) {
	switch d.Verdict {
	case VerdictApprove, VerdictDeny:
		if strings.TrimSpace(d.Approver) == "" {
			return nil, ErrApproverRequired
		}
	case VerdictTimeout:
	default:
		return nil, fmt.Errorf("%w: %q", ErrInvalidVerdict, string(d.Verdict))
	}
	unlock := g.locks.lock(id)
	defer unlock()
	inv, err := g.load(ctx, id)
	if err != nil {
		return nil, err
	}
	lvl := g.level(ctx, inv.TenantID)
	if err := g.completePending(ctx, inv, lvl); err != nil {
		return inv, err
	}
	if inv.State != StateAwaitingHuman {
		return inv, ErrNotAwaitingHuman
	}
	var outcome ApprovalOutcome
	if g.cfg.gate != nil {
		out, err := g.resolveGate(ctx, inv, d)
		if err != nil {
			if !errors.Is(err, ErrApprovalClosed) || !decided(out) {
				return inv, err
			}
			// Decided earlier, never applied (a crash between the two): apply
			// it now without re-emitting the approval events. The decider is
			// the gate's record, not this caller.
			g.log.Info("orchestrator: applying an approval decided before a restart", "investigation_id", id, "outcome", string(out))
			d = HumanDecision{Verdict: d.Verdict, Classification: d.Classification}
		}
		outcome = out
	} else {
		switch d.Verdict {
		case VerdictApprove:
			outcome = OutcomeGranted
		case VerdictDeny:
			outcome = OutcomeDenied
		default:
			if highSeverity(inv.Severity) {
				outcome = OutcomeTimedOutEscalated
			} else {
				outcome = OutcomeTimedOutClosed
			}
		}
	}
	if err := g.apply(ctx, inv, lvl, outcome, d, g.cfg.gate != nil); err != nil {
		return inv, err
	}
	if inv.ShadowMode && strings.TrimSpace(d.Classification) != "" && g.cfg.shadow != nil {
		if err := g.cfg.shadow.RecordAnalystDecision(ctx, inv.TenantID, inv.RuleFamily, d.Classification, inv.InvestigationID); err != nil {
			g.log.Warn("orchestrator: analyst decision not recorded", "investigation_id", id, "error", err)
		}
	}
	return inv, g.final(ctx, inv)
}

func decided(o ApprovalOutcome) bool {
	return o == OutcomeGranted || o == OutcomeDenied || o == OutcomeTimedOutClosed
}

func (g *Graph) resolveGate(ctx context.Context, inv *Investigation, d HumanDecision) (out ApprovalOutcome, err error) {
	defer func() {
		if r := recover(); r != nil {
			out, err = "", fmt.Errorf("approval gate panicked: %v", r)
		}
	}()
	return g.cfg.gate.Resolve(ctx, inv, d)
}

// apply performs the edge of an approval outcome. viaGate says the gate
// emitted the approval events (so the graph emits none of its own).
func (g *Graph) apply(ctx context.Context, inv *Investigation, lvl taxonomy.DegradationLevel, outcome ApprovalOutcome,
	d HumanDecision, viaGate bool) error {
	human := edgeActor{taxonomy.ActorHuman, d.Approver}
	if d.Approver == "" {
		human = gateActor
	}
	channel := string(d.Channel)
	if channel == "" {
		channel = string(taxonomy.ChannelAPI)
	}
	details := map[string]any{"approver": d.Approver, "channel": channel}
	switch outcome {
	case OutcomeGranted:
		e := NewDecisionEntry("human", "approval_granted", g.cfg.now()).WithDetails(details)
		if err := g.checkpoint(ctx, inv, lvl, StateResponding, e, human, nil); err != nil {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		return g.respond(ctx, inv, lvl)
	case OutcomeDenied:
		if inv.Classification == "" || inv.Classification == ClassificationEscalated {
			inv.Classification = ClassificationRejected
		}
		e := NewDecisionEntry("human", "approval_rejected", g.cfg.now()).WithDetails(details)
		return g.checkpoint(ctx, inv, lvl, StateClosed, e, human, nil)
	case OutcomeTimedOutClosed:
		if inv.Classification == "" {
			inv.Classification = ClassificationTimedOut
		}
		return g.checkpoint(ctx, inv, lvl, StateClosed, NewDecisionEntry("approval_gate", "approval_timed_out", g.cfg.now()), gateActor, nil)
	case OutcomeTimedOutEscalated:
		if inv.Classification == "" {
			inv.Classification = ClassificationEscalated
		}
		return g.save(ctx, inv, lvl, func(es *events) {
			if !viaGate {
				es.approvalEscalated()
			}
		})
	}
	return nil // timed_out_left_open, pending: nothing changes
}

// ExpireApprovals times out due approvals through the gate and applies each
// outcome to its investigation (skipping investigations no longer paused).
// Without a gate it returns (nil, nil). Hosts call it periodically.
func (g *Graph) ExpireApprovals(ctx context.Context) ([]*Investigation, error) {
	if g.cfg.gate == nil {
		return nil, nil
	}
	expired, err := g.expireGate(ctx)
	if err != nil {
		return nil, err
	}
	var out []*Investigation
	var errs []error
	for _, x := range expired {
		inv, err := g.applyExpired(ctx, x)
		if err != nil {
			errs = append(errs, err)
		}
		if inv != nil {
			out = append(out, inv)
		}
	}
	return out, errors.Join(errs...)
}

func (g *Graph) expireGate(ctx context.Context) (out []ExpiredApproval, err error) {
	defer func() {
		if r := recover(); r != nil {
			out, err = nil, fmt.Errorf("approval gate panicked: %v", r)
		}
	}()
	return g.cfg.gate.Expire(ctx, g.cfg.now())
}

func (g *Graph) applyExpired(ctx context.Context, x ExpiredApproval) (*Investigation, error) {
	unlock := g.locks.lock(x.InvestigationID)
	defer unlock()
	inv, err := g.load(ctx, x.InvestigationID)
	if err != nil {
		if errors.Is(err, ErrNotFound) {
			return nil, nil
		}
		return nil, err
	}
	lvl := g.level(ctx, inv.TenantID)
	if err := g.completePending(ctx, inv, lvl); err != nil {
		return inv, err
	}
	if inv.State != StateAwaitingHuman || (x.ApprovalID != "" && inv.ApprovalID != "" && x.ApprovalID != inv.ApprovalID) {
		return nil, nil
	}
	if err := g.apply(ctx, inv, lvl, x.Outcome, HumanDecision{}, true); err != nil {
		return inv, err
	}
	return inv, g.final(ctx, inv)
}

// Reopen re-opens an investigation closed by FP pattern patternID (E12):
// it must be closed, classified false_positive and carry an auto_close_fp
// entry for the pattern (else ErrNotReopenable). The verdict fields are
// reset so the re-investigation decides afresh; the host continues it with
// Continue.
func (g *Graph) Reopen(ctx context.Context, id, patternID string, by Actor) (*Investigation, error) {
	unlock := g.locks.lock(id)
	defer unlock()
	inv, err := g.load(ctx, id)
	if err != nil {
		return nil, err
	}
	lvl := g.level(ctx, inv.TenantID)
	if err := g.completePending(ctx, inv, lvl); err != nil {
		return inv, err
	}
	if !ClosedByPattern(inv, patternID) {
		return inv, ErrNotReopenable
	}
	actor := edgeActor{by.Type, by.ID}
	if !actor.typ.Valid() {
		actor.typ = taxonomy.ActorHuman
	}
	if actor.id == "" {
		actor.id = "fp_governance"
	}
	inv.Classification, inv.Confidence = "", 0
	inv.RequiresHumanApproval, inv.EscalationReasons, inv.ApprovalID, inv.ShadowMode = false, nil, "", false
	e := NewDecisionEntry("fp_governance", "reopen_after_pattern_revocation", g.cfg.now())
	e.PatternID = patternID
	if err := g.checkpoint(ctx, inv, lvl, StateParsing, e, actor, nil); err != nil {
		return inv, err
	}
	return inv, g.final(ctx, inv)
}

// ClosedByPattern reports whether inv was closed by FP pattern patternID:
// state closed, classification false_positive and an auto_close_fp entry
// naming the pattern.
func ClosedByPattern(inv *Investigation, patternID string) bool {
	if inv == nil || patternID == "" || inv.State != StateClosed || inv.Classification != ClassificationFalsePositive {
		return false
	}
	for _, e := range inv.DecisionChain {
		if e.Action == "auto_close_fp" && e.PatternID == patternID {
			return true
		}
	}
	return false
}

// keyedMutex serialises work per investigation id. Entries are reference
// counted and removed when unused, so memory follows the number of ids in
// flight.
type keyedMutex struct {
	mu sync.Mutex // guards m
	m  map[string]*keyedEntry
}

type keyedEntry struct {
	mu   sync.Mutex
	refs int // guarded by keyedMutex.mu
}

func (k *keyedMutex) lock(id string) (unlock func()) {
	k.mu.Lock()
	if k.m == nil {
		k.m = map[string]*keyedEntry{}
	}
	e := k.m[id]
	if e == nil {
		e = &keyedEntry{}
		k.m[id] = e
	}
	e.refs++
	k.mu.Unlock()
	e.mu.Lock()
	return func() {
		e.mu.Unlock()
		k.mu.Lock()
		e.refs--
		if e.refs == 0 {
			delete(k.m, id)
		}
		k.mu.Unlock()
	}
}

// snapshot keeps what a checkpoint changes, to restore it when the save
// fails.
type snapshot struct {
	state         State
	chain         int
	updated       time.Time
	seq           int
	pending       []PendingEvent
	classif       string
	confidence    float64
	shadowPending string
	gatePending   bool
}

func snapshotOf(inv *Investigation) snapshot {
	return snapshot{inv.State, len(inv.DecisionChain), inv.UpdatedAt, inv.EventSeq, inv.PendingEvents,
		inv.Classification, inv.Confidence, inv.ShadowPending, inv.GatePending}
}

func (s snapshot) restore(inv *Investigation) {
	inv.State, inv.DecisionChain, inv.UpdatedAt, inv.EventSeq = s.state, inv.DecisionChain[:s.chain], s.updated, s.seq
	inv.PendingEvents, inv.ShadowPending, inv.GatePending = s.pending, s.shadowPending, s.gatePending
	inv.Classification, inv.Confidence = s.classif, s.confidence
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

func cloneStrings(s []string) []string {
	if s == nil {
		return nil
	}
	return append([]string(nil), s...)
}

func cloneFloats(s []float32) []float32 {
	if s == nil {
		return nil
	}
	return append([]float32(nil), s...)
}
