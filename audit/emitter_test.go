package audit

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/socwarden/warden/taxonomy"
)

// Checklist 1, 9: the wire keys of an emitted event.
func TestEmitWritesRequiredKeys(t *testing.T) {
	e, rec := newTestEmitter(t)
	id, ok := e.Emit(validEvent())
	require.True(t, ok)
	flush(t, e)
	msgs := rec.Messages()
	require.Len(t, msgs, 1)
	requireCanonical(t, msgs[0].Value)
	obj := decodeObj(t, msgs[0].Value)
	for _, k := range []string{"audit_id", "tenant_id", "timestamp", "event_type", "event_category", "severity",
		"actor_type", "actor_id", "source_service", "producer_id", "producer_seq"} {
		assert.Contains(t, obj, k)
	}
	for _, k := range []string{"sequence_number", "previous_hash", "record_hash", "ingested_at", "record_version"} {
		assert.NotContains(t, obj, k)
	}
	assert.Equal(t, id, obj["audit_id"])
	assert.Equal(t, id, msgs[0].AuditID)
	assert.Equal(t, "tenant-alpha", msgs[0].TenantID)
	assert.Equal(t, uint64(1), msgs[0].Seq)
	// UUIDv7: version nibble 7, variant bits 10.
	require.True(t, ValidUUID(id))
	assert.Equal(t, byte('7'), id[14])
	assert.Contains(t, "89ab", string(id[19]))
	assert.Equal(t, "warden", obj["source_service"])
	assert.Equal(t, e.ProducerID(), obj["producer_id"])
}

// Checklist 2, 3.
func TestEmitDefaultsSeverityAndDerivesCategory(t *testing.T) {
	e, rec := newTestEmitter(t)
	ev := validEvent()
	ev.Type = taxonomy.ApprovalGranted
	ev.ActorType = taxonomy.ActorHuman
	_, ok := e.Emit(ev)
	require.True(t, ok)
	ev.Severity = taxonomy.SeverityCritical
	ev.SourceService = "response"
	_, ok = e.Emit(ev)
	require.True(t, ok)
	flush(t, e)
	recs := rec.Records()
	require.Len(t, recs, 2)
	assert.Equal(t, taxonomy.SeverityInfo, recs[0].Severity)
	assert.Equal(t, taxonomy.CategoryApproval, recs[0].EventCategory)
	assert.Equal(t, taxonomy.SeverityCritical, recs[1].Severity)
	assert.Equal(t, "response", recs[1].SourceService)
}

// Checklist 4: truncated millisecond timestamp, and the id carries it.
func TestEmitTimestampTruncatesAndMatchesID(t *testing.T) {
	e, rec := newTestEmitter(t, WithClock(fixedClock("2026-03-02T08:00:00.999999Z")))
	id, ok := e.Emit(validEvent())
	require.True(t, ok)
	flush(t, e)
	r := rec.Records()[0]
	assert.Equal(t, "2026-03-02T08:00:00.999Z", r.Timestamp)
	idTime, ok := IDTime(id)
	require.True(t, ok)
	assert.Equal(t, r.Timestamp, FormatTimestamp(idTime))
}

// Checklist 6: a preset id is used; a malformed one is invalid.
func TestEmitPresetAuditID(t *testing.T) {
	e, rec := newTestEmitter(t)
	ev := validEvent()
	ev.AuditID = "0190a8e4-3b4c-4d5e-8f60-123456789abc" // a v4-shaped id: any version is accepted
	id, ok := e.Emit(ev)
	require.True(t, ok)
	assert.Equal(t, ev.AuditID, id)
	ev.AuditID = "not-a-uuid"
	id, ok = e.Emit(ev)
	assert.False(t, ok)
	assert.Empty(t, id)
	flush(t, e)
	require.Equal(t, 1, rec.Len())
	assert.Equal(t, "0190a8e4-3b4c-4d5e-8f60-123456789abc", rec.Records()[0].AuditID)
	assert.Equal(t, uint64(1), e.Stats().Invalid)
}

