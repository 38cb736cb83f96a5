// Package ring is the bounded, lock-free, multi-producer single-consumer queue
// behind audit.Emitter. It is separate so that the bench module can compare it
// with other queues; nothing outside Warden should depend on it.
package ring

import (
	"sync/atomic"
)

// cacheLinePad keeps the producers' hot word and the consumer's hot word on
// different cache lines.
type pad [64]byte

// Ring is a bounded, array-backed, lock-free multi-producer single-consumer
// queue after Dmitry Vyukov's bounded MPMC queue: each slot carries a
// sequence word that says whether it is free for the producer of a given lap
// or holds a value for the consumer. Producers claim a slot with one CAS on
// tail and never wait for each other; a full ring makes push return false
// (drop-newest) and never evicts an accepted value.
//
// Any number of goroutines may Push. Exactly one goroutine at a time may Pop
// (for the audit Emitter, its drainer); it owns the head index.
type Ring[T any] struct {
	_     pad
	tail  atomic.Uint64 // next position to claim; written by producers (CAS)
	_     pad
	head  atomic.Uint64 // next position to read; written only by the consumer
	_     pad
	mask  uint64
	slots []slot[T]
}

type slot[T any] struct {
	seq atomic.Uint64
	val T
}

// New returns a ring of at least n slots, rounded up to a power of two
// (minimum 2).
func New[T any](n int) *Ring[T] {
	size := uint64(2)
	for size < uint64(n) {
		size <<= 1
	}
	r := &Ring[T]{mask: size - 1, slots: make([]slot[T], size)}
	for i := range r.slots {
		r.slots[i].seq.Store(uint64(i))
	}
	return r
}

// Cap is the number of slots.
func (r *Ring[T]) Cap() int { return len(r.slots) }

// Push enqueues v, or returns false if the ring is full. It never blocks and
// never evicts an accepted value.
func (r *Ring[T]) Push(v T) bool {
	pos := r.tail.Load()
	for {
		s := &r.slots[pos&r.mask]
		seq := s.seq.Load()
		switch dif := int64(seq) - int64(pos); {
		case dif == 0:
			// The slot is free for this lap: claim it.
			if r.tail.CompareAndSwap(pos, pos+1) {
				s.val = v
				s.seq.Store(pos + 1) // publish to the consumer
				return true
			}
			pos = r.tail.Load()
		case dif < 0:
			// The slot still holds the value of the previous lap: full.
			return false
		default:
			// Another producer claimed pos; catch up.
			pos = r.tail.Load()
		}
	}
}

// Pop dequeues one value. It returns false when the next slot has not been
// published yet — the ring is empty, or a producer has claimed the slot and
// is between its CAS and its publish (a few instructions).
func (r *Ring[T]) Pop() (T, bool) {
	pos := r.head.Load()
	s := &r.slots[pos&r.mask]
	var zero T
	if s.seq.Load() != pos+1 {
		return zero, false
	}
	v := s.val
	s.val = zero // drop references so the consumer's buffers can be freed
	s.seq.Store(pos + r.mask + 1)
	r.head.Store(pos + 1)
	return v, true
}

// Len is the number of claimed slots not yet consumed (a gauge: producers
// between claim and publish count as queued).
func (r *Ring[T]) Len() int {
	t, h := r.tail.Load(), r.head.Load()
	if t < h {
		return 0
	}
	return int(t - h)
}
