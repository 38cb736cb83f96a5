package response

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/socwarden/warden/taxonomy"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func approvalStores(t *testing.T) map[string]ApprovalStore {
	f, err := OpenFileApprovals(filepath.Join(t.TempDir(), "approvals.jsonl"))
	require.NoError(t, err)
	t.Cleanup(func() { f.Close() })
	return map[string]ApprovalStore{"memory": NewMemoryApprovals(), "file": f}
}

func TestApprovalStoreContract(t *testing.T) {
	for name, s := range approvalStores(t) {
		t.Run(name, func(t *testing.T) {
			a := Approval{ApprovalID: "a1", InvestigationID: "inv", TenantID: "t", State: StateAwaitingApproval,
				PendingActions: []Action{act("block_ip", "x", 2)}, Deadline: at(12, 0)}
			require.NoError(t, s.Create(bg, a))
			require.ErrorIs(t, s.Create(bg, a), ErrConflict, "duplicate id")
			dup := a
			dup.ApprovalID = "a2"
			require.ErrorIs(t, s.Create(bg, dup), ErrConflict, "second awaiting record for the investigation")

			got, ok, err := s.Get(bg, "a1")
			require.NoError(t, err)
			require.True(t, ok)
			got.PendingActions[0].Action = "mutated"
			again, _, _ := s.Get(bg, "a1")
			assert.Equal(t, "block_ip", again.PendingActions[0].Action, "stores hand out copies")

			next := again
			next.State = StateGranted
			require.ErrorIs(t, s.Update(bg, next, 5), ErrConflict, "stale version")
			require.NoError(t, s.Update(bg, next, 0))
			cur, _, _ := s.Get(bg, "a1")
			assert.Equal(t, 1, cur.Version)
			assert.Equal(t, StateGranted, cur.State)
			require.ErrorIs(t, s.Update(bg, next, 0), ErrConflict, "the loser of a race")
			_, ok, _ = s.Open(bg, "inv")
			assert.False(t, ok, "no longer open")
			open, err := s.ListOpen(bg)
			require.NoError(t, err)
			assert.Empty(t, open)

			// A new gate may open now; Latest follows creation order.
			require.NoError(t, s.Create(bg, dup))
			l, ok, _ := s.Latest(bg, "inv")
			require.True(t, ok)
			assert.Equal(t, "a2", l.ApprovalID)
			o, ok, _ := s.Open(bg, "inv")
			require.True(t, ok)
			assert.Equal(t, "a2", o.ApprovalID)
			_, ok, err = s.Get(bg, "missing")
			require.NoError(t, err)
			assert.False(t, ok)
			require.ErrorIs(t, s.Update(bg, Approval{ApprovalID: "missing"}, 0), ErrConflict)
		})
	}
}

func TestExecutionStoreContract(t *testing.T) {
	f, err := OpenFileExecutions(filepath.Join(t.TempDir(), "executions.jsonl"))
	require.NoError(t, err)
	defer f.Close()
	for name, s := range map[string]ExecutionStore{"memory": NewMemoryExecutions(), "file": f} {
		t.Run(name, func(t *testing.T) {
			x := Execution{ExecutionID: "x1", IdempotencyKey: "k1", InvestigationID: "inv", Status: ExecutionRunning,
				RollbackData: map[string]string{"rule": "r1"}}
			require.NoError(t, s.Create(bg, x))
			require.ErrorIs(t, s.Create(bg, x), ErrConflict)
			other := x
			other.ExecutionID = "x2"
			require.ErrorIs(t, s.Create(bg, other), ErrConflict, "one execution per idempotency key")
			got, ok, err := s.ByKey(bg, "k1")
			require.NoError(t, err)
			require.True(t, ok)
			got.RollbackData["rule"] = "mutated"
			again, _, _ := s.Get(bg, "x1")
			assert.Equal(t, "r1", again.RollbackData["rule"])
			again.Status = ExecutionSucceeded
			again.IdempotencyKey = "moved"
			require.NoError(t, s.Update(bg, again, 0))
			require.ErrorIs(t, s.Update(bg, again, 0), ErrConflict)
			byKey, ok, _ := s.ByKey(bg, "k1")
			require.True(t, ok, "the key never moves")
			assert.Equal(t, ExecutionSucceeded, byKey.Status)
			list, err := s.ListByInvestigation(bg, "inv")
			require.NoError(t, err)
			assert.Len(t, list, 1)
		})
	}
}