// Checklist 7, 8: validation failures are counted, never delivered, never panic.
func TestEmitRejectsInvalidEvents(t *testing.T) {
	e, rec := newTestEmitter(t)
	mutations := map[string]func(*Event){
		"unknown type":       func(ev *Event) { ev.Type = "invalid.type" },
		"empty type":         func(ev *Event) { ev.Type = "" },
		"genesis":            func(ev *Event) { ev.Type = taxonomy.SystemGenesis },
		"empty tenant":       func(ev *Event) { ev.TenantID = "" },
		"empty actor":        func(ev *Event) { ev.ActorID = "" },
		"unknown actor":      func(ev *Event) { ev.ActorType = "attacker" },
		"empty actor type":   func(ev *Event) { ev.ActorType = "" },
		"unknown severity":   func(ev *Event) { ev.Severity = "unknown" },
		"bad preset id":      func(ev *Event) { ev.AuditID = "0190a8e4-3b4c-4d5e-8f60-123456789abZ" },
		"upper-case type":    func(ev *Event) { ev.Type = "ALERT.CLASSIFIED" },
		"preset id too long": func(ev *Event) { ev.AuditID = "0190a8e4-3b4c-4d5e-8f60-123456789abcd" },
	}
	for name, mutate := range mutations {
		ev := validEvent()
		mutate(&ev)
		id, ok := e.Emit(ev)
		assert.False(t, ok, name)
		assert.Empty(t, id, name)
	}
	flush(t, e)
	st := e.Stats()
	assert.Equal(t, uint64(len(mutations)), st.Invalid)
	assert.Zero(t, st.LastSeq, "invalid events get no producer_seq")
	assert.Zero(t, rec.Len())
}

// Checklist 10, 11: optional keys.
func TestEmitOptionalKeys(t *testing.T) {
	e, rec := newTestEmitter(t)
	_, ok := e.Emit(validEvent())
	require.True(t, ok)
	ev := validEvent()
	ev.InvestigationID, ev.AlertID = "inv-1", "alert-1"
	ev.EntityIDs = []string{"ip:10.0.0.1", "host:web-01"}
	ev.ActorPermissions = []string{"response:isolate"}
	ev.Context = Fields{}
	ev.Decision = Fields{KeyConfidence: 0.85}
	ev.Outcome = Fields{KeyOutcomeStatus: taxonomy.OutcomeSuccess}
	_, ok = e.Emit(ev)
	require.True(t, ok)
	flush(t, e)
	msgs := rec.Messages()
	bare := decodeObj(t, msgs[0].Value)
	for _, k := range []string{"investigation_id", "alert_id", "entity_ids", "actor_permissions", "context", "decision", "outcome"} {
		assert.NotContains(t, bare, k)
	}
	full := string(msgs[1].Value)
	assert.Contains(t, full, `"context":{}`)
	assert.Contains(t, full, `"decision":{"confidence":0.85}`)
	assert.Contains(t, full, `"outcome":{"outcome_status":"success"}`)
	assert.Contains(t, full, `"entity_ids":["ip:10.0.0.1","host:web-01"]`)
	assert.Contains(t, full, `"actor_permissions":["response:isolate"]`)
	assert.Contains(t, full, `"investigation_id":"inv-1"`)
	assert.Contains(t, full, `"alert_id":"alert-1"`)
	requireCanonical(t, msgs[1].Value)
}

