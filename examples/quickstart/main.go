// Command quickstart emits a few audit events of every category through an
// audit.Emitter into JSON lines on stdout, then prints the emitter's Stats on
// stderr. The lines are exactly what Warden's Kafka sink would put on the
// audit.events topic.
//
//	go run ./examples/quickstart
//	go run ./examples/quickstart | warden chain | warden verify   # with the warden CLI
package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"time"

	"github.com/socwarden/warden/audit"
	"github.com/socwarden/warden/taxonomy"
)

func main() {
	if err := run(os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "quickstart:", err)
		os.Exit(1)
	}
}

func run(stdout, stderr io.Writer) error {
	em, err := audit.New(audit.JSONLines(stdout), audit.WithSourceService("quickstart"),
		audit.WithLogger(slog.New(slog.NewTextHandler(stderr, nil))))
	if err != nil {
		return err
	}
	// Services receive the Emitter as an audit.Producer (WithAuditProducer).
	var p audit.Producer = em
	const tenant = "tenant-alpha"

	for _, ev := range []audit.Event{
		{ // decision: the model classified an alert
			TenantID: tenant, Type: taxonomy.AlertClassified, ActorType: taxonomy.ActorAgent, ActorID: "reasoning_agent",
			InvestigationID: "inv-0001", AlertID: "alert-0001", EntityIDs: []string{"host:web-01", "ip:10.0.0.7"},
			Context: audit.LLMContext(audit.LLMCall{Provider: taxonomy.ProviderAnthropic, ModelID: "claude-sonnet",
				Tier: taxonomy.Tier1, InputTokens: 1834, OutputTokens: 412, CostUSD: 0.024, LatencyMS: 850,
				PromptHash: audit.HashText("system prompt v3"), ResponseHash: audit.HashText("model answer")}),
			Decision: audit.Fields{audit.KeyDecisionType: taxonomy.DecisionClassify,
				audit.KeyClassification: taxonomy.ClassificationTruePositive, audit.KeyConfidence: 0.92,
				audit.KeySeverityAssigned: taxonomy.AssignedHigh,
				audit.KeyReasoningSummary: "Encoded PowerShell spawned by Office; matches T1059.001."},
		},
		{ // decision: the router picked a tier
			TenantID: tenant, Type: taxonomy.RoutingTierSelected, ActorType: taxonomy.ActorSystem, ActorID: "router",
			InvestigationID: "inv-0001",
			Context:         audit.Fields{audit.KeyLLMModelTier: taxonomy.Tier1, "task_type": "investigation"},
			Decision:        audit.Fields{audit.KeyDecisionType: taxonomy.DecisionRoute},
		},
		{ // action: a response action prepared for approval
			TenantID: tenant, Type: taxonomy.ResponsePrepared, ActorType: taxonomy.ActorAgent, ActorID: "response",
			InvestigationID: "inv-0001", EntityIDs: []string{"host:web-01"},
			Outcome: audit.Fields{audit.KeyOutcomeStatus: taxonomy.OutcomePendingApproval,
				audit.KeyActionTaken: "isolate_host", audit.KeyActionTarget: "host:web-01"},
		},
		{ // approval: an analyst granted it
			TenantID: tenant, Type: taxonomy.ApprovalGranted, ActorType: taxonomy.ActorHuman, ActorID: "alice",
			InvestigationID: "inv-0001",
			Outcome: audit.Fields{audit.KeyOutcomeStatus: taxonomy.OutcomeSuccess,
				audit.KeyApprovalReceivedFrom: "alice", audit.KeyApprovalChannel: taxonomy.ChannelAPI,
				audit.KeyApprovalLatencyMS: 95_000},
		},
		{ // security: prompt injection found in alert data
			TenantID: tenant, Type: taxonomy.InjectionDetected, Severity: taxonomy.SeverityWarning,
			ActorType: taxonomy.ActorSystem, ActorID: "entity-parser", AlertID: "alert-0002",
			Context: audit.Fields{"stage": "ingest", "risk": "suspicious", "labels": []string{"ignore_previous"}},
		},
		{ // system: platform-wide events use tenant "system"
			TenantID: "system", Type: taxonomy.CircuitBreakerOpened, Severity: taxonomy.SeverityWarning,
			ActorType: taxonomy.ActorSystem, ActorID: "router",
			Context: audit.Fields{"provider": taxonomy.ProviderAnthropic, "consecutive_failures": 5},
		},
		{ // invalid on purpose: counted, never delivered, never an error for the caller
			TenantID: tenant, Type: "not.an.event", ActorType: taxonomy.ActorAgent, ActorID: "demo",
		},
	} {
		p.Emit(ev)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := em.Close(ctx); err != nil {
		return err
	}
	st := em.Stats()
	fmt.Fprintf(stderr, "producer %s: emitted=%d delivered=%d invalid=%d dropped=%d failed=%d last_seq=%d\n",
		em.ProducerID(), st.Emitted, st.Delivered, st.Invalid, st.Dropped, st.Failed, st.LastSeq)
	return nil
}
