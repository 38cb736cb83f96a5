package batch_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"time"

	"github.com/socwarden/warden/batch"
	"github.com/socwarden/warden/batch/offline"
	"github.com/socwarden/warden/orchestrator/autonomy"
	"github.com/socwarden/warden/router"
)

// A batch cycle: three closed false positives of one scanner and two
// brute-force incidents become one FP pattern candidate and one playbook
// draft. The offline provider stands in for the Anthropic Message Batches
// API (package anthropicbatch); the gateway's gate pseudonymises the IP
// address before it leaves the process and the processor restores it.
func Example() {
	now := time.Date(2025, 6, 15, 12, 0, 0, 0, time.UTC)
	var rows []batch.ClosedInvestigation
	add := func(id string, state map[string]any) {
		b, _ := json.Marshal(state)
		rows = append(rows, batch.ClosedInvestigation{InvestigationID: id, TenantID: "acme", GraphState: b, UpdatedAt: now.Add(-time.Hour)})
	}
	for _, id := range []string{"inv-1", "inv-2", "inv-3"} {
		add(id, map[string]any{"classification": "false_positive", "alert_title": "Nessus scan detected",
			"entities": map[string]any{"ips": []string{"10.20.0.5"}}})
	}
	for _, id := range []string{"inv-4", "inv-5"} {
		add(id, map[string]any{"classification": "true_positive", "techniques": []string{"T1110"}})
	}

	guard, _ := router.NewSpendGuard(router.WithClock(func() time.Time { return now }))
	patterns := autonomy.NewMemoryFPPatterns() // the one FP pattern store; two approvers activate candidates there
	candidates, _ := batch.NewAutonomyStore(patterns)
	drafts := batch.NewMemoryDraftStore()
	svc, err := batch.New(offline.New(), batch.GatewayGate(), guard, candidates,
		batch.WithInvestigationSource(batch.StaticInvestigations(rows)),
		batch.WithDraftStore(drafts),
		batch.WithCountThreshold(1),
		batch.WithClock(func() time.Time { return now }),
		batch.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		fmt.Println(err)
		return
	}
	ctx := context.Background()
	mined, _ := svc.Mine(ctx)
	report, _ := svc.Cycle(ctx)
	sum := report.Summaries[0]
	fmt.Printf("tasks %d, patterns %d, playbooks %d, errors %d\n", mined.Enqueued, sum.FPPatternsStored, sum.PlaybooksPublished, sum.Errors)
	pending, _ := patterns.List(ctx, "acme")
	for _, p := range pending {
		fmt.Println("candidate for", p.ScopeTenantID+":", p.AlertNameRegex, p.EntityPatterns, p.Status)
	}
	for _, d := range drafts.Drafts() {
		fmt.Println("draft:", d.Name, d.Techniques, len(d.RemediationSteps), "steps")
	}
	fmt.Println("open spend reservations:", guard.Status().Outstanding)
	// Output:
	// tasks 2, patterns 1, playbooks 1, errors 0
	// candidate for acme: ^Nessus scan detected [{ip ^10\.20\.0\.5$ }] pending_review
	// draft: Response playbook for T1110 [T1110] 4 steps
	// open spend reservations: 0
}
