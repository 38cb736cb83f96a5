package gateway_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/socwarden/warden/audit"
	"github.com/socwarden/warden/gateway"
	"github.com/socwarden/warden/gateway/gatewaytest"
	"github.com/socwarden/warden/router"
	"github.com/socwarden/warden/taxonomy"
)

const (
	sonnet = router.ModelSonnet
	haiku  = router.ModelHaiku
)

var epoch = time.Date(2026, 3, 14, 12, 0, 0, 0, time.UTC)

// recProducer records the events the gateway hands to it, exactly as
// passed: the unit-level view of emission.
type recProducer struct {
	mu     sync.Mutex
	events []audit.Event
	panics bool
}

func (p *recProducer) Emit(e audit.Event) (string, bool) {
	if p.panics {
		panic("producer exploded")
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.events = append(p.events, e)
	return "id", true
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

// fixture is a gateway over a scripted Sonnet client on a fake clock.
type fixture struct {
	clock  *gatewaytest.FakeClock
	client *gatewaytest.ScriptedClient
	prod   *recProducer
	gw     *gateway.Gateway
}

// sonnetStep is the pipeline checklist's scripted answer: Sonnet, 500 in /
// 200 out, 1500 ms on the fake clock.
func sonnetStep(text string) gatewaytest.Step {
	st := gatewaytest.Reply(text, sonnet, 500, 200)
	st.Latency = 1500 * time.Millisecond
	return st
}

func newFixture(t testing.TB, steps []gatewaytest.Step, opts ...gateway.Option) *fixture {
	t.Helper()
	f := &fixture{clock: gatewaytest.NewFakeClock(epoch), prod: &recProducer{}}
	f.client = gatewaytest.NewScriptedClient(gateway.ProviderAnthropic, f.clock, steps...)
	base := []gateway.Option{gateway.WithClock(f.clock.Now), gateway.WithSleeper(f.clock.Sleep),
		gateway.WithAuditProducer(f.prod)}
	gw, err := gateway.New(f.client, append(base, opts...)...)
	require.NoError(t, err)
	f.gw = gw
	return f
}

func req(content string) gateway.Request {
	return gateway.Request{AgentID: "investigator", TaskType: "investigation",
		SystemPrompt: "Analyse the alert.", UserContent: content}
}

func complete(t testing.TB, gw *gateway.Gateway, r gateway.Request) *gateway.Response {
	t.Helper()
	resp, err := gw.Complete(context.Background(), r)
	require.NoError(t, err)
	return resp
}

// fakeRouter returns a fixed decision and records the task contexts.
type fakeRouter struct {
	mu       sync.Mutex
	decision router.Decision
	err      error
	seen     []router.TaskContext
}

func (r *fakeRouter) Route(_ context.Context, tc router.TaskContext) (router.Decision, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.seen = append(r.seen, tc)
	return r.decision, r.err
}

// fakeHealth records verdicts.
type fakeHealth struct {
	mu                         sync.Mutex
	success, failure, released map[gateway.Provider]int
}

func newFakeHealth() *fakeHealth {
	return &fakeHealth{success: map[gateway.Provider]int{}, failure: map[gateway.Provider]int{}, released: map[gateway.Provider]int{}}
}

func (h *fakeHealth) RecordSuccess(p gateway.Provider) { h.mu.Lock(); h.success[p]++; h.mu.Unlock() }
func (h *fakeHealth) RecordFailure(p gateway.Provider) { h.mu.Lock(); h.failure[p]++; h.mu.Unlock() }
func (h *fakeHealth) ReleaseProbe(p gateway.Provider)  { h.mu.Lock(); h.released[p]++; h.mu.Unlock() }

// fakeSpend records reservations, settlements and releases.
type fakeSpend struct {
	mu       sync.Mutex
	reserved []router.SpendRequest
	settled  []float64
	released int
	refuse   error
	next     uint64
}

func (s *fakeSpend) Reserve(_ context.Context, r router.SpendRequest) (router.Reservation, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.refuse != nil {
		return router.Reservation{}, s.refuse
	}
	s.reserved = append(s.reserved, r)
	s.next++
	return router.Reservation{ID: s.next, EstimateUSD: r.Estimate()}, nil
}

func (s *fakeSpend) Settle(_ context.Context, _ router.Reservation, cost float64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.settled = append(s.settled, cost)
	return nil
}

func (s *fakeSpend) Release(router.Reservation) { s.mu.Lock(); s.released++; s.mu.Unlock() }

func ctxOf(e audit.Event) audit.Fields { return e.Context }
