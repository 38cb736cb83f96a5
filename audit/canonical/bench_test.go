package canonical_test

import (
	"encoding/json"
	"testing"

	"github.com/socwarden/warden/audit/canonical"
)

// typicalRecordJSON is a typical LLM-call audit event (every always-present
// key, investigation, alert and entities, and the nine keys of
// audit.LLMContext as context), written
// the way a Python producer sends it: insertion order and ", " / ": "
// separators. Its canonical form is about 600 bytes.
const typicalRecordJSON = `{"audit_id": "019cad8f-ac0a-7a3c-8d5e-3f2b6c1d9e07", "tenant_id": "tenant-alpha",
"timestamp": "2026-03-02T08:00:00.010Z", "event_type": "llm.call.completed", "event_category": "llm",
"severity": "info", "actor_type": "agent", "actor_id": "reasoning_agent", "source_service": "gateway",
"producer_id": "019cad8f-ac00-7000-8000-000000000001", "producer_seq": 1042,
"investigation_id": "inv-7781", "alert_id": "alert-2291", "entity_ids": ["ip:10.0.0.1", "host:web-01"],
"context": {"llm_provider": "anthropic", "llm_model_id": "claude-sonnet-4", "llm_model_tier": "tier_1",
"llm_input_tokens": 2048, "llm_output_tokens": 512, "llm_cost_usd": 0.024, "llm_latency_ms": 850,
"llm_system_prompt_hash": "", "llm_raw_response_hash": ""}}`

func typicalRecordObject(t testing.TB) canonical.Object {
	t.Helper()
	obj, err := canonical.DecodeObject([]byte(typicalRecordJSON))
	if err != nil {
		t.Fatal(err)
	}
	return obj
}

// typicalRecordGo is the same record built from the Go values the audit
// Emitter holds (int, float64, []string) rather than decoded json.Numbers.
func typicalRecordGo() map[string]any {
	return map[string]any{
		"audit_id": "019cad8f-ac0a-7a3c-8d5e-3f2b6c1d9e07", "tenant_id": "tenant-alpha",
		"timestamp": "2026-03-02T08:00:00.010Z", "event_type": "llm.call.completed", "event_category": "llm",
		"severity": "info", "actor_type": "agent", "actor_id": "reasoning_agent", "source_service": "gateway",
		"producer_id": "019cad8f-ac00-7000-8000-000000000001", "producer_seq": uint64(1042),
		"investigation_id": "inv-7781", "alert_id": "alert-2291", "entity_ids": []string{"ip:10.0.0.1", "host:web-01"},
		"context": map[string]any{"llm_provider": "anthropic", "llm_model_id": "claude-sonnet-4", "llm_model_tier": "tier_1",
			"llm_input_tokens": 2048, "llm_output_tokens": 512, "llm_cost_usd": 0.024, "llm_latency_ms": 850,
			"llm_system_prompt_hash": "", "llm_raw_response_hash": ""},
	}
}

// The two forms of the typical record are the same canonical bytes, so the
// benchmarks below measure the same output.
func TestTypicalRecordForms(t *testing.T) {
	a, err := canonical.Marshal(typicalRecordObject(t))
	if err != nil {
		t.Fatal(err)
	}
	b, err := canonical.Marshal(typicalRecordGo())
	if err != nil {
		t.Fatal(err)
	}
	if string(a) != string(b) {
		t.Fatalf("forms differ:\n%s\n%s", a, b)
	}
	if len(a) < 550 || len(a) > 700 {
		t.Fatalf("typical record is %d bytes, want about 600", len(a))
	}
}

func BenchmarkCanonicalize(b *testing.B) {
	in := []byte(typicalRecordJSON)
	b.SetBytes(int64(len(in)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := canonical.Canonicalize(in); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecodeObject(b *testing.B) {
	in := []byte(typicalRecordJSON)
	b.SetBytes(int64(len(in)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := canonical.DecodeObject(in); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkMarshal: the decoded record (numbers as json.Number).
func BenchmarkMarshal(b *testing.B) {
	rec := typicalRecordObject(b)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := canonical.Marshal(rec); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkMarshalGoValues: the record as the Emitter holds it.
func BenchmarkMarshalGoValues(b *testing.B) {
	rec := typicalRecordGo()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := canonical.Marshal(rec); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkAppendGoValues: into a reused buffer, as a ring slot would be.
func BenchmarkAppendGoValues(b *testing.B) {
	rec := typicalRecordGo()
	buf := make([]byte, 0, 1024)
	b.ReportAllocs()
	for b.Loop() {
		var err error
		if buf, err = canonical.Append(buf[:0], rec); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkEncodingJSONMarshal is the naive alternative (not canonical:
// different float format, no ASCII escaping), for comparison.
func BenchmarkEncodingJSONMarshal(b *testing.B) {
	rec := typicalRecordGo()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := json.Marshal(rec); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkAppendString(b *testing.B) {
	cases := []struct{ name, s string }{
		{"ASCII", "reasoning_agent classified alert-2291 on host:web-01 as a true positive with high confidence"},
		{"NonASCII", "Überprüfung der Warnung für 主机 web-01 abgeschlossen — Ergebnis: bösartig 😀"},
	}
	for _, tc := range cases {
		b.Run(tc.name, func(b *testing.B) {
			buf := make([]byte, 0, 4*len(tc.s))
			b.SetBytes(int64(len(tc.s)))
			b.ReportAllocs()
			for b.Loop() {
				buf = canonical.AppendString(buf[:0], tc.s)
			}
		})
	}
}

func BenchmarkAppendFloat(b *testing.B) {
	buf := make([]byte, 0, 32)
	vals := []float64{0.024, 1.0, 123456789.123, 1e16, 1e-7, 0.30000000000000004}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		buf = canonical.AppendFloat(buf[:0], vals[i%len(vals)])
		i++
	}
}

func BenchmarkFormatFloat(b *testing.B) {
	vals := []float64{0.024, 1.0, 123456789.123, 1e16, 1e-7, 0.30000000000000004}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		_ = canonical.FormatFloat(vals[i%len(vals)])
		i++
	}
}
