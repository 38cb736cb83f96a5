package evidence_test

import (
	"context"
	"fmt"
	"time"

	"github.com/socwarden/warden/audit"
	"github.com/socwarden/warden/audit/chain"
	"github.com/socwarden/warden/audit/evidence"
	"github.com/socwarden/warden/taxonomy"
)

// The gateway stores a prompt and a response as evidence and references
// them from its audit record; the evidence package for the investigation
// carries the verified records and, on request, the raw artifacts.
func Example() {
	ctx := context.Background()
	clock := func() time.Time { return time.Date(2026, 3, 2, 8, 0, 0, 0, time.UTC) }
	store, err := evidence.NewStore(evidence.NewMemoryObjects(), "warden-evidence", evidence.WithClock(clock))
	if err != nil {
		panic(err)
	}
	auditID := "019cad8f-ac00-7000-8000-000000000001" // preset so the evidence key matches the record
	prompt, _ := store.PutString(ctx, "tenant-alpha", auditID, evidence.LLMPrompt, "Classify this alert ...")
	response, _ := store.PutString(ctx, "tenant-alpha", auditID, evidence.LLMResponse, `{"classification":"true_positive"}`)
	fmt.Println(prompt.URI)

	records := chain.NewMemoryStore()
	chainer, _ := chain.New(records, chain.WithClock(clock))
	em, _ := audit.New(chainer, audit.WithClock(clock))
	em.Emit(audit.Event{TenantID: "tenant-alpha", Type: taxonomy.RoutingTierSelected, ActorType: taxonomy.ActorAgent,
		ActorID: "context-gateway", InvestigationID: "inv-1", AuditID: auditID,
		Context: audit.LLMContext(audit.LLMCall{Provider: "anthropic", ModelID: "claude", Tier: taxonomy.Tier1,
			PromptHash: prompt.Hash, ResponseHash: response.Hash}).
			With(audit.Fields{audit.KeyEvidenceRefs: evidence.Refs(prompt, response)})})
	_ = em.Close(ctx)

	builder, _ := evidence.NewPackageBuilder(records, evidence.WithEvidence(store), evidence.WithPackageClock(clock))
	pkg, err := builder.Build(ctx, "tenant-alpha", "inv-1", true)
	if err != nil {
		panic(err)
	}
	raw := pkg.LLMInteractions[0]["raw_evidence"].(map[string]any)
	fmt.Println(len(pkg.Events), "event, chain verified:", pkg.ChainVerified)
	fmt.Println(raw[response.URI])
	// Output:
	// s3://warden-evidence/tenant-alpha/2026/03/02/019cad8f-ac00-7000-8000-000000000001/llm_prompt.json
	// 1 event, chain verified: true
	// {"classification":"true_positive"}
}
