package chain_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/socwarden/warden/audit/canonical"
	"github.com/socwarden/warden/audit/chain"
)

type metricRec struct {
	mu  sync.Mutex
	got []metricPoint
}

type metricPoint struct {
	name   string
	labels map[string]string
	value  float64
}

func (m *metricRec) record(name string, labels map[string]string, v float64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.got = append(m.got, metricPoint{name, labels, v})
}

func (m *metricRec) find(name string) []metricPoint {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []metricPoint
	for _, p := range m.got {
		if p.name == name {
			out = append(out, p)
		}
	}
	return out
}

func schedulerStore(t *testing.T) *chain.MemoryStore {
	s := chain.NewMemoryStore()
	appendAll(t, s, buildChain(t, "a", 150))
	appendAll(t, s, buildChain(t, "b", 5))
	return s
}

// Checklist 64: every check, one result per tenant, right type, valid.
func TestSchedulerChecksValid(t *testing.T) {
	ctx := context.Background()
	s := schedulerStore(t)
	var results []chain.VerificationResult
	sch, err := chain.NewScheduler(s, chain.WithSchedulerClock(fixedClock), chain.WithSchedulerLogger(quietLog),
		chain.WithResults(func(r chain.VerificationResult) { results = append(results, r) }),
		chain.WithPageSize(40),
		chain.WithLagSource(func(_ context.Context, tenant string) (int64, error) {
			return map[string]int64{"a": 149, "b": 4}[tenant], nil
		}))
	require.NoError(t, err)
	for _, c := range []chain.Check{chain.Continuous, chain.Daily, chain.Lag, chain.Cold} {
		rs, err := sch.Run(ctx, c)
		require.NoError(t, err)
		require.Len(t, rs, 2, c.String())
		for _, r := range rs {
			assert.Equal(t, c.String(), r.VerificationType)
			assert.True(t, r.ChainValid, "%s %s: %v", c, r.TenantID, r.Errors)
			assert.Equal(t, chain.StatusValid, r.Status)
			assert.Equal(t, "2026-03-02T08:00:00.000Z", r.VerifiedAt)
			assert.NotNil(t, r.Errors)
		}
		assert.Equal(t, "a", rs[0].TenantID)
		switch c {
		case chain.Continuous:
			assert.Equal(t, 100, rs[0].RecordsChecked)
			assert.Equal(t, int64(50), rs[0].FromSequence)
			assert.Equal(t, int64(149), rs[0].ToSequence)
			assert.Equal(t, 5, rs[1].RecordsChecked)
		case chain.Daily:
			assert.Equal(t, 150, rs[0].RecordsChecked, "paged in 40s")
			assert.Equal(t, int64(0), rs[0].FromSequence)
			assert.Equal(t, int64(149), rs[0].ToSequence)
		case chain.Lag:
			assert.Equal(t, int64(0), *rs[0].Lag)
			assert.Equal(t, int64(149), *rs[0].PGMaxSequence)
		case chain.Cold:
			assert.Equal(t, 100, rs[0].RecordsChecked)
			assert.Equal(t, 5, rs[1].RecordsChecked)
		}
	}
	assert.Len(t, results, 8)
	_, err = chain.NewScheduler(nil)
	assert.ErrorIs(t, err, chain.ErrInvalidConfig)
	_, err = chain.NewScheduler(s, chain.WithColdSample(0))
	assert.ErrorIs(t, err, chain.ErrInvalidConfig)
}

// tamperedStore serves a store's records with one record altered.
type tamperedStore struct {
	*chain.MemoryStore
	tenant string
	seq    int64
}

func (ts tamperedStore) tamper(recs []canonical.Object, err error) ([]canonical.Object, error) {
	for _, r := range recs {
		if r["tenant_id"] == ts.tenant && seqOfAny(r) == ts.seq {
			r["severity"] = "critical"
		}
	}
	return recs, err
}

func seqOfAny(r canonical.Object) int64 {
	n, _ := r["sequence_number"].(interface{ Int64() (int64, error) }).Int64()
	return n
}

func (ts tamperedStore) Recent(ctx context.Context, tenant string, n int) ([]canonical.Object, error) {
	return ts.tamper(ts.MemoryStore.Recent(ctx, tenant, n))
}

