package response

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/socwarden/warden/audit"
	"github.com/socwarden/warden/taxonomy"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Checklist 54 and 76.
func TestOpenCreatesRecordAndEvents(t *testing.T) {
	e := newEnv(t)
	c := testCase("medium", act("isolate_endpoint", "h1", 2), act("monitor", "h1", 0))
	a, err := e.r.Open(bg, c, []string{"destructive_action"})
	require.NoError(t, err)
	assert.Equal(t, "id-1", a.ApprovalID)
	assert.Equal(t, StateAwaitingApproval, a.State)
	require.Len(t, a.PendingActions, 1)
	assert.Equal(t, Action{Action: "isolate_endpoint", Target: "h1", Tier: 2}, a.PendingActions[0])
	assert.Equal(t, RoleSeniorAnalyst, a.RequiredRole)
	assert.Equal(t, at(14, 0), a.Deadline)
	assert.Equal(t, at(10, 0), a.RequestedAt)
	assert.Equal(t, []string{"destructive_action"}, a.Reasons)
	assert.Equal(t, []taxonomy.EventType{taxonomy.ResponsePrepared, taxonomy.ApprovalRequested}, e.prod.types())
	req := e.prod.byType(taxonomy.ApprovalRequested)[0]
	assert.Equal(t, taxonomy.CategoryApproval, req.Type.Category()) // 76
	assert.Equal(t, "senior_analyst", req.Outcome[audit.KeyApprovalRequestedFrom])
	assert.Equal(t, "destructive_action", req.Decision[audit.KeyReasoningSummary])
	assert.Equal(t, "2026-03-02T14:00:00Z", req.Context[KeyApprovalDeadline])

	stored, ok, err := e.r.Approval(bg, a.ApprovalID)
	require.NoError(t, err)
	require.True(t, ok)
	assert.Equal(t, a, stored)
}

// Checklist 55, 61a.
func TestOpenIsIdempotent(t *testing.T) {
	e := newEnv(t)
	c := testCase("high", act("isolate_endpoint", "h1", 2))
	a1, err := e.r.Open(bg, c, nil)
	require.NoError(t, err)
	a2, err := e.r.Open(bg, c, nil)
	require.NoError(t, err)
	assert.Equal(t, a1.ApprovalID, a2.ApprovalID)
	open, err := e.r.PendingApprovals(bg, "tenant-a")
	require.NoError(t, err)
	assert.Len(t, open, 1)
	assert.Len(t, e.prod.byType(taxonomy.ApprovalRequested), 1)
	assert.Len(t, e.prod.byType(taxonomy.ResponsePrepared), 1)

	// 61a: a case naming a granted record gets (granted, ErrApprovalClosed)
	// and no event.
	_, _, err = e.r.Decide(bg, a1.ApprovalID, approve("alice", RoleSeniorAnalyst))
	require.NoError(t, err)
	n := len(e.prod.all())
	c.ApprovalID = a1.ApprovalID
	out, rec, err := e.r.Resolve(bg, c, approve("bob", RoleAdmin))
	require.ErrorIs(t, err, ErrApprovalClosed)
	assert.Equal(t, OutcomeGranted, out)
	assert.Equal(t, "alice", rec.DecidedBy)
	assert.Len(t, e.prod.all(), n)
}

// Checklist 56.
func TestOpenReviewForcedPendsAllActions(t *testing.T) {
	e := newEnv(t)
	c := testCase("critical", act("monitor", "h1", 0), act("DROP TABLE;", "", 0), act("temporary_block", "1.2.3.4", 0))
	a, err := e.r.Open(bg, c, []string{"low_confidence_high_severity"})
	require.NoError(t, err)
	// Pending actions carry their effective tiers.
	assert.Equal(t, []Action{act("monitor", "h1", 0), act("temporary_block", "1.2.3.4", 1)}, a.PendingActions)
	assert.Equal(t, TierAutoConditional, a.MaxTier())
	prep := e.prod.byType(taxonomy.ResponsePrepared)
	require.Len(t, prep, 2)
	assert.Equal(t, []string{ReasonReviewRequired}, prep[0].Decision[audit.KeyConstraintsApplied])
	assert.Equal(t, []string{ReasonCatalogueFloor}, prep[1].Decision[audit.KeyConstraintsApplied])
}

