package chain_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/socwarden/warden/audit"
	"github.com/socwarden/warden/audit/canonical"
	"github.com/socwarden/warden/audit/chain"
)

// typicalEvent is an LLM-call event as the Emitter encodes it (about 600
// bytes of canonical JSON).
func typicalEvent(b testing.TB, i int) []byte {
	at := time.Date(2026, 3, 2, 8, 0, 0, 0, time.UTC).Add(time.Duration(i) * time.Millisecond)
	ev := canonical.Object{
		"audit_id": audit.NewIDAt(at), "tenant_id": fmt.Sprintf("tenant-%d", i%8),
		"timestamp": audit.FormatTimestamp(at), "event_type": "routing.tier_selected", "event_category": "routing",
		"severity": "info", "actor_type": "agent", "actor_id": "reasoning_agent", "source_service": "gateway",
		"producer_id": "019cad8f-ac00-7000-8000-000000000001", "producer_seq": i + 1,
		"investigation_id": "inv-7781", "alert_id": "alert-2291", "entity_ids": []string{"ip:10.0.0.1", "host:web-01"},
		"context": map[string]any{"llm_provider": "anthropic", "llm_model_id": "claude-sonnet-4", "llm_model_tier": "tier_1",
			"llm_input_tokens": 2048, "llm_output_tokens": 512, "llm_cost_usd": 0.024, "llm_latency_ms": 850,
			"llm_system_prompt_hash": "", "llm_raw_response_hash": ""},
	}
	raw, err := canonical.Marshal(ev)
	if err != nil {
		b.Fatal(err)
	}
	return raw
}

// BenchmarkChainVerify is the CLI's path, one op = one record chained
// (LinkJSON) and verified (StreamVerifier.AddJSON), on one goroutine.
// Goal (issue 3): at least 200k records/s on one core.
func BenchmarkChainVerify(b *testing.B) {
	const distinct = 1024
	events := make([][]byte, distinct)
	for i := range events {
		events[i] = typicalEvent(b, i)
	}
	now := time.Date(2026, 3, 2, 8, 0, 1, 0, time.UTC)
	heads := map[string]chain.Head{}
	tenants := make([]string, 8)
	for i := range tenants {
		tenants[i] = fmt.Sprintf("tenant-%d", i)
	}
	var linker chain.Linker
	sv := chain.NewStreamVerifier()
	b.SetBytes(int64(len(events[0])))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		ev := events[i%distinct]
		tenant := tenants[i%8]
		h := heads[tenant]
		if !h.Exists() {
			h = chain.Head{TenantID: tenant, Sequence: 0, Hash: chain.GenesisHash}
		}
		rec, nh, err := linker.Link(ev, h, now)
		if err != nil {
			b.Fatal(err)
		}
		heads[tenant] = nh
		sv.AddJSON(rec)
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "records/s")
	if rep := sv.Report(); rep.Records != b.N || rep.MalformedCount != 0 {
		b.Fatalf("report %+v", rep)
	}
}

func BenchmarkLinkJSON(b *testing.B) {
	ev := typicalEvent(b, 1)
	h := chain.Head{TenantID: "tenant-1", Sequence: 41, Hash: chain.GenesisHash}
	now := time.Date(2026, 3, 2, 8, 0, 1, 0, time.UTC)
	var l chain.Linker
	b.SetBytes(int64(len(ev)))
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := l.Link(ev, h, now); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkHashJSON(b *testing.B) {
	rec, _, _ := chain.LinkJSON(typicalEvent(b, 1), chain.Head{Sequence: 1, Hash: chain.GenesisHash}, time.Now())
	b.SetBytes(int64(len(rec)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := chain.HashJSON(rec); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkVerify10k is the spec's benchmark: Verify of 10,000 decoded
// records (one op = the whole chain).
func BenchmarkVerify10k(b *testing.B) {
	recs := buildChain(b, "tenant-alpha", 10000)
	b.ReportAllocs()
	for b.Loop() {
		if res := chain.Verify(recs); !res.Valid {
			b.Fatal(res.Errors)
		}
	}
	b.ReportMetric(float64(b.N*10000)/b.Elapsed().Seconds(), "records/s")
}

func BenchmarkChainerIngest(b *testing.B) {
	ctx := context.Background()
	events := make([][]byte, 1024)
	for i := range events {
		events[i] = typicalEvent(b, i)
	}
	c, err := chain.New(chain.NewMemoryStore(), chain.WithDedupWindow(0))
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if _, err := c.Ingest(ctx, events[i%len(events)]); err != nil {
			b.Fatal(err)
		}
		i++
	}
}
