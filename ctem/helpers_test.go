package ctem

import (
	"bytes"
	"context"
	"encoding/json"
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

// t0 is the ingestion instant of most tests.
var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// fakeClock is a settable clock safe for concurrent reads.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func newClock(t time.Time) *fakeClock { return &fakeClock{now: t} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// recorder is a Producer that keeps every event it is handed.
type recorder struct {
	mu     sync.Mutex
	events []audit.Event
	panics bool
	refuse bool
}

func (r *recorder) Emit(e audit.Event) (string, bool) {
	if r.panics {
		panic("producer exploded")
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, e)
	return "id", !r.refuse
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

// published is one message handed to a publisher.
type published struct {
	Topic      string
	Key, Value []byte
}

// pubRecorder is a Publisher that keeps messages; failTopics makes publishes
// to those topics fail.
type pubRecorder struct {
	mu         sync.Mutex
	msgs       []published
	failTopics map[string]bool
}

func (p *pubRecorder) Publish(_ context.Context, topic string, key, value []byte) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.failTopics[topic] {
		return errors.New("broker unavailable")
	}
	p.msgs = append(p.msgs, published{topic, bytes.Clone(key), bytes.Clone(value)})
	return nil
}

func (p *pubRecorder) on(topic string) []published {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []published
	for _, m := range p.msgs {
		if m.Topic == topic {
			out = append(out, m)
		}
	}
	return out
}

// failingStore fails every Update.
type failingStore struct{ *MemoryStore }

func (failingStore) Update(context.Context, string, string, func(*Record, bool) error) (Record, error) {
	return Record{}, errors.New("disk full")
}

// quietLogger discards logs; logSink captures them.
func quietLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

type logSink struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logSink) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *logSink) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

func newService(t testing.TB, opts ...Option) *Service {
	t.Helper()
	base := []Option{WithClock(func() time.Time { return t0 }), WithLogger(quietLogger())}
	s, err := New(append(base, opts...)...)
	require.NoError(t, err)
	return s
}

func mustJSON(t testing.TB, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	require.NoError(t, err)
	return b
}

// Golden flat findings of spec §3.5.
var (
	goldenWiz1 = map[string]any{
		"title": "S3 Bucket Public Access", "resource_id": "arn:aws:s3:::my-bucket", "severity": "HIGH",
		"resource_type": "s3", "url": "https://app.wiz.io/finding/123", "remediation": "Disable public access",
		"tenant_id": "tenant-A",
	}
	goldenWiz2 = map[string]any{
		"title": "Edge node SSH open", "resource_id": "edge-node-7", "severity": "MEDIUM", "resource_type": "Edge",
	}
	goldenSnyk3 = map[string]any{
		"title": "Prototype Pollution in lodash", "project_id": "proj-001", "severity": "high",
		"packageName": "lodash", "packageManager": "npm", "exploitability_score": 8.0,
		"cve": "CVE-2026-9999", "fixedIn": "4.17.22",
	}
	goldenSnyk4 = map[string]any{
		"title": "RCE in torch.load", "project_id": "proj-ml", "severity": "critical",
		"packageName": "torch", "packageManager": "pip", "cvssExploitability": 3.9,
	}
	goldenGarak5 = map[string]any{
		"title": "Prompt Injection via DAN", "model_name": "llm-reasoning-v1",
		"probe_type": "prompt_injection", "success_rate": 0.75,
	}
	goldenGarak6 = map[string]any{
		"title": "Base64 smuggling", "model_name": "llm-reasoning-v1", "category": "Encoding", "pass_rate": 0.35,
	}
	goldenART7 = map[string]any{
		"title": "Adversarial Evasion Attack", "model_id": "model-classifier-v2", "attack_type": "evasion",
		"success_rate": 0.65, "attack_technique": "T1499", "asset_zone": "Zone2_Operations",
	}
	goldenART8 = map[string]any{
		"title": "Poisoning Attack", "model_id": "model-v2", "attack_type": "poisoning", "success_rate": 0.9,
	}
)

func normaliserFor(src Source) Normaliser {
	switch src {
	case SourceWiz:
		return NewWizNormaliser()
	case SourceSnyk:
		return NewSnykNormaliser()
	case SourceGarak:
		return NewGarakNormaliser()
	}
	return NewARTNormaliser()
}

func normalise(t testing.TB, src Source, raw map[string]any) Exposure {
	t.Helper()
	e, err := normaliserFor(src).Normalise(mustJSON(t, raw), Env{Now: t0})
	require.NoError(t, err)
	return e
}

func with(base map[string]any, kv ...any) map[string]any {
	out := make(map[string]any, len(base)+len(kv)/2)
	for k, v := range base {
		out[k] = v
	}
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] == nil {
			delete(out, kv[i].(string))
			continue
		}
		out[kv[i].(string)] = kv[i+1]
	}
	return out
}