// Checklist 57.
func TestGateSeverityRaisedByZone(t *testing.T) {
	e := newEnv(t)
	c := testCase("high", act("isolate_endpoint", "plc-1", 2))
	c.AssetZones = []AssetZone{{AssetID: "plc-1", Zone: "Zone0_PhysicalProcess"}}
	a, err := e.r.Open(bg, c, nil)
	require.NoError(t, err)
	assert.Equal(t, SeverityCritical, a.Severity)
	assert.Equal(t, time.Hour, a.Timeout())
	assert.Equal(t, at(11, 0), a.Deadline)
	assert.Equal(t, BehaviorEscalate, a.TimeoutBehavior)
	prep := e.prod.byType(taxonomy.ResponsePrepared)[0]
	assert.Equal(t, "Zone0_PhysicalProcess", prep.Context[KeyZone])
	assert.Equal(t, "safety_life", prep.Context[KeyConsequenceClass])
	assert.Equal(t, []string{ReasonLLMTier, ReasonCatalogueFloor, "zone_consequence:safety_life"},
		prep.Decision[audit.KeyConstraintsApplied])

	// A zone never lowers the case's severity.
	c2 := testCase("critical", act("isolate_endpoint", "ws-1", 2))
	c2.InvestigationID = "inv-2"
	c2.AssetZones = []AssetZone{{AssetID: "ws-1", Zone: "IT_UserWorkstations"}}
	a2, err := e.r.Open(bg, c2, nil)
	require.NoError(t, err)
	assert.Equal(t, SeverityCritical, a2.Severity)
}

// Checklist 58.
func TestTenantTimeoutOverrides(t *testing.T) {
	port := TimeoutOverridesFunc(func(_ context.Context, tenant string) (map[string]int, error) {
		if tenant == "broken" {
			return nil, errors.New("config store down")
		}
		return map[string]int{"MEDIUM": 6}, nil
	})
	e := newEnv(t, WithTimeoutOverrides(port), WithTimeouts(map[string]int{"medium": 2}))
	a, err := e.r.Open(bg, testCase("medium", act("block_ip", "1.2.3.4", 2)), nil)
	require.NoError(t, err)
	assert.Equal(t, 6*time.Hour, a.Timeout())
	assert.Equal(t, at(16, 0), a.Deadline)
	// A failing port falls back to the fixed table.
	c := testCase("medium", act("block_ip", "1.2.3.4", 2))
	c.TenantID, c.InvestigationID = "broken", "inv-b"
	a, err = e.r.Open(bg, c, nil)
	require.NoError(t, err)
	assert.Equal(t, 2*time.Hour, a.Timeout())
}

// Checklist 59 and the typed error for an unauthorised approver.
func TestRoleCheck(t *testing.T) {
	e := newEnv(t)
	c := testCase("critical", act("isolate_endpoint", "h1", 2))
	a, err := e.r.Open(bg, c, nil)
	require.NoError(t, err)
	n := len(e.prod.all())
	_, _, err = e.r.Decide(bg, a.ApprovalID, approve("eve", RoleAnalyst))
	require.ErrorIs(t, err, ErrInsufficientRole)
	var re *RoleError
	require.ErrorAs(t, err, &re)
	assert.Equal(t, RoleError{ApprovalID: a.ApprovalID, Approver: "eve", Role: RoleAnalyst, Required: RoleSeniorAnalyst}, *re)
	_, _, err = e.r.Decide(bg, a.ApprovalID, approve("mallory", "root"))
	require.ErrorIs(t, err, ErrInsufficientRole, "unknown roles rank lowest")
	assert.Len(t, e.prod.all(), n, "no event")
	cur, _, _ := e.r.Approval(bg, a.ApprovalID)
	assert.Equal(t, StateAwaitingApproval, cur.State, "nothing changed")

	for _, role := range []Role{RoleSeniorAnalyst, RoleAdmin} {
		e := newEnv(t)
		a, err := e.r.Open(bg, c, nil)
		require.NoError(t, err)
		out, _, err := e.r.Decide(bg, a.ApprovalID, approve("alice", role))
		require.NoError(t, err, role)
		assert.Equal(t, OutcomeGranted, out)
	}

	// After escalation senior_analyst fails and admin succeeds.
	_, err = e.r.Expire(bg, at(11, 0))
	require.NoError(t, err)
	cur, _, _ = e.r.Approval(bg, a.ApprovalID)
	assert.Equal(t, RoleAdmin, cur.RequiredRole)
	_, _, err = e.r.Decide(bg, a.ApprovalID, deny("alice", RoleSeniorAnalyst))
	require.ErrorIs(t, err, ErrInsufficientRole)
	out, _, err := e.r.Decide(bg, a.ApprovalID, deny("root", RoleAdmin))
	require.NoError(t, err)
	assert.Equal(t, OutcomeDenied, out)

	// WithoutRoleCheck lets the host authorise reviewers itself.
	e2 := newEnv(t, WithoutRoleCheck())
	a2, err := e2.r.Open(bg, c, nil)
	require.NoError(t, err)
	_, _, err = e2.r.Decide(bg, a2.ApprovalID, approve("eve", ""))
	require.NoError(t, err)
}

