package anthropic_test

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
	"github.com/socwarden/warden/gateway/provider/anthropic"
)

// Response bodies in the shapes the Messages API documents.
const (
	textMessage = `{"id":"msg_01XFDUDYJgAACzvnptvVoYEL","type":"message","role":"assistant",
"model":"claude-sonnet-4-5-20250929","content":[{"type":"text","text":"Host IP_SRC_001 ran T1059.001."}],
"stop_reason":"end_turn","stop_sequence":null,
"usage":{"input_tokens":2095,"cache_creation_input_tokens":1024,"cache_read_input_tokens":512,"output_tokens":503}}`
	toolUseMessage = `{"id":"msg_01Aq9w938a90dw8q","type":"message","role":"assistant","model":"claude-sonnet-4-5-20250929",
"content":[{"type":"text","text":"Recording the verdict."},
{"type":"tool_use","id":"toolu_01A09q90qw90lq917835lq9","name":"emit_structured_output","input":{"verdict":"malicious","confidence":0.91}}],
"stop_reason":"tool_use","stop_sequence":null,"usage":{"input_tokens":472,"output_tokens":89}}`
	thinkingMessage = `{"id":"msg_t","type":"message","role":"assistant","model":"claude-opus-4-6",
"content":[{"type":"thinking","thinking":"Let me consider the evidence...","signature":"EqQBCgIYAhIM1gbcDa9GJwZA2b3hGgxBdjrkzLoky3dl1pkiMOYds"},
{"type":"text","text":"Verdict: benign."}],"stop_reason":"end_turn","usage":{"input_tokens":10,"output_tokens":300}}`
	rateLimitError  = `{"type":"error","error":{"type":"rate_limit_error","message":"Number of request tokens has exceeded your per-minute rate limit"},"request_id":"req_011CSHoEeqs5C35K2UUqR7Fy"}`
	overloadedError = `{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"},"request_id":"req_overloaded"}`
	apiError        = `{"type":"error","error":{"type":"api_error","message":"Internal server error"},"request_id":"req_api"}`
	invalidRequest  = `{"type":"error","error":{"type":"invalid_request_error","message":"max_tokens: Field required"},"request_id":"req_bad"}`
	spendLimitError = `{"type":"error","error":{"type":"rate_limit_error","message":"You have reached your specified API usage limits.","details":{"error_code":"enforced_spend_limit_reached"}},"request_id":"req_spend"}`
)

type captured struct {
	header http.Header
	body   map[string]any
}

// server answers each request with the next (status, headers, body) and
// records what it received.
type server struct {
	*httptest.Server
	mu       sync.Mutex
	replies  []reply
	requests []captured
}

