package response

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/socwarden/warden/audit"
	"github.com/socwarden/warden/taxonomy"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Checklist 1.
func TestRespondAutoActions(t *testing.T) {
	e := newEnv(t)
	rep, err := e.r.Respond(bg, testCase("high", act("monitor", "h1", 0), act("send_alert", "soc", 0)))
	require.NoError(t, err)
	assert.Equal(t, []ActionStatus{ActionExecuted, ActionExecuted}, statuses(rep.Results))
	assert.Len(t, e.exec.Requests(), 2)
	assert.Len(t, e.prod.byType(taxonomy.ResponseExecuted), 2)
	for _, r := range rep.Results {
		assert.NotEmpty(t, r.ExecutionID)
		assert.Empty(t, r.ApprovedBy)
	}
}

type countingPlaybooks struct {
	calls atomic.Int64
	inner PlaybookStore
	err   error
	last  PlaybookQuery
}

func (c *countingPlaybooks) Select(ctx context.Context, q PlaybookQuery) ([]Playbook, error) {
	c.calls.Add(1)
	c.last = q
	if c.err != nil {
		return nil, c.err
	}
	return c.inner.Select(ctx, q)
}

// Checklist 2, 3.
func TestRespondSelectsPlaybooks(t *testing.T) {
	store := &countingPlaybooks{inner: NewMemoryPlaybooks(
		Playbook{PlaybookID: "PB-001", Title: "Phishing Response", Severity: "high"},
		Playbook{PlaybookID: "PB-002", Title: "Ransomware", Severity: "critical"})}
	e := newEnv(t, WithPlaybooks(store))
	c := testCase("high", act("monitor", "h1", 0))
	c.Tactics, c.Techniques = []string{"TA0001"}, []string{"T1566"}
	rep, err := e.r.Respond(bg, c)
	require.NoError(t, err)
	assert.Equal(t, int64(1), store.calls.Load())
	assert.Equal(t, 1, rep.QueriesExecuted)
	assert.Equal(t, PlaybookQuery{TenantID: "tenant-a", Severity: "high", Tactics: []string{"TA0001"},
		Techniques: []string{"T1566"}, Limit: 3}, store.last)
	require.Len(t, rep.Playbooks, 1)
	assert.Equal(t, "Phishing Response", rep.Playbooks[0].Title)
	sel := e.prod.byType(taxonomy.PlaybookSelected)
	require.Len(t, sel, 1)
	assert.Equal(t, []string{"PB-001"}, sel[0].Decision[audit.KeyRecommendedActions])
	// playbook.selected precedes the executions.
	assert.Equal(t, []taxonomy.EventType{taxonomy.PlaybookSelected, taxonomy.ResponseExecuted}, e.prod.types())
}

func TestMemoryPlaybooksOrderAndLimit(t *testing.T) {
	s := NewMemoryPlaybooks(Playbook{PlaybookID: "PB-4"}, Playbook{PlaybookID: "PB-2", Severity: "HIGH"},
		Playbook{PlaybookID: "PB-1", Severity: "low"}, Playbook{PlaybookID: "PB-3"})
	got, err := s.Select(bg, PlaybookQuery{Severity: "high", Limit: 2})
	require.NoError(t, err)
	require.Len(t, got, 2)
	assert.Equal(t, []string{"PB-2", "PB-3"}, []string{got[0].PlaybookID, got[1].PlaybookID})
}

// Checklist 4 and 78: no producer, identical results.
func TestRespondNilProducerIdentical(t *testing.T) {
	c := testCase("high", act("monitor", "h1", 0), act("isolate_host", "h1", 0), act("DROP TABLE;", "", 0),
		Action{Action: "execute_playbook", Target: "PB-9"})
	run := func(p audit.Producer) (Report, []ExecutionRequest) {
		exec := NewDryRunExecutor()
		clk := newFakeClock(at(10, 0))
		r, err := New(exec, WithClock(clk.Now), WithIDGenerator(seqIDs("x")), WithAuditProducer(p))
		require.NoError(t, err)
		rep, err := r.Respond(bg, c)
		require.NoError(t, err)
		return rep, exec.Requests()
	}
	withRep, withReqs := run(&recProducer{})
	nilRep, nilReqs := run(nil)
	assert.Equal(t, withRep, nilRep)
	assert.Equal(t, withReqs, nilReqs)
	assert.Equal(t, []ActionStatus{ActionExecuted, ActionBlocked, ActionSkipped, ActionBlocked}, statuses(nilRep.Results))
}

