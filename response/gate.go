package response

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/socwarden/warden/taxonomy"
)

// Open is the orchestrator's ApprovalGate.Open: it opens the case's approval
// gate and returns its record (the orchestrator keeps ApprovalID). If the
// investigation already has an awaiting record, that record is returned and
// nothing is emitted.
//
// A new record holds the pending actions (those at tier 2, or every
// well-formed action when review was forced for another reason), the gate
// severity (the case's, raised to the worst zone severity of the pending
// targets) and its deadline; response.prepared is emitted per pending action,
// then approval.requested. With an Approver configured, it is then asked, and
// a decision it returns is applied before Open returns — so the returned
// record may already be granted or denied.
func (r *Responder) Open(ctx context.Context, c Case, reasons []string) (Approval, error) {
	a, created, err := r.open(ctx, &c, reasons)
	if err != nil || !created {
		return a, err
	}
	return r.consultApprover(ctx, a), nil
}

func (r *Responder) open(ctx context.Context, c *Case, reasons []string) (Approval, bool, error) {
	if err := validateCase(c); err != nil {
		return Approval{}, false, err
	}
	mu := r.invLocks.of(c.InvestigationID)
	mu.Lock()
	defer mu.Unlock()
	if a, ok, err := r.approvals.Open(ctx, c.InvestigationID); err != nil {
		return Approval{}, false, fmt.Errorf("response: approval store: %w", err)
	} else if ok {
		if !a.Announced {
			// Created by a process that died before its request events were
			// out: announce it now, with the same audit ids.
			gr := r.newGrader(c)
			var pendingG []graded
			for _, p := range a.PendingActions {
				if g := gr.grade(ctx, p); g.ok {
					pendingG = append(pendingG, g)
				}
			}
			a = r.announce(ctx, a, pendingG)
		}
		return a, false, nil
	}

	gr := r.newGrader(c)
	var all, gated, wellFormed []graded
	for _, act := range c.Actions {
		g := gr.grade(ctx, act)
		all = append(all, g)
		if !g.ok {
			continue
		}
		wellFormed = append(wellFormed, g)
		if g.tier >= TierRequiresApproval {
			gated = append(gated, g)
		}
	}
	pendingG := gated
	if len(pendingG) == 0 {
		pendingG = wellFormed
	}
	severity := normSeverity(c.Severity)
	pending := make([]Action, len(pendingG))
	for i, g := range pendingG {
		p := g.action
		p.Action, p.Tier = g.name, g.tier
		pending[i] = p
		if severityRank(g.zoneSev) > severityRank(severity) {
			severity = g.zoneSev
		}
	}
	if len(reasons) == 0 {
		reasons = approvalReasons(all)
	}

	now := r.cfg.now()
	a := NewGateRecord(*c, pending, PolicyFor(severity, r.overridesFor(ctx, c.TenantID)), now)
	a.ApprovalID = r.cfg.newID()
	a.Reasons = append([]string(nil), reasons...)
	a.RequiredRole = r.cfg.baseRole
	if r.cfg.assigner != nil {
		a.AssignedTo = r.assign(ctx, a)
	}
	if err := r.approvals.Create(ctx, a); err != nil {
		if errors.Is(err, ErrConflict) {
			// Another process opened the gate first: theirs stands.
			if cur, ok, gerr := r.approvals.Open(ctx, c.InvestigationID); gerr == nil && ok {
				return cur, false, nil
			}
		}
		return Approval{}, false, fmt.Errorf("response: approval store: %w", err)
	}
	return r.announce(ctx, a, pendingG), true, nil
}

// announce emits response.prepared per pending action and
// approval.requested, then marks the record announced. The events' audit
// ids derive from the approval id, so a re-announcement after a crash
// between the emissions and the mark repeats the first attempt's ids and a
// consumer can drop the duplicates. A failed mark is logged: the worst case
// is one more re-announcement with the same ids.
func (r *Responder) announce(ctx context.Context, a Approval, pendingG []graded) Approval {
	for i, g := range pendingG {
		r.em.prepared(a, g, announceID(a.ApprovalID, i))
	}
	r.em.requested(a, announceID(a.ApprovalID, len(pendingG)))
	for range maxCASAttempts {
		cur, ok, err := r.approvals.Get(ctx, a.ApprovalID)
		if err != nil || !ok {
			r.log.Warn("response: could not mark approval announced", "approval_id", a.ApprovalID, "error", err)
			return a
		}
		if cur.Announced {
			return cur
		}
		cur.Announced = true
		err = r.approvals.Update(ctx, cur, cur.Version)
		if err == nil {
			cur.Version++
			return cur
		}
		if !errors.Is(err, ErrConflict) {
			r.log.Warn("response: could not mark approval announced", "approval_id", a.ApprovalID, "error", err)
			return a
		}
	}
	return a
}

