package openai_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"

	"github.com/socwarden/warden/gateway"
	"github.com/socwarden/warden/gateway/provider/openai"
)

// Example points the client at a local OpenAI-compatible server (here a
// stand-in; an Ollama or vLLM server looks the same) and registers it as
// the "local" provider.
func Example() {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = io.WriteString(w, `{"id":"chatcmpl-1","object":"chat.completion","model":"llama3.1:8b",
"choices":[{"index":0,"message":{"role":"assistant","content":"USER_001 signed in twice."},"finish_reason":"stop"}],
"usage":{"prompt_tokens":200,"completion_tokens":7,"total_tokens":207}}`)
	}))
	defer srv.Close()

	client, err := openai.New(openai.WithBaseURL(srv.URL+"/v1"), openai.WithDefaultModel("llama3.1:8b"),
		openai.WithProvider(gateway.ProviderLocal))
	if err != nil {
		panic(err)
	}
	gw, _ := gateway.New(client)
	resp, err := gw.Complete(context.Background(), gateway.Request{AgentID: "triage", UserContent: "alice@corp.example signed in"})
	if err != nil {
		panic(err)
	}
	fmt.Println(resp.Content)
	fmt.Println(resp.ModelID, resp.TokensUsed, resp.RequestID)
	// Output:
	// alice@corp.example signed in twice.
	// llama3.1:8b 207 chatcmpl-1
}