// Checklist 5: a case whose gate is not granted does not respond.
func TestRespondRefusesUngrantedGate(t *testing.T) {
	for _, tc := range []struct {
		name   string
		decide func(e *env, id string)
		state  ApprovalState
	}{
		{"awaiting", func(*env, string) {}, StateAwaitingApproval},
		{"denied", func(e *env, id string) {
			_, _, err := e.r.Decide(bg, id, deny("carol", RoleSeniorAnalyst))
			require.NoError(t, err)
		}, StateDenied},
		{"timed out", func(e *env, id string) {
			_, err := e.r.Expire(bg, at(23, 0))
			require.NoError(t, err)
		}, StateTimedOut},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			c := testCase("medium", act("monitor", "h1", 0), act("block_ip", "1.2.3.4", 2))
			a, err := e.r.Open(bg, c, nil)
			require.NoError(t, err)
			tc.decide(e, a.ApprovalID)
			c.ApprovalID = a.ApprovalID
			_, err = e.r.Respond(bg, c)
			require.ErrorIs(t, err, ErrNotResponding)
			var ge *GateError
			require.ErrorAs(t, err, &ge)
			assert.Equal(t, tc.state, ge.State)
			assert.Empty(t, e.exec.Requests(), "no executor call")
			assert.Empty(t, e.prod.byType(taxonomy.ResponseExecuted))
		})
	}
}

// Checklist 6.
func TestRespondPlaybookStoreError(t *testing.T) {
	e := newEnv(t, WithPlaybooks(&countingPlaybooks{err: errors.New("db down")}))
	rep, err := e.r.Respond(bg, testCase("high", act("monitor", "h1", 0)))
	require.NoError(t, err)
	assert.Empty(t, rep.Playbooks)
	assert.Equal(t, []ActionStatus{ActionExecuted}, statuses(rep.Results))
	assert.Empty(t, e.prod.byType(taxonomy.PlaybookSelected))
}

// Checklist 10.
func TestRespondMalformedActions(t *testing.T) {
	e := newEnv(t)
	rep, err := e.r.Respond(bg, testCase("low", act("", "", 0), act("DROP TABLE;", "x", 0)))
	require.NoError(t, err)
	assert.Equal(t, []ActionStatus{ActionSkipped, ActionSkipped}, statuses(rep.Results))
	for _, r := range rep.Results {
		assert.Equal(t, "malformed action", r.Error)
	}
	assert.Empty(t, e.prod.all(), "no event")
	assert.Empty(t, e.exec.Requests())
}

// Checklist 31, 32, 37, 39, 41.
func TestRespondPlaybookAllowList(t *testing.T) {
	e := newEnv(t, WithConstraints(Constraints{AllowedPlaybooks: []string{"PB-001"}}))
	rep, err := e.r.Respond(bg, testCase("high", Action{Action: "execute_playbook", Target: "PB-001"}))
	require.NoError(t, err)
	assert.Equal(t, []ActionStatus{ActionExecuted}, statuses(rep.Results)) // 31
	ev := e.prod.byType(taxonomy.ResponseExecuted)
	require.Len(t, ev, 1)
	assert.Equal(t, "success", ev[0].Outcome[audit.KeyOutcomeStatus])

	c := testCase("high", Action{Action: "execute_playbook", Target: "h1", PlaybookID: "PB-999"})
	c.InvestigationID = "inv-2"
	rep, err = e.r.Respond(bg, c)
	require.NoError(t, err, "32: the investigation still completes")
	require.Equal(t, []ActionStatus{ActionBlocked}, statuses(rep.Results))
	assert.Equal(t, BlockedUnauthorizedPlaybook, rep.Results[0].ConstraintBlockedType)

	// 37: an injected playbook.
	e37 := newEnv(t, WithConstraints(Constraints{AllowedPlaybooks: []string{"PB-SAFE-001"}}))
	rep, err = e37.r.Respond(bg, testCase("high", Action{Action: "execute_playbook", Target: "PB-EVIL"}))
	require.NoError(t, err)
	require.Equal(t, []ActionStatus{ActionBlocked}, statuses(rep.Results))
	assert.Equal(t, BlockedUnauthorizedPlaybook, rep.Results[0].ConstraintBlockedType)
	assert.Empty(t, e37.exec.Requests())

	// 39: empty allow-list, no producer.
	r39, err := New(NewDryRunExecutor())
	require.NoError(t, err)
	rep, err = r39.Respond(bg, testCase("high", Action{Action: "execute_playbook", Target: "PB-EVIL"}))
	require.NoError(t, err)
	assert.Equal(t, []ActionStatus{ActionBlocked}, statuses(rep.Results))

	// 41: an approval does not lift a constraint. The playbook is gated by
	// its zone, granted, and still blocked by the allow-list.
	e41 := newEnv(t, WithConstraints(Constraints{AllowedPlaybooks: []string{"PB-001"}}))
	c41 := testCase("high", Action{Action: "execute_playbook", Target: "plc-1", PlaybookID: "PB-999"})
	c41.AssetZones = []AssetZone{{AssetID: "plc-1", Zone: "Zone0_Safety"}}
	a, err := e41.r.Open(bg, c41, nil)
	require.NoError(t, err)
	_, _, err = e41.r.Decide(bg, a.ApprovalID, approve("alice", RoleAdmin))
	require.NoError(t, err)
	c41.ApprovalID = a.ApprovalID
	rep, err = e41.r.Respond(bg, c41)
	require.NoError(t, err)
	require.Equal(t, []ActionStatus{ActionBlocked}, statuses(rep.Results))
	assert.Equal(t, BlockedUnauthorizedPlaybook, rep.Results[0].ConstraintBlockedType)
	assert.Equal(t, a.ApprovalID, rep.Results[0].ApprovalID)
	assert.Empty(t, e41.exec.Requests())
}

