package ctem

import (
	"bytes"
	"encoding/json"
	"fmt"
	"testing"
)

// snyk10k builds a `snyk test --json` document with n vulnerabilities, each a
// copy of the real sample's vulnerability record with its own id, package and
// CVE, so no two are duplicates.
func snyk10k(tb testing.TB, n int) []byte {
	tb.Helper()
	var doc map[string]any
	if err := json.Unmarshal(readCorpus(tb, "snyk_test_single_project_one_vuln.json"), &doc); err != nil {
		tb.Fatal(err)
	}
	template := doc["vulnerabilities"].([]any)[0].(map[string]any)
	vulns := make([]any, n)
	for i := range vulns {
		v := make(map[string]any, len(template))
		for k, val := range template {
			v[k] = val
		}
		v["id"] = fmt.Sprintf("SNYK-JAVA-BENCH-%d", i)
		v["packageName"] = fmt.Sprintf("org.example:lib-%d", i%2000)
		v["identifiers"] = map[string]any{"CVE": []any{fmt.Sprintf("CVE-2026-%05d", i)}, "CWE": []any{"CWE-611"}}
		vulns[i] = v
	}
	doc["vulnerabilities"] = vulns
	out, err := json.Marshal(doc)
	if err != nil {
		tb.Fatal(err)
	}
	return out
}

func BenchmarkNormaliseSnyk10k(b *testing.B) {
	data := snyk10k(b, 10_000)
	s := newService(b)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		batch, err := s.NormaliseStream(ctx, SourceSnyk, bytes.NewReader(data))
		if err != nil || len(batch.Exposures) != 10_000 {
			b.Fatalf("got %v exposures, err %v", len(batch.Exposures), err)
		}
	}
}

func BenchmarkIngestSnyk10k(b *testing.B) {
	data := snyk10k(b, 10_000)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		s := newService(b, WithAuditProducer(&recorder{}))
		batch, err := s.IngestStream(ctx, SourceSnyk, bytes.NewReader(data))
		if err != nil || len(batch.Exposures) != 10_000 {
			b.Fatalf("got %v exposures, err %v", len(batch.Exposures), err)
		}
	}
}

func BenchmarkProcessFlat(b *testing.B) {
	s := newService(b)
	raw := mustJSON(b, goldenSnyk3)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.Process(ctx, "ctem.raw.snyk", raw); err != nil {
			b.Fatal(err)
		}
	}
}

func TestSnyk10kShape(t *testing.T) {
	s := newService(t)
	batch, err := s.NormaliseStream(ctx, SourceSnyk, bytes.NewReader(snyk10k(t, 50)))
	if err != nil {
		t.Fatal(err)
	}
	if len(batch.Exposures) != 50 || len(batch.Errors) != 0 || len(batch.Skipped) != 0 {
		t.Fatalf("exposures %d errors %d skipped %d", len(batch.Exposures), len(batch.Errors), len(batch.Skipped))
	}
}