func (ts tamperedStore) Range(ctx context.Context, tenant string, from, to int64) ([]canonical.Object, error) {
	return ts.tamper(ts.MemoryStore.Range(ctx, tenant, from, to))
}

func (ts tamperedStore) Sample(ctx context.Context, tenant string, n int) ([]canonical.Object, error) {
	return ts.tamper(ts.MemoryStore.Sample(ctx, tenant, n))
}

// Checklist 65: a tampered last record fails the continuous check; metrics
// report 0 for it, 1 for the valid tenant, and the duration.
func TestSchedulerTamperedAndMetrics(t *testing.T) {
	ctx := context.Background()
	var m metricRec
	s := tamperedStore{MemoryStore: schedulerStore(t), tenant: "a", seq: 149}
	sch, err := chain.NewScheduler(s, chain.WithMetrics(m.record), chain.WithSchedulerLogger(quietLog))
	require.NoError(t, err)
	rs, err := sch.RunContinuous(ctx)
	require.NoError(t, err)
	assert.False(t, rs[0].ChainValid)
	assert.Equal(t, chain.StatusInvalid, rs[0].Status)
	assert.Contains(t, rs[0].Errors[0], "Record seq=149: hash mismatch")
	assert.True(t, rs[1].ChainValid)
	valid := m.find(chain.MetricChainValid)
	require.Len(t, valid, 2)
	assert.Equal(t, map[string]string{"tenant_id": "a", "check_type": "continuous"}, valid[0].labels)
	assert.Equal(t, 0.0, valid[0].value)
	assert.Equal(t, 1.0, valid[1].value)
	dur := m.find(chain.MetricDuration)
	require.Len(t, dur, 2)
	assert.Equal(t, "continuous", dur[0].labels["check_type"])
	assert.GreaterOrEqual(t, dur[0].value, 0.0)

	rs, err = sch.RunCold(ctx)
	require.NoError(t, err)
	assert.Equal(t, 100, rs[0].RecordsChecked, "a sample of 100 of a's 150")
	assert.True(t, rs[1].ChainValid)
	// The tampered record is in the sample only if drawn; with a sample
	// covering every record it always is.
	sch2, _ := chain.NewScheduler(s, chain.WithColdSample(1000), chain.WithSchedulerLogger(quietLog))
	rs, err = sch2.RunCold(ctx)
	require.NoError(t, err)
	assert.Equal(t, []string{"Cold check: record seq=149 hash mismatch"}, rs[0].Errors)
	assert.False(t, rs[0].ChainValid)
	rs, err = sch2.RunDaily(ctx)
	require.NoError(t, err)
	assert.False(t, rs[0].ChainValid)
}

// Checklist 66: lag above the threshold; a failing lag source.
func TestSchedulerLag(t *testing.T) {
	ctx := context.Background()
	s := chain.NewMemoryStore()
	appendAll(t, s, buildChain(t, "a", 101))
	var m metricRec
	sch, err := chain.NewScheduler(s, chain.WithMetrics(m.record), chain.WithSchedulerLogger(quietLog),
		chain.WithLagSource(func(context.Context, string) (int64, error) { return 5000, nil }))
	require.NoError(t, err)
	rs, err := sch.RunLag(ctx)
	require.NoError(t, err)
	assert.False(t, rs[0].ChainValid)
	assert.Equal(t, []string{"Kafka lag too high: offset=5000, pg_max=100, lag=4900"}, rs[0].Errors)
	assert.Equal(t, int64(4900), *rs[0].Lag)
	lag := m.find(chain.MetricLag)
	require.Len(t, lag, 1)
	assert.Equal(t, 4900.0, lag[0].value)

	failing, _ := chain.NewScheduler(s, chain.WithSchedulerLogger(quietLog),
		chain.WithLagSource(func(context.Context, string) (int64, error) { return 0, errors.New("broker down") }))
	rs, err = failing.RunLag(ctx)
	require.NoError(t, err)
	assert.False(t, rs[0].ChainValid)
	assert.Equal(t, []string{"lag lookup failed: broker down"}, rs[0].Errors)

	panicking, _ := chain.NewScheduler(s, chain.WithSchedulerLogger(quietLog),
		chain.WithLagSource(func(context.Context, string) (int64, error) { panic("boom") }))
	rs, err = panicking.RunLag(ctx)
	require.NoError(t, err)
	assert.Contains(t, rs[0].Errors[0], "lag lookup failed")

	none, _ := chain.NewScheduler(s)
	_, err = none.RunLag(ctx)
	assert.ErrorIs(t, err, chain.ErrInvalidConfig)
}

