package batch_test

import (
	"fmt"
	"testing"

	"github.com/socwarden/warden/batch"
)

// benchCorpus: 50 FP alert groups of 3 investigations and 25 techniques of
// 2 incidents, for 3 tenants — 225 FP + 150 other investigations, 225 tasks.
func benchCorpus() []batch.ClosedInvestigation {
	var rows []batch.ClosedInvestigation
	for _, tn := range []string{"acme", "globex", "initech"} {
		for g := range 50 {
			for i := range 3 {
				rows = append(rows, investigation(fmt.Sprintf("%s-fp-%d-%d", tn, g, i), tn, map[string]any{
					"classification": "false_positive", "alert_title": fmt.Sprintf("Scheduled scan %d from scanner", g),
					"entities": map[string]any{"ips": []string{fmt.Sprintf("10.20.%d.5", g)}, "hosts": []string{"scanner-01"}},
				}))
			}
		}
		for g := range 25 {
			for i := range 2 {
				rows = append(rows, investigation(fmt.Sprintf("%s-tp-%d-%d", tn, g, i), tn, map[string]any{
					"classification": "true_positive", "techniques": []any{fmt.Sprintf("T%04d", 1000+g)},
				}))
			}
		}
	}
	return rows
}

// BenchmarkCycle is one full batch cycle: mine 375 closed investigations
// into 225 tasks, gate and reserve each, create the batch (offline
// provider), poll, collect, settle spend, parse and validate every answer
// and store the candidates and drafts, with audit emission.
func BenchmarkCycle(b *testing.B) {
	rows := benchCorpus()
	b.ReportAllocs()
	for b.Loop() {
		b.StopTimer()
		p := newPipeline(b, rows, &events{})
		b.StartTimer()
		if _, err := p.svc.Mine(ctx); err != nil {
			b.Fatal(err)
		}
		rep, err := p.svc.Cycle(ctx)
		if err != nil || len(rep.Summaries) != 1 || rep.Summaries[0].FPPatternsStored != 150 {
			b.Fatalf("unexpected cycle: %v %+v", err, rep.Summaries)
		}
	}
}
