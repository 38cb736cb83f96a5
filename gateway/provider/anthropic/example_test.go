package anthropic_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"

	"github.com/socwarden/warden/gateway"
	"github.com/socwarden/warden/gateway/provider/anthropic"
)

// Example points the client at a local stand-in for the Messages API and
// sends one call through the gateway. In production, omit WithBaseURL and
// pass the key from the environment.
func Example() {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("request-id", "req_example")
		_, _ = io.WriteString(w, `{"id":"msg_1","type":"message","role":"assistant","model":"claude-sonnet-4-5-20250929",
"content":[{"type":"text","text":"IP_SRC_001 beacons to a known C2."}],"stop_reason":"end_turn",
"usage":{"input_tokens":320,"output_tokens":12}}`)
	}))
	defer srv.Close()

	client, err := anthropic.New("sk-ant-example", anthropic.WithBaseURL(srv.URL))
	if err != nil {
		panic(err)
	}
	gw, _ := gateway.New(client)
	resp, err := gw.Complete(context.Background(), gateway.Request{AgentID: "triage", UserContent: "beacon from 10.1.1.9"})
	if err != nil {
		panic(err)
	}
	fmt.Println(resp.Content)
	fmt.Println(resp.RequestID, resp.TokensUsed, resp.Metrics.CostUSD)
	// Output:
	// 10.1.1.9 beacons to a known C2.
	// req_example 332 0.00114
}
