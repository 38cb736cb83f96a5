package response

import (
	"context"
	"encoding/json"
	"go/build"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/socwarden/warden/audit"
	"github.com/socwarden/warden/taxonomy"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// everyPath drives every event of spec §5 through r: playbook selection,
// preparation and request, reminder, timeout with re-route, grant,
// execution (success, failure, blocked), rollback and a denial.
func everyPath(t *testing.T, r *Responder, clock *fakeClock) {
	t.Helper()
	c := testCase("high", act("isolate_endpoint", "plc-1", 0), act("monitor", "plc-1", 0),
		act("revoke_sessions", "bob", 2), act("modify_routing_policy", "router", 0))
	c.AssetZones = []AssetZone{{AssetID: "plc-1", Zone: "Zone1_PLCNetwork"}}
	gated, reasons, err := r.RequiresApproval(bg, c)
	require.NoError(t, err)
	require.True(t, gated)
	a, err := r.Open(bg, c, reasons)
	require.NoError(t, err)
	c.ApprovalID = a.ApprovalID
	_, err = r.Expire(bg, at(11, 0)) // reminder (high: 2 h)
	require.NoError(t, err)
	_, err = r.Expire(bg, at(12, 0)) // timeout → re-route to admin
	require.NoError(t, err)
	clock.Set(at(12, 10))
	_, _, err = r.Resolve(bg, c, Decision{Verdict: VerdictApprove, Approver: "root", Role: RoleAdmin,
		Channel: taxonomy.ChannelTeams, Comment: "contain it"})
	require.NoError(t, err)
	rep, err := r.Respond(bg, c)
	require.NoError(t, err)
	require.Equal(t, []ActionStatus{ActionExecuted, ActionExecuted, ActionFailed, ActionBlocked}, statuses(rep.Results))
	require.NoError(t, r.Rollback(bg, rep.Results[0].ExecutionID, Actor{Type: taxonomy.ActorHuman, ID: "dave"}, "plant restart"))

	d := testCase("medium", act("block_ip", "9.9.9.9", 2))
	d.InvestigationID = "inv-2"
	_, _, err = r.Resolve(bg, d, Decision{Verdict: VerdictDeny, Approver: "carol", Role: RoleSeniorAnalyst,
		Channel: taxonomy.ChannelSlack, Comment: "benign"})
	require.NoError(t, err)
}

func newEveryPathResponder(t *testing.T, p audit.Producer) (*Responder, *fakeClock, *DryRunExecutor) {
	clock := newFakeClock(at(10, 0))
	exec := NewDryRunExecutor()
	exec.FailActions("revoke_sessions")
	r, err := New(exec, WithClock(clock.Now), WithIDGenerator(seqIDs("id")), WithAuditProducer(p),
		WithPlaybooks(NewMemoryPlaybooks(Playbook{PlaybookID: "PB-001", Severity: "high"})))
	require.NoError(t, err)
	return r, clock, exec
}

// Checklist 81: every event's type is in the taxonomy, its category matches,
// and every listed field is populated.
func TestEveryEventHasItsFields(t *testing.T) {
	prod := &recProducer{}
	r, clock, _ := newEveryPathResponder(t, prod)
	everyPath(t, r, clock)

	type keys struct{ ctx, dec, out []string }
	want := map[taxonomy.EventType]keys{
		taxonomy.ResponsePrepared: {
			ctx: []string{audit.KeyEvidenceRefs, KeyTier, KeyRiskClass, KeyZone, KeyConsequenceClass},
			dec: []string{audit.KeyDecisionType, audit.KeyRecommendedActions, audit.KeySeverityAssigned, audit.KeyConstraintsApplied},
			out: []string{audit.KeyOutcomeStatus, audit.KeyActionTaken, audit.KeyActionTarget}},
		taxonomy.ApprovalRequested: {
			ctx: []string{audit.KeyEvidenceRefs, KeyApprovalDeadline, KeyTimeoutSeconds, KeyTimeoutBehavior, KeyPendingActions},
			dec: []string{audit.KeyDecisionType, audit.KeyRecommendedActions, audit.KeySeverityAssigned, audit.KeyReasoningSummary},
			out: []string{audit.KeyOutcomeStatus, audit.KeyApprovalRequestedFrom}},
		taxonomy.ApprovalGranted: {
			ctx: []string{audit.KeyEvidenceRefs, KeyEscalationLevel, KeyApproverRole},
			dec: []string{audit.KeyDecisionType},
			out: []string{audit.KeyOutcomeStatus, audit.KeyApprovalReceivedFrom, audit.KeyApprovalRequestedFrom,
				audit.KeyApprovalChannel, audit.KeyApprovalLatencyMS, audit.KeyApprovalComment}},
		taxonomy.ApprovalDenied: {
			ctx: []string{audit.KeyEvidenceRefs, KeyEscalationLevel, KeyApproverRole},
			dec: []string{audit.KeyDecisionType},
			out: []string{audit.KeyOutcomeStatus, audit.KeyApprovalReceivedFrom, audit.KeyApprovalRequestedFrom,
				audit.KeyApprovalChannel, audit.KeyApprovalLatencyMS, audit.KeyApprovalComment}},
		taxonomy.ApprovalTimedOut: {
			ctx: []string{audit.KeyEvidenceRefs, KeyTimeoutBehavior, KeyEscalationLevel},
			dec: []string{audit.KeyDecisionType, audit.KeySeverityAssigned},
			out: []string{audit.KeyOutcomeStatus, audit.KeyApprovalRequestedFrom, audit.KeyApprovalLatencyMS,
				audit.KeyStateBefore, audit.KeyStateAfter}},
		taxonomy.ApprovalEscalated: {
			ctx: []string{audit.KeyEvidenceRefs, KeyEscalationKind, KeyEscalationLevel, KeyApprovalDeadline},
			dec: []string{audit.KeyDecisionType, audit.KeyReasoningSummary, audit.KeySeverityAssigned},
			out: []string{audit.KeyOutcomeStatus, audit.KeyApprovalRequestedFrom}},
		taxonomy.ResponseExecuted: {
			ctx: []string{audit.KeyEvidenceRefs, KeyAction, KeyTarget, KeyTier},
			dec: []string{audit.KeyDecisionType, audit.KeyRecommendedActions},
			out: []string{audit.KeyOutcomeStatus, audit.KeyActionTaken, audit.KeyActionTarget}},
		taxonomy.ResponseRolledBack: {
			ctx: []string{audit.KeyEvidenceRefs},
			dec: []string{audit.KeyReasoningSummary},
			out: []string{audit.KeyOutcomeStatus, audit.KeyActionTaken, audit.KeyActionTarget, audit.KeyStateBefore, audit.KeyStateAfter}},
		taxonomy.PlaybookSelected: {
			dec: []string{audit.KeyRecommendedActions, audit.KeySeverityAssigned},
			out: []string{audit.KeyOutcomeStatus}},
	}
	seen := map[taxonomy.EventType]bool{}
	for _, ev := range prod.all() {
		seen[ev.Type] = true
		require.True(t, ev.Type.Valid(), ev.Type)
		w, ok := want[ev.Type]
		require.True(t, ok, "unexpected event %s", ev.Type)
		assert.Equal(t, "tenant-a", ev.TenantID, ev.Type)
		assert.NotEmpty(t, ev.InvestigationID, ev.Type)
		assert.Equal(t, "alert-1", ev.AlertID, ev.Type)
		assert.NotEmpty(t, ev.ActorID, ev.Type)
		assert.True(t, ev.ActorType.Valid(), ev.Type)
		for _, k := range w.ctx {
			if (k == KeyZone || k == KeyConsequenceClass) && !slices.Contains(ev.EntityIDs, "plc-1") {
				continue // only targets with a known zone carry these
			}
			assert.Contains(t, ev.Context, k, "%s context.%s", ev.Type, k)
		}
		if ev.Type != taxonomy.PlaybookSelected {
			assert.NotEmpty(t, ev.Context[audit.KeyEvidenceRefs], ev.Type)
		}
		for _, k := range w.dec {
			assert.NotEmpty(t, ev.Decision[k], "%s decision.%s", ev.Type, k)
		}
		for _, k := range w.out {
			assert.Contains(t, ev.Outcome, k, "%s outcome.%s", ev.Type, k)
		}
		if ev.Type != taxonomy.PlaybookSelected {
			assert.NotEmpty(t, ev.EntityIDs, ev.Type)
		}
		switch ev.Type.Category() {
		case taxonomy.CategoryApproval:
			assert.True(t, strings.HasPrefix(string(ev.Type), "approval."))
		case taxonomy.CategoryAction:
			assert.True(t, strings.HasPrefix(string(ev.Type), "response."))
		case taxonomy.CategoryDecision:
			assert.Equal(t, taxonomy.PlaybookSelected, ev.Type)
		default:
			t.Errorf("%s has category %s", ev.Type, ev.Type.Category())
		}
		switch ev.Type {
		case taxonomy.ApprovalGranted, taxonomy.ApprovalDenied:
			assert.Equal(t, taxonomy.ActorHuman, ev.ActorType)
			assert.NotEmpty(t, ev.ActorPermissions)
		case taxonomy.ApprovalTimedOut, taxonomy.ApprovalEscalated:
			assert.Equal(t, taxonomy.ActorSystem, ev.ActorType)
			assert.Equal(t, GateActorID, ev.ActorID)
		}
	}
	assert.Len(t, seen, len(want), "every event type was exercised")
	failed := prod.byType(taxonomy.ResponseExecuted)[2]
	assert.Equal(t, "failed", failed.Outcome[audit.KeyOutcomeStatus])
	assert.NotEmpty(t, failed.Outcome[audit.KeyErrorDetails])
	assert.Equal(t, "root", failed.Outcome[audit.KeyApprovalReceivedFrom])
	assert.Equal(t, []string{"execution:id-4", "approval:id-1"}, failed.Context[audit.KeyEvidenceRefs])
}

// Checklist 82.
func TestBlockedEventShape(t *testing.T) {
	e := newEnv(t)
	_, err := e.r.Respond(bg, testCase("low", Action{Action: "execute_playbook", Target: "PB-X"}))
	require.NoError(t, err)
	ev := e.prod.byType(taxonomy.ResponseExecuted)
	require.Len(t, ev, 1)
	assert.Equal(t, "blocked_by_guardrail", ev[0].Outcome[audit.KeyOutcomeStatus])
	assert.Equal(t, taxonomy.SeverityWarning, ev[0].Severity)
	assert.Equal(t, []string{"unauthorized_playbook"}, ev[0].Decision[audit.KeyConstraintsApplied])
}

// Checklist 75.
func TestLogEventEmitsExecuted(t *testing.T) {
	e := newEnv(t)
	_, err := e.r.Respond(bg, testCase("low", act("log_event", "h1", 0)))
	require.NoError(t, err)
	ev := e.prod.byType(taxonomy.ResponseExecuted)
	require.GreaterOrEqual(t, len(ev), 1)
	assert.Equal(t, "inv-1", ev[0].InvestigationID)
	assert.Equal(t, taxonomy.ActorAgent, ev[0].ActorType)
	assert.Equal(t, []string{"h1"}, ev[0].EntityIDs)
}

// Checklists 4, 78, 79 over every path: results, records and executor calls
// are identical with a recording producer, no producer and a panicking one.
func TestEmissionNeverChangesResults(t *testing.T) {
	type snapshot struct {
		Approvals  []Approval
		Executions []Execution
		Requests   []ExecutionRequest
		Rollbacks  []Execution
	}
	run := func(p audit.Producer) snapshot {
		r, clock, exec := newEveryPathResponder(t, p)
		everyPath(t, r, clock)
		var s snapshot
		for _, inv := range []string{"inv-1", "inv-2"} {
			a, _, err := r.ApprovalFor(bg, inv)
			require.NoError(t, err)
			s.Approvals = append(s.Approvals, a)
			x, err := r.Executions(bg, inv)
			require.NoError(t, err)
			s.Executions = append(s.Executions, x...)
		}
		s.Requests, s.Rollbacks = exec.Requests(), exec.Rollbacks()
		return s
	}
	rec := run(&recProducer{})
	none := run(nil)
	pp := &panicProducer{}
	panicking := run(pp)
	assert.Equal(t, rec, none)
	assert.Equal(t, rec, panicking)
	assert.Greater(t, pp.calls.Load(), int64(10), "the panicking producer was really called")
	var typedNil *audit.Emitter
	assert.Equal(t, rec, run(typedNil), "a typed nil emitter is a no-op too")
}

// Checklist 80: the package has no publishing path of its own — its only
// outputs are the audit producer and the executor port. It imports nothing
// that could talk to a bus or the network, and only what DESIGN §2 allows.
func TestNoRawPublishing(t *testing.T) {
	pkg, err := build.ImportDir(".", 0)
	require.NoError(t, err)
	allowed := map[string]bool{
		"github.com/socwarden/warden/audit":         true,
		"github.com/socwarden/warden/taxonomy":      true,
		"github.com/socwarden/warden/internal/zone": true,
	}
	for _, imp := range pkg.Imports {
		if strings.Contains(imp, ".") { // not the standard library
			assert.True(t, allowed[imp], "import %s", imp)
		}
		assert.False(t, imp == "net" || strings.HasPrefix(imp, "net/"), "import %s", imp)
	}
}

// The same flow through the real Emitter, so the events survive encoding.
func TestThroughRealEmitter(t *testing.T) {
	sink := audit.NewRecorder()
	em, err := audit.New(sink, audit.WithSourceService("response"))
	require.NoError(t, err)
	r, clock, _ := newEveryPathResponder(t, em)
	everyPath(t, r, clock)
	ctx, cancel := context.WithTimeout(bg, 10*time.Second)
	defer cancel()
	require.NoError(t, em.Close(ctx))
	st := em.Stats()
	assert.Zero(t, st.Dropped)
	assert.Zero(t, st.Invalid, "every event passes the emitter's validation")
	assert.Zero(t, st.Sanitized)
	assert.Equal(t, st.Emitted, st.Delivered)

	granted := sink.ByType(taxonomy.ApprovalGranted)
	require.Len(t, granted, 1)
	g := granted[0]
	assert.Equal(t, taxonomy.CategoryApproval, g.EventCategory)
	assert.Equal(t, "root", g.ActorID)
	assert.Equal(t, []string{"admin"}, g.ActorPermissions)
	assert.Equal(t, json.Number("7800000"), g.Outcome[audit.KeyApprovalLatencyMS]) // 10:00 → 12:10
	assert.Equal(t, "teams", g.Outcome[audit.KeyApprovalChannel])
	assert.Equal(t, "contain it", g.Outcome[audit.KeyApprovalComment])
	assert.Equal(t, "admin", g.Outcome[audit.KeyApprovalRequestedFrom])

	var types []taxonomy.EventType
	for _, rec := range sink.Records() {
		if rec.InvestigationID == "inv-1" {
			types = append(types, rec.EventType)
		}
	}
	assert.Equal(t, []taxonomy.EventType{
		taxonomy.ResponsePrepared, taxonomy.ResponsePrepared, taxonomy.ResponsePrepared, // the three gated actions
		taxonomy.ApprovalRequested,
		taxonomy.ApprovalEscalated,                            // reminder
		taxonomy.ApprovalTimedOut, taxonomy.ApprovalEscalated, // re-route
		taxonomy.ApprovalGranted,
		taxonomy.PlaybookSelected,
		taxonomy.ResponseExecuted, taxonomy.ResponseExecuted, taxonomy.ResponseExecuted, taxonomy.ResponseExecuted,
		taxonomy.ResponseRolledBack,
	}, types)
}
