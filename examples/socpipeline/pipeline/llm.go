package pipeline

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/socwarden/warden/gateway"
	"github.com/socwarden/warden/gateway/provider/anthropic"
	"github.com/socwarden/warden/gateway/provider/offline"
	"github.com/socwarden/warden/gateway/provider/openai"
	"github.com/socwarden/warden/router"
)

// LLM providers the pipeline can run on.
const (
	LLMOffline   = "offline"
	LLMAnthropic = "anthropic"
	LLMOpenAI    = "openai"
)

// Environment variables read for -llm anthropic|openai (the providers'
// usual names; the base URLs let the OpenAI client talk to vLLM, Ollama or
// LiteLLM and either client to a proxy).
const (
	EnvAnthropicKey  = "ANTHROPIC_API_KEY"
	EnvAnthropicBase = "ANTHROPIC_BASE_URL"
	EnvOpenAIKey     = "OPENAI_API_KEY"
	EnvOpenAIBase    = "OPENAI_BASE_URL"
)

// ErrMissingAPIKey is returned when a real provider is asked for without its
// API key in the environment.
var ErrMissingAPIKey = errors.New("pipeline: API key not set")

// llmClients returns the gateway's clients for the chosen provider mode.
//
// offline: the deterministic offline provider stands in for both the
// anthropic (primary) and openai (secondary) routes, so failover and
// breakers behave as in production; the story's analyst persona answers
// the reasoning prompts (see analystClient).
//
// anthropic / openai: that real provider serves every route (the router's
// catalogue models of the other provider are mapped onto it by the client's
// default model when the route names a model the provider does not have).
func llmClients(mode string, getenv func(string) string) ([]gateway.LLMClient, error) {
	if getenv == nil {
		getenv = os.Getenv
	}
	switch mode {
	case "", LLMOffline:
		var out []gateway.LLMClient
		for _, p := range []router.Provider{router.ProviderAnthropic, router.ProviderOpenAI} {
			off, err := offline.New(offline.WithProvider(p))
			if err != nil {
				return nil, err
			}
			out = append(out, analystClient{next: off})
		}
		return out, nil
	case LLMAnthropic:
		key := getenv(EnvAnthropicKey)
		if key == "" {
			return nil, fmt.Errorf("%w: %s", ErrMissingAPIKey, EnvAnthropicKey)
		}
		var opts []anthropic.Option
		if u := getenv(EnvAnthropicBase); u != "" {
			opts = append(opts, anthropic.WithBaseURL(u))
		}
		c, err := anthropic.New(key, opts...)
		if err != nil {
			return nil, err
		}
		return []gateway.LLMClient{c}, nil
	case LLMOpenAI:
		key := getenv(EnvOpenAIKey)
		base := getenv(EnvOpenAIBase)
		if key == "" && base == "" {
			return nil, fmt.Errorf("%w: %s (or %s for a local server)", ErrMissingAPIKey, EnvOpenAIKey, EnvOpenAIBase)
		}
		opts := []openai.Option{openai.WithAPIKey(key)}
		if base != "" {
			opts = append(opts, openai.WithBaseURL(base))
		}
		c, err := openai.New(opts...)
		if err != nil {
			return nil, err
		}
		return []gateway.LLMClient{c}, nil
	}
	return nil, fmt.Errorf("pipeline: unknown LLM provider %q (want %s, %s or %s)", mode, LLMOffline, LLMAnthropic, LLMOpenAI)
}

// outageClient makes its provider fail with HTTP 503 for a number of
// attempts once armed: the story's simulated provider outage. The gateway
// retries, reports each failure to the health registry, the breaker opens
// and the router fails over to the secondary provider.
type outageClient struct {
	next gateway.LLMClient

	mu        sync.Mutex // guards remaining
	remaining int
}

var _ gateway.LLMClient = (*outageClient)(nil)

// fail arms the next n attempts to fail.
func (o *outageClient) fail(n int) {
	o.mu.Lock()
	o.remaining = n
	o.mu.Unlock()
}

func (o *outageClient) Provider() gateway.Provider { return o.next.Provider() }

func (o *outageClient) Complete(ctx context.Context, req gateway.LLMRequest) (gateway.LLMResponse, error) {
	o.mu.Lock()
	down := o.remaining > 0
	if down {
		o.remaining--
	}
	o.mu.Unlock()
	if down {
		return gateway.LLMResponse{}, &gateway.ProviderError{StatusCode: 503, Type: "overloaded_error",
			Err: errors.New("simulated provider outage")}
	}
	return o.next.Complete(ctx, req)
}

// DefaultModel passes the wrapped client's default model through.
func (o *outageClient) DefaultModel() string {
	if d, ok := o.next.(gateway.DefaultModeler); ok {
		return d.DefaultModel()
	}
	return ""
}

// clockSleeper makes the gateway's retry backoff pass on the injected clock:
// the run never sleeps, and the backoff still shows in latencies.
func clockSleeper(c *Clock) func(ctx context.Context, d time.Duration) error {
	return func(ctx context.Context, d time.Duration) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		c.Advance(d)
		return nil
	}
}
