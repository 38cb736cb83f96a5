package orchestrator_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/socwarden/warden/audit"
	"github.com/socwarden/warden/entityparser"
	"github.com/socwarden/warden/orchestrator"
	"github.com/socwarden/warden/orchestrator/autonomy"
	"github.com/socwarden/warden/response"
	"github.com/socwarden/warden/taxonomy"
)

type discardSink struct{}

func (discardSink) Write(context.Context, []audit.Message) error { return nil }

// producers returns the benchmark variants: no audit, and a real Emitter
// draining to a sink that discards.
func producers(b *testing.B) map[string]audit.Producer {
	em, err := audit.New(discardSink{}, audit.WithRingSize(1<<16))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = em.Close(context.Background()) })
	return map[string]audit.Producer{"no_audit": nil, "emitter": em}
}

func benchAlert(title, severity string) orchestrator.Alert {
	var a orchestrator.Alert
	a.AlertID, a.TenantID, a.Title, a.Severity, a.RuleFamily = "a-1", "acme", title, entityparser.Severity(severity), "backup"
	a.Techniques = []string{"T1078"}
	a.Entities.Accounts = []entityparser.Entity{{Type: entityparser.Account, PrimaryValue: "svc-backup"}}
	a.Entities.Hosts = []entityparser.Entity{{Type: entityparser.Host, PrimaryValue: "ws-17"}}
	a.Entities.IPs = []entityparser.Entity{{Type: entityparser.IP, PrimaryValue: "10.1.2.3"}}
	return a
}

// BenchmarkInvestigationFPShortCircuit is one full FP path: Run, the FP
// short-circuit over ten approved patterns (the match is the last), E1,
// E2, the audit events, checkpoints in the memory repository.
func BenchmarkInvestigationFPShortCircuit(b *testing.B) {
	ctx := context.Background()
	now := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	patterns := autonomy.NewMemoryFPPatterns()
	for i := range 10 {
		p := autonomy.FPPattern{PatternID: fmt.Sprintf("fp-%02d", i), TenantID: "acme", Status: autonomy.StatusApproved,
			ApprovedBy1: "alice", ApprovedBy2: "bob", AlertNameRegex: fmt.Sprintf("Other rule %d", i),
			EntityPatterns: []autonomy.EntityPattern{{Type: "account", ValueRegex: "svc-"}, {Type: "ip", ValueCIDR: "10.0.0.0/8"}}}
		if i == 9 {
			p.AlertNameRegex = "Nightly backup"
		}
		if err := patterns.Put(ctx, p); err != nil {
			b.Fatal(err)
		}
	}
	for name, prod := range producers(b) {
		b.Run(name, func(b *testing.B) {
			ks, _ := orchestrator.NewKillSwitches(orchestrator.NewMemoryKillSwitches())
			fp, _ := autonomy.NewFPShortCircuit(patterns, autonomy.WithKillSwitches(ks), autonomy.WithClock(func() time.Time { return now }))
			llm := orchestrator.LLMFunc(func(context.Context, orchestrator.LLMRequest) (orchestrator.LLMResponse, error) {
				b.Fatal("an FP closure must not call the model")
				return orchestrator.LLMResponse{}, nil
			})
			ioc, _ := orchestrator.NewIOCExtractor(llm, nil)
			rsn, _ := orchestrator.NewReasoner(llm)
			g, err := orchestrator.New(orchestrator.NewMemoryRepository(), orchestrator.Agents{IOCExtractor: ioc, Reasoner: rsn,
				Responder: orchestrator.ResponderFunc(func(context.Context, *orchestrator.Investigation) error { return nil })},
				orchestrator.WithFPShortCircuit(fp), orchestrator.WithAuditProducer(prod))
			if err != nil {
				b.Fatal(err)
			}
			a := benchAlert("Nightly backup: mass file read", "medium")
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				inv, err := g.Run(ctx, a)
				if err != nil || inv.State != orchestrator.StateClosed {
					b.Fatal(err, inv.State)
				}
			}
		})
	}
}