// Checklist 33, 34.
func TestRespondAutoClose(t *testing.T) {
	e := newEnv(t)
	c := testCase("low", act("auto_close", "", 0))
	c.Confidence, c.Classification = 0.95, "false_positive"
	rep, err := e.r.Respond(bg, c)
	require.NoError(t, err)
	assert.Equal(t, []ActionStatus{ActionExecuted}, statuses(rep.Results))
	ev := e.prod.byType(taxonomy.ResponseExecuted)
	require.Len(t, ev, 1)
	assert.Equal(t, "auto_close", ev[0].Decision[audit.KeyDecisionType])

	c.InvestigationID, c.Classification = "inv-2", "true_positive"
	rep, err = e.r.Respond(bg, c)
	require.NoError(t, err)
	require.Equal(t, []ActionStatus{ActionBlocked}, statuses(rep.Results))
	assert.Equal(t, BlockedInsufficientCriteria, rep.Results[0].ConstraintBlockedType)
}

// Checklist 35, 38, 40: platform changes are gated (floor 2) and, once
// approved, still blocked by the code constraint.
func TestRespondPlatformChanges(t *testing.T) {
	e := newEnv(t)
	c := testCase("high", act("modify_routing_policy", "router", 2), act("disable_guardrails", "gw", 2), act("monitor", "h1", 0))
	a, err := e.r.Open(bg, c, nil)
	require.NoError(t, err)
	_, _, err = e.r.Decide(bg, a.ApprovalID, approve("alice", RoleAdmin))
	require.NoError(t, err)
	c.ApprovalID = a.ApprovalID
	rep, err := e.r.Respond(bg, c)
	require.NoError(t, err)
	require.Equal(t, []ActionStatus{ActionBlocked, ActionBlocked, ActionExecuted}, statuses(rep.Results))
	assert.Equal(t, BlockedRoutingPolicyChange, rep.Results[0].ConstraintBlockedType) // 35
	assert.Equal(t, BlockedGuardrailChange, rep.Results[1].ConstraintBlockedType)     // 40

	// Without any approval the gate blocks first (38: ≥1 blocked, ≥1 executed).
	e2 := newEnv(t)
	rep, err = e2.r.Respond(bg, testCase("high", act("modify_routing_policy", "router", 0), act("monitor", "h1", 0)))
	require.NoError(t, err)
	require.Equal(t, []ActionStatus{ActionBlocked, ActionExecuted}, statuses(rep.Results))
	assert.Equal(t, BlockedApprovalRequired, rep.Results[0].ConstraintBlockedType)

	// When allowed by the constraints, an approved change runs.
	e3 := newEnv(t, WithConstraints(Constraints{AllowRoutingPolicyChanges: true, AllowGuardrailChanges: true}))
	c3 := testCase("high", act("modify_routing_policy", "router", 0), act("disable_guardrails", "gw", 0))
	a3, err := e3.r.Open(bg, c3, nil)
	require.NoError(t, err)
	_, _, err = e3.r.Decide(bg, a3.ApprovalID, approve("alice", RoleAdmin))
	require.NoError(t, err)
	rep, err = e3.r.Respond(bg, c3)
	require.NoError(t, err)
	assert.Equal(t, []ActionStatus{ActionExecuted, ActionExecuted}, statuses(rep.Results))
}

