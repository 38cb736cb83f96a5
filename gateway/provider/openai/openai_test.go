package openai_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/socwarden/warden/gateway"
	"github.com/socwarden/warden/gateway/gatewaytest"
	"github.com/socwarden/warden/gateway/provider/openai"
)

// Response bodies in the shapes OpenAI, vLLM and Ollama return.
const (
	completion = `{"id":"chatcmpl-B9MBs8CjcvOU2jLn4n570S5qMJKcT","object":"chat.completion","created":1741569952,
"model":"gpt-4o-2024-08-06","choices":[{"index":0,"message":{"role":"assistant","content":"Host IP_SRC_001 ran T1059.001.",
"refusal":null,"annotations":[]},"logprobs":null,"finish_reason":"stop"}],
"usage":{"prompt_tokens":1200,"completion_tokens":80,"total_tokens":1280,
"prompt_tokens_details":{"cached_tokens":1024,"audio_tokens":0},
"completion_tokens_details":{"reasoning_tokens":0,"audio_tokens":0,"accepted_prediction_tokens":0,"rejected_prediction_tokens":0}},
"service_tier":"default","system_fingerprint":"fp_fc9f1d7035"}`
	toolCalls = `{"id":"chatcmpl-abc123","object":"chat.completion","created":1699896916,"model":"gpt-4o-mini",
"choices":[{"index":0,"message":{"role":"assistant","content":null,"tool_calls":[{"id":"call_abc123","type":"function",
"function":{"name":"isolate_host","arguments":"{\n\"host\": \"HOST_001\"\n}"}}]},"logprobs":null,"finish_reason":"tool_calls"}],
"usage":{"prompt_tokens":82,"completion_tokens":17,"total_tokens":99}}`
	ollamaCompletion = `{"id":"chatcmpl-381","object":"chat.completion","created":1731000000,"model":"llama3.1:8b",
"system_fingerprint":"fp_ollama","choices":[{"index":0,"message":{"role":"assistant","content":"ok"},"finish_reason":"stop"}],
"usage":{"prompt_tokens":26,"completion_tokens":2,"total_tokens":28}}`
	rateLimit   = `{"error":{"message":"Rate limit reached for gpt-4o in organization org-x on tokens per min (TPM): Limit 30000, Used 29000, Requested 1500. Please try again in 2.5s.","type":"tokens","param":null,"code":"rate_limit_exceeded"}}`
	overloaded  = `{"error":{"message":"The engine is currently overloaded, please try again later","type":"server_error","param":null,"code":null}}`
	serverError = `{"error":{"message":"The server had an error while processing your request. Sorry about that!","type":"server_error","param":null,"code":null}}`
	badRequest  = `{"error":{"message":"Invalid value for 'temperature'.","type":"invalid_request_error","param":"temperature","code":"invalid_value"}}`
	vllmError   = `{"object":"error","message":"This model's maximum context length is 8192 tokens.","type":"BadRequestError","param":null,"code":400}`
	ollamaError = `{"error":"model \"llama9\" not found, try pulling it first"}`
)

type reply struct {
	status int
	header map[string]string
	body   string
}

type captured struct {
	header http.Header
	body   map[string]any
}

type server struct {
	*httptest.Server
	mu       sync.Mutex
	replies  []reply
	requests []captured
}