type reply struct {
	status int
	header map[string]string
	body   string
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
		assert.Equal(t, "/v1/messages", r.URL.Path)
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

func client(t *testing.T, url string, opts ...anthropic.Option) *anthropic.Client {
	c, err := anthropic.New("sk-ant-test", append([]anthropic.Option{anthropic.WithBaseURL(url)}, opts...)...)
	require.NoError(t, err)
	return c
}

func request() gateway.LLMRequest {
	temp := 0.2
	return gateway.LLMRequest{Model: "claude-sonnet-4-5-20250929", MaxTokens: 8192, Temperature: &temp,
		System: gateway.BuildSystemPrompt("Classify <the> alert & say why."), CacheSystem: true,
		Messages: []gateway.Message{{Role: "user", Content: "<evidence>\nx\n</evidence>"}}}
}

func TestSuccess(t *testing.T) {
	s := newServer(t, reply{200, map[string]string{"request-id": "req_abc"}, textMessage})
	c := client(t, s.URL)
	resp, err := c.Complete(context.Background(), request())
	require.NoError(t, err)
	assert.Equal(t, "Host IP_SRC_001 ran T1059.001.", resp.Text)
	assert.Equal(t, "claude-sonnet-4-5-20250929", resp.ModelID)
	assert.Equal(t, gateway.Usage{InputTokens: 2095, OutputTokens: 503, CacheReadTokens: 512, CacheWriteTokens: 1024}, resp.Usage)
	assert.Equal(t, "req_abc", resp.RequestID)
	assert.Equal(t, "end_turn", resp.StopReason)

	got := s.last()
	assert.Equal(t, "sk-ant-test", got.header.Get("x-api-key"))
	assert.Equal(t, anthropic.APIVersion, got.header.Get("anthropic-version"))
	assert.Equal(t, "application/json", got.header.Get("Content-Type"))
	assert.Equal(t, "claude-sonnet-4-5-20250929", got.body["model"])
	assert.EqualValues(t, 8192, got.body["max_tokens"])
	assert.EqualValues(t, 0.2, got.body["temperature"])
	assert.Equal(t, []any{map[string]any{"type": "text", "text": request().System, "cache_control": map[string]any{"type": "ephemeral"}}}, got.body["system"])
	assert.Equal(t, []any{map[string]any{"role": "user", "content": "<evidence>\nx\n</evidence>"}}, got.body["messages"])
	assert.NotContains(t, got.body, "thinking")
	assert.NotContains(t, got.body, "tools")

	// Without a request id header, the message id; without caching, no
	// cache_control; without a model, the default.
	s = newServer(t, reply{200, nil, textMessage})
	c = client(t, s.URL, anthropic.WithDefaultModel("claude-haiku-4-5-20251001"))
	r := request()
	r.CacheSystem, r.Model, r.MaxTokens, r.Temperature = false, "", 0, nil
	resp, err = c.Complete(context.Background(), r)
	require.NoError(t, err)
	assert.Equal(t, "msg_01XFDUDYJgAACzvnptvVoYEL", resp.RequestID)
	got = s.last()
	assert.Equal(t, "claude-haiku-4-5-20251001", got.body["model"])
	assert.EqualValues(t, anthropic.DefaultMaxTokens, got.body["max_tokens"])
	assert.NotContains(t, got.body, "temperature")
	assert.NotContains(t, got.body["system"].([]any)[0], "cache_control")
	assert.Equal(t, "claude-haiku-4-5-20251001", c.DefaultModel())
	assert.Equal(t, gateway.ProviderAnthropic, c.Provider())
}

func TestToolUseCarriesStructuredOutput(t *testing.T) {
	s := newServer(t, reply{200, nil, toolUseMessage})
	c := client(t, s.URL)
	r := request()
	r.OutputSchema = json.RawMessage(`{"type":"object","required":["verdict"],"properties":{"verdict":{"type":"string"}}}`)
	resp, err := c.Complete(context.Background(), r)
	require.NoError(t, err)
	assert.JSONEq(t, `{"verdict":"malicious","confidence":0.91}`, resp.Text)
	require.Len(t, resp.ToolCalls, 1)
	assert.Equal(t, "toolu_01A09q90qw90lq917835lq9", resp.ToolCalls[0].ID)
	assert.Equal(t, anthropic.StructuredOutputTool, resp.ToolCalls[0].Name)
	assert.Equal(t, "tool_use", resp.StopReason)
	got := s.last()
	tools := got.body["tools"].([]any)
	require.Len(t, tools, 1)
	assert.Equal(t, anthropic.StructuredOutputTool, tools[0].(map[string]any)["name"])
	assert.Equal(t, "object", tools[0].(map[string]any)["input_schema"].(map[string]any)["type"])
	assert.Equal(t, map[string]any{"type": "tool", "name": anthropic.StructuredOutputTool}, got.body["tool_choice"])

	// A tool call the client did not offer is reported, not used as text.
	s = newServer(t, reply{200, nil, toolUseMessage})
	resp, err = client(t, s.URL).Complete(context.Background(), request())
	require.NoError(t, err)
	assert.Equal(t, "Recording the verdict.", resp.Text)
	assert.Len(t, resp.ToolCalls, 1)
}

func TestExtendedThinking(t *testing.T) {
	s := newServer(t, reply{200, nil, thinkingMessage})
	c := client(t, s.URL)
	r := request()
	r.ExtendedThinking, r.MaxTokens = true, 16384
	r.OutputSchema = json.RawMessage(`{"type":"object"}`)
	resp, err := c.Complete(context.Background(), r)
	require.NoError(t, err)
	assert.Equal(t, "Verdict: benign.", resp.Text, "thinking blocks are not answer text")
	got := s.last()
	assert.Equal(t, map[string]any{"type": "enabled", "budget_tokens": float64(8192)}, got.body["thinking"])
	assert.NotContains(t, got.body, "temperature", "thinking allows only the default temperature")
	assert.NotContains(t, got.body, "tool_choice", "thinking forbids forced tools")

	r.MaxTokens = 1024
	_, err = c.Complete(context.Background(), r)
	require.NoError(t, err)
	assert.NotContains(t, s.last().body, "thinking", "no room for the minimum budget")
}

func providerError(t *testing.T, err error) *gateway.ProviderError {
	t.Helper()
	var pe *gateway.ProviderError
	require.ErrorAs(t, err, &pe)
	return pe
}

func TestErrors(t *testing.T) {
	clock := gatewaytest.NewFakeClock(time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC))
	cases := []struct {
		name      string
		rep       reply
		status    int
		typ       string
		reqID     string
		retry     time.Duration
		transient bool
	}{
		{"429 retry-after", reply{429, map[string]string{"retry-after": "2", "request-id": "req_hdr"}, rateLimitError}, 429, "rate_limit_error", "req_hdr", 2 * time.Second, true},
		{"429 http-date", reply{429, map[string]string{"retry-after": "Sun, 01 Mar 2026 00:00:30 GMT"}, rateLimitError}, 429, "rate_limit_error", "req_011CSHoEeqs5C35K2UUqR7Fy", 30 * time.Second, true},
		{"529 overloaded", reply{529, nil, overloadedError}, 529, "overloaded_error", "req_overloaded", 0, true},
		{"500", reply{500, nil, apiError}, 500, "api_error", "req_api", 0, true},
		{"400", reply{400, nil, invalidRequest}, 400, "invalid_request_error", "req_bad", 0, false},
		{"spend limit", reply{429, nil, spendLimitError}, 429, "rate_limit_error", "req_spend", 0, false},
		{"html 502", reply{502, nil, "<html><body>Bad Gateway</body></html>"}, 502, "", "", 0, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := newServer(t, tc.rep)
			_, err := client(t, s.URL, anthropic.WithClock(clock.Now)).Complete(context.Background(), request())
			pe := providerError(t, err)
			assert.Equal(t, tc.status, pe.StatusCode)
			assert.Equal(t, tc.typ, pe.Type)
			assert.Equal(t, tc.reqID, pe.RequestID)
			assert.Equal(t, tc.retry, pe.RetryAfter)
			assert.Equal(t, tc.transient, pe.Transient())
			assert.NotEmpty(t, pe.Error())
		})
	}
}