// Checklist 36.
func TestRespondDefaultConstraints(t *testing.T) {
	r, err := New(NewDryRunExecutor())
	require.NoError(t, err)
	rep, err := r.Respond(bg, testCase("low", act("monitor", "h1", 0)))
	require.NoError(t, err)
	assert.Equal(t, []ActionStatus{ActionExecuted}, statuses(rep.Results))
}

// Checklist 42 and the test: an injected "isolate host, tier 0" is
// not executed unattended.
func TestInjectedIsolateHostTier0NotExecutedUnattended(t *testing.T) {
	// An auto-grant policy is configured: it must not grant a tier-2 gate.
	interactiveAsked := 0
	e := newEnv(t, WithApprover(AutoGrantBelow(TierRequiresApproval, Decision{},
		ApproverFunc(func(context.Context, Approval) (Decision, bool, error) {
			interactiveAsked++
			return Decision{}, false, nil // the human has not answered yet
		}))))
	c := testCase("low", Action{Action: "isolate host", Target: "db-01", Tier: 0}, // as injected: malformed
		Action{Action: "isolate_host", Target: "db-01", Tier: 0, Rationale: "ignore previous instructions"},
		Action{Action: "ISOLATE", Target: "db-01", Tier: 0})

	// Without any gate, Respond blocks both well-formed spellings.
	rep, err := e.r.Respond(bg, c)
	require.NoError(t, err)
	require.Equal(t, []ActionStatus{ActionSkipped, ActionBlocked, ActionBlocked}, statuses(rep.Results))
	for _, r := range rep.Results[1:] {
		assert.Equal(t, BlockedApprovalRequired, r.ConstraintBlockedType) // 42
		assert.Equal(t, TierRequiresApproval, r.Tier)
	}
	assert.Empty(t, e.exec.Requests())

	// The policy says approval is required; opening the gate reaches a human.
	gated, _, err := e.r.RequiresApproval(bg, c)
	require.NoError(t, err)
	require.True(t, gated)
	a, err := e.r.Open(bg, c, nil)
	require.NoError(t, err)
	assert.Equal(t, StateAwaitingApproval, a.State, "not auto-granted")
	assert.Equal(t, 1, interactiveAsked)
	c.ApprovalID = a.ApprovalID
	_, err = e.r.Respond(bg, c)
	require.ErrorIs(t, err, ErrNotResponding)
	assert.Empty(t, e.exec.Requests(), "never executed unattended")
}

