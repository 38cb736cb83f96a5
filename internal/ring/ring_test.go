package ring

import (
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

type msg struct {
	Tenant string
	Seq    uint64
}

func TestRingCapacityRoundsUp(t *testing.T) {
	for _, tc := range []struct{ in, want int }{{1, 2}, {2, 2}, {3, 4}, {8, 8}, {1000, 1024}} {
		assert.Equal(t, tc.want, New[msg](tc.in).Cap(), "n=%d", tc.in)
	}
}

// Drop-newest: a full ring refuses new values and never evicts old ones.
func TestRingFIFOAndDropNewest(t *testing.T) {
	r := New[msg](4)
	for i := range uint64(6) {
		ok := r.Push(msg{Seq: i})
		assert.Equal(t, i < 4, ok, "push %d", i)
	}
	assert.Equal(t, 4, r.Len())
	for i := range uint64(4) {
		m, ok := r.Pop()
		require.True(t, ok)
		assert.Equal(t, i, m.Seq)
	}
	_, ok := r.Pop()
	assert.False(t, ok)
	// Laps around the array keep working.
	for lap := range uint64(10) {
		require.True(t, r.Push(msg{Seq: 100 + lap}))
		m, ok := r.Pop()
		require.True(t, ok)
		assert.Equal(t, 100+lap, m.Seq)
	}
	assert.Zero(t, r.Len())
}

// Many producers, one consumer running concurrently: every value pushed
// successfully is popped exactly once, per-producer order is kept, and
// nothing that was refused appears.
func TestRingStressManyProducers(t *testing.T) {
	const producers, each = 16, 20_000
	r := New[msg](256)
	var accepted [producers]atomic.Uint64
	var wg sync.WaitGroup
	for p := range producers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range uint64(each) {
				if r.Push(msg{Tenant: string(rune('a' + p)), Seq: i}) {
					accepted[p].Add(1)
				}
			}
		}()
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()

	var got [producers][]uint64
	consume := func() bool {
		m, ok := r.Pop()
		if ok {
			p := int(m.Tenant[0] - 'a')
			got[p] = append(got[p], m.Seq)
		}
		return ok
	}
	for {
		if consume() {
			continue
		}
		select {
		case <-done:
			for consume() {
			}
			for p := range producers {
				require.Equal(t, int(accepted[p].Load()), len(got[p]), "producer %d", p)
				for i := 1; i < len(got[p]); i++ {
					require.Less(t, got[p][i-1], got[p][i], "producer %d order", p)
				}
			}
			return
		default:
		}
	}
}
