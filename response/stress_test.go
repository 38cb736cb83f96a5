package response

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/socwarden/warden/audit"
	"github.com/socwarden/warden/taxonomy"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Many goroutines grant, deny, time out, sweep and respond on the same gates
// at once. Every gate ends with exactly one terminal outcome, exactly one
// caller is told it won, the audit trail has exactly one terminal event per
// closed gate, and no action executes twice or without a grant.
func TestStressOneTerminalOutcomePerGate(t *testing.T) {
	for _, tc := range []struct {
		name    string
		store   func(t *testing.T) ApprovalStore
		workers int
		ops     int
	}{
		{"memory", func(*testing.T) ApprovalStore { return NewMemoryApprovals() }, 64, 40},
		{"file", func(t *testing.T) ApprovalStore {
			s, err := OpenFileApprovals(filepath.Join(t.TempDir(), "a.jsonl"))
			require.NoError(t, err)
			t.Cleanup(func() { s.Close() })
			return s
		}, 16, 20},
	} {
		t.Run(tc.name, func(t *testing.T) { stress(t, tc.store(t), tc.workers, tc.ops) })
	}
}

func stress(t *testing.T, store ApprovalStore, workers, ops int) {
	const gates = 20
	prod := &recProducer{}
	exec := NewDryRunExecutor()
	clock := newFakeClock(at(10, 0))
	r, err := New(exec, WithClock(clock.Now), WithAuditProducer(prod), WithApprovalStore(store))
	require.NoError(t, err)

	cases := make([]Case, gates)
	for i := range cases {
		sev := "medium" // timeouts close
		if i%2 == 1 {
			sev = "critical" // timeouts re-route, then leave open
		}
		c := testCase(sev, act("isolate_host", fmt.Sprintf("h%d", i), 0))
		c.InvestigationID = fmt.Sprintf("inv-%02d", i)
		a, err := r.Open(bg, c, nil)
		require.NoError(t, err)
		c.ApprovalID = a.ApprovalID
		cases[i] = c
	}

	var mu sync.Mutex
	wins := map[string]int{}       // approval id → decisions and timeouts that closed it and were told so
	decided := map[string]string{} // approval id → "granted"/"denied" as told to the winner
	sweepTimes := []time.Time{at(10, 31), at(11, 0), at(11, 40), at(12, 0), at(14, 0), at(15, 0)}
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(w), 42))
			for range ops {
				c := cases[rng.IntN(gates)]
				switch rng.IntN(6) {
				case 0, 1:
					d := approve(fmt.Sprintf("w%d", w), RoleAdmin)
					if rng.IntN(2) == 0 {
						d = deny(fmt.Sprintf("w%d", w), RoleSeniorAnalyst) // may be too junior after a re-route
					}
					out, _, err := r.Decide(bg, c.ApprovalID, d)
					switch {
					case err == nil:
						mu.Lock()
						wins[c.ApprovalID]++
						decided[c.ApprovalID] = string(out)
						mu.Unlock()
					case !errors.Is(err, ErrApprovalClosed) && !errors.Is(err, ErrInsufficientRole):
						t.Errorf("decide: %v", err)
					}
				case 2:
					out, err := r.Expire(bg, sweepTimes[rng.IntN(len(sweepTimes))])
					assert.NoError(t, err)
					mu.Lock()
					for _, x := range out {
						if x.Outcome == OutcomeTimedOutClosed {
							wins[x.ApprovalID]++
						}
					}
					mu.Unlock()
				case 3:
					out, _, err := r.Resolve(bg, c, Decision{Verdict: VerdictTimeout})
					if err == nil && out == OutcomeTimedOutClosed {
						mu.Lock()
						wins[c.ApprovalID]++
						mu.Unlock()
					} else if err != nil && !errors.Is(err, ErrApprovalClosed) {
						t.Errorf("timeout verdict: %v", err)
					}
				default:
					_, err := r.Respond(bg, c)
					if err != nil && !errors.Is(err, ErrNotResponding) {
						t.Errorf("respond: %v", err)
					}
				}
			}
		}()
	}
	wg.Wait()

	// Everything still open is decided now, so every gate ends closed.
	for _, c := range cases {
		out, _, err := r.Decide(bg, c.ApprovalID, deny("final", RoleAdmin))
		if err == nil {
			wins[c.ApprovalID]++
			decided[c.ApprovalID] = string(out)
		} else {
			require.ErrorIs(t, err, ErrApprovalClosed)
		}
		_, err = r.Respond(bg, c)
		if err != nil {
			require.ErrorIs(t, err, ErrNotResponding)
		}
	}

	terminal := map[string]int{}
	for _, ev := range prod.all() {
		id, _ := ev.Context[KeyApprovalID].(string)
		switch {
		case ev.Type == taxonomy.ApprovalGranted, ev.Type == taxonomy.ApprovalDenied,
			ev.Type == taxonomy.ApprovalTimedOut && ev.Outcome[audit.KeyStateAfter] == string(StateTimedOut):
			terminal[id]++
		}
	}
	executed := map[string]int{}
	for _, req := range exec.Requests() {
		executed[req.InvestigationID]++
	}
	for _, c := range cases {
		a, ok, err := r.Approval(bg, c.ApprovalID)
		require.NoError(t, err)
		require.True(t, ok)
		require.NotEqual(t, StateAwaitingApproval, a.State, c.InvestigationID)
		assert.Equal(t, 1, wins[c.ApprovalID], "%s: exactly one caller closed it", c.InvestigationID)
		assert.Equal(t, 1, terminal[c.ApprovalID], "%s: exactly one terminal event", c.InvestigationID)
		if d, ok := decided[c.ApprovalID]; ok {
			assert.Equal(t, string(a.Outcome()), d, "the winner was told the stored outcome")
		}
		if a.State == StateGranted {
			assert.Equal(t, 1, executed[c.InvestigationID], "%s: granted → executed exactly once", c.InvestigationID)
		} else {
			assert.Zero(t, executed[c.InvestigationID], "%s: never executed without a grant", c.InvestigationID)
		}
		if c.Severity == "critical" {
			assert.NotEqual(t, StateTimedOut, a.State, "critical gates are never closed by a timeout")
		}
	}
	assert.Len(t, prod.byType(taxonomy.ResponseExecuted), len(exec.Requests()), "one event per execution")
}
