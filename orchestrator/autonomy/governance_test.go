package autonomy

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/socwarden/warden/audit"
	"github.com/socwarden/warden/entityparser"
	"github.com/socwarden/warden/orchestrator"
	"github.com/socwarden/warden/taxonomy"
)

type recProducer struct {
	mu    sync.Mutex
	evs   []audit.Event
	panic bool
}

func (p *recProducer) Emit(e audit.Event) (string, bool) {
	if p.panic {
		panic("audit down")
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.evs = append(p.evs, e)
	return "", true
}

func (p *recProducer) byType(t taxonomy.EventType) []audit.Event {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []audit.Event
	for _, e := range p.evs {
		if e.Type == t {
			out = append(out, e)
		}
	}
	return out
}

func (p *recProducer) all() []audit.Event {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]audit.Event(nil), p.evs...)
}

func candidate(id string) FPPattern {
	p, err := NewCandidate(FPPattern{PatternID: id, TenantID: "t-001", AlertNameRegex: "^Exchange",
		EntityPatterns: []EntityPattern{{Type: "account", ValueRegex: "service"}}}, t0)
	if err != nil {
		panic(err)
	}
	return p
}

func governance(t *testing.T, rec *recProducer, ps ...FPPattern) (*Governance, *MemoryFPPatterns) {
	t.Helper()
	store := NewMemoryFPPatterns()
	for _, p := range ps {
		require.NoError(t, store.Put(bg, p))
	}
	opts := []Option{WithClock(fixedNow)}
	if rec != nil {
		opts = append(opts, WithAuditProducer(rec))
	}
	g, err := NewGovernance(store, nil, nil, opts...)
	require.NoError(t, err)
	return g, store
}

// Checklist 164–166, 173, 174.
func TestTwoPersonApproval(t *testing.T) {
	rec := &recProducer{}
	g, store := governance(t, rec, candidate("pat-001"))
	p := candidate("pat-001")
	got, err := g.Approve(bg, p, "alice@org")
	require.NoError(t, err)
	assert.Equal(t, "alice@org", got.ApprovedBy1)
	assert.Empty(t, got.ApprovedBy2)
	assert.Equal(t, StatusPendingReview, got.Status)
	assert.Empty(t, rec.all(), "the first approval emits nothing")

	_, err = g.Approve(bg, p, "ALICE@org ")
	assert.ErrorIs(t, err, ErrSameApprover)
	assert.Contains(t, err.Error(), "Same person")
	_, err = g.Approve(bg, p, "")
	assert.ErrorIs(t, err, ErrEmptyApprover)

	got, err = g.Approve(bg, p, "bob@org")
	require.NoError(t, err)
	assert.Equal(t, "bob@org", got.ApprovedBy2)
	assert.Equal(t, StatusApproved, got.Status)
	assert.Equal(t, t0, got.ApprovalDate)
	assert.Equal(t, t0.Add(90*24*time.Hour), got.ExpiryDate)
	assert.Equal(t, 90*24*time.Hour, PatternValidity)
	stored, _, _ := store.Get(bg, "t-001", "pat-001")
	assert.Equal(t, got, stored)

	_, err = g.Approve(bg, p, "carol@org")
	assert.ErrorIs(t, err, ErrAlreadyApproved)

	ev := rec.byType(taxonomy.FPPatternApproved)
	require.Len(t, ev, 1)
	assert.Equal(t, "alice@org,bob@org", ev[0].Outcome[audit.KeyApprovalReceivedFrom])
	assert.Equal(t, "pat-001", ev[0].Outcome[audit.KeyActionTarget])
	assert.Equal(t, "approve", ev[0].Decision[audit.KeyDecisionType])
	assert.Equal(t, "t-001", ev[0].TenantID)
	assert.Equal(t, "bob@org", ev[0].ActorID)
	assert.Equal(t, taxonomy.ActorHuman, ev[0].ActorType)
	assert.Equal(t, "alice@org", ev[0].Context[KeyApprovedBy1])
}

