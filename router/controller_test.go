package router

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func controller(t *testing.T, clk *fakeClock, opts ...Option) *Controller {
	t.Helper()
	c, err := NewController(append([]Option{WithClock(clk.Now)}, opts...)...)
	require.NoError(t, err)
	return c
}

// Checklist 92-98.
func TestControllerSlots(t *testing.T) {
	c := controller(t, at(0))
	assert.True(t, c.Acquire(PriorityCritical))
	for range 7 {
		assert.True(t, c.Acquire(PriorityCritical))
	}
	assert.False(t, c.Acquire(PriorityCritical), "9th")

	for range 4 {
		require.True(t, c.Acquire(PriorityNormal))
	}
	assert.False(t, c.Acquire(PriorityNormal))
	c.Release(PriorityNormal)
	assert.True(t, c.Acquire(PriorityNormal))

	c.Release(PriorityLow)
	c.Release(PriorityLow)
	assert.Equal(t, 0, c.Active(PriorityLow))

	assert.True(t, c.Acquire("bogus"))
	assert.Equal(t, 0, c.Active("bogus"))

	require.True(t, c.Acquire(PriorityHigh))
	require.True(t, c.Acquire(PriorityHigh))
	assert.Equal(t, 2, c.Active(PriorityHigh))

	c2 := controller(t, at(0))
	require.True(t, c2.Acquire(PriorityLow))
	require.True(t, c2.Acquire(PriorityLow))
	assert.False(t, c2.Acquire(PriorityLow))
	assert.True(t, c2.Acquire(PriorityCritical), "low full, critical still acquires")
}

// Checklist 99, 100: RPM counts acquisitions in a rolling minute.
func TestControllerRPM(t *testing.T) {
	clk := at(1000)
	c := controller(t, clk)
	for range 20 {
		require.True(t, c.Acquire(PriorityLow))
		c.Release(PriorityLow)
	}
	assert.False(t, c.Acquire(PriorityLow))
	clk.Advance(59 * time.Second)
	assert.False(t, c.Acquire(PriorityLow))
	clk.Advance(2 * time.Second) // the 20 stamps are now 61 s old
	assert.True(t, c.Acquire(PriorityLow))
}

// Checklist 101.
func TestPriorityLimits(t *testing.T) {
	l := DefaultPriorityLimits()
	require.Len(t, l, 4)
	assert.Equal(t, 8, l[PriorityCritical].MaxConcurrent)
	assert.Equal(t, 2, l[PriorityLow].MaxConcurrent)
	ps := Priorities()
	for i := 1; i < len(ps); i++ {
		assert.Greater(t, l[ps[i-1]].MaxRPM, l[ps[i]].MaxRPM)
		assert.Greater(t, l[ps[i-1]].MaxConcurrent, l[ps[i]].MaxConcurrent)
	}
}

// Checklist 102, 103.
func TestControllerUtilisation(t *testing.T) {
	c := controller(t, at(0))
	u := c.Utilisation()
	require.Len(t, u, 4)
	for _, v := range u {
		assert.Equal(t, 0, v.Active)
		assert.Equal(t, 0.0, v.Utilisation)
	}
	c.Acquire(PriorityCritical)
	c.Acquire(PriorityCritical)
	assert.Equal(t, Utilisation{Active: 2, MaxConcurrent: 8, Utilisation: 0.25}, c.Utilisation()[PriorityCritical])
}

// Checklist 104.
func TestSeverityQueues(t *testing.T) {
	want := map[string]string{
		"critical": "jobs.llm.priority.critical", "high": "jobs.llm.priority.high",
		"medium": "jobs.llm.priority.normal", "low": "jobs.llm.priority.low",
		"informational": "jobs.llm.priority.low",
	}
	for sev, q := range want {
		got, ok := QueueForSeverity(sev)
		assert.True(t, ok)
		assert.Equal(t, q, got)
		assert.Regexp(t, `^jobs\.llm\.priority\.`, got)
	}
	_, ok := QueueForSeverity("urgent")
	assert.False(t, ok)
	_, ok = QueueForSeverity("")
	assert.False(t, ok)
	assert.Equal(t, PriorityNormal, PriorityForSeverity("urgent"))
	assert.Equal(t, PriorityCritical, PriorityForSeverity("Critical"))
	assert.Equal(t, PriorityLow, PriorityForSeverity("informational"))
}

