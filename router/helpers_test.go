package router

import (
	"context"
	"sync"
	"time"

	"github.com/socwarden/warden/audit"
	"github.com/socwarden/warden/taxonomy"
)

// recorder is an audit.Producer that keeps every event it is handed, so tests
// assert exactly what the package passed.
type recorder struct {
	mu     sync.Mutex
	events []audit.Event
}

var _ audit.Producer = (*recorder)(nil)

// Emit snapshots the event's maps, as the audit.Producer contract requires
// (callers may reuse them once Emit returns).
func (r *recorder) Emit(e audit.Event) (string, bool) {
	e.Context, e.Decision, e.Outcome = cloneFields(e.Context), cloneFields(e.Decision), cloneFields(e.Outcome)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, e)
	return "00000000-0000-7000-8000-000000000000", true
}

func cloneFields(f audit.Fields) audit.Fields {
	if f == nil {
		return nil
	}
	out := make(audit.Fields, len(f))
	for k, v := range f {
		out[k] = v
	}
	return out
}

func (r *recorder) all() []audit.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]audit.Event(nil), r.events...)
}

func (r *recorder) byType(t taxonomy.EventType) []audit.Event {
	var out []audit.Event
	for _, e := range r.all() {
		if e.Type == t {
			out = append(out, e)
		}
	}
	return out
}

func (r *recorder) types() []taxonomy.EventType {
	var out []taxonomy.EventType
	for _, e := range r.all() {
		out = append(out, e.Type)
	}
	return out
}

func (r *recorder) reset() {
	r.mu.Lock()
	r.events = nil
	r.mu.Unlock()
}

// panicProducer panics on every Emit.
type panicProducer struct{}

func (panicProducer) Emit(audit.Event) (string, bool) { panic("producer exploded") }

// queueProducer hands events to a bounded queue that nobody drains: a sink
// that blocks for ever behind a producer honouring the non-blocking
// contract.
type queueProducer struct {
	ch chan audit.Event
}

// Emit never blocks: when the queue is full the event is dropped, as the
// audit.Producer contract requires.
func (q *queueProducer) Emit(e audit.Event) (string, bool) {
	select {
	case q.ch <- e:
		return "id", true
	default:
		return "", false
	}
}

// fakeClock is a settable clock for WithClock.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock(t time.Time) *fakeClock { return &fakeClock{t: t} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func (c *fakeClock) Set(t time.Time) {
	c.mu.Lock()
	c.t = t
	c.mu.Unlock()
}

// at returns a clock at Unix second s (breaker timelines are written in
// seconds, as in the spec).
func at(s int64) *fakeClock { return newClock(time.Unix(s, 0).UTC()) }

// fakeHealth is a HealthChecker with fixed answers.
type fakeHealth struct {
	down  map[Provider]bool
	level taxonomy.DegradationLevel
}

func (f fakeHealth) Allow(p Provider) (bool, bool) { return !f.down[p], false }
func (f fakeHealth) DegradationLevel() taxonomy.DegradationLevel {
	if f.level == "" {
		return taxonomy.DegradationFullCapability
	}
	return f.level
}

func conf(v float64) *float64 { return &v }

var bg = context.Background()