// The test: a restart loses no pending approval; the reopened gate
// can be granted and its executions are not repeated.
func TestFileStoresSurviveRestart(t *testing.T) {
	dir := t.TempDir()
	apath, xpath := filepath.Join(dir, "approvals.jsonl"), filepath.Join(dir, "executions.jsonl")
	start := func(clock *fakeClock, prod *recProducer, exec *DryRunExecutor) (*Responder, func()) {
		as, err := OpenFileApprovals(apath)
		require.NoError(t, err)
		xs, err := OpenFileExecutions(xpath)
		require.NoError(t, err)
		r, err := New(exec, WithClock(clock.Now), WithAuditProducer(prod), WithApprovalStore(as), WithExecutionStore(xs))
		require.NoError(t, err)
		return r, func() { require.NoError(t, as.Close()); require.NoError(t, xs.Close()) }
	}
	clock := newFakeClock(at(10, 0))
	prod := &recProducer{}
	exec1 := NewDryRunExecutor()
	r1, stop1 := start(clock, prod, exec1)

	crit := testCase("critical", act("isolate_host", "h1", 2), act("monitor", "h1", 0))
	med := testCase("medium", act("block_ip", "1.2.3.4", 2))
	med.InvestigationID = "inv-med"
	ac, err := r1.Open(bg, crit, nil)
	require.NoError(t, err)
	am, err := r1.Open(bg, med, nil)
	require.NoError(t, err)
	clock.Set(at(10, 40))
	_, err = r1.Expire(bg, clock.Now()) // critical's reminder
	require.NoError(t, err)
	stop1()

	// "Process restart": new stores from the same files, new responder.
	exec2 := NewDryRunExecutor()
	r2, stop2 := start(clock, prod, exec2)
	pending, err := r2.PendingApprovals(bg, "tenant-a")
	require.NoError(t, err)
	require.Len(t, pending, 2, "no pending approval lost")
	got, ok, err := r2.Approval(bg, ac.ApprovalID)
	require.NoError(t, err)
	require.True(t, ok)
	assert.True(t, got.EscalationNotified, "the reminder flag survived")
	assert.Equal(t, ac.Deadline, got.Deadline)
	assert.Equal(t, ac.PendingActions, got.PendingActions)

	nRem := len(prod.byType(taxonomy.ApprovalEscalated))
	_, err = r2.Expire(bg, at(10, 50))
	require.NoError(t, err)
	assert.Len(t, prod.byType(taxonomy.ApprovalEscalated), nRem, "no second reminder after restart")

	out, _, err := r2.Decide(bg, ac.ApprovalID, approve("alice", RoleSeniorAnalyst))
	require.NoError(t, err)
	assert.Equal(t, OutcomeGranted, out)
	crit.ApprovalID = ac.ApprovalID
	rep, err := r2.Respond(bg, crit)
	require.NoError(t, err)
	assert.Equal(t, []ActionStatus{ActionExecuted, ActionExecuted}, statuses(rep.Results))
	stop2()

	// Another restart: the grant and the executions are durable, and a
	// replayed Respond executes nothing.
	exec3 := NewDryRunExecutor()
	r3, stop3 := start(clock, prod, exec3)
	defer stop3()
	got, _, _ = r3.Approval(bg, ac.ApprovalID)
	assert.Equal(t, StateGranted, got.State)
	assert.Equal(t, "alice", got.DecidedBy)
	rep2, err := r3.Respond(bg, crit)
	require.NoError(t, err)
	assert.Equal(t, []ActionStatus{ActionExecuted, ActionExecuted}, statuses(rep2.Results))
	assert.True(t, rep2.Results[0].Replayed)
	assert.Empty(t, exec3.Requests(), "nothing executed twice across restarts")
	assert.Len(t, exec2.Requests(), 2)
	assert.Empty(t, exec1.Requests())
	// The medium gate still times out on schedule.
	exp, err := r3.Expire(bg, at(14, 0))
	require.NoError(t, err)
	require.Len(t, exp, 1)
	assert.Equal(t, am.ApprovalID, exp[0].ApprovalID)
	assert.Equal(t, OutcomeTimedOutClosed, exp[0].Outcome)
	// A rollback after the restart finds the execution.
	require.NoError(t, r3.Rollback(bg, rep.Results[0].ExecutionID, Actor{ID: "dave"}, "undo"))
}