// Checklist 67.
func TestNextRun(t *testing.T) {
	at := func(s string) time.Time {
		tm, err := time.Parse(time.RFC3339, s)
		require.NoError(t, err)
		return tm
	}
	assert.Equal(t, at("2026-03-02T03:00:00Z"), chain.NextRun(chain.Daily, at("2026-03-02T02:59:59Z")))
	assert.Equal(t, at("2026-03-03T03:00:00Z"), chain.NextRun(chain.Daily, at("2026-03-02T03:00:01Z")))
	assert.Equal(t, at("2026-03-03T03:00:00Z"), chain.NextRun(chain.Daily, at("2026-03-02T03:00:00Z")))
	assert.Equal(t, at("2026-03-02T10:05:00Z"), chain.NextRun(chain.Continuous, at("2026-03-02T10:00:00Z")))
	assert.Equal(t, at("2026-03-02T11:00:00Z"), chain.NextRun(chain.Lag, at("2026-03-02T10:00:00Z")))
	// 2026-03-02 is a Monday; the next Sunday is the 8th.
	assert.Equal(t, at("2026-03-08T04:00:00Z"), chain.NextRun(chain.Cold, at("2026-03-02T10:00:00Z")))
	assert.Equal(t, at("2026-03-08T04:00:00Z"), chain.NextRun(chain.Cold, at("2026-03-08T03:59:59Z")))
	assert.Equal(t, at("2026-03-15T04:00:00Z"), chain.NextRun(chain.Cold, at("2026-03-08T04:00:00Z")))
	// Times are UTC whatever the input's zone.
	est := time.FixedZone("EST", -5*3600)
	assert.Equal(t, at("2026-03-03T03:00:00Z"), chain.NextRun(chain.Daily, time.Date(2026, 3, 2, 21, 30, 0, 0, est)))
}

// Checklist 68: a panicking results callback does not stop the scheduler;
// Start runs the due checks in order on the injected timer.
func TestSchedulerStartSurvivesPanics(t *testing.T) {
	s := schedulerStore(t)
	var mu sync.Mutex
	now := time.Date(2026, 3, 2, 2, 58, 0, 0, time.UTC) // Monday, 2 min before the daily run
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	seen := make(chan chain.VerificationResult, 64)
	fire := make(chan time.Time)
	waits := make(chan time.Duration, 64)
	sch, err := chain.NewScheduler(s, chain.WithSchedulerClock(clock), chain.WithSchedulerLogger(quietLog),
		chain.WithResults(func(r chain.VerificationResult) {
			seen <- r
			panic("results sink exploded")
		}),
		chain.WithMetrics(func(string, map[string]string, float64) { panic("metrics exploded") }))
	require.NoError(t, err)
	chain.SetSchedulerTimer(sch, func(d time.Duration) <-chan time.Time {
		waits <- d
		return fire
	})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- sch.Start(ctx) }()

	// First due: the daily run at 03:00 (2 minutes), before continuous (5).
	assert.Equal(t, 2*time.Minute, <-waits)
	mu.Lock()
	now = now.Add(2 * time.Minute)
	mu.Unlock()
	fire <- now
	for range 2 {
		r := <-seen
		assert.Equal(t, "daily_full", r.VerificationType)
	}
	// Next: continuous, due at 03:03 (it was scheduled at 02:58 + 5 min).
	assert.Equal(t, 3*time.Minute, <-waits)
	fire <- now
	for range 2 {
		assert.Equal(t, "continuous", (<-seen).VerificationType)
	}
	<-waits
	cancel()
	assert.ErrorIs(t, <-done, context.Canceled)
}