// Checklist 13: sanitising values that are not representable.
func TestEmitSanitizesValues(t *testing.T) {
	e, rec := newTestEmitter(t)
	self := Fields{"name": "loop"}
	self["self"] = self
	ev := validEvent()
	ev.Context = Fields{
		"nan":         math.NaN(),
		"inf":         math.Inf(1),
		"neg_inf":     float32(math.Inf(-1)),
		"bad_utf8":    "a\xffb",
		"chan":        make(chan int),
		"func":        func() {},
		"self":        self,
		"bad_num":     json.Number("12abc"),
		"huge_num":    json.Number("1e400"),
		"bad_key\xfe": 1,
	}
	_, ok := e.Emit(ev)
	require.True(t, ok)
	flush(t, e)
	value := rec.Messages()[0].Value
	requireCanonical(t, value)
	ctx := rec.Records()[0].Context
	assert.Nil(t, ctx["nan"])
	assert.Contains(t, ctx, "nan")
	assert.Nil(t, ctx["inf"])
	assert.Nil(t, ctx["neg_inf"])
	assert.Equal(t, "a\ufffdb", ctx["bad_utf8"])
	assert.Equal(t, "!unsupported chan int", ctx["chan"])
	assert.Equal(t, "!unsupported func()", ctx["func"])
	assert.Equal(t, "12abc", ctx["bad_num"])
	assert.Nil(t, ctx["huge_num"])
	assert.Contains(t, ctx, "bad_key\ufffd")
	// The self-reference is cut at the depth limit, not followed forever.
	depth := 0
	for m, ok := ctx["self"].(map[string]any); ok; m, ok = m["self"].(map[string]any) {
		depth++
	}
	assert.Equal(t, maxDepth-1, depth)
	assert.NotContains(t, string(value), "NaN")
	assert.NotContains(t, string(value), "Infinity")
	assert.Equal(t, uint64(1), e.Stats().Sanitized)
}

type tagged struct {
	Name  string  `json:"name"`
	Score float64 `json:"score"`
	Big   uint64  `json:"big"`
	skip  int
}

type textual int

func (textual) MarshalText() ([]byte, error) { return []byte("textual!"), nil }

type panicky struct{}

func (panicky) MarshalJSON() ([]byte, error) { panic("boom") }

// Conversion rules of spec §3.1 step 4 for ordinary Go values.
func TestEmitConvertsGoValues(t *testing.T) {
	e, rec := newTestEmitter(t)
	when := time.Date(2026, 3, 2, 8, 0, 0, 123999999, time.FixedZone("X", 3600))
	ptr := 7
	ev := validEvent()
	ev.Context = Fields{
		"u64":     uint64(math.MaxUint64),
		"i64":     int64(math.MinInt64),
		"i8":      int8(-8),
		"f32":     float32(0.1),
		"f64_int": 1.0,
		"big":     1e16,
		"small":   1e-7,
		"num":     json.Number("1E2"),
		"negzero": json.Number("-0"),
		"time":    when,
		"dur":     5 * time.Second,
		"struct":  tagged{Name: "x", Score: 0.5, Big: 9007199254740993, skip: 1},
		"text":    textual(1),
		"ptr":     &ptr,
		"nilptr":  (*int)(nil),
		"ints":    []int{1, 2},
		"strmap":  map[string]string{"b": "2", "a": "1"},
		"intmap":  map[int]string{2: "b", 1: "a"},
		"arr":     [2]bool{true, false},
		"bytes":   []byte("hi"),
		"err":     errors.New("lookup failed"),
		"nested":  map[string]any{"z": []any{nil, "é", 3}},
		"tier":    taxonomy.Tier1Plus,
		"raw":     json.RawMessage(`{"b":1.50,"a":[1e2]}`),
	}
	_, ok := e.Emit(ev)
	require.True(t, ok)
	flush(t, e)
	v := string(rec.Messages()[0].Value)
	requireCanonical(t, rec.Messages()[0].Value)
	for _, want := range []string{
		`"u64":18446744073709551615`, `"i64":-9223372036854775808`, `"i8":-8`, `"f32":0.1`,
		`"f64_int":1.0`, `"big":1e+16`, `"small":1e-07`, `"num":100.0`, `"negzero":0`,
		`"time":"2026-03-02T07:00:00.123Z"`, `"dur":5000000000`,
		`"struct":{"big":9007199254740993,"name":"x","score":0.5}`, `"text":"textual!"`,
		`"ptr":7`, `"nilptr":null`, `"ints":[1,2]`, `"strmap":{"a":"1","b":"2"}`,
		`"intmap":{"1":"a","2":"b"}`, `"arr":[true,false]`, `"bytes":"aGk="`,
		`"err":"lookup failed"`, `"nested":{"z":[null,"\u00e9",3]}`, `"tier":"tier_1_plus"`,
		`"raw":{"a":[100.0],"b":1.5}`,
	} {
		assert.Contains(t, v, want)
	}
	assert.Zero(t, e.Stats().Sanitized, "plain conversions are not sanitisation")

	// A Marshaler that panics makes the event invalid, not the caller crash.
	ev.Context = Fields{"p": panicky{}}
	_, ok = e.Emit(ev)
	assert.False(t, ok)
	assert.Equal(t, uint64(1), e.Stats().Invalid)
}

