package response

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/socwarden/warden/audit"
	"github.com/socwarden/warden/taxonomy"
	"github.com/stretchr/testify/require"
)

// fakeClock is a settable clock shared by a test and the responder.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newFakeClock(t time.Time) *fakeClock { return &fakeClock{t: t} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Set(t time.Time) {
	c.mu.Lock()
	c.t = t
	c.mu.Unlock()
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// at is 2026-03-02 hh:mm UTC, the date of every test timeline.
func at(hh, mm int) time.Time { return time.Date(2026, 3, 2, hh, mm, 0, 0, time.UTC) }

// recProducer records every event it is given, exactly as the service
// passed it.
type recProducer struct {
	mu     sync.Mutex
	events []audit.Event
	// notify, if set, receives each event's type after it is recorded.
	notify chan taxonomy.EventType
}

var _ audit.Producer = (*recProducer)(nil)

func (p *recProducer) Emit(e audit.Event) (string, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.events = append(p.events, e)
	if p.notify != nil {
		p.notify <- e.Type
	}
	return fmt.Sprintf("audit-%d", len(p.events)), true
}

func (p *recProducer) all() []audit.Event {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]audit.Event(nil), p.events...)
}

func (p *recProducer) types() []taxonomy.EventType {
	var out []taxonomy.EventType
	for _, e := range p.all() {
		out = append(out, e.Type)
	}
	return out
}

func (p *recProducer) byType(t taxonomy.EventType) []audit.Event {
	var out []audit.Event
	for _, e := range p.all() {
		if e.Type == t {
			out = append(out, e)
		}
	}
	return out
}

func (p *recProducer) reset() {
	p.mu.Lock()
	p.events = nil
	p.mu.Unlock()
}

// panicProducer panics on every Emit ("Kafka down" in the reference).
type panicProducer struct{ calls atomic.Int64 }

func (p *panicProducer) Emit(audit.Event) (string, bool) {
	p.calls.Add(1)
	panic("producer down")
}

// seqIDs returns a deterministic id generator: prefix-1, prefix-2, ...
func seqIDs(prefix string) func() string {
	var n atomic.Int64
	return func() string { return fmt.Sprintf("%s-%d", prefix, n.Add(1)) }
}

// env is a responder with a fake clock, recording producer and dry-run
// executor.
type env struct {
	r     *Responder
	clock *fakeClock
	prod  *recProducer
	exec  *DryRunExecutor
}

func newEnv(t testing.TB, opts ...Option) *env {
	t.Helper()
	e := &env{clock: newFakeClock(at(10, 0)), prod: &recProducer{}, exec: NewDryRunExecutor()}
	base := []Option{WithClock(e.clock.Now), WithAuditProducer(e.prod), WithIDGenerator(seqIDs("id"))}
	r, err := New(e.exec, append(base, opts...)...)
	require.NoError(t, err)
	e.r = r
	return e
}

func testCase(severity string, actions ...Action) Case {
	return Case{InvestigationID: "inv-1", TenantID: "tenant-a", AlertID: "alert-1", Severity: severity,
		Confidence: 0.9, Classification: "true_positive", Actions: actions}
}

func act(name, target string, tier Tier) Action {
	return Action{Action: name, Target: target, Tier: tier}
}

func statuses(rs []ActionResult) []ActionStatus {
	out := make([]ActionStatus, len(rs))
	for i, r := range rs {
		out[i] = r.Status
	}
	return out
}

func approve(who string, role Role) Decision {
	return Decision{Verdict: VerdictApprove, Approver: who, Role: role, Channel: taxonomy.ChannelUI}
}

func deny(who string, role Role) Decision {
	return Decision{Verdict: VerdictDeny, Approver: who, Role: role, Channel: taxonomy.ChannelUI}
}

var bg = context.Background()
