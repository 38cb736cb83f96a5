package orchestrator

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/socwarden/warden/response"
	"github.com/socwarden/warden/taxonomy"
)

// Many goroutines run, resume, continue and sweep the same investigations
// through the real response gate: every investigation ends in one
// consistent state, no action executes twice and the detector finds no
// race.
func TestStressMixedOperations(t *testing.T) {
	clk := newClock()
	var mu sync.Mutex
	executed := map[string]int{}
	exec := response.ExecutorFunc(func(_ context.Context, req response.ExecutionRequest) (response.ExecutionResult, error) {
		mu.Lock()
		executed[req.InvestigationID+"/"+req.Action]++
		mu.Unlock()
		return response.ExecutionResult{}, nil
	})
	rec := &recProducer{}
	resp, err := response.New(exec, response.WithClock(clk.Now), response.WithAuditProducer(rec))
	require.NoError(t, err)
	adapter, _ := NewResponseAdapter(resp)
	repo := mustFileRepo(t)
	g, err := New(repo, Agents{
		Reasoner:        verdictNode(ClassificationTruePositive, 0.9, "high", Action{Action: "isolate_host", Target: "web-01"}, Action{Action: "monitor", Target: "web-01"}),
		Responder:       adapter,
		ContextEnricher: NodeFunc(func(_ context.Context, inv *Investigation) error { inv.QueriesExecuted++; return nil }),
	}, WithApprovalGate(adapter), WithActionPolicy(adapter), WithClock(clk.Now), WithAuditProducer(rec), WithIDGenerator(seqIDs("s")))
	require.NoError(t, err)

	const n = 40
	ids := make(chan string, n)
	var wg sync.WaitGroup
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			inv, err := g.Run(ctxb, testAlert())
			if err != nil {
				t.Error(err)
				return
			}
			ids <- inv.InvestigationID
		}()
	}
	wg.Wait()
	close(ids)
	var all []string
	for id := range ids {
		all = append(all, id)
	}
	require.Len(t, all, n)

	var granted atomic.Int64
	for i, id := range all {
		for w := range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				switch (i + w) % 4 {
				case 0, 1:
					_, err := g.Resume(ctxb, id, HumanDecision{Verdict: VerdictApprove, Approver: "alice", Role: response.RoleSeniorAnalyst,
						Channel: taxonomy.ChannelUI})
					if err == nil {
						granted.Add(1)
					} else if !errors.Is(err, ErrNotAwaitingHuman) && !errors.Is(err, ErrApprovalClosed) {
						t.Error(err)
					}
				case 2:
					_, _ = g.Continue(ctxb, id)
				case 3:
					clk.Add(time.Minute)
					_, _ = g.ExpireApprovals(ctxb)
				}
			}()
		}
	}
	wg.Wait()
	for _, id := range all {
		inv, err := repo.Load(ctxb, id)
		require.NoError(t, err)
		assert.Equal(t, StateClosed, inv.State, id)
		assert.Equal(t, 1, inv.QueriesExecuted)
		assert.Len(t, inv.ActionResults, 2, id)
	}
	mu.Lock()
	defer mu.Unlock()
	assert.Len(t, executed, 2*n)
	for k, v := range executed {
		assert.Equal(t, 1, v, k)
	}
	assert.Len(t, rec.byType(taxonomy.ApprovalGranted), n)
	assert.EqualValues(t, n, granted.Load())
}
