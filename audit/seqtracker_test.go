package audit

import (
	"fmt"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
)

// Checklist 34.
func TestSeqTrackerOutOfOrderAndDuplicates(t *testing.T) {
	tr := NewSeqTracker()
	for _, s := range []uint64{1, 3, 2} {
		tr.Observe("p", s)
	}
	assert.Empty(t, tr.Missing("p"))
	assert.Zero(t, tr.Duplicates())
	tr.Observe("p", 1)
	tr.Observe("p", 3)
	assert.Equal(t, uint64(2), tr.Duplicates())

	tr.Observe("q", 5)
	tr.Observe("q", 9)
	tr.Observe("q", 7)
	assert.Equal(t, []SeqRange{{1, 4}, {6, 6}, {8, 8}}, tr.Missing("q"))
	assert.Equal(t, uint64(6), tr.MissingCount("q"))
	tr.Observe("q", 0) // ignored
	assert.Nil(t, tr.Missing("unknown"))
	assert.Equal(t, []string{"p", "q"}, tr.Producers())
}

func TestSeqTrackerObserveRecord(t *testing.T) {
	tr := NewSeqTracker()
	tr.ObserveRecord([]byte(`{"producer_id":"p","producer_seq":2}`))
	tr.ObserveRecord([]byte(`{"producer_id":"p"}`))                    // no seq: ignored
	tr.ObserveRecord([]byte(`{"producer_seq":1}`))                     // no id: ignored
	tr.ObserveRecord([]byte(`{"producer_id":"p","producer_seq":"x"}`)) // wrong type: ignored
	tr.ObserveRecord([]byte(`{"producer_id":"p","producer_seq":-1}`))  // negative: ignored
	tr.ObserveRecord([]byte(`not json`))                               // ignored
	assert.Equal(t, []SeqRange{{1, 1}}, tr.Missing("p"))
	assert.Equal(t, uint64(2), tr.Highest("p"))
}

// Concurrent observers across producers; memory stays at the watermark once
// sequences are contiguous.
func TestSeqTrackerConcurrent(t *testing.T) {
	tr := NewSeqTracker()
	var wg sync.WaitGroup
	for p := range 8 {
		for w := range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for s := uint64(1 + w); s <= 4000; s += 4 {
					if s%500 != 0 { // every 500th is "lost"
						tr.Observe(fmt.Sprint(p), s)
					}
				}
			}()
		}
	}
	wg.Wait()
	for p := range 8 {
		id := fmt.Sprint(p)
		assert.Equal(t, uint64(7), tr.MissingCount(id), "4000 lost: not below the highest seen")
		assert.Len(t, tr.Missing(id), 7)
	}
	assert.Zero(t, tr.Duplicates())
}