// Checklist 60.
func TestDecisionValidation(t *testing.T) {
	e := newEnv(t)
	c := testCase("high", act("isolate_endpoint", "h1", 2))
	_, _, err := e.r.Resolve(bg, c, Decision{Verdict: VerdictApprove, Role: RoleAdmin})
	require.ErrorIs(t, err, ErrApproverRequired)
	_, _, err = e.r.Resolve(bg, c, Decision{Verdict: VerdictApprove, Approver: "a", Role: RoleAdmin, Channel: "fax"})
	require.ErrorIs(t, err, ErrInvalidChannel)
	_, _, err = e.r.Resolve(bg, c, Decision{Verdict: "maybe", Approver: "a"})
	require.ErrorIs(t, err, ErrInvalidVerdict)
	assert.Empty(t, e.prod.all(), "validation happens before anything opens")
	_, rec, err := e.r.Resolve(bg, c, Decision{Verdict: VerdictApprove, Approver: "a", Role: RoleAdmin})
	require.NoError(t, err)
	assert.Equal(t, taxonomy.ChannelAPI, rec.DecisionChannel, "empty channel recorded as api")
	g := e.prod.byType(taxonomy.ApprovalGranted)
	require.Len(t, g, 1)
	assert.Equal(t, "api", g[0].Outcome[audit.KeyApprovalChannel])
	for _, ch := range taxonomy.ApprovalChannels() {
		require.NoError(t, validateDecision(&Decision{Verdict: VerdictDeny, Approver: "x", Channel: ch}), ch)
	}
	_, _, err = e.r.Decide(bg, "nope", approve("a", RoleAdmin))
	require.ErrorIs(t, err, ErrApprovalNotFound)
}

// Checklist 62 and 77.
func TestApprovalGrantedFields(t *testing.T) {
	e := newEnv(t)
	c := testCase("high", act("isolate_endpoint", "h1", 2))
	a, err := e.r.Open(bg, c, nil)
	require.NoError(t, err)
	e.clock.Set(at(10, 25))
	out, rec, err := e.r.Decide(bg, a.ApprovalID, Decision{Verdict: VerdictApprove, Approver: "alice",
		Role: RoleSeniorAnalyst, Channel: taxonomy.ChannelSlack, Comment: "ok"})
	require.NoError(t, err)
	assert.Equal(t, OutcomeGranted, out)
	assert.Equal(t, StateGranted, rec.State)
	assert.Equal(t, at(10, 25), rec.DecidedAt)
	ev := e.prod.byType(taxonomy.ApprovalGranted)
	require.Len(t, ev, 1)
	g := ev[0]
	assert.Equal(t, int64(1_500_000), g.Outcome[audit.KeyApprovalLatencyMS])
	assert.Equal(t, "alice", g.Outcome[audit.KeyApprovalReceivedFrom])
	assert.Equal(t, "slack", g.Outcome[audit.KeyApprovalChannel])
	assert.Equal(t, "ok", g.Outcome[audit.KeyApprovalComment])
	assert.Equal(t, "senior_analyst", g.Outcome[audit.KeyApprovalRequestedFrom])
	assert.Equal(t, taxonomy.ActorHuman, g.ActorType)
	assert.Equal(t, "alice", g.ActorID)
	assert.Equal(t, []string{"senior_analyst"}, g.ActorPermissions)
	assert.Equal(t, "senior_analyst", g.Context[KeyApproverRole])
	assert.Equal(t, "approve", g.Decision[audit.KeyDecisionType])
}

// Checklist 17, 27 (deny).
func TestResolveGrantAndDeny(t *testing.T) {
	e := newEnv(t)
	c := testCase("medium", act("block_ip", "1.2.3.4", 2))
	out, _, err := e.r.Resolve(bg, c, approve("alice", RoleSeniorAnalyst))
	require.NoError(t, err)
	assert.Equal(t, OutcomeGranted, out)

	c2 := testCase("medium", act("block_ip", "1.2.3.4", 2))
	c2.InvestigationID = "inv-2"
	out, rec, err := e.r.Resolve(bg, c2, deny("carol", RoleSeniorAnalyst))
	require.NoError(t, err)
	assert.Equal(t, OutcomeDenied, out)
	assert.Equal(t, StateDenied, rec.State)
	d := e.prod.byType(taxonomy.ApprovalDenied)
	require.Len(t, d, 1)
	assert.Equal(t, "reject", d[0].Decision[audit.KeyDecisionType])
	assert.Equal(t, "carol", d[0].ActorID)
}

