package entityparser

import (
	"context"
	"encoding/json"
	"os"
	"strings"
	"testing"
)

// Checklist 76.
func BenchmarkParseEntitiesStructured(b *testing.B) {
	b.SetBytes(int64(len(sentinelFixture)))
	b.ReportAllocs()
	for b.Loop() {
		_, _ = ParseEntities(sentinelFixture, nil, ExtractOptions{})
	}
}

// BenchmarkParseEntitiesFallback20K runs the extractor over a 20 KB raw
// payload (the Sentinel export rows, whose ExtendedProperties are full of
// IOCs).
func BenchmarkParseEntitiesFallback20K(b *testing.B) {
	data, err := os.ReadFile("testdata/sentinel_securityalert_msticpy_extract.json")
	if err != nil {
		b.Fatal(err)
	}
	var rows []map[string]any
	if err := json.Unmarshal(data, &rows); err != nil {
		b.Fatal(err)
	}
	var sb strings.Builder
	for i := 0; sb.Len() < 20<<10; i++ {
		sb.WriteString(rows[i%len(rows)]["ExtendedProperties"].(string))
	}
	payload, _ := json.Marshal(map[string]string{"text": sb.String()[:20<<10]})
	b.SetBytes(int64(len(payload)))
	b.ReportAllocs()
	for b.Loop() {
		_, _ = ParseEntities("", payload, ExtractOptions{})
	}
}

// BenchmarkProcess is one alert end to end (validation, entities, injection
// scan, output, no audit).
func BenchmarkProcess(b *testing.B) {
	p := mustParser(b)
	msg := alertMsg(b, map[string]any{"entities_raw": sentinelFixture})
	b.SetBytes(int64(len(msg)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := p.Process(context.Background(), msg); err != nil {
			b.Fatal(err)
		}
	}
}
