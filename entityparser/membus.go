package entityparser

import (
	"context"
	"errors"
	"slices"
	"sync"
)

// Message is one record MemoryBus published.
type Message struct {
	Key, Value []byte
}

// ErrInjectedFailure is what MemoryBus returns for a publish FailPublish
// asked to fail.
var ErrInjectedFailure = errors.New("entityparser: injected publish failure")

// MemoryBus implements Consumer and Publisher over in-memory queues, for
// tests, examples and single-process hosts. It is safe for concurrent use.
type MemoryBus struct {
	rawTopic string

	mu        sync.Mutex // guards everything below
	queue     []Record
	next      int64
	published map[string][]Message
	committed []Record
	failures  map[string]int
	wake      chan struct{} // closed and replaced whenever queue grows
}

// Compile-time checks of the ports.
var (
	_ Consumer  = (*MemoryBus)(nil)
	_ Publisher = (*MemoryBus)(nil)
)

// NewMemoryBus returns an empty bus whose consumed topic is alerts.raw.
func NewMemoryBus() *MemoryBus {
	return &MemoryBus{rawTopic: DefaultRawTopic, published: map[string][]Message{}, failures: map[string]int{}, wake: make(chan struct{})}
}

// Enqueue appends values to the consumed topic, with consecutive offsets.
func (b *MemoryBus) Enqueue(values ...[]byte) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, v := range values {
		b.queue = append(b.queue, Record{Topic: b.rawTopic, Offset: b.next, Value: slices.Clone(v)})
		b.next++
	}
	close(b.wake)
	b.wake = make(chan struct{})
}

// Poll returns every queued record, blocking until there is one or ctx is
// done.
func (b *MemoryBus) Poll(ctx context.Context) ([]Record, error) {
	for {
		b.mu.Lock()
		if len(b.queue) > 0 {
			recs := b.queue
			b.queue = nil
			b.mu.Unlock()
			return recs, nil
		}
		wake := b.wake
		b.mu.Unlock()
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-wake:
		}
	}
}

// Commit records recs as handled.
func (b *MemoryBus) Commit(_ context.Context, recs ...Record) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.committed = append(b.committed, recs...)
	return nil
}

// Publish stores a record, or fails if FailPublish asked it to.
func (b *MemoryBus) Publish(_ context.Context, topic string, key, value []byte) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.failures[topic] > 0 {
		b.failures[topic]--
		return ErrInjectedFailure
	}
	b.published[topic] = append(b.published[topic], Message{Key: slices.Clone(key), Value: slices.Clone(value)})
	return nil
}

// FailPublish makes the next n publishes to topic fail.
func (b *MemoryBus) FailPublish(topic string, n int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.failures[topic] += n
}

// Published returns a copy of what was published to topic.
func (b *MemoryBus) Published(topic string) []Message {
	b.mu.Lock()
	defer b.mu.Unlock()
	return slices.Clone(b.published[topic])
}

// Committed returns a copy of the committed records, in commit order.
func (b *MemoryBus) Committed() []Record {
	b.mu.Lock()
	defer b.mu.Unlock()
	return slices.Clone(b.committed)
}