// Checklist 26, 27 (timeout verdicts).
func TestTimeoutVerdict(t *testing.T) {
	for sev, want := range map[string]Outcome{"critical": OutcomeTimedOutEscalated, "high": OutcomeTimedOutEscalated,
		"medium": OutcomeTimedOutClosed, "low": OutcomeTimedOutClosed} {
		e := newEnv(t)
		c := testCase(sev, act("block_ip", "1.2.3.4", 2))
		_, err := e.r.Open(bg, c, nil)
		require.NoError(t, err)
		out, rec, err := e.r.Resolve(bg, c, Decision{Verdict: VerdictTimeout})
		require.NoError(t, err, sev)
		assert.Equal(t, want, out, sev)
		if want == OutcomeTimedOutEscalated {
			assert.Equal(t, StateAwaitingApproval, rec.State)
			assert.Equal(t, RoleAdmin, rec.RequiredRole)
			// The re-route is used up: the next timeout leaves it open, and
			// after that a timeout verdict changes nothing.
			out, _, err = e.r.Resolve(bg, c, Decision{Verdict: VerdictTimeout})
			require.NoError(t, err)
			assert.Equal(t, OutcomeTimedOutLeftOpen, out)
			n := len(e.prod.all())
			out, _, err = e.r.Resolve(bg, c, Decision{Verdict: VerdictTimeout})
			require.NoError(t, err)
			assert.Equal(t, OutcomeTimedOutLeftOpen, out)
			assert.Len(t, e.prod.all(), n, "no event on an exhausted record")
			// Still decidable.
			out, _, err = e.r.Resolve(bg, c, approve("root", RoleAdmin))
			require.NoError(t, err)
			assert.Equal(t, OutcomeGranted, out)
		} else {
			assert.Equal(t, StateTimedOut, rec.State)
		}
	}
}

// Checklist 63, 24: the worked critical timeline.
func TestExpireCriticalTimeline(t *testing.T) {
	e := newEnv(t)
	c := testCase("critical", act("isolate_endpoint", "h1", 2))
	a, err := e.r.Open(bg, c, nil)
	require.NoError(t, err)
	e.prod.reset()

	step := func(now time.Time) ([]ExpiredApproval, []audit.Event) {
		before := len(e.prod.all())
		e.clock.Set(now)
		out, err := e.r.Expire(bg, now)
		require.NoError(t, err)
		return out, e.prod.all()[before:]
	}
	out, evs := step(at(10, 31))
	assert.Empty(t, out)
	require.Len(t, evs, 1)
	assert.Equal(t, taxonomy.ApprovalEscalated, evs[0].Type)
	assert.Equal(t, "half_timeout", evs[0].Context[KeyEscalationKind])
	assert.Equal(t, "admin", evs[0].Outcome[audit.KeyApprovalRequestedFrom], "reminder goes to the escalation role")

	out, evs = step(at(10, 45)) // 24: no second reminder in the same window
	assert.Empty(t, out)
	assert.Empty(t, evs)

	out, evs = step(at(11, 0))
	assert.Equal(t, []ExpiredApproval{{InvestigationID: "inv-1", TenantID: "tenant-a", ApprovalID: a.ApprovalID,
		Outcome: OutcomeTimedOutEscalated}}, out)
	require.Len(t, evs, 2)
	assert.Equal(t, taxonomy.ApprovalTimedOut, evs[0].Type)
	assert.Equal(t, "awaiting_approval", evs[0].Outcome[audit.KeyStateAfter])
	assert.Equal(t, "escalate", evs[0].Decision[audit.KeyDecisionType])
	assert.Equal(t, int64(3_600_000), evs[0].Outcome[audit.KeyApprovalLatencyMS])
	assert.Equal(t, taxonomy.ApprovalEscalated, evs[1].Type)
	assert.Equal(t, "timeout_reroute", evs[1].Context[KeyEscalationKind])
	assert.Equal(t, 1, evs[1].Context[KeyEscalationLevel])
	assert.Equal(t, "admin", evs[1].Outcome[audit.KeyApprovalRequestedFrom])
	assert.Equal(t, "2026-03-02T12:00:00Z", evs[1].Context[KeyApprovalDeadline])
	rec, _, _ := e.r.Approval(bg, a.ApprovalID)
	assert.Equal(t, 1, rec.EscalationLevel)
	assert.Equal(t, RoleAdmin, rec.RequiredRole)
	assert.Equal(t, at(12, 0), rec.Deadline)

	out, evs = step(at(11, 31))
	assert.Empty(t, out)
	require.Len(t, evs, 1)
	assert.Equal(t, "half_timeout", evs[0].Context[KeyEscalationKind])

	out, evs = step(at(12, 0))
	require.Len(t, out, 1)
	assert.Equal(t, OutcomeTimedOutLeftOpen, out[0].Outcome)
	require.Len(t, evs, 1)
	assert.Equal(t, taxonomy.ApprovalTimedOut, evs[0].Type)

	out, evs = step(at(13, 0))
	assert.Empty(t, out)
	assert.Empty(t, evs)
	rec, _, _ = e.r.Approval(bg, a.ApprovalID)
	assert.Equal(t, StateAwaitingApproval, rec.State, "never auto-closed")
	assert.True(t, rec.EscalationExhausted)
	assert.Equal(t, OutcomeTimedOutLeftOpen, rec.Outcome())

	// Latency of a decision after escalation counts from the first request.
	e.clock.Set(at(13, 30))
	_, _, err = e.r.Decide(bg, a.ApprovalID, approve("root", RoleAdmin))
	require.NoError(t, err)
	g := e.prod.byType(taxonomy.ApprovalGranted)
	require.Len(t, g, 1)
	assert.Equal(t, int64(3*3_600_000+30*60_000), g[0].Outcome[audit.KeyApprovalLatencyMS])
	assert.Equal(t, 1, g[0].Context[KeyEscalationLevel])
	assert.Empty(t, e.exec.Requests(), "no timeout ever executes")
}