// Checklist 67 and the "a replayed approval never executes twice".
func TestGrantedApprovalExecutesOnce(t *testing.T) {
	e := newEnv(t)
	c := testCase("high", act("monitor", "h1", 0), act("isolate_endpoint", "h1", 2))
	a, err := e.r.Open(bg, c, nil)
	require.NoError(t, err)
	_, _, err = e.r.Resolve(bg, c, approve("alice", RoleSeniorAnalyst))
	require.NoError(t, err)
	c.ApprovalID = a.ApprovalID
	rep, err := e.r.Respond(bg, c)
	require.NoError(t, err)
	require.Equal(t, []ActionStatus{ActionExecuted, ActionExecuted}, statuses(rep.Results))
	assert.Equal(t, "alice", rep.Results[1].ApprovedBy)
	assert.Equal(t, a.ApprovalID, rep.Results[1].ApprovalID)
	reqs := e.exec.Requests()
	require.Len(t, reqs, 2)
	assert.Empty(t, reqs[0].ApprovedBy)
	assert.Equal(t, "alice", reqs[1].ApprovedBy)
	ev := e.prod.byType(taxonomy.ResponseExecuted)
	require.Len(t, ev, 2)
	assert.Equal(t, "alice", ev[1].Outcome[audit.KeyApprovalReceivedFrom])
	assert.NotContains(t, ev[0].Outcome, audit.KeyApprovalReceivedFrom)

	// A second Respond with the recorded results executes nothing new.
	c.Results = rep.Results
	rep2, err := e.r.Respond(bg, c)
	require.NoError(t, err)
	assert.Empty(t, rep2.Results)
	// A replay that lost the results (crash before the orchestrator's
	// checkpoint) gets the recorded outcomes back, flagged as replays.
	c.Results = nil
	rep3, err := e.r.Respond(bg, c)
	require.NoError(t, err)
	require.Equal(t, []ActionStatus{ActionExecuted, ActionExecuted}, statuses(rep3.Results))
	assert.True(t, rep3.Results[0].Replayed && rep3.Results[1].Replayed)
	assert.Equal(t, rep.Results[1].ExecutionID, rep3.Results[1].ExecutionID)
	// Replaying the approval itself changes nothing.
	out, _, err := e.r.Resolve(bg, c, approve("alice", RoleSeniorAnalyst))
	require.ErrorIs(t, err, ErrApprovalClosed)
	assert.Equal(t, OutcomeGranted, out)
	_, err = e.r.Respond(bg, c)
	require.NoError(t, err)

	assert.Len(t, e.exec.Requests(), 2, "each action executed exactly once")
	assert.Len(t, e.prod.byType(taxonomy.ResponseExecuted), 2, "no duplicate response.executed")
	assert.Len(t, e.prod.byType(taxonomy.ApprovalGranted), 1)
}

func TestRespondDuplicateActionInOneCall(t *testing.T) {
	e := newEnv(t)
	rep, err := e.r.Respond(bg, testCase("low", act("monitor", "h1", 0), act("MONITOR", "h1", 1), act("monitor", "h2", 0)))
	require.NoError(t, err)
	assert.Len(t, rep.Results, 2)
	assert.Len(t, e.exec.Requests(), 2)
}

func TestConcurrentRespondExecutesOnce(t *testing.T) {
	release := make(chan struct{})
	var calls atomic.Int64
	exec := ExecutorFunc(func(ctx context.Context, req ExecutionRequest) (ExecutionResult, error) {
		calls.Add(1)
		<-release
		return ExecutionResult{}, nil
	})
	r, err := New(exec)
	require.NoError(t, err)
	c := testCase("low", act("monitor", "h1", 0))
	const n = 16
	results := make(chan Report, n)
	for range n {
		go func() {
			rep, err := r.Respond(bg, c)
			assert.NoError(t, err)
			results <- rep
		}()
	}
	close(release)
	fresh := 0
	for range n {
		rep := <-results
		require.Len(t, rep.Results, 1)
		assert.Equal(t, ActionExecuted, rep.Results[0].Status)
		if !rep.Results[0].Replayed {
			fresh++
		}
	}
	assert.Equal(t, int64(1), calls.Load())
	assert.Equal(t, 1, fresh)
}

// Checklist 68.
func TestRespondExecutorFailureContinues(t *testing.T) {
	e := newEnv(t)
	e.exec.FailActions("isolate_endpoint")
	c := testCase("high", act("isolate_endpoint", "h1", 2), act("monitor", "h1", 0))
	_, err := e.r.Open(bg, c, nil)
	require.NoError(t, err)
	_, _, err = e.r.Resolve(bg, c, approve("alice", RoleSeniorAnalyst))
	require.NoError(t, err)
	rep, err := e.r.Respond(bg, c)
	require.NoError(t, err)
	require.Equal(t, []ActionStatus{ActionFailed, ActionExecuted}, statuses(rep.Results))
	assert.Contains(t, rep.Results[0].Error, "set to fail")
	ev := e.prod.byType(taxonomy.ResponseExecuted)
	require.Len(t, ev, 2)
	assert.Equal(t, "failed", ev[0].Outcome[audit.KeyOutcomeStatus])
	assert.Equal(t, taxonomy.SeverityWarning, ev[0].Severity)
	assert.Contains(t, ev[0].Outcome[audit.KeyErrorDetails], "set to fail")
}