func (r *Responder) assign(ctx context.Context, a Approval) (who string) {
	defer func() {
		if p := recover(); p != nil {
			r.log.Warn("response: assigner panicked", "approval_id", a.ApprovalID, "panic", p)
			who = ""
		}
	}()
	return r.cfg.assigner(ctx, a.clone())
}

// overridesFor returns the tenant's approval windows: the port's if it
// answers, else the fixed table.
func (r *Responder) overridesFor(ctx context.Context, tenant string) map[string]int {
	if r.cfg.timeoutOverrides != nil {
		m, err := r.cfg.timeoutOverrides.ApprovalTimeoutOverrides(ctx, tenant)
		if err == nil {
			out := make(map[string]int, len(m))
			for k, v := range m {
				out[normSeverity(k)] = v
			}
			return out
		}
		r.log.Warn("response: tenant timeout overrides unavailable; using the fixed table",
			"tenant_id", tenant, "error", err)
	}
	return r.cfg.timeouts
}

// consultApprover asks the Approver port about a record and applies a
// decision it returns; it returns the record as it now stands.
func (r *Responder) consultApprover(ctx context.Context, a Approval) Approval {
	if r.cfg.approver == nil {
		return a
	}
	d, decided, err := r.askApprover(ctx, a)
	if err != nil {
		r.log.Warn("response: approver failed; the gate stays open", "approval_id", a.ApprovalID, "error", err)
		return a
	}
	if !decided {
		return a
	}
	if err := validateDecision(&d); err != nil {
		r.log.Warn("response: approver returned an invalid decision; the gate stays open",
			"approval_id", a.ApprovalID, "error", err)
		return a
	}
	_, cur, err := r.decide(ctx, a.ApprovalID, d)
	if err != nil {
		r.log.Warn("response: approver decision rejected; the gate stays open",
			"approval_id", a.ApprovalID, "error", err)
		if cur.ApprovalID != "" {
			return cur
		}
		return a
	}
	return cur
}

func (r *Responder) askApprover(ctx context.Context, a Approval) (d Decision, decided bool, err error) {
	defer func() {
		if p := recover(); p != nil {
			d, decided, err = Decision{}, false, fmt.Errorf("approver panic: %v", p)
		}
	}()
	return r.cfg.approver.RequestApproval(ctx, a.clone())
}

// validateDecision checks a decision and fills the default channel.
func validateDecision(d *Decision) error {
	switch d.Verdict {
	case VerdictApprove, VerdictDeny:
		if strings.TrimSpace(d.Approver) == "" {
			return ErrApproverRequired
		}
	case VerdictTimeout:
	default:
		return fmt.Errorf("%w: %q", ErrInvalidVerdict, d.Verdict)
	}
	if d.Channel == "" {
		d.Channel = taxonomy.ChannelAPI
	}
	if !d.Channel.Known() {
		return fmt.Errorf("%w: %q", ErrInvalidChannel, d.Channel)
	}
	return nil
}

// Resolve is the orchestrator's ApprovalGate.Resolve: it applies a decision
// to the case's approval — the one c.ApprovalID names, else the
// investigation's awaiting record, else a record opened now (with its
// events) so a case whose Open failed can still be decided.
//
// Approve and deny check the approver's role (*RoleError, nothing changes).
// Exactly one of any number of concurrent decisions wins; the others get the
// winner's outcome with ErrApprovalClosed, as does any decision on a closed
// record. A timeout verdict applies the timeout step now.
func (r *Responder) Resolve(ctx context.Context, c Case, d Decision) (Outcome, Approval, error) {
	if err := validateDecision(&d); err != nil {
		return "", Approval{}, err
	}
	if err := validateCase(&c); err != nil {
		return "", Approval{}, err
	}
	id := ""
	if c.ApprovalID != "" {
		a, ok, err := r.approvals.Get(ctx, c.ApprovalID)
		if err != nil {
			return "", Approval{}, fmt.Errorf("response: approval store: %w", err)
		}
		if ok && a.InvestigationID == c.InvestigationID && a.TenantID == c.TenantID {
			if a.State != StateAwaitingApproval {
				return a.Outcome(), a, ErrApprovalClosed
			}
			id = a.ApprovalID
		}
	}
	if id == "" {
		a, _, err := r.open(ctx, &c, nil)
		if err != nil {
			return "", Approval{}, err
		}
		id = a.ApprovalID
	}
	return r.decide(ctx, id, d)
}