// Checklist 64.
func TestExpireMediumFirstSweepAtDeadline(t *testing.T) {
	e := newEnv(t)
	a, err := e.r.Open(bg, testCase("medium", act("block_ip", "1.2.3.4", 2)), nil)
	require.NoError(t, err)
	e.prod.reset()
	out, err := e.r.Expire(bg, at(14, 0))
	require.NoError(t, err)
	require.Len(t, out, 1)
	assert.Equal(t, OutcomeTimedOutClosed, out[0].Outcome)
	assert.Equal(t, []taxonomy.EventType{taxonomy.ApprovalTimedOut}, e.prod.types(), "no reminder")
	ev := e.prod.all()[0]
	assert.Equal(t, "auto_close", ev.Decision[audit.KeyDecisionType])
	assert.Equal(t, "timed_out", ev.Outcome[audit.KeyStateAfter])
	rec, _, _ := e.r.Approval(bg, a.ApprovalID)
	assert.Equal(t, StateTimedOut, rec.State)
	// A later decision gets the timeout outcome.
	out2, _, err := e.r.Decide(bg, a.ApprovalID, approve("alice", RoleAdmin))
	require.ErrorIs(t, err, ErrApprovalClosed)
	assert.Equal(t, OutcomeTimedOutClosed, out2)
}

// The medium timeline: reminder in [12:00, 14:00), timeout at 14:00; the
// sweeper orders records by deadline.
func TestExpireOrderAndReminderWindow(t *testing.T) {
	e := newEnv(t)
	cm := testCase("medium", act("block_ip", "1.2.3.4", 2))
	_, err := e.r.Open(bg, cm, nil)
	require.NoError(t, err)
	ch := testCase("high", act("block_ip", "5.6.7.8", 2))
	ch.InvestigationID = "inv-h"
	_, err = e.r.Open(bg, ch, nil)
	require.NoError(t, err)
	e.prod.reset()
	out, err := e.r.Expire(bg, at(11, 59))
	require.NoError(t, err)
	assert.Empty(t, out)
	evs := e.prod.all()
	require.Len(t, evs, 1, "high's reminder (11:00) only")
	assert.Equal(t, "inv-h", evs[0].InvestigationID)
	out, err = e.r.Expire(bg, at(14, 0))
	require.NoError(t, err)
	require.Len(t, out, 2)
	assert.Equal(t, []string{"inv-h", "inv-1"}, []string{out[0].InvestigationID, out[1].InvestigationID}, "by deadline")
}

// Checklist 65.
func TestConcurrentExpireOneTimeout(t *testing.T) {
	e := newEnv(t)
	_, err := e.r.Open(bg, testCase("medium", act("block_ip", "1.2.3.4", 2)), nil)
	require.NoError(t, err)
	var wg sync.WaitGroup
	outs := make([][]ExpiredApproval, 8)
	for i := range outs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			out, err := e.r.Expire(bg, at(14, 0))
			assert.NoError(t, err)
			outs[i] = out
		}()
	}
	wg.Wait()
	total := 0
	for _, o := range outs {
		total += len(o)
	}
	assert.Equal(t, 1, total)
	assert.Len(t, e.prod.byType(taxonomy.ApprovalTimedOut), 1)
}

// Checklist 66.
func TestResolveOpensMissingRecord(t *testing.T) {
	e := newEnv(t)
	c := testCase("high", act("isolate_endpoint", "h1", 2))
	out, rec, err := e.r.Resolve(bg, c, approve("alice", RoleSeniorAnalyst))
	require.NoError(t, err)
	assert.Equal(t, OutcomeGranted, out)
	assert.Equal(t, []string{ReasonDestructiveAction}, rec.Reasons)
	assert.Equal(t, []taxonomy.EventType{taxonomy.ResponsePrepared, taxonomy.ApprovalRequested, taxonomy.ApprovalGranted},
		e.prod.types())
}