func TestFileStoreTornTailAndDamage(t *testing.T) {
	path := filepath.Join(t.TempDir(), "approvals.jsonl")
	s, err := OpenFileApprovals(path)
	require.NoError(t, err)
	require.NoError(t, s.Create(bg, Approval{ApprovalID: "a1", InvestigationID: "i1", TenantID: "t", State: StateAwaitingApproval}))
	require.NoError(t, s.Create(bg, Approval{ApprovalID: "a2", InvestigationID: "i2", TenantID: "t", State: StateAwaitingApproval}))
	require.NoError(t, s.Close())
	require.ErrorIs(t, s.Create(bg, Approval{ApprovalID: "a3"}), ErrStoreClosed)
	_, _, err = s.Get(bg, "a1")
	require.ErrorIs(t, err, ErrStoreClosed)
	good, err := os.ReadFile(path)
	require.NoError(t, err)

	// A crash mid-write leaves a partial last line: it is cut off.
	require.NoError(t, os.WriteFile(path, append(bytes.Clone(good), []byte(`{"approval_id":"a3","inv`)...), 0o600))
	s, err = OpenFileApprovals(path)
	require.NoError(t, err)
	open, err := s.ListOpen(bg)
	require.NoError(t, err)
	assert.Len(t, open, 2)
	require.NoError(t, s.Create(bg, Approval{ApprovalID: "a3", InvestigationID: "i3", TenantID: "t", State: StateAwaitingApproval}))
	require.NoError(t, s.Close())
	s, err = OpenFileApprovals(path)
	require.NoError(t, err)
	open, _ = s.ListOpen(bg)
	assert.Len(t, open, 3, "the write after the cut is intact")
	require.NoError(t, s.Close())

	// Damage before the end is an error, never silently dropped.
	lines := bytes.SplitAfter(good, []byte("\n"))
	damaged := append(append([]byte("{not json}\n"), lines[0]...), lines[1]...)
	require.NoError(t, os.WriteFile(path, damaged, 0o600))
	_, err = OpenFileApprovals(path)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "line 1 is damaged")
}

func TestFileStoreCompaction(t *testing.T) {
	path := filepath.Join(t.TempDir(), "executions.jsonl")
	s, err := OpenFileExecutions(path)
	require.NoError(t, err)
	x := Execution{ExecutionID: "x1", IdempotencyKey: "k", InvestigationID: "inv", Status: ExecutionRunning}
	require.NoError(t, s.Create(bg, x))
	for v := range compactSlack + 10 {
		x.Attempts = v + 2
		require.NoError(t, s.Update(bg, x, v))
	}
	require.NoError(t, s.Close())
	before, _ := os.Stat(path)
	s, err = OpenFileExecutions(path)
	require.NoError(t, err)
	defer s.Close()
	after, _ := os.Stat(path)
	assert.Less(t, after.Size(), before.Size()/100, "compacted to one line")
	got, ok, err := s.ByKey(bg, "k")
	require.NoError(t, err)
	require.True(t, ok)
	assert.Equal(t, compactSlack+11, got.Attempts)
	assert.Equal(t, compactSlack+10, got.Version)
	// Appends after compaction land in the new file.
	got.Status = ExecutionSucceeded
	require.NoError(t, s.Update(bg, got, got.Version))
	require.NoError(t, s.Close())
	s2, err := OpenFileExecutions(path)
	require.NoError(t, err)
	defer s2.Close()
	final, _, _ := s2.Get(bg, "x1")
	assert.Equal(t, ExecutionSucceeded, final.Status)
	_, err = os.Stat(path + ".tmp")
	assert.True(t, os.IsNotExist(err), "no temp file left behind")
}

func TestOpenFileStoreErrors(t *testing.T) {
	_, err := OpenFileApprovals(filepath.Join(t.TempDir(), "missing-dir", "x.jsonl"))
	require.Error(t, err)
	_, err = OpenFileExecutions(filepath.Join(t.TempDir(), "missing-dir", "x.jsonl"))
	require.Error(t, err)
	path := filepath.Join(t.TempDir(), "x.jsonl")
	require.NoError(t, os.WriteFile(path, []byte("{}\n{}\n"), 0o600))
	_, err = OpenFileApprovals(path)
	require.Error(t, err, "records without ids are damage")
}
