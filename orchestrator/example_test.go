package orchestrator_test

import (
	"context"
	"fmt"
	"time"

	"github.com/socwarden/warden/entityparser"
	"github.com/socwarden/warden/orchestrator"
	"github.com/socwarden/warden/orchestrator/autonomy"
	"github.com/socwarden/warden/response"
	"github.com/socwarden/warden/taxonomy"
)

// Two alerts through one graph: a known false positive is closed by an
// approved FP pattern before any model is asked; a phishing alert whose
// model recommends isolating a host waits for a senior analyst, then the
// action runs once through the response executor.
func Example() {
	ctx := context.Background()
	now := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	n := 0
	ids := func() string { n++; return fmt.Sprintf("inv-%d", n) }

	// An FP pattern approved by two different people.
	patterns := autonomy.NewMemoryFPPatterns()
	cand, _ := autonomy.NewCandidate(autonomy.FPPattern{PatternID: "fp-backup", TenantID: "acme",
		AlertNameRegex: `Nightly backup`, EntityPatterns: []autonomy.EntityPattern{{Type: "account", ValueRegex: `svc-backup`}}}, now)
	_ = patterns.Put(ctx, cand)
	gov, _ := autonomy.NewGovernance(patterns, nil, nil, autonomy.WithClock(clock))
	_, _ = gov.Approve(ctx, cand, "alice")
	_, _ = gov.Approve(ctx, cand, "bob")
	fp, _ := autonomy.NewFPShortCircuit(patterns, autonomy.WithClock(clock))

	// The response side: catalogue, approval gate, executor (dry run here).
	exec := response.NewDryRunExecutor()
	resp, _ := response.New(exec, response.WithClock(clock))
	adapter, _ := orchestrator.NewResponseAdapter(resp)

	// A scripted model stands in for orchestrator/llmgateway.
	llm := orchestrator.NewStaticLLM(map[string][]orchestrator.LLMResponse{
		orchestrator.AgentReasoning: {{Content: `{"classification":"true_positive","confidence":0.92,"severity":"high",
			"recommended_actions":[{"action":"isolate_host","target":"ws-17","tier":0}]}`, CostUSD: 0.02}},
	})
	reasoner, _ := orchestrator.NewReasoner(llm)

	g, _ := orchestrator.New(orchestrator.NewMemoryRepository(),
		orchestrator.Agents{Reasoner: reasoner, Responder: adapter},
		orchestrator.WithFPShortCircuit(fp), orchestrator.WithApprovalGate(adapter), orchestrator.WithActionPolicy(adapter),
		orchestrator.WithClock(clock), orchestrator.WithIDGenerator(ids))

	var backup orchestrator.Alert
	backup.AlertID, backup.TenantID, backup.Title = "a-1", "acme", "Nightly backup: mass file read"
	backup.Entities.Accounts = []entityparser.Entity{{Type: entityparser.Account, PrimaryValue: "svc-backup"}}
	inv, _ := g.Run(ctx, backup)
	fmt.Println(inv.InvestigationID, inv.State, inv.Classification, "LLM calls:", inv.LLMCalls)

	var phish orchestrator.Alert
	phish.AlertID, phish.TenantID, phish.Title, phish.Severity = "a-2", "acme", "Credential phishing", "high"
	phish.Entities.Hosts = []entityparser.Entity{{Type: entityparser.Host, PrimaryValue: "ws-17"}}
	inv, _ = g.Run(ctx, phish)
	fmt.Println(inv.InvestigationID, inv.State, inv.EscalationReasons)

	now = now.Add(20 * time.Minute) // the injected clock: no real time passes
	inv, err := g.Resume(ctx, inv.InvestigationID, orchestrator.HumanDecision{Verdict: orchestrator.VerdictApprove,
		Approver: "carol", Role: response.RoleSeniorAnalyst, Channel: taxonomy.ChannelSlack})
	fmt.Println(inv.InvestigationID, inv.State, err)
	for _, r := range inv.ActionResults {
		fmt.Println(" ", r.Action, r.Status, "approved by", r.ApprovedBy)
	}
	fmt.Println("executor calls:", len(exec.Requests()))
	// Output:
	// inv-1 closed false_positive LLM calls: 0
	// inv-2 awaiting_human [destructive_action]
	// inv-2 closed <nil>
	//   isolate_host executed approved by carol
	// executor calls: 1
}