// The RunSweeper loop, driven by a tick channel and a fake clock.
func TestRunSweeper(t *testing.T) {
	e := newEnv(t)
	_, err := e.r.Open(bg, testCase("low", act("block_ip", "1.2.3.4", 2)), nil)
	require.NoError(t, err)
	e.prod.notify = make(chan taxonomy.EventType, 8)
	ticks := make(chan time.Time)
	handled := make(chan []ExpiredApproval, 4)
	ctx, cancel := context.WithCancel(bg)
	done := make(chan error, 1)
	go func() {
		done <- e.r.RunSweeper(ctx, ticks, func(_ context.Context, x []ExpiredApproval) { handled <- x })
	}()
	ticks <- time.Time{} // 10:00: nothing due
	e.clock.Set(at(14, 0))
	ticks <- time.Time{} // half of the 8 h low window
	require.Equal(t, taxonomy.ApprovalEscalated, <-e.prod.notify, "the reminder")
	e.clock.Set(at(18, 0))
	ticks <- time.Time{} // the deadline
	got := <-handled
	require.Len(t, got, 1)
	assert.Equal(t, OutcomeTimedOutClosed, got[0].Outcome)
	cancel()
	require.ErrorIs(t, <-done, context.Canceled)
	assert.Equal(t, []taxonomy.EventType{taxonomy.ResponsePrepared, taxonomy.ApprovalRequested,
		taxonomy.ApprovalEscalated, taxonomy.ApprovalTimedOut}, e.prod.types())

	closed := make(chan time.Time)
	close(closed)
	require.NoError(t, e.r.RunSweeper(bg, closed, nil))
}

// The approver port: a policy auto-grants review-only gates and hands the
// rest to an interactive reviewer (here a terminal prompt on a reader).
func TestApproverPort(t *testing.T) {
	in := strings.NewReader("y\nn\n")
	var prompts strings.Builder
	terminal := terminalApprover(bufio.NewReader(in), &prompts, "alice", RoleSeniorAnalyst)
	e := newEnv(t, WithApprover(AutoGrantBelow(TierRequiresApproval,
		Decision{Approver: "policy:low-tier", Channel: taxonomy.ChannelAPI}, terminal)))

	// Review forced for tier-0/1 actions: auto-granted at once.
	c := testCase("critical", act("monitor", "h1", 0), act("temporary_block", "1.2.3.4", 1))
	a, err := e.r.Open(bg, c, []string{"low_confidence_high_severity"})
	require.NoError(t, err)
	assert.Equal(t, StateGranted, a.State)
	assert.Equal(t, "policy:low-tier", a.DecidedBy)
	rep, err := e.r.Respond(bg, c)
	require.NoError(t, err)
	assert.Equal(t, []ActionStatus{ActionExecuted, ActionExecuted}, statuses(rep.Results))

	// Tier 2: the terminal prompt decides (y, then n).
	c2 := testCase("high", act("isolate_host", "h2", 2))
	c2.InvestigationID = "inv-2"
	a2, err := e.r.Open(bg, c2, nil)
	require.NoError(t, err)
	assert.Equal(t, StateGranted, a2.State)
	assert.Equal(t, "alice", a2.DecidedBy)
	assert.Equal(t, taxonomy.ChannelUI, a2.DecisionChannel)
	c3 := testCase("high", act("isolate_host", "h3", 2))
	c3.InvestigationID = "inv-3"
	a3, err := e.r.Open(bg, c3, nil)
	require.NoError(t, err)
	assert.Equal(t, StateDenied, a3.State)
	assert.Contains(t, prompts.String(), "isolate_host h2")

	// End of input: the prompt errors and the gate stays open.
	c4 := testCase("high", act("isolate_host", "h4", 2))
	c4.InvestigationID = "inv-4"
	a4, err := e.r.Open(bg, c4, nil)
	require.NoError(t, err)
	assert.Equal(t, StateAwaitingApproval, a4.State)
	assert.Equal(t, []taxonomy.EventType{
		taxonomy.ResponsePrepared, taxonomy.ResponsePrepared, taxonomy.ApprovalRequested, taxonomy.ApprovalGranted,
		taxonomy.ResponseExecuted, taxonomy.ResponseExecuted,
		taxonomy.ResponsePrepared, taxonomy.ApprovalRequested, taxonomy.ApprovalGranted,
		taxonomy.ResponsePrepared, taxonomy.ApprovalRequested, taxonomy.ApprovalDenied,
		taxonomy.ResponsePrepared, taxonomy.ApprovalRequested}, e.prod.types())
}

// terminalApprover is the shape of a host's terminal prompt.
func terminalApprover(in *bufio.Reader, out io.Writer, who string, role Role) Approver {
	return ApproverFunc(func(_ context.Context, a Approval) (Decision, bool, error) {
		for _, p := range a.PendingActions {
			fmt.Fprintf(out, "approve %s %s (tier %d)? [y/n] ", p.Action, p.Target, p.Tier)
		}
		line, err := in.ReadString('\n')
		if err != nil {
			return Decision{}, false, err
		}
		v := VerdictDeny
		if strings.TrimSpace(line) == "y" {
			v = VerdictApprove
		}
		return Decision{Verdict: v, Approver: who, Role: role, Channel: taxonomy.ChannelUI}, true, nil
	})
}

