package pipeline

import (
	"context"
	"testing"

	"github.com/socwarden/warden/audit"
)

// BenchmarkIngest measures one raw alert through the whole pipeline
// (normalise, parse, investigate with two LLM calls through gateway and
// router, respond), with audit into an in-memory sink, per sample.
func BenchmarkIngest(b *testing.B) {
	for _, tc := range []struct{ name, file, source string }{
		{"llm_auto_close", "07-defender-eicar-test-file.json", "defender"},
		{"fp_short_circuit", "02-elastic-vulnerability-scanner.json", "elastic"},
		{"approval_gate", "01-sentinel-encoded-powershell.json", "sentinel"},
	} {
		b.Run(tc.name, func(b *testing.B) {
			em, err := audit.New(audit.NewRecorder(), audit.WithRingSize(1<<20))
			if err != nil {
				b.Fatal(err)
			}
			defer em.Close(context.Background())
			svc, err := NewServices(Config{Producer: em, Clock: NewWallClock(), Reviewer: NoReviewer})
			if err != nil {
				b.Fatal(err)
			}
			st := &story{svc: svc}
			if err := st.setup(context.Background()); err != nil {
				b.Fatal(err)
			}
			raw, err := SampleAlert(tc.file)
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := svc.Ingest(context.Background(), tc.source, raw); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
