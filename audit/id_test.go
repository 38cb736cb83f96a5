package audit

import (
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Checklist 5: ids made in one millisecond are unique and strictly increasing.
func TestIDsStrictlyIncreasingWithinMillisecond(t *testing.T) {
	at := time.Date(2026, 3, 2, 8, 0, 0, 0, time.UTC)
	prev := ""
	for i := range 10_000 {
		id := NewIDAt(at)
		require.True(t, ValidUUID(id))
		require.Greater(t, id, prev, "id %d", i)
		prev = id
	}
	// More than 4096 in one millisecond overflow the counter and advance
	// the millisecond field: by at most a few milliseconds.
	ts, ok := IDTime(prev)
	require.True(t, ok)
	assert.WithinDuration(t, at, ts, 10*time.Millisecond)
	assert.False(t, ts.Before(at))
}

func TestIDsUniqueAcrossGoroutines(t *testing.T) {
	const goroutines, each = 8, 5000
	var mu sync.Mutex
	seen := make(map[string]bool, goroutines*each)
	var wg sync.WaitGroup
	for range goroutines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ids := make([]string, 0, each)
			last := ""
			for range each {
				id := NewID()
				if id <= last {
					t.Errorf("ids from one goroutine not increasing: %s after %s", id, last)
				}
				last = id
				ids = append(ids, id)
			}
			mu.Lock()
			for _, id := range ids {
				seen[id] = true
			}
			mu.Unlock()
		}()
	}
	wg.Wait()
	assert.Len(t, seen, goroutines*each)
}

func TestIDLayout(t *testing.T) {
	at := time.UnixMilli(0x0190a8e43b4c)
	id := NewIDAt(at)
	assert.Equal(t, "0190a8e4-3b4c-7", id[:15])
	assert.Contains(t, "89ab", string(id[19]))
	ts, ok := IDTime(id)
	require.True(t, ok)
	assert.Equal(t, at.UTC(), ts)
	_, ok = IDTime("0190a8e4-3b4c-4d5e-8f60-123456789abc")
	assert.False(t, ok, "v4 id has no time")
	for _, bad := range []string{"", "0190a8e4-3b4c-4d5e-8f60-123456789ab", "0190a8e4x3b4c-4d5e-8f60-123456789abc", "g190a8e4-3b4c-4d5e-8f60-123456789abc"} {
		assert.False(t, ValidUUID(bad), bad)
	}
	assert.True(t, ValidUUID("0190A8E4-3B4C-4D5E-8F60-123456789ABC"))
}

// A clock that jumps backwards by more than the overflow lead re-seeds: ids
// then carry the new (earlier) time rather than running ahead forever.
func TestIDClockRegression(t *testing.T) {
	later := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	earlier := later.Add(-time.Hour)
	NewIDAt(later)
	ts, ok := IDTime(NewIDAt(earlier))
	require.True(t, ok)
	assert.Equal(t, earlier, ts)
}