// The approver is asked again on a re-route, with the escalated role
// required; an underqualified or invalid answer is rejected and the gate
// stays open; a panicking approver changes nothing.
func TestApproverOnRerouteAndRejectedDecisions(t *testing.T) {
	var mu sync.Mutex
	var asked []Role
	e := newEnv(t, WithAssigner(func(_ context.Context, a Approval) string {
		return "oncall-" + string(a.RequiredRole)
	}), WithApprover(ApproverFunc(func(_ context.Context, a Approval) (Decision, bool, error) {
		mu.Lock()
		asked = append(asked, a.RequiredRole)
		mu.Unlock()
		if a.EscalationLevel == 0 {
			return approve("junior", RoleAnalyst), true, nil // rejected: role too low
		}
		return approve("boss", RoleAdmin), true, nil
	})))
	c := testCase("critical", act("isolate_host", "h1", 2))
	a, err := e.r.Open(bg, c, nil)
	require.NoError(t, err)
	assert.Equal(t, StateAwaitingApproval, a.State)
	assert.Equal(t, "oncall-senior_analyst", a.AssignedTo)
	req := e.prod.byType(taxonomy.ApprovalRequested)[0]
	assert.Equal(t, "oncall-senior_analyst", req.Outcome[audit.KeyApprovalRequestedFrom])

	out, err := e.r.Expire(bg, at(11, 0))
	require.NoError(t, err)
	require.Len(t, out, 1)
	rec, _, _ := e.r.Approval(bg, a.ApprovalID)
	assert.Equal(t, StateGranted, rec.State, "the second reviewer granted on re-route")
	assert.Equal(t, "boss", rec.DecidedBy)
	assert.Equal(t, "oncall-admin", rec.AssignedTo)
	assert.Equal(t, []Role{RoleSeniorAnalyst, RoleAdmin}, asked)
	esc := e.prod.byType(taxonomy.ApprovalEscalated)
	require.Len(t, esc, 1)
	assert.Equal(t, "oncall-admin", esc[0].Outcome[audit.KeyApprovalRequestedFrom])

	for name, ap := range map[string]Approver{
		"panic":   ApproverFunc(func(context.Context, Approval) (Decision, bool, error) { panic("ui crashed") }),
		"invalid": ApproverFunc(func(context.Context, Approval) (Decision, bool, error) { return Decision{Verdict: "yes"}, true, nil }),
		"error": ApproverFunc(func(context.Context, Approval) (Decision, bool, error) {
			return approve("x", RoleAdmin), true, errors.New("x")
		}),
	} {
		e := newEnv(t, WithApprover(ap))
		a, err := e.r.Open(bg, c, nil)
		require.NoError(t, err, name)
		assert.Equal(t, StateAwaitingApproval, a.State, name)
	}
}

func TestAutoGrantBelowNeverGrantsTier2(t *testing.T) {
	ap := AutoGrantBelow(Tier(99), Decision{}, nil)
	_, decided, err := ap.RequestApproval(bg, Approval{PendingActions: []Action{act("block_ip", "x", 2)}})
	require.NoError(t, err)
	assert.False(t, decided)
	d, decided, err := ap.RequestApproval(bg, Approval{PendingActions: []Action{act("monitor", "x", 1)}})
	require.NoError(t, err)
	assert.True(t, decided)
	assert.Equal(t, Decision{Verdict: VerdictApprove, Approver: "policy:auto-grant", Role: RoleSeniorAnalyst}, d)
	ap0 := AutoGrantBelow(TierAutoConditional, Decision{}, nil)
	_, decided, _ = ap0.RequestApproval(bg, Approval{PendingActions: []Action{act("monitor", "x", 1)}})
	assert.False(t, decided, "limit 1 grants tier 0 only")
}

func TestMaxEscalationsAndRoles(t *testing.T) {
	e := newEnv(t, WithMaxEscalations(0), WithApproverRoles(RoleAnalyst, RoleSeniorAnalyst))
	a, err := e.r.Open(bg, testCase("high", act("block_ip", "1.2.3.4", 2)), nil)
	require.NoError(t, err)
	assert.Equal(t, RoleAnalyst, a.RequiredRole)
	out, err := e.r.Expire(bg, at(12, 0))
	require.NoError(t, err)
	require.Len(t, out, 1)
	assert.Equal(t, OutcomeTimedOutLeftOpen, out[0].Outcome, "no re-route allowed")
	assert.Empty(t, e.prod.byType(taxonomy.ApprovalEscalated), "first sweep at the deadline: no reminder, no re-route")

	e2 := newEnv(t, WithMaxEscalations(2))
	a2, err := e2.r.Open(bg, testCase("critical", act("block_ip", "1.2.3.4", 2)), nil)
	require.NoError(t, err)
	var outs []Outcome
	for _, now := range []time.Time{at(11, 0), at(12, 0), at(13, 0)} {
		out, err := e2.r.Expire(bg, now)
		require.NoError(t, err)
		require.Len(t, out, 1)
		outs = append(outs, out[0].Outcome)
	}
	assert.Equal(t, []Outcome{OutcomeTimedOutEscalated, OutcomeTimedOutEscalated, OutcomeTimedOutLeftOpen}, outs)
	rec, _, _ := e2.r.Approval(bg, a2.ApprovalID)
	assert.Equal(t, 2, rec.EscalationLevel)
}