// Checklist 14: mutation after Emit does not change the record (run with -race).
func TestEmitSnapshotsCallerMaps(t *testing.T) {
	e, rec := newTestEmitter(t)
	ctx := Fields{"k": "before", "list": []any{"a"}}
	ids := []string{"ip:1.2.3.4"}
	ev := validEvent()
	ev.Context, ev.EntityIDs = ctx, ids
	_, ok := e.Emit(ev)
	require.True(t, ok)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		ctx["k"] = "after"
		ctx["new"] = 1
		ctx["list"].([]any)[0] = "z"
		ids[0] = "ip:9.9.9.9"
	}()
	wg.Wait()
	flush(t, e)
	r := rec.Records()[0]
	assert.Equal(t, "before", r.Context["k"])
	assert.NotContains(t, r.Context, "new")
	assert.Equal(t, []any{"a"}, r.Context["list"])
	assert.Equal(t, []string{"ip:1.2.3.4"}, r.EntityIDs)
}

// Checklist 15: oversize events are invalid.
func TestEmitRejectsOversizeEvents(t *testing.T) {
	e, rec := newTestEmitter(t)
	ev := validEvent()
	ev.Context = Fields{"blob": strings.Repeat("x", 2_000_000)}
	_, ok := e.Emit(ev)
	assert.False(t, ok)
	st := e.Stats()
	assert.Equal(t, uint64(1), st.Invalid)
	assert.Zero(t, st.LastSeq)

	// The limit is exact: an event of exactly MaxEventBytes is accepted.
	small, rec2 := newTestEmitter(t)
	_, ok = small.Emit(validEvent())
	require.True(t, ok)
	flush(t, small)
	size := len(rec2.Messages()[0].Value)
	exact, rec3 := newTestEmitter(t, WithMaxEventBytes(size))
	_, ok = exact.Emit(validEvent())
	assert.True(t, ok)
	tight, _ := newTestEmitter(t, WithMaxEventBytes(size-1))
	_, ok = tight.Emit(validEvent())
	assert.False(t, ok)
	flush(t, exact)
	assert.Equal(t, 1, rec3.Len())
	assert.Zero(t, rec.Len())
}

