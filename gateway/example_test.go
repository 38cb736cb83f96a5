package gateway_test

import (
	"context"
	"fmt"

	"github.com/socwarden/warden/gateway"
	"github.com/socwarden/warden/gateway/provider/offline"
	"github.com/socwarden/warden/router"
)

// Example sends one alert through the gateway with the deterministic
// offline provider (no model is called) and the router's spend guard. The
// provider only ever sees placeholders; the agent gets the real values back,
// and the invented technique id T9999 is stripped and reported.
func Example() {
	client, _ := offline.New()
	guard, _ := router.NewSpendGuard()
	gw, err := gateway.New(client, gateway.WithSpendGuard(guard))
	if err != nil {
		panic(err)
	}
	resp, err := gw.Complete(context.Background(), gateway.Request{
		AgentID:      "triage-agent",
		TaskType:     "alert_classification",
		SystemPrompt: "Classify the alert.",
		UserContent:  "jdoe@corp.example logged in from 10.20.30.40; tooling matched T1059.001 and T9999.",
	})
	if err != nil {
		panic(err)
	}
	fmt.Println("model saw: ", resp.RawOutput)
	fmt.Println("agent got: ", resp.Content)
	fmt.Println("quarantined:", resp.QuarantinedIDs, "valid:", resp.Valid)
	// Output:
	// model saw:  [offline provider: no model was called] Evidence reviewed (185 bytes). Entities: USER_001, IP_SRC_001. Techniques: T1059.001, T9999.
	// agent got:  [offline provider: no model was called] Evidence reviewed (185 bytes). Entities: jdoe@corp.example, 10.20.30.40. Techniques: T1059.001, .
	// quarantined: [T9999] valid: false
}