// Approval decisions are made on the stored record: a caller's copy with a
// forged first approval changes nothing.
func TestApproveUsesStoredRecord(t *testing.T) {
	g, _ := governance(t, nil, candidate("pat-001"))
	forged := candidate("pat-001")
	forged.ApprovedBy1 = "mallory"
	got, err := g.Approve(bg, forged, "mallory")
	require.NoError(t, err)
	assert.Equal(t, "mallory", got.ApprovedBy1)
	assert.Empty(t, got.ApprovedBy2, "still one approval: the forged one was ignored")
	_, err = g.Approve(bg, candidate("missing"), "alice")
	assert.ErrorIs(t, err, ErrNotFound)

	revoked := candidate("rev")
	revoked.Status = StatusRevoked
	g, _ = governance(t, nil, revoked)
	_, err = g.Approve(bg, revoked, "alice")
	assert.ErrorIs(t, err, ErrInvalidStatus)
}

func TestConcurrentApprovalsNeverOnePerson(t *testing.T) {
	g, store := governance(t, nil, candidate("pat-001"))
	var wg sync.WaitGroup
	var ok atomic.Int64
	for i := range 40 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := g.Approve(bg, candidate("pat-001"), fmt.Sprintf("approver-%d", i%2)); err == nil {
				ok.Add(1)
			}
		}()
	}
	wg.Wait()
	p, _, _ := store.Get(bg, "t-001", "pat-001")
	assert.True(t, p.TwoPersonApproved())
	assert.EqualValues(t, 2, ok.Load())
}

// Checklist 167, 168.
func TestExpiryAndReaffirm(t *testing.T) {
	expired := candidate("expired-1")
	expired.Status, expired.ExpiryDate = StatusApproved, t0.Add(-24*time.Hour)
	expired.ApprovedBy1, expired.ApprovedBy2 = "a", "b"
	fresh := candidate("fresh-1")
	fresh.Status, fresh.ExpiryDate = StatusApproved, t0.Add(30*24*time.Hour)
	already := candidate("already")
	already.Status, already.ExpiryDate = StatusExpired, t0.Add(-91*24*time.Hour)
	g, store := governance(t, nil, expired, fresh, already)
	assert.Equal(t, []string{"expired-1"}, g.CheckExpiry([]FPPattern{expired, fresh}, t0))
	assert.Empty(t, g.CheckExpiry([]FPPattern{already}, t0))
	ids, err := g.ExpireDue(bg, "t-001")
	require.NoError(t, err)
	assert.Equal(t, []string{"expired-1"}, ids)
	got, _, _ := store.Get(bg, "t-001", "expired-1")
	assert.Equal(t, StatusExpired, got.Status)

	re, err := g.Reaffirm(bg, got, "carol@org")
	require.NoError(t, err)
	assert.Equal(t, "carol@org", re.ReaffirmedBy)
	assert.Equal(t, t0, re.ReaffirmedDate)
	assert.True(t, re.ExpiryDate.After(t0.Add(89*24*time.Hour)))
	assert.Equal(t, StatusApproved, re.Status)
	_, err = g.Reaffirm(bg, candidate("fresh-1"), "")
	assert.ErrorIs(t, err, ErrEmptyApprover)
	pending := candidate("pending")
	g2, _ := governance(t, nil, pending)
	_, err = g2.Reaffirm(bg, pending, "carol")
	assert.ErrorIs(t, err, ErrNotApproved, "a never-approved pattern cannot be reaffirmed into use")
}