// Checklist 105.
func TestControllerConcurrentAcquire(t *testing.T) {
	c := controller(t, at(0))
	var ok atomic.Int32
	var wg sync.WaitGroup
	for range 100 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if c.Acquire(PriorityCritical) {
				ok.Add(1)
			}
		}()
	}
	wg.Wait()
	assert.Equal(t, int32(8), ok.Load())
}

// Checklist 106-116.
func TestTenantQuotas(t *testing.T) {
	q := DefaultTenantQuotas()
	assert.Equal(t, map[string]int{"standard": 100, "premium": 500, "trial": 20}, q)

	clk := at(10000)
	c := controller(t, clk)
	c.RecordTenantCall("tenant-1")
	assert.NoError(t, c.CheckTenantQuota("tenant-1", "standard")) // 107

	for range 100 {
		c.RecordTenantCall("tenant-2")
	}
	err := c.CheckTenantQuota("tenant-2", "standard") // 108
	require.ErrorIs(t, err, ErrQuotaExceeded)
	assert.Contains(t, err.Error(), "tenant-2")
	assert.Equal(t, "tenant tenant-2 (standard) exceeded 100 calls/hour (100 used)", err.Error())
	assert.NoError(t, c.CheckTenantQuota("tenant-2", "premium"))                // 110
	assert.ErrorIs(t, c.CheckTenantQuota("tenant-2", "gold"), ErrQuotaExceeded) // 111

	for range 20 {
		c.RecordTenantCall("tenant-3")
	}
	assert.ErrorIs(t, c.CheckTenantQuota("tenant-3", "trial"), ErrQuotaExceeded) // 109
	assert.NoError(t, c.CheckTenantQuota("tenant-4", "trial"))                   // 114: tenants independent
	assert.NoError(t, c.CheckTenantQuota("tenant-1", "standard"))                // 113

	for range 21 { // 115
		c.RecordTenantCall("p")
		c.RecordTenantCall("tr")
	}
	assert.NoError(t, c.CheckTenantQuota("p", "premium"))
	assert.ErrorIs(t, c.CheckTenantQuota("tr", "trial"), ErrQuotaExceeded)

	c2 := controller(t, at(0)) // 116
	c2.RecordTenantCall("t1")
	c2.RecordTenantCall("t1")
	c2.RecordTenantCall("t2")
	assert.Equal(t, 2, c2.TenantCalls("t1"))
	assert.Equal(t, 1, c2.TenantCalls("t2"))
	assert.Equal(t, 0, c2.TenantCalls("nobody"))
}

// Checklist 112: calls older than an hour do not count.
func TestTenantQuotaWindow(t *testing.T) {
	clk := at(0)
	c := controller(t, clk)
	for range 200 {
		c.RecordTenantCall("t")
	}
	require.Error(t, c.CheckTenantQuota("t", "standard"))
	clk.Advance(3601 * time.Second)
	assert.NoError(t, c.CheckTenantQuota("t", "standard"))
	assert.Equal(t, 0, c.TenantCalls("t"))
}

// Memory stays bounded: a tenant's list saturates at the largest quota.
func TestTenantCallsBounded(t *testing.T) {
	c := controller(t, at(0))
	for range 2000 {
		c.RecordTenantCall("t")
	}
	assert.Equal(t, 500, c.TenantCalls("t"))
	assert.ErrorIs(t, c.CheckTenantQuota("t", "premium"), ErrQuotaExceeded)
}

func TestControllerConfig(t *testing.T) {
	c := controller(t, at(0), WithPriorityLimits(map[Priority]RateLimit{PriorityCritical: {1, 1}}),
		WithTenantQuotas(map[string]int{"standard": 1}))
	assert.True(t, c.Acquire(PriorityCritical))
	assert.False(t, c.Acquire(PriorityCritical))
	assert.True(t, c.Acquire(PriorityLow), "not configured: untracked")
	assert.Len(t, c.Utilisation(), 1)

	for _, opt := range []Option{
		WithPriorityLimits(map[Priority]RateLimit{PriorityLow: {0, 1}}),
		WithPriorityLimits(map[Priority]RateLimit{PriorityLow: {1, 0}}),
		WithTenantQuotas(map[string]int{"premium": 5}),
		WithTenantQuotas(map[string]int{"standard": 0}),
		WithHealth(nil),
	} {
		_, err := NewController(opt)
		assert.ErrorIs(t, err, ErrInvalidConfig)
	}
}