// Decide applies a decision to an approval by id — the entry point of an
// HTTP handler or chat callback that knows only the approval. It behaves as
// Resolve on an existing record; ErrApprovalNotFound if there is none. The
// role check is the responder's; whether the reviewer may act for the
// approval's tenant at all (Approval(ctx, id).TenantID) is the host's check.
func (r *Responder) Decide(ctx context.Context, approvalID string, d Decision) (Outcome, Approval, error) {
	if err := validateDecision(&d); err != nil {
		return "", Approval{}, err
	}
	return r.decide(ctx, approvalID, d)
}

// decide applies a validated decision. The gate's stripe lock is held from
// the read through the compare-and-swap and the emission, so in-process
// deciders and sweepers of one record take turns and its events come out in
// the order of its writes.
func (r *Responder) decide(ctx context.Context, id string, d Decision) (Outcome, Approval, error) {
	mu := r.gateLocks.of(id)
	mu.Lock()
	out, a, reroute, err := r.decideLocked(ctx, id, d)
	mu.Unlock()
	if reroute {
		a = r.consultApprover(ctx, a)
	}
	return out, a, err
}

func (r *Responder) decideLocked(ctx context.Context, id string, d Decision) (Outcome, Approval, bool, error) {
	for range maxCASAttempts {
		a, ok, err := r.approvals.Get(ctx, id)
		if err != nil {
			return "", Approval{}, false, fmt.Errorf("response: approval store: %w", err)
		}
		if !ok {
			return "", Approval{}, false, ErrApprovalNotFound
		}
		if a.State != StateAwaitingApproval {
			return a.Outcome(), a, false, ErrApprovalClosed
		}
		now := r.cfg.now()
		if d.Verdict == VerdictTimeout {
			if a.EscalationExhausted {
				return OutcomeTimedOutLeftOpen, a, false, nil
			}
			next, outcome := r.timeoutStep(ctx, a, now)
			if err := r.approvals.Update(ctx, next, a.Version); err != nil {
				if errors.Is(err, ErrConflict) {
					continue
				}
				return "", Approval{}, false, fmt.Errorf("response: approval store: %w", err)
			}
			next.Version = a.Version + 1
			r.em.timedOut(a, next, now)
			if outcome == OutcomeTimedOutEscalated {
				r.em.escalated(next, escalationReroute, requestedFrom(next))
			}
			return outcome, next, outcome == OutcomeTimedOutEscalated, nil
		}
		if r.cfg.roleCheck && d.Role.Rank() < a.RequiredRole.Rank() {
			return "", a, false, &RoleError{ApprovalID: id, Approver: d.Approver, Role: d.Role, Required: a.RequiredRole}
		}
		next := a
		next.State, next.DecidedAt, next.DecidedBy, next.DecidedRole = StateGranted, now, d.Approver, d.Role
		next.DecisionChannel, next.DecisionComment = d.Channel, d.Comment
		outcome := OutcomeGranted
		if d.Verdict == VerdictDeny {
			next.State, outcome = StateDenied, OutcomeDenied
		}
		if err := r.approvals.Update(ctx, next, a.Version); err != nil {
			if errors.Is(err, ErrConflict) {
				continue
			}
			return "", Approval{}, false, fmt.Errorf("response: approval store: %w", err)
		}
		next.Version = a.Version + 1
		r.em.decided(next)
		return outcome, next, false, nil
	}
	return "", Approval{}, false, ErrConflict
}

// timeoutStep computes the record after its deadline passed: closed
// (behaviour close), re-routed to the escalated role with a fresh window
// (escalate, re-routes left) or left open for good (escalate, none left).
func (r *Responder) timeoutStep(ctx context.Context, a Approval, now time.Time) (Approval, Outcome) {
	next := a.clone()
	switch {
	case a.TimeoutBehavior != BehaviorEscalate:
		next.State = StateTimedOut
		return next, OutcomeTimedOutClosed
	case a.EscalationLevel < r.cfg.maxEscalations:
		next.EscalationLevel++
		next.RequiredRole = r.cfg.escalatedRole
		next.Deadline = now.Add(a.Timeout())
		next.EscalationNotified = false
		if r.cfg.assigner != nil {
			next.AssignedTo = r.assign(ctx, next)
		}
		return next, OutcomeTimedOutEscalated
	default:
		next.EscalationExhausted = true
		return next, OutcomeTimedOutLeftOpen
	}
}