// Checklist 169, 171, 172 with the real graph.
func TestRevokeReopensInvestigations(t *testing.T) {
	for _, n := range []int{0, 2, 5} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			rec := &recProducer{}
			p := approved("pat-001", "^Exchange", EntityPattern{Type: "account", ValueRegex: "service"})
			store := NewMemoryFPPatterns()
			require.NoError(t, store.Put(bg, p))
			fp, _ := NewFPShortCircuit(store, WithClock(fixedNow))
			repo := orchestrator.NewMemoryRepository()
			var ids atomic.Int64
			graph, err := orchestrator.New(repo, orchestrator.Agents{
				Reasoner: orchestrator.NodeFunc(func(_ context.Context, inv *orchestrator.Investigation) error {
					inv.Confidence = 0.9
					inv.Classification = "true_positive"
					return nil
				}),
				Responder: orchestrator.ResponderFunc(func(context.Context, *orchestrator.Investigation) error { return nil }),
			}, orchestrator.WithFPShortCircuit(fp), orchestrator.WithAuditProducer(rec), orchestrator.WithClock(fixedNow),
				orchestrator.WithIDGenerator(func() string { return fmt.Sprintf("inv-%d", ids.Add(1)) }))
			require.NoError(t, err)
			var a orchestrator.Alert
			a.TenantID, a.Title = "t-001", "Exchange Unusual"
			a.Entities.Accounts = []entityparser.Entity{ent("service-1")}
			for range n {
				inv, err := graph.Run(bg, a)
				require.NoError(t, err)
				require.Equal(t, "false_positive", inv.Classification)
			}
			// One not closed by the pattern.
			other := a
			other.Title = "Something else"
			_, err = graph.Run(bg, other)
			require.NoError(t, err)

			g, err := NewGovernance(store, repo, graph, WithAuditProducer(rec), WithClock(fixedNow))
			require.NoError(t, err)
			reopened, err := g.Revoke(bg, p, "carol@org", "too broad")
			require.NoError(t, err)
			assert.Len(t, reopened, n)
			stored, _, _ := store.Get(bg, "t-001", "pat-001")
			assert.Equal(t, StatusRevoked, stored.Status)
			assert.Equal(t, "carol@org", stored.RevokedBy)
			assert.Equal(t, t0, stored.RevokedAt)
			for _, id := range reopened {
				inv, err := repo.Load(bg, id)
				require.NoError(t, err)
				assert.Equal(t, orchestrator.StateParsing, inv.State)
				// Re-investigation: the revoked pattern no longer closes it.
				done, err := graph.Continue(bg, id)
				require.NoError(t, err)
				assert.Equal(t, "true_positive", done.Classification)
			}
			rv := rec.byType(taxonomy.FPPatternRevoked)
			require.Len(t, rv, 1)
			assert.Equal(t, "pat-001", rv[0].Outcome[audit.KeyActionTarget])
			assert.Equal(t, "too broad", rv[0].Decision[audit.KeyReasoningSummary])
			assert.Equal(t, taxonomy.SeverityWarning, rv[0].Severity)
			reopenEvents := 0
			for _, e := range rec.byType(taxonomy.InvestigationStateChanged) {
				if e.Outcome[audit.KeyStateBefore] == "closed" && e.Outcome[audit.KeyStateAfter] == "parsing" {
					reopenEvents++
					assert.Equal(t, "carol@org", e.ActorID)
				}
			}
			assert.Equal(t, n, reopenEvents)
		})
	}
}

type failingReopener struct{ calls int }

func (f *failingReopener) Reopen(_ context.Context, id, _ string, _ orchestrator.Actor) (*orchestrator.Investigation, error) {
	f.calls++
	if id == "bad" {
		return nil, errors.New("locked")
	}
	return nil, nil
}

type finderStub []string

func (f finderStub) ClosedByPattern(context.Context, string, string) ([]string, error) { return f, nil }

func TestRevokeContinuesAfterAReopenFailure(t *testing.T) {
	p := candidate("pat-001")
	store := NewMemoryFPPatterns()
	require.NoError(t, store.Put(bg, p))
	r := &failingReopener{}
	g, _ := NewGovernance(store, finderStub{"a", "bad", "c"}, r)
	ids, err := g.Revoke(bg, p, "carol", "x")
	require.NoError(t, err)
	assert.Equal(t, []string{"a", "c"}, ids)
	assert.Equal(t, 3, r.calls)
}