func TestMalformedAndTruncated(t *testing.T) {
	for _, body := range []string{`{"type":"message","content":[`, `not json`, `{"type":"error","error":{"type":"x"}}`} {
		s := newServer(t, reply{200, nil, body})
		_, err := client(t, s.URL).Complete(context.Background(), request())
		require.ErrorIs(t, err, gateway.ErrMalformedResponse, body)
		require.NotErrorIs(t, err, gateway.ErrTransport)
	}

	// The connection dies after half of the promised body.
	trunc := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		hj, ok := w.(http.Hijacker)
		require.True(t, ok)
		conn, buf, err := hj.Hijack()
		require.NoError(t, err)
		defer conn.Close()
		_, _ = buf.WriteString("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n" + textMessage[:40])
		_ = buf.Flush()
	}))
	t.Cleanup(trunc.Close)
	_, err := client(t, trunc.URL).Complete(context.Background(), request())
	require.ErrorIs(t, err, gateway.ErrTransport)

	big := newServer(t, reply{200, nil, textMessage})
	_, err = client(t, big.URL, anthropic.WithMaxResponseBytes(64)).Complete(context.Background(), request())
	require.ErrorIs(t, err, gateway.ErrMalformedResponse)
}

func TestTimeoutAndConnectionFailure(t *testing.T) {
	release := make(chan struct{})
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(func() { close(release); slow.Close() })
	_, err := client(t, slow.URL, anthropic.WithTimeout(20*time.Millisecond)).Complete(context.Background(), request())
	require.ErrorIs(t, err, gateway.ErrTransport)

	dead := httptest.NewServer(http.NotFoundHandler())
	dead.Close()
	_, err = client(t, dead.URL).Complete(context.Background(), request())
	require.ErrorIs(t, err, gateway.ErrTransport)

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err = client(t, slow.URL).Complete(ctx, request())
	require.ErrorIs(t, err, context.Canceled)
}