func TestPendingApprovalsAndApprovalFor(t *testing.T) {
	e := newEnv(t)
	for i, tenant := range []string{"a", "b", "a"} {
		c := testCase("low", act("block_ip", "1.2.3.4", 2))
		c.TenantID, c.InvestigationID = tenant, fmt.Sprintf("inv-%d", i)
		_, err := e.r.Open(bg, c, nil)
		require.NoError(t, err)
	}
	a, err := e.r.PendingApprovals(bg, "a")
	require.NoError(t, err)
	assert.Len(t, a, 2)
	all, err := e.r.PendingApprovals(bg, "")
	require.NoError(t, err)
	assert.Len(t, all, 3)
	rec, ok, err := e.r.ApprovalFor(bg, "inv-1")
	require.NoError(t, err)
	require.True(t, ok)
	assert.Equal(t, "b", rec.TenantID)
}

// Checklist 61: 100 concurrent approvals of one gate — one winner, 99
// ErrApprovalClosed with the winner's outcome, one approval.granted.
func TestHundredConcurrentApprovals(t *testing.T) {
	e := newEnv(t)
	a, err := e.r.Open(bg, testCase("high", act("isolate_endpoint", "h1", 2)), nil)
	require.NoError(t, err)
	const n = 100
	type res struct {
		out Outcome
		err error
	}
	results := make(chan res, n)
	start := make(chan struct{})
	for i := range n {
		go func() {
			<-start
			out, _, err := e.r.Decide(bg, a.ApprovalID, approve(fmt.Sprintf("analyst-%d", i), RoleSeniorAnalyst))
			results <- res{out, err}
		}()
	}
	close(start)
	wins, closed := 0, 0
	for range n {
		r := <-results
		switch {
		case r.err == nil:
			wins++
			assert.Equal(t, OutcomeGranted, r.out)
		case errors.Is(r.err, ErrApprovalClosed):
			closed++
			assert.Equal(t, OutcomeGranted, r.out, "losers learn the winner's outcome")
		default:
			t.Errorf("unexpected error %v", r.err)
		}
	}
	assert.Equal(t, 1, wins)
	assert.Equal(t, n-1, closed)
	assert.Len(t, e.prod.byType(taxonomy.ApprovalGranted), 1)
}

// A process that died between creating an approval and emitting its request
// events: the next Open announces it once, with ids that do not depend on
// the process, and later Opens emit nothing.
func TestOpenAnnouncesRecordCreatedBeforeACrash(t *testing.T) {
	store := NewMemoryApprovals()
	first := newEnv(t, WithApprovalStore(store))
	c := testCase("high", act("isolate_endpoint", "h1", 2), act("disable_account", "bob", 0))
	a, err := first.r.Open(bg, c, nil)
	require.NoError(t, err)
	assert.True(t, a.Announced)
	wantIDs := []string{}
	for _, ev := range first.prod.all() {
		wantIDs = append(wantIDs, ev.AuditID)
		assert.True(t, audit.ValidUUID(ev.AuditID))
	}
	require.Len(t, wantIDs, 3)

	// Simulate the crash: the record is stored but was never announced.
	cur, _, _ := store.Get(bg, a.ApprovalID)
	cur.Announced = false
	require.NoError(t, store.Update(bg, cur, cur.Version))

	restarted := newEnv(t, WithApprovalStore(store))
	again, err := restarted.r.Open(bg, c, nil)
	require.NoError(t, err)
	assert.Equal(t, a.ApprovalID, again.ApprovalID)
	assert.True(t, again.Announced)
	var gotIDs []string
	for _, ev := range restarted.prod.all() {
		gotIDs = append(gotIDs, ev.AuditID)
	}
	assert.Equal(t, wantIDs, gotIDs, "the re-announcement repeats the first ids")
	assert.Equal(t, []taxonomy.EventType{taxonomy.ResponsePrepared, taxonomy.ResponsePrepared, taxonomy.ApprovalRequested},
		restarted.prod.types())

	_, err = restarted.r.Open(bg, c, nil)
	require.NoError(t, err)
	assert.Len(t, restarted.prod.all(), 3, "an announced record is not announced again")
}