func newServer(t *testing.T, replies ...reply) *server {
	s := &server{replies: replies}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		var m map[string]any
		_ = json.Unmarshal(b, &m)
		s.mu.Lock()
		s.requests = append(s.requests, captured{r.Header.Clone(), m})
		rep := s.replies[0]
		if len(s.replies) > 1 {
			s.replies = s.replies[1:]
		}
		s.mu.Unlock()
		assert.Equal(t, "/v1/chat/completions", r.URL.Path)
		for k, v := range rep.header {
			w.Header().Set(k, v)
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(rep.status)
		_, _ = io.WriteString(w, rep.body)
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *server) last() captured {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.requests[len(s.requests)-1]
}

func client(t *testing.T, url string, opts ...openai.Option) *openai.Client {
	c, err := openai.New(append([]openai.Option{openai.WithBaseURL(url + "/v1")}, opts...)...)
	require.NoError(t, err)
	return c
}

func request() gateway.LLMRequest {
	temp := 0.2
	return gateway.LLMRequest{Model: "gpt-4o", MaxTokens: 8192, Temperature: &temp, System: gateway.BuildSystemPrompt("Answer in JSON."),
		CacheSystem: true, ExtendedThinking: true, Messages: []gateway.Message{{Role: "user", Content: "<evidence>x & y</evidence>"}}}
}

func TestSuccess(t *testing.T) {
	s := newServer(t, reply{200, map[string]string{"x-request-id": "req_123"}, completion})
	c := client(t, s.URL, openai.WithAPIKey("sk-test"), openai.WithHeader("OpenAI-Project", "proj_1"))
	r := request()
	r.OutputSchema = json.RawMessage(`{"type":"object"}`)
	resp, err := c.Complete(context.Background(), r)
	require.NoError(t, err)
	assert.Equal(t, "Host IP_SRC_001 ran T1059.001.", resp.Text)
	assert.Equal(t, "gpt-4o-2024-08-06", resp.ModelID)
	assert.Equal(t, gateway.Usage{InputTokens: 176, OutputTokens: 80, CacheReadTokens: 1024}, resp.Usage, "cached tokens are part of prompt_tokens")
	assert.Equal(t, "req_123", resp.RequestID)
	assert.Equal(t, "stop", resp.StopReason)

	got := s.last()
	assert.Equal(t, "Bearer sk-test", got.header.Get("Authorization"))
	assert.Equal(t, "proj_1", got.header.Get("OpenAI-Project"))
	assert.Equal(t, "gpt-4o", got.body["model"])
	assert.EqualValues(t, 8192, got.body["max_tokens"])
	assert.EqualValues(t, 0.2, got.body["temperature"])
	assert.Equal(t, map[string]any{"type": "json_object"}, got.body["response_format"])
	assert.Equal(t, []any{
		map[string]any{"role": "system", "content": r.System},
		map[string]any{"role": "user", "content": "<evidence>x & y</evidence>"},
	}, got.body["messages"])
	for _, k := range []string{"thinking", "cache_control", "reasoning_effort"} {
		assert.NotContains(t, got.body, k)
	}
}

func TestCompatibleServers(t *testing.T) {
	s := newServer(t, reply{200, nil, ollamaCompletion})
	c := client(t, s.URL, openai.WithProvider(gateway.ProviderLocal), openai.WithDefaultModel("llama3.1:8b"),
		openai.WithMaxTokensField("max_completion_tokens"))
	r := request()
	r.Model, r.Temperature = "", nil
	resp, err := c.Complete(context.Background(), r)
	require.NoError(t, err)
	assert.Equal(t, "ok", resp.Text)
	assert.Equal(t, "chatcmpl-381", resp.RequestID, "no header: the completion id")
	assert.Equal(t, gateway.Usage{InputTokens: 26, OutputTokens: 2}, resp.Usage)
	assert.Equal(t, gateway.ProviderLocal, c.Provider())
	got := s.last()
	assert.Empty(t, got.header.Get("Authorization"), "no key, no header")
	assert.Equal(t, "llama3.1:8b", got.body["model"])
	assert.EqualValues(t, 8192, got.body["max_completion_tokens"])
	assert.NotContains(t, got.body, "max_tokens")
	assert.NotContains(t, got.body, "temperature")
	assert.NotContains(t, got.body, "response_format")
}

func TestToolCalls(t *testing.T) {
	s := newServer(t, reply{200, nil, toolCalls})
	resp, err := client(t, s.URL).Complete(context.Background(), request())
	require.NoError(t, err)
	assert.Equal(t, "", resp.Text)
	assert.Equal(t, "tool_calls", resp.StopReason)
	require.Len(t, resp.ToolCalls, 1)
	assert.Equal(t, "call_abc123", resp.ToolCalls[0].ID)
	assert.Equal(t, "isolate_host", resp.ToolCalls[0].Name)
	assert.JSONEq(t, `{"host":"HOST_001"}`, string(resp.ToolCalls[0].Input))
	assert.Equal(t, gateway.Usage{InputTokens: 82, OutputTokens: 17}, resp.Usage)
}

func TestErrors(t *testing.T) {
	cases := []struct {
		name      string
		rep       reply
		status    int
		typ       string
		retry     time.Duration
		transient bool
	}{
		{"429 retry-after-ms", reply{429, map[string]string{"retry-after-ms": "2500", "retry-after": "3", "x-request-id": "req_rl"}, rateLimit}, 429, "tokens", 2500 * time.Millisecond, true},
		{"429 retry-after", reply{429, map[string]string{"retry-after": "3"}, rateLimit}, 429, "tokens", 3 * time.Second, true},
		{"503 overloaded", reply{503, nil, overloaded}, 503, "server_error", 0, true},
		{"500", reply{500, nil, serverError}, 500, "server_error", 0, true},
		{"400", reply{400, nil, badRequest}, 400, "invalid_request_error", 0, false},
		{"vllm 400", reply{400, nil, vllmError}, 400, "BadRequestError", 0, false},
		{"ollama 404", reply{404, nil, ollamaError}, 404, "", 0, false},
		{"proxy 502 text", reply{502, nil, "upstream connect error"}, 502, "", 0, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := newServer(t, tc.rep)
			_, err := client(t, s.URL).Complete(context.Background(), request())
			var pe *gateway.ProviderError
			require.ErrorAs(t, err, &pe)
			assert.Equal(t, tc.status, pe.StatusCode)
			assert.Equal(t, tc.typ, pe.Type)
			assert.Equal(t, tc.retry, pe.RetryAfter)
			assert.Equal(t, tc.transient, pe.Transient())
			assert.Equal(t, tc.rep.header["x-request-id"], pe.RequestID)
			assert.NotEmpty(t, pe.Err.Error())
		})
	}
}