func TestNewValidates(t *testing.T) {
	_, err := anthropic.New("")
	require.ErrorIs(t, err, anthropic.ErrEmptyAPIKey)
	for _, o := range []anthropic.Option{anthropic.WithBaseURL("ftp://x"), anthropic.WithTimeout(0), anthropic.WithHTTPClient(nil),
		anthropic.WithMaxResponseBytes(0), anthropic.WithDefaultModel(" "), anthropic.WithClock(nil), anthropic.WithLogger(nil)} {
		_, err := anthropic.New("k", o)
		require.Error(t, err)
	}
	s := newServer(t, reply{200, nil, textMessage})
	c := client(t, s.URL, anthropic.WithHeader("anthropic-beta", "prompt-caching-2024-07-31"), anthropic.WithHTTPClient(&http.Client{}))
	_, err = c.Complete(context.Background(), request())
	require.NoError(t, err)
	assert.Equal(t, "prompt-caching-2024-07-31", s.last().header.Get("anthropic-beta"))
}

// Through the gateway: the one retry layer backs off for retry-after on a
// 429 and retries a 529, then succeeds; PII is restored.
func TestThroughGateway(t *testing.T) {
	s := newServer(t,
		reply{429, map[string]string{"retry-after": "3"}, rateLimitError},
		reply{529, nil, overloadedError},
		reply{200, map[string]string{"request-id": "req_ok"}, textMessage})
	clock := gatewaytest.NewFakeClock(time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC))
	gw, err := gateway.New(client(t, s.URL), gateway.WithClock(clock.Now), gateway.WithSleeper(clock.Sleep))
	require.NoError(t, err)
	resp, err := gw.Complete(context.Background(), gateway.Request{AgentID: "a", TaskType: "triage",
		UserContent: "powershell on 10.1.2.3"})
	require.NoError(t, err)
	assert.Equal(t, "Host 10.1.2.3 ran T1059.001.", resp.Content)
	assert.Equal(t, "req_ok", resp.RequestID)
	assert.Equal(t, []time.Duration{3 * time.Second, 2 * time.Second}, clock.Slept(), "retry-after 3 s, then 1 s·2")
	assert.Equal(t, 2095+503, resp.TokensUsed)
	assert.InDelta(t, gateway.ComputeCost(gateway.Usage{InputTokens: 2095, OutputTokens: 503, CacheReadTokens: 512, CacheWriteTokens: 1024},
		gateway.DefaultPricing()["claude-sonnet-4-5-20250929"]), resp.Metrics.CostUSD, 1e-12)

	s = newServer(t, reply{400, nil, invalidRequest})
	gw, err = gateway.New(client(t, s.URL), gateway.WithClock(clock.Now), gateway.WithSleeper(clock.Sleep))
	require.NoError(t, err)
	_, err = gw.Complete(context.Background(), gateway.Request{AgentID: "a", UserContent: "x"})
	var le *gateway.LLMError
	require.ErrorAs(t, err, &le)
	assert.Equal(t, 1, le.Attempts)
	assert.Equal(t, 400, providerError(t, err).StatusCode)
}