// BenchmarkInvestigationEscalateWithApproval is one full escalation path:
// Run (IOC extraction, three enrichment nodes in parallel, reasoning with a
// tier-0 "isolate_host" the catalogue raises to tier 2, E5, the response
// gate opening an approval), then Resume with a senior analyst's grant
// (E8, execution through the response executor, E7).
func BenchmarkInvestigationEscalateWithApproval(b *testing.B) {
	ctx := context.Background()
	for name, prod := range producers(b) {
		b.Run(name, func(b *testing.B) {
			exec := response.ExecutorFunc(func(context.Context, response.ExecutionRequest) (response.ExecutionResult, error) {
				return response.ExecutionResult{Reversible: true}, nil
			})
			resp, err := response.New(exec, response.WithAuditProducer(prod))
			if err != nil {
				b.Fatal(err)
			}
			adapter, _ := orchestrator.NewResponseAdapter(resp)
			llm := orchestrator.LLMFunc(func(_ context.Context, req orchestrator.LLMRequest) (orchestrator.LLMResponse, error) {
				if req.AgentID == orchestrator.AgentIOCExtractor {
					return orchestrator.LLMResponse{Content: `{"iocs":[{"type":"ip","value":"10.1.2.3"},{"type":"account","value":"svc-backup"}]}`, CostUSD: 0.001}, nil
				}
				return orchestrator.LLMResponse{Content: `{"classification":"true_positive","confidence":0.9,"severity":"high",
					"attack_techniques":["T1078"],"recommended_actions":[{"action":"isolate_host","target":"ws-17","tier":0},
					{"action":"monitor","target":"ws-17","tier":0}],"reasoning":"credential misuse"}`, CostUSD: 0.02}, nil
			})
			cache := orchestrator.NewMemoryIOCCache()
			cache.Put("acme", "ip", "10.1.2.3", map[string]any{"severity": "high"})
			ueba := orchestrator.NewMemoryUEBA()
			ueba.Put("acme", "svc-backup", orchestrator.UEBARecord{RiskScore: 0.7, RiskState: "high"})
			exposures := orchestrator.NewMemoryExposures()
			exposures.Add("acme", orchestrator.Exposure{ExposureKey: "e-1", AssetID: "ws-17", Severity: "HIGH", CTEMScore: 7})
			tax := orchestrator.NewMemoryATLASTaxonomy()
			tax.Add("T1078", orchestrator.TaxonomyEntry{TechniqueID: "AML.T0012", Name: "Valid Accounts"})
			ioc, _ := orchestrator.NewIOCExtractor(llm, cache)
			enr, _ := orchestrator.NewContextEnricher(cache, ueba, orchestrator.NewMemoryIncidents())
			ctem, _ := orchestrator.NewCTEMCorrelator(exposures)
			atlas, _ := orchestrator.NewATLASMapper(tax, orchestrator.NewMemoryTechniqueSearch())
			rsn, _ := orchestrator.NewReasoner(llm)
			g, err := orchestrator.New(orchestrator.NewMemoryRepository(), orchestrator.Agents{IOCExtractor: ioc,
				ContextEnricher: enr, CTEMCorrelator: ctem, ATLASMapper: atlas, Reasoner: rsn, Responder: adapter},
				orchestrator.WithApprovalGate(adapter), orchestrator.WithActionPolicy(adapter), orchestrator.WithAuditProducer(prod))
			if err != nil {
				b.Fatal(err)
			}
			a := benchAlert("Credential phishing", "high")
			grant := orchestrator.HumanDecision{Verdict: orchestrator.VerdictApprove, Approver: "carol",
				Role: response.RoleSeniorAnalyst, Channel: taxonomy.ChannelSlack}
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				inv, err := g.Run(ctx, a)
				if err != nil || inv.State != orchestrator.StateAwaitingHuman {
					b.Fatal(err, inv.State)
				}
				inv, err = g.Resume(ctx, inv.InvestigationID, grant)
				if err != nil || inv.State != orchestrator.StateClosed {
					b.Fatal(err, inv.State)
				}
			}
		})
	}
}