func TestMalformedTruncatedAndErrorIn200(t *testing.T) {
	for _, body := range []string{`{"choices":[{"message":`, "<html>", `{"id":"x","choices":[]}`} {
		s := newServer(t, reply{200, nil, body})
		_, err := client(t, s.URL).Complete(context.Background(), request())
		require.ErrorIs(t, err, gateway.ErrMalformedResponse, body)
	}
	s := newServer(t, reply{200, nil, `{"error":{"message":"upstream timed out","type":"server_error","code":504}}`})
	_, err := client(t, s.URL).Complete(context.Background(), request())
	var pe *gateway.ProviderError
	require.ErrorAs(t, err, &pe)
	assert.Equal(t, 504, pe.StatusCode)
	assert.True(t, pe.Transient())

	trunc := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		conn, buf, err := w.(http.Hijacker).Hijack()
		require.NoError(t, err)
		defer conn.Close()
		_, _ = buf.WriteString("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2048\r\n\r\n" + completion[:100])
		_ = buf.Flush()
	}))
	t.Cleanup(trunc.Close)
	_, err = client(t, trunc.URL).Complete(context.Background(), request())
	require.ErrorIs(t, err, gateway.ErrTransport)
}

func TestNewValidates(t *testing.T) {
	for _, o := range []openai.Option{openai.WithBaseURL("localhost:8000"), openai.WithMaxTokensField("n"), openai.WithProvider(""),
		openai.WithTimeout(-1), openai.WithHTTPClient(nil), openai.WithMaxResponseBytes(0), openai.WithDefaultModel(""),
		openai.WithClock(nil), openai.WithLogger(nil)} {
		_, err := openai.New(o)
		require.Error(t, err)
	}
	c, err := openai.New()
	require.NoError(t, err)
	assert.Equal(t, openai.DefaultModel, c.DefaultModel())
	assert.Equal(t, gateway.ProviderOpenAI, c.Provider())
}

// Through the gateway as the routed fallback: 429 with retry-after-ms, then
// success; the health reporter hears one failure and one success.
func TestThroughGateway(t *testing.T) {
	s := newServer(t, reply{429, map[string]string{"retry-after-ms": "1500"}, rateLimit}, reply{200, nil, completion})
	clock := gatewaytest.NewFakeClock(time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC))
	c := client(t, s.URL, openai.WithAPIKey("k"))
	gw, err := gateway.New(c, gateway.WithClock(clock.Now), gateway.WithSleeper(clock.Sleep))
	require.NoError(t, err)
	resp, err := gw.Complete(context.Background(), gateway.Request{AgentID: "a", Model: "gpt-4o", UserContent: "from 10.9.8.7"})
	require.NoError(t, err)
	assert.Equal(t, "Host 10.9.8.7 ran T1059.001.", resp.Content)
	assert.Equal(t, []time.Duration{1500 * time.Millisecond}, clock.Slept())
	assert.Equal(t, 0.0, resp.Metrics.CostUSD, "gpt-4o is not in the unrouted price table")
}