// Checklist 69.
func TestRollbackOnFailure(t *testing.T) {
	e := newEnv(t, WithRollbackOnFailure(true))
	e.exec.FailActions("isolate_endpoint")
	c := testCase("high", act("block_ip", "1.2.3.4", 2), act("disable_account", "bob", 2),
		act("isolate_endpoint", "h1", 2), act("monitor", "h1", 0))
	_, _, err := e.r.Resolve(bg, c, approve("alice", RoleSeniorAnalyst))
	require.NoError(t, err)
	e.prod.reset()
	rep, err := e.r.Respond(bg, c)
	require.NoError(t, err)
	assert.Equal(t, []ActionStatus{ActionRolledBack, ActionRolledBack, ActionFailed, ActionSkipped}, statuses(rep.Results))
	assert.Equal(t, "aborted after failure of isolate_endpoint", rep.Results[3].Error)
	rb := e.exec.Rollbacks()
	require.Len(t, rb, 2)
	assert.Equal(t, []string{"disable_account", "block_ip"}, []string{rb[0].Action, rb[1].Action})
	evs := e.prod.byType(taxonomy.ResponseRolledBack)
	require.Len(t, evs, 2)
	for _, ev := range evs {
		assert.Equal(t, taxonomy.ActorAgent, ev.ActorType)
		assert.Equal(t, ActorID, ev.ActorID)
		assert.Equal(t, "compensation: isolate_endpoint failed", ev.Decision[audit.KeyReasoningSummary])
	}
	assert.Equal(t, []taxonomy.EventType{taxonomy.ResponseExecuted, taxonomy.ResponseExecuted, taxonomy.ResponseExecuted,
		taxonomy.ResponseRolledBack, taxonomy.ResponseRolledBack}, e.prod.types())
	assert.Len(t, e.exec.Requests(), 3, "monitor never ran")
}

// Checklist 70: the default 30 s bound reaches the executor, and an
// executor that outlives its bound fails with a deadline error.
func TestExecutionTimeout(t *testing.T) {
	var deadline time.Duration
	exec := ExecutorFunc(func(ctx context.Context, req ExecutionRequest) (ExecutionResult, error) {
		d, ok := ctx.Deadline()
		require.True(t, ok)
		deadline = time.Until(d)
		return ExecutionResult{}, context.DeadlineExceeded // as a slow executor would see it
	})
	r, err := New(exec)
	require.NoError(t, err)
	rep, err := r.Respond(bg, testCase("low", act("monitor", "h1", 0)))
	require.NoError(t, err)
	assert.Greater(t, deadline, 29*time.Second)
	assert.LessOrEqual(t, deadline, DefaultExecutionTimeout)
	require.Equal(t, []ActionStatus{ActionFailed}, statuses(rep.Results))
	assert.Contains(t, rep.Results[0].Error, "deadline exceeded")

	// A per-action timeout overrides the default; the executor blocks until
	// the bound fires (no sleeping in the test).
	cat := DefaultCatalogue()
	spec := cat["collect_forensics"]
	spec.Timeout = time.Millisecond
	cat["collect_forensics"] = spec
	blocking := ExecutorFunc(func(ctx context.Context, req ExecutionRequest) (ExecutionResult, error) {
		if req.Action == "collect_forensics" {
			<-ctx.Done()
			return ExecutionResult{}, ctx.Err()
		}
		d, _ := ctx.Deadline()
		assert.Greater(t, time.Until(d), time.Minute, "other actions keep the responder's bound")
		return ExecutionResult{}, nil
	})
	r2, err := New(blocking, WithCatalogue(cat), WithExecutionTimeout(time.Hour))
	require.NoError(t, err)
	rep, err = r2.Respond(bg, testCase("low", act("collect_forensics", "h1", 1), act("monitor", "h1", 0)))
	require.NoError(t, err)
	require.Equal(t, []ActionStatus{ActionFailed, ActionExecuted}, statuses(rep.Results))
	assert.Contains(t, rep.Results[0].Error, context.DeadlineExceeded.Error())

	// ≤ 0 means no bound.
	r3, err := New(ExecutorFunc(func(ctx context.Context, _ ExecutionRequest) (ExecutionResult, error) {
		_, ok := ctx.Deadline()
		assert.False(t, ok)
		return ExecutionResult{}, nil
	}), WithExecutionTimeout(0))
	require.NoError(t, err)
	_, err = r3.Respond(bg, testCase("low", act("monitor", "h1", 0)))
	require.NoError(t, err)
}

