package atlas

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/socwarden/warden/audit"
	"github.com/socwarden/warden/taxonomy"
)

var ctx = context.Background()

// now is the instant of the spec's golden vectors.
var now = time.Date(2025, 6, 15, 12, 0, 0, 0, time.UTC)

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
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

type recorder struct {
	mu     sync.Mutex
	events []audit.Event
	panics bool
}

func (r *recorder) Emit(e audit.Event) (string, bool) {
	if r.panics {
		panic("producer exploded")
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, e)
	return "id", true
}

func (r *recorder) all() []audit.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]audit.Event(nil), r.events...)
}

func (r *recorder) ofType(t taxonomy.EventType) []audit.Event {
	var out []audit.Event
	for _, e := range r.all() {
		if e.Type == t {
			out = append(out, e)
		}
	}
	return out
}

type published struct {
	Topic      string
	Key, Value []byte
}

type pubRecorder struct {
	mu   sync.Mutex
	msgs []published
	fail bool
}

func (p *pubRecorder) Publish(_ context.Context, topic string, key, value []byte) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.fail {
		return errors.New("broker unavailable")
	}
	p.msgs = append(p.msgs, published{topic, bytes.Clone(key), bytes.Clone(value)})
	return nil
}

func (p *pubRecorder) all() []published {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]published(nil), p.msgs...)
}

func (p *pubRecorder) setFail(f bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.fail = f
}

func quietLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// funcRule is a custom rule built from a function.
type funcRule struct {
	id                  string
	frequency, lookback time.Duration
	fn                  func(ctx context.Context, s EvalScope) ([]Detection, error)
}

func (f *funcRule) ID() string               { return f.id }
func (f *funcRule) Frequency() time.Duration { return f.frequency }
func (f *funcRule) Lookback() time.Duration  { return f.lookback }
func (f *funcRule) Evaluate(ctx context.Context, s EvalScope) ([]Detection, error) {
	return f.fn(ctx, s)
}

func staticRule(id string, ds ...Detection) *funcRule {
	return &funcRule{id: id, frequency: time.Hour, lookback: 6 * time.Hour, fn: func(_ context.Context, s EvalScope) ([]Detection, error) {
		out := make([]Detection, len(ds))
		copy(out, ds)
		return out, nil
	}}
}

func triggered(ruleID string) Detection {
	d := NewDetection(ruleID, now)
	d.Triggered = true
	d.AlertTitle = "Test alert"
	d.AlertSeverity = SeverityHigh
	d.AtlasTechnique = "AML.T0020"
	return d
}

func newRunner(t testing.TB, rules []Rule, opts ...Option) *Runner {
	t.Helper()
	base := []Option{WithClock(func() time.Time { return now }), WithLogger(quietLogger())}
	r, err := New(rules, append(base, opts...)...)
	require.NoError(t, err)
	return r
}

// stub is a TelemetryStore returning fixed aggregates: the "cur" value for
// windows ending at the evaluation instant, the "base" value for baseline
// windows (which end before it), and recording every window asked for.
type stub struct {
	mu      sync.Mutex
	windows []Window
	err     error

	activityCur, activityBase   []UserActivity
	queryVolume                 []QueryVolume
	safetyHits                  []NLQuery
	inferenceCur, inferenceBase []InferenceStats
	oracle                      []OracleStats
	promotions                  []ModelPromotion
	dependencies                []DependencyChange
	apiCur, apiBase             []APIAccess
	invCur, invBase             int
	opcua                       []OPCUAReading
	opcuaBase                   []OPCUABaseline
	partnerCur                  []PartnerActivity
	partnerBase                 []PartnerBaseline
	edge                        []EdgeNodeReading
}

var _ TelemetryStore = (*stub)(nil)

func (s *stub) seen(w Window) (current bool, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.windows = append(s.windows, w)
	return w.To.Equal(now) || w.To.After(now), s.err
}

func pick[T any](s *stub, w Window, cur, base T) (T, error) {
	c, err := s.seen(w)
	if c {
		return cur, err
	}
	return base, err
}

func (s *stub) DatabricksActivity(_ context.Context, w Window, _ []string) ([]UserActivity, error) {
	return pick(s, w, s.activityCur, s.activityBase)
}
func (s *stub) NLQueryVolume(_ context.Context, w Window) ([]QueryVolume, error) {
	return pick(s, w, s.queryVolume, nil)
}
func (s *stub) NLSafetyFilterHits(_ context.Context, w Window) ([]NLQuery, error) {
	return pick(s, w, s.safetyHits, nil)
}
func (s *stub) InferenceStats(_ context.Context, w Window) ([]InferenceStats, error) {
	return pick(s, w, s.inferenceCur, s.inferenceBase)
}
func (s *stub) PhysicsOracleStats(_ context.Context, w Window, _ float64) ([]OracleStats, error) {
	return pick(s, w, s.oracle, nil)
}
func (s *stub) UnapprovedPromotions(_ context.Context, w Window) ([]ModelPromotion, error) {
	return pick(s, w, s.promotions, nil)
}
func (s *stub) UntestedDependencyChanges(_ context.Context, w Window) ([]DependencyChange, error) {
	return pick(s, w, s.dependencies, nil)
}
func (s *stub) APIAccessStats(_ context.Context, w Window) ([]APIAccess, error) {
	return pick(s, w, s.apiCur, s.apiBase)
}
func (s *stub) InvestigationCount(_ context.Context, w Window) (int, error) {
	return pick(s, w, s.invCur, s.invBase)
}
func (s *stub) OPCUAReadings(_ context.Context, w Window) ([]OPCUAReading, error) {
	return pick(s, w, s.opcua, nil)
}
func (s *stub) OPCUABaseline(_ context.Context, w Window) ([]OPCUABaseline, error) {
	return pick(s, w, nil, s.opcuaBase)
}
func (s *stub) PartnerActivity(_ context.Context, w Window) ([]PartnerActivity, error) {
	return pick(s, w, s.partnerCur, nil)
}
func (s *stub) PartnerBaseline(_ context.Context, w Window) ([]PartnerBaseline, error) {
	return pick(s, w, nil, s.partnerBase)
}
func (s *stub) EdgeNodeReadings(_ context.Context, w Window) ([]EdgeNodeReading, error) {
	return pick(s, w, s.edge, nil)
}

func eval(t *testing.T, r Rule) []Detection {
	t.Helper()
	ds, err := r.Evaluate(ctx, EvalScope{Now: now})
	require.NoError(t, err)
	return ds
}

// discardProducer accepts and drops events (benchmarks).
type discardProducer struct{}

func (*discardProducer) Emit(audit.Event) (string, bool) { return "", true }