// Checklist 16, 17.
func TestLLMContextAndHashText(t *testing.T) {
	f := LLMContext(LLMCall{Provider: taxonomy.ProviderAnthropic, ModelID: "claude", Tier: taxonomy.Tier1,
		InputTokens: 100, OutputTokens: 20, CostUSD: 0.024, LatencyMS: 850})
	assert.Len(t, f, 9)
	assert.Equal(t, "", f[KeyLLMSystemPromptHash])
	assert.Equal(t, "", f[KeyLLMRawResponseHash])
	e, rec := newTestEmitter(t)
	ev := validEvent()
	ev.Context = f
	e.Emit(ev)
	ev.Context = LLMContext(LLMCall{}).With(Fields{"task_type": "triage"})
	e.Emit(ev)
	flush(t, e)
	msgs := rec.Messages()
	assert.Contains(t, string(msgs[0].Value), `"llm_cost_usd":0.024`)
	assert.Contains(t, string(msgs[1].Value), `"llm_cost_usd":0.0`)
	assert.Contains(t, string(msgs[1].Value), `"task_type":"triage"`)
	assert.Equal(t, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", HashText("abc"))
	assert.Len(t, HashText(strings.Repeat("prompt ", 1000)), 64)
}

func TestFieldsWithDoesNotModifyInputs(t *testing.T) {
	a := Fields{"x": 1, "y": 2}
	b := Fields{"y": 3}
	c := a.With(b)
	assert.Equal(t, Fields{"x": 1, "y": 3}, c)
	assert.Equal(t, Fields{"x": 1, "y": 2}, a)
	var nilFields Fields
	assert.NotNil(t, nilFields.With(nil))
}

// Checklist 30 and the nil-Producer contract services rely on.
func TestNilEmitterAndNilProducer(t *testing.T) {
	var e *Emitter
	id, ok := e.Emit(validEvent())
	assert.Empty(t, id)
	assert.False(t, ok)
	assert.NoError(t, e.Flush(context.Background()))
	assert.NoError(t, e.Close(context.Background()))
	assert.Equal(t, Stats{}, e.Stats())
	var p Producer
	id, ok = Emit(p, validEvent())
	assert.Empty(t, id)
	assert.False(t, ok)
	p = e // typed nil inside the interface
	id, ok = Emit(p, validEvent())
	assert.Empty(t, id)
	assert.False(t, ok)
}

// Checklist 32, 36.
func TestProducerSequence(t *testing.T) {
	e, rec := newTestEmitter(t)
	e2, rec2 := newTestEmitter(t, WithProducerID("host-a/worker-2"))
	for range 5 {
		e.Emit(validEvent())
		e2.Emit(validEvent())
	}
	flush(t, e)
	flush(t, e2)
	for i, r := range rec.Records() {
		assert.Equal(t, uint64(i+1), r.ProducerSeq)
		assert.Equal(t, e.ProducerID(), r.ProducerID)
	}
	_, ok := IDTime(e.ProducerID())
	assert.True(t, ok, "default producer id is a UUIDv7")
	for i, r := range rec2.Records() {
		assert.Equal(t, uint64(i+1), r.ProducerSeq)
		assert.Equal(t, "host-a/worker-2", r.ProducerID)
	}
	tr := NewSeqTracker()
	for _, m := range append(rec.Messages(), rec2.Messages()...) {
		tr.ObserveRecord(m.Value)
	}
	assert.Equal(t, []string{e.ProducerID(), "host-a/worker-2"}, sortedCopy(tr.Producers()))
	assert.Empty(t, tr.Missing(e.ProducerID()))
	assert.Equal(t, uint64(5), tr.Highest("host-a/worker-2"))
}

func TestNewValidatesConfig(t *testing.T) {
	rec := NewRecorder()
	bad := map[string][]Option{
		"ring":     {WithRingSize(0)},
		"batch":    {WithBatchSize(-1)},
		"bytes":    {WithBatchBytes(0)},
		"linger":   {WithLinger(-time.Second)},
		"attempts": {WithMaxAttempts(0)},
		"max":      {WithMaxEventBytes(0)},
		"producer": {WithProducerID("")},
		"source":   {WithSourceService("")},
		"clock":    {WithClock(nil)},
		"backoff":  {WithRetryBackoff(time.Second, time.Millisecond)},
		"hmac":     {WithSensitiveKeys(nil, "actor_id")},
	}
	for name, opts := range bad {
		e, err := New(rec, opts...)
		assert.Nil(t, e, name)
		assert.ErrorIs(t, err, ErrInvalidConfig, name)
	}
	e, err := New(nil)
	assert.Nil(t, e)
	assert.ErrorIs(t, err, ErrInvalidConfig)
}

func TestSensitiveKeysAreKeyedHashes(t *testing.T) {
	key := []byte("host-secret")
	e, rec := newTestEmitter(t, WithSensitiveKeys(key, "entity_ids", "approval_comment", "user", "actor_id"))
	ev := validEvent()
	ev.ActorID = "alice@example.com"
	ev.EntityIDs = []string{"account:alice", "ip:10.0.0.1"}
	ev.Context = Fields{"user": "alice", "nested": Fields{"user": []string{"x"}}, "kept": "visible"}
	ev.Outcome = Fields{KeyApprovalComment: "approved, alice's laptop", "n": Fields{"approval_comment": 5}}
	_, ok := e.Emit(ev)
	require.True(t, ok)
	ev.EntityIDs = []string{"account:alice"}
	_, ok = e.Emit(ev)
	require.True(t, ok)
	flush(t, e)
	msgs := rec.Messages()
	v := string(msgs[0].Value)
	requireCanonical(t, msgs[0].Value)
	for _, raw := range []string{"alice", "10.0.0.1"} {
		assert.NotContains(t, v, raw)
	}
	assert.Contains(t, v, `"kept":"visible"`)
	r0, r1 := rec.Records()[0], rec.Records()[1]
	assert.Equal(t, hmacHex(key, "account:alice"), r0.EntityIDs[0])
	assert.Equal(t, r0.EntityIDs[0], r1.EntityIDs[0], "the same value hashes the same way: records stay joinable")
	assert.Equal(t, hmacHex(key, "alice@example.com"), r0.ActorID)
	assert.Equal(t, hmacHex(key, "alice"), r0.Context["user"])
	assert.Equal(t, []any{hmacHex(key, "x")}, r0.Context["nested"].(map[string]any)["user"])
	assert.Equal(t, hmacHex(key, "5"), r0.Outcome["n"].(map[string]any)["approval_comment"])
	assert.True(t, strings.HasPrefix(r0.Outcome[KeyApprovalComment].(string), RedactedPrefix))
}

func TestTimestampHelpers(t *testing.T) {
	tm := time.Date(2026, 12, 31, 23, 59, 59, 999_999_999, time.UTC)
	s := FormatTimestamp(tm)
	assert.Equal(t, "2026-12-31T23:59:59.999Z", s)
	assert.Equal(t, s, string(appendTimestamp(nil, tm)))
	back, err := ParseTimestamp(s)
	require.NoError(t, err)
	assert.Equal(t, tm.Truncate(time.Millisecond), back)
	for _, bad := range []string{"", "2026-12-31T23:59:59Z", "2026-12-31T23:59:59.999+00:00", "2026-13-31T23:59:59.999Z"} {
		_, err := ParseTimestamp(bad)
		assert.Error(t, err, bad)
	}
	// Years outside 0..9999 fall back to the standard formatter.
	far := time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)
	assert.Equal(t, far.Format(TimestampLayout), string(appendTimestamp(nil, far)))
}

// A value built from shared sub-maps expands exponentially; encoding stops
// at the size limit instead of running for ever.
func TestEmitStopsEncodingAtSizeLimit(t *testing.T) {
	e, rec := newTestEmitter(t)
	m := Fields{"leaf": strings.Repeat("x", 100)}
	for range 60 { // 2^60 leaves when expanded
		m = Fields{"a": m, "b": m}
	}
	ev := validEvent()
	ev.Context = m
	start := time.Now()
	_, ok := e.Emit(ev)
	assert.False(t, ok)
	assert.Less(t, time.Since(start), 10*time.Second)
	assert.Equal(t, uint64(1), e.Stats().Invalid)
	list := []any{strings.Repeat("y", 1000)}
	for range 40 {
		list = []any{list, list}
	}
	ev.Context = Fields{"l": list}
	_, ok = e.Emit(ev)
	assert.False(t, ok)
	flush(t, e)
	assert.Zero(t, rec.Len())
}