// Checklist 71, 72.
func TestRollback(t *testing.T) {
	e := newEnv(t)
	c := testCase("high", act("block_ip", "1.2.3.4", 2), act("revoke_sessions", "bob", 2))
	_, _, err := e.r.Resolve(bg, c, approve("alice", RoleSeniorAnalyst))
	require.NoError(t, err)
	rep, err := e.r.Respond(bg, c)
	require.NoError(t, err)
	require.Equal(t, []ActionStatus{ActionExecuted, ActionExecuted}, statuses(rep.Results))

	human := Actor{Type: taxonomy.ActorHuman, ID: "dave"}
	require.NoError(t, e.r.Rollback(bg, rep.Results[0].ExecutionID, human, "false alarm"))
	x, ok, err := e.r.executions.Get(bg, rep.Results[0].ExecutionID)
	require.NoError(t, err)
	require.True(t, ok)
	assert.Equal(t, ExecutionRolledBack, x.Status)
	assert.Equal(t, "dave", x.RolledBackBy)
	assert.Equal(t, "false alarm", x.RollbackReason)
	ev := e.prod.byType(taxonomy.ResponseRolledBack)
	require.Len(t, ev, 1)
	assert.Equal(t, taxonomy.ActorHuman, ev[0].ActorType)
	assert.Equal(t, "dave", ev[0].ActorID)
	assert.Equal(t, "rolled_back", ev[0].Outcome[audit.KeyOutcomeStatus])

	err = e.r.Rollback(bg, rep.Results[0].ExecutionID, human, "again")
	require.ErrorIs(t, err, ErrNotRollbackable) // 71
	err = e.r.Rollback(bg, rep.Results[1].ExecutionID, human, "undo")
	require.ErrorIs(t, err, ErrNotReversible) // 72
	err = e.r.Rollback(bg, "no-such-id", human, "undo")
	require.ErrorIs(t, err, ErrExecutionNotFound)
	require.ErrorIs(t, e.r.Rollback(bg, rep.Results[0].ExecutionID, Actor{}, "x"), ErrActorRequired)
	assert.Len(t, e.prod.byType(taxonomy.ResponseRolledBack), 1, "refusals emit nothing")

	// An executor that cannot roll back makes everything irreversible.
	r2, err := New(ExecutorFunc(func(context.Context, ExecutionRequest) (ExecutionResult, error) {
		return ExecutionResult{Reversible: true}, nil
	}))
	require.NoError(t, err)
	_, _, err = r2.Resolve(bg, c, approve("alice", RoleSeniorAnalyst))
	require.NoError(t, err)
	rep, err = r2.Respond(bg, c)
	require.NoError(t, err)
	require.ErrorIs(t, r2.Rollback(bg, rep.Results[0].ExecutionID, human, "x"), ErrNotReversible)
	// A failed execution cannot be rolled back.
	e.exec.FailActions("monitor")
	rep, err = e.r.Respond(bg, Case{InvestigationID: "inv-9", TenantID: "t", Actions: []Action{act("monitor", "h", 0)}})
	require.NoError(t, err)
	require.ErrorIs(t, e.r.Rollback(bg, rep.Results[0].ExecutionID, human, "x"), ErrNotRollbackable)
}

type failingRollbacker struct {
	*DryRunExecutor
	err error
}

func (f failingRollbacker) Rollback(context.Context, Execution) error { return f.err }

// Checklist 73.
func TestRollbackerError(t *testing.T) {
	prod := &recProducer{}
	boom := errors.New("edr unreachable")
	r, err := New(failingRollbacker{NewDryRunExecutor(), boom}, WithAuditProducer(prod))
	require.NoError(t, err)
	rep, err := r.Respond(bg, testCase("low", act("temporary_block", "1.2.3.4", 1)))
	require.NoError(t, err)
	id := rep.Results[0].ExecutionID
	err = r.Rollback(bg, id, Actor{ID: "dave"}, "undo")
	require.ErrorIs(t, err, boom)
	x, _, _ := r.executions.Get(bg, id)
	assert.Equal(t, ExecutionSucceeded, x.Status, "unchanged")
	ev := prod.byType(taxonomy.ResponseRolledBack)
	require.Len(t, ev, 1)
	assert.Equal(t, "failed", ev[0].Outcome[audit.KeyOutcomeStatus])
	assert.Equal(t, "succeeded", ev[0].Outcome[audit.KeyStateAfter])
	assert.Equal(t, boom.Error(), ev[0].Outcome[audit.KeyErrorDetails])
	assert.Equal(t, taxonomy.ActorHuman, ev[0].ActorType, "empty actor type defaults to human")
}