// Checklist 175–180.
func TestFPCanary(t *testing.T) {
	counters := NewMemoryCounters()
	rec := &recProducer{}
	shadow := approved("pat-s", "^Exchange")
	shadow.Status = StatusShadow
	store := NewMemoryFPPatterns()
	require.NoError(t, store.Put(bg, shadow))
	c, err := NewFPCanary(counters, store, WithAuditProducer(rec))
	require.NoError(t, err)

	c.RecordShadowDecision(bg, "p1", "auto_close", "auto_close")
	assert.Equal(t, CanaryStats{TotalDecisions: 1, Agreements: 1, AgreementRate: 1}, c.Stats(bg, "p1"))
	c.RecordShadowDecision(bg, "p2", "auto_close", "escalate")
	assert.Equal(t, CanaryStats{TotalDecisions: 1, Disagreements: 1}, c.Stats(bg, "p2"))
	for range 2 {
		c.RecordShadowDecision(bg, "p1", "a", "a")
	}
	c.RecordShadowDecision(bg, "p1", "a", "b")
	assert.Equal(t, CanaryStats{TotalDecisions: 4, Agreements: 3, Disagreements: 1, AgreementRate: 0.75}, c.Stats(bg, "p1"))

	for range 49 {
		c.RecordShadowDecision(bg, "p49", "a", "a")
	}
	assert.False(t, c.ShouldPromote(bg, "p49"))
	c.RecordShadowDecision(bg, "p49", "a", "a")
	assert.True(t, c.ShouldPromote(bg, "p49"))
	for range 47 {
		c.RecordShadowDecision(bg, "p47", "a", "a")
	}
	for range 3 {
		c.RecordShadowDecision(bg, "p47", "a", "b")
	}
	assert.False(t, c.ShouldPromote(bg, "p47"), "6 % disagreement")

	c10, _ := NewFPCanary(counters, store, WithPromotionThreshold(10))
	for range 10 {
		c10.RecordShadowDecision(bg, "p10", "a", "a")
	}
	assert.True(t, c10.ShouldPromote(bg, "p10"))
	assert.Equal(t, 50, DefaultPromotionThreshold)
	assert.Equal(t, 0.05, DefaultMaxDisagreement)

	// A shadow pattern does not match; promotion makes it active.
	fp, _ := NewFPShortCircuit(store, WithClock(fixedNow))
	assert.False(t, check(t, fp, query("Exchange")).Matched)
	got, err := c.Promote(bg, "t-001", "pat-s")
	require.NoError(t, err)
	assert.Equal(t, StatusActive, got.Status)
	assert.True(t, check(t, fp, query("Exchange")).Matched)
	act := rec.byType(taxonomy.FPPatternActivated)
	require.Len(t, act, 1)
	assert.Equal(t, "shadow", act[0].Outcome[audit.KeyStateBefore])
	assert.Equal(t, "active", act[0].Outcome[audit.KeyStateAfter])
	assert.Equal(t, ActorFPCanary, act[0].ActorID)

	_, err = c.Promote(bg, "t-001", "missing")
	assert.ErrorIs(t, err, ErrNotFound)
	_, err = c.Promote(bg, "t-001", "pat-s")
	assert.ErrorIs(t, err, ErrInvalidStatus)
	single := shadow
	single.PatternID, single.ApprovedBy2 = "single", ""
	require.NoError(t, store.Put(bg, single))
	_, err = c.Promote(bg, "t-001", "single")
	assert.ErrorIs(t, err, ErrNotApproved, "activation needs two distinct approvers")
}

type brokenCounters struct{}

func (brokenCounters) Incr(context.Context, string) error         { return errors.New("down") }
func (brokenCounters) Get(context.Context, string) (int64, error) { return 0, errors.New("down") }

func TestCanaryCountersFailSoft(t *testing.T) {
	c, _ := NewFPCanary(brokenCounters{}, NewMemoryFPPatterns())
	c.RecordShadowDecision(bg, "p", "a", "a")
	assert.Equal(t, CanaryStats{}, c.Stats(bg, "p"))
	assert.False(t, c.ShouldPromote(bg, "p"))
}

func TestFileCountersSurviveRestart(t *testing.T) {
	path := t.TempDir() + "/counters.jsonl"
	c, err := OpenFileCounters(path)
	require.NoError(t, err)
	for range 3 {
		require.NoError(t, c.Incr(bg, "canary:p:total"))
	}
	require.NoError(t, c.Close())
	c2, err := OpenFileCounters(path)
	require.NoError(t, err)
	v, _ := c2.Get(bg, "canary:p:total")
	assert.EqualValues(t, 3, v)
}
