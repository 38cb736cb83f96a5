package llmgateway_test

import (
	"context"
	"fmt"
	"time"

	"github.com/socwarden/warden/gateway"
	"github.com/socwarden/warden/gateway/gatewaytest"
	"github.com/socwarden/warden/orchestrator"
	"github.com/socwarden/warden/orchestrator/llmgateway"
	"github.com/socwarden/warden/router"
)

// The reasoner on the gateway and router: a weak verdict on a critical
// alert is asked again, and the router sends the escalated call to the
// tier_1_plus model. A scripted provider client stands in for Anthropic.
func Example() {
	ctx := context.Background()
	clock := gatewaytest.NewFakeClock(time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC))
	escalations, _ := router.NewEscalationManager(router.DefaultEscalationPolicy(), router.WithClock(clock.Now))
	r, _ := router.New(router.WithEscalationManager(escalations), router.WithClock(clock.Now))
	provider := gatewaytest.NewScriptedClient(gateway.ProviderAnthropic, clock,
		gatewaytest.Reply(`{"classification":"suspicious","confidence":0.4}`, "", 900, 120),
		gatewaytest.Reply(`{"classification":"true_positive","confidence":0.88}`, "", 900, 300))
	gw, _ := gateway.New(provider, gateway.WithRouter(r), gateway.WithClock(clock.Now), gateway.WithSleeper(clock.Sleep))

	llm, _ := llmgateway.New(gw, llmgateway.WithEscalationManager(escalations))
	reasoner, _ := orchestrator.NewReasoner(llm, orchestrator.WithEscalator(llm.Escalator()))
	inv := orchestrator.NewInvestigation("inv-1")
	inv.TenantID, inv.Severity = "acme", "critical"
	_ = reasoner.Execute(ctx, inv)

	for _, req := range provider.Requests() {
		fmt.Println("model:", req.Model)
	}
	fmt.Println(inv.Classification, inv.Confidence, "escalations this hour:", escalations.EscalationsThisHour())
	// Output:
	// model: claude-sonnet-4-5-20250929
	// model: claude-opus-4-6
	// true_positive 0.88 escalations this hour: 1
}