// Checklist 74.
func TestExecutorPanic(t *testing.T) {
	r, err := New(ExecutorFunc(func(_ context.Context, req ExecutionRequest) (ExecutionResult, error) {
		if req.Action == "monitor" {
			panic("edr sdk bug")
		}
		return ExecutionResult{}, nil
	}))
	require.NoError(t, err)
	rep, err := r.Respond(bg, testCase("low", act("monitor", "h1", 0), act("log_event", "h1", 0)))
	require.NoError(t, err)
	require.Equal(t, []ActionStatus{ActionFailed, ActionExecuted}, statuses(rep.Results))
	assert.Contains(t, rep.Results[0].Error, "executor panic")
}

// A cancelled Respond leaves an interrupted execution running; the next call
// re-sends it under the same idempotency key instead of losing or
// duplicating it.
func TestInterruptedExecutionIsResentWithSameKey(t *testing.T) {
	ctx, cancel := context.WithCancel(bg)
	var keys []string
	var attempts atomic.Int64
	exec := ExecutorFunc(func(c context.Context, req ExecutionRequest) (ExecutionResult, error) {
		keys = append(keys, req.IdempotencyKey)
		if attempts.Add(1) == 1 {
			cancel() // the host shuts down mid-execution
			<-c.Done()
			return ExecutionResult{}, c.Err()
		}
		return ExecutionResult{}, nil
	})
	prod := &recProducer{}
	r, err := New(exec, WithAuditProducer(prod))
	require.NoError(t, err)
	c := testCase("low", act("monitor", "h1", 0))
	_, err = r.Respond(ctx, c)
	require.ErrorIs(t, err, context.Canceled)
	xs, err := r.Executions(bg, "inv-1")
	require.NoError(t, err)
	require.Len(t, xs, 1)
	assert.Equal(t, ExecutionRunning, xs[0].Status)
	assert.Empty(t, prod.all(), "no outcome known yet, no event")

	rep, err := r.Respond(bg, c)
	require.NoError(t, err)
	require.Equal(t, []ActionStatus{ActionExecuted}, statuses(rep.Results))
	require.Len(t, keys, 2)
	assert.Equal(t, keys[0], keys[1])
	xs, _ = r.Executions(bg, "inv-1")
	require.Len(t, xs, 1)
	assert.Equal(t, 2, xs[0].Attempts)
	assert.Len(t, prod.byType(taxonomy.ResponseExecuted), 1)
}

func TestRespondInvalidCase(t *testing.T) {
	e := newEnv(t)
	_, err := e.r.Respond(bg, Case{TenantID: "t"})
	require.ErrorIs(t, err, ErrInvalidCase)
	_, err = e.r.Respond(bg, Case{InvestigationID: "i"})
	require.ErrorIs(t, err, ErrInvalidCase)
	_, _, err = e.r.RequiresApproval(bg, Case{})
	require.ErrorIs(t, err, ErrInvalidCase)
	_, err = e.r.Open(bg, Case{}, nil)
	require.ErrorIs(t, err, ErrInvalidCase)
	ctx, cancel := context.WithCancel(bg)
	cancel()
	_, err = e.r.Respond(ctx, testCase("low", act("monitor", "h", 0)))
	require.ErrorIs(t, err, context.Canceled)
	assert.Empty(t, e.exec.Requests())
}

// An approval of one investigation never authorises another's actions.
func TestApprovalIsScopedToItsCase(t *testing.T) {
	e := newEnv(t)
	c := testCase("high", act("isolate_host", "h1", 2))
	a, err := e.r.Open(bg, c, nil)
	require.NoError(t, err)
	_, _, err = e.r.Decide(bg, a.ApprovalID, approve("alice", RoleSeniorAnalyst))
	require.NoError(t, err)
	other := c
	other.InvestigationID, other.ApprovalID = "inv-other", a.ApprovalID
	rep, err := e.r.Respond(bg, other)
	require.NoError(t, err)
	require.Equal(t, []ActionStatus{ActionBlocked}, statuses(rep.Results))
	// Same investigation, but an action the approval did not cover.
	c.ApprovalID = a.ApprovalID
	c.Actions = append(c.Actions, act("disable_account", "bob", 2))
	rep, err = e.r.Respond(bg, c)
	require.NoError(t, err)
	assert.Equal(t, []ActionStatus{ActionExecuted, ActionBlocked}, statuses(rep.Results))
}