// Expire is the orchestrator's ApprovalGate.Expire and the body of the
// sweeper: for each open record (by deadline) it sends the half-time
// reminder once per window, and at the deadline times the record out
// (approval.timed_out, then close, re-route with approval.escalated, or
// leave open). Each record is processed once per deadline however many
// sweeps run concurrently. Errors on single records are joined and returned
// with the outcomes of the others.
func (r *Responder) Expire(ctx context.Context, now time.Time) ([]ExpiredApproval, error) {
	open, err := r.approvals.ListOpen(ctx)
	if err != nil {
		return nil, fmt.Errorf("response: approval store: %w", err)
	}
	var out []ExpiredApproval
	var errs []error
	for _, a := range open {
		if err := ctx.Err(); err != nil {
			errs = append(errs, err)
			break
		}
		if a.EscalationExhausted || !sweepDue(a, now) {
			continue
		}
		mu := r.gateLocks.of(a.ApprovalID)
		mu.Lock()
		exp, next, rerouted, err := r.expireLocked(ctx, a.ApprovalID, now)
		mu.Unlock()
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if exp != nil {
			out = append(out, *exp)
		}
		if rerouted {
			r.consultApprover(ctx, next)
		}
	}
	return out, errors.Join(errs...)
}

// sweepDue reports whether a sweep at now has anything to do for a.
func sweepDue(a Approval, now time.Time) bool {
	if !now.Before(a.Deadline) {
		return true
	}
	return !a.EscalationNotified && !now.Before(a.Deadline.Add(-a.Timeout()/2))
}

func (r *Responder) expireLocked(ctx context.Context, id string, now time.Time) (*ExpiredApproval, Approval, bool, error) {
	for range maxCASAttempts {
		a, ok, err := r.approvals.Get(ctx, id)
		if err != nil {
			return nil, Approval{}, false, fmt.Errorf("response: approval store: %w", err)
		}
		if !ok || a.State != StateAwaitingApproval || a.EscalationExhausted || !sweepDue(a, now) {
			return nil, a, false, nil // someone else got here first
		}
		if now.Before(a.Deadline) { // reminder window
			next := a.clone()
			next.EscalationNotified = true
			if err := r.approvals.Update(ctx, next, a.Version); err != nil {
				if errors.Is(err, ErrConflict) {
					continue
				}
				return nil, Approval{}, false, fmt.Errorf("response: approval store: %w", err)
			}
			next.Version = a.Version + 1
			r.em.escalated(next, escalationHalfTimeout, string(r.cfg.escalatedRole))
			return nil, next, false, nil
		}
		next, outcome := r.timeoutStep(ctx, a, now)
		if err := r.approvals.Update(ctx, next, a.Version); err != nil {
			if errors.Is(err, ErrConflict) {
				continue
			}
			return nil, Approval{}, false, fmt.Errorf("response: approval store: %w", err)
		}
		next.Version = a.Version + 1
		r.em.timedOut(a, next, now)
		if outcome == OutcomeTimedOutEscalated {
			r.em.escalated(next, escalationReroute, requestedFrom(next))
		}
		return &ExpiredApproval{InvestigationID: a.InvestigationID, TenantID: a.TenantID,
			ApprovalID: a.ApprovalID, Outcome: outcome}, next, outcome == OutcomeTimedOutEscalated, nil
	}
	return nil, Approval{}, false, ErrConflict
}

// Sweep runs Expire at the responder's clock.
func (r *Responder) Sweep(ctx context.Context) ([]ExpiredApproval, error) {
	return r.Expire(ctx, r.cfg.now())
}

// RunSweeper sweeps at each tick until ctx is done (returning ctx.Err()) or
// ticks is closed (returning nil). The time is the responder's clock, not
// the tick's value, so a host passes time.NewTicker(time.Minute).C and a
// test a channel it feeds after advancing a fake clock. handle, if non-nil,
// receives each non-empty batch of outcomes (e.g. the orchestrator's
// ExpireApprovals); sweep errors are logged.
func (r *Responder) RunSweeper(ctx context.Context, ticks <-chan time.Time, handle func(context.Context, []ExpiredApproval)) error {
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case _, ok := <-ticks:
			if !ok {
				return nil
			}
			out, err := r.Sweep(ctx)
			if err != nil {
				r.log.Warn("response: approval sweep failed", "error", err)
			}
			if len(out) > 0 && handle != nil {
				handle(ctx, out)
			}
		}
	}
}

// Approval returns an approval record by id.
func (r *Responder) Approval(ctx context.Context, approvalID string) (Approval, bool, error) {
	return r.approvals.Get(ctx, approvalID)
}

// ApprovalFor returns the investigation's most recent approval record.
func (r *Responder) ApprovalFor(ctx context.Context, investigationID string) (Approval, bool, error) {
	return r.approvals.Latest(ctx, investigationID)
}

// PendingApprovals returns the tenant's awaiting records by deadline (every
// tenant's when tenantID is empty), for a review queue.
func (r *Responder) PendingApprovals(ctx context.Context, tenantID string) ([]Approval, error) {
	all, err := r.approvals.ListOpen(ctx)
	if err != nil {
		return nil, err
	}
	if tenantID == "" {
		return all, nil
	}
	out := all[:0]
	for _, a := range all {
		if a.TenantID == tenantID {
			out = append(out, a)
		}
	}
	return out, nil
}
