// Package openai is a gateway.LLMClient for OpenAI-compatible Chat
// Completions (POST <base>/chat/completions) over net/http, with no SDK
// dependency. It works with OpenAI and with compatible servers: vLLM,
// Ollama (/v1), LiteLLM proxy and others.
//
// The system text becomes a system message; an output schema switches on
// JSON mode (response_format json_object; OpenAI requires the word "JSON"
// somewhere in the prompt for it). Extended thinking and prompt caching are
// not requested (OpenAI caches long prompts by itself and reports the cached
// tokens). Usage maps prompt tokens minus cached tokens to input tokens,
// cached tokens to cache-read tokens and completion tokens to output
// tokens; the request id is the x-request-id header (else the completion
// id). Tool calls in an answer are returned as gateway.ToolCall values.
//
// One Complete is one attempt: the gateway retries. Failures are
// *gateway.ProviderError (status, error type or code, retry-after /
// retry-after-ms, request id), gateway.ErrTransport or
// gateway.ErrMalformedResponse. Both error shapes in use are understood:
// {"error":{"message","type","code"}} (OpenAI, LiteLLM, Ollama) and
// {"object":"error","message","type","code"} (vLLM).
package openai

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/socwarden/warden/gateway"
	"github.com/socwarden/warden/gateway/provider/internal/httpcall"
)

// Defaults.
const (
	DefaultBaseURL          = "https://api.openai.com/v1"
	DefaultModel            = "gpt-4o"
	DefaultTimeout          = 5 * time.Minute
	DefaultMaxResponseBytes = 8 << 20
	// MaxTokensField is the default name of the output budget field;
	// OpenAI's reasoning models want "max_completion_tokens" instead
	// (WithMaxTokensField).
	MaxTokensField  = "max_tokens"
	completionsPath = "/chat/completions"
)

// Client calls a Chat Completions endpoint. It is immutable after New and
// safe for concurrent use.
type Client struct {
	key       string
	url       string
	model     string
	provider  gateway.Provider
	http      *http.Client
	maxBody   int64
	header    http.Header
	maxTokens string
	now       func() time.Time
	logger    *slog.Logger
}

var (
	_ gateway.LLMClient      = (*Client)(nil)
	_ gateway.DefaultModeler = (*Client)(nil)
)

// Option configures a Client.
type Option func(*config)

type config struct {
	key, baseURL, model, maxTokens string
	provider                       gateway.Provider
	http                           *http.Client
	timeout                        time.Duration
	maxBody                        int64
	header                         http.Header
	now                            func() time.Time
	logger                         *slog.Logger
	errs                           []error
}

func (c *config) fail(msg string) { c.errs = append(c.errs, errors.New("openai: "+msg)) }

// WithAPIKey sends "Authorization: Bearer <key>". The default is no key
// (local servers such as Ollama and vLLM often need none).
func WithAPIKey(key string) Option { return func(c *config) { c.key = key } }

// WithBaseURL sets the API root, ending before /chat/completions (for
// example http://localhost:11434/v1 for Ollama). This overrides the default
// of https://api.openai.com/v1.
func WithBaseURL(u string) Option { return func(c *config) { c.baseURL = u } }

// WithDefaultModel sets the model of requests that name none. This
// overrides the default of gpt-4o.
func WithDefaultModel(m string) Option {
	return func(c *config) {
		if strings.TrimSpace(m) == "" {
			c.fail("empty default model")
			return
		}
		c.model = m
	}
}

// WithProvider sets the provider the client reports (and the gateway routes
// to), for example gateway.ProviderLocal for a vLLM server or
// gateway.ProviderGroq. This overrides the default of openai.
func WithProvider(p gateway.Provider) Option {
	return func(c *config) {
		if strings.TrimSpace(string(p)) == "" {
			c.fail("empty provider")
			return
		}
		c.provider = p
	}
}

// WithMaxTokensField names the output budget field ("max_tokens" or
// "max_completion_tokens"). This overrides the default of max_tokens.
func WithMaxTokensField(name string) Option {
	return func(c *config) {
		if name != "max_tokens" && name != "max_completion_tokens" {
			c.fail("max tokens field must be max_tokens or max_completion_tokens")
			return
		}
		c.maxTokens = name
	}
}

// WithHTTPClient sets the HTTP client; its Timeout, when zero, is set from
// WithTimeout. This overrides a new http.Client.
func WithHTTPClient(h *http.Client) Option {
	return func(c *config) {
		if h == nil {
			c.fail("nil HTTP client")
			return
		}
		c.http = h
	}
}

// WithTimeout bounds one HTTP exchange. This overrides the default of 5
// minutes.
func WithTimeout(d time.Duration) Option {
	return func(c *config) {
		if d <= 0 {
			c.fail("timeout must be > 0")
			return
		}
		c.timeout = d
	}
}

// WithMaxResponseBytes bounds a response body. This overrides the default of
// 8 MiB.
func WithMaxResponseBytes(n int64) Option {
	return func(c *config) {
		if n <= 0 {
			c.fail("max response bytes must be > 0")
			return
		}
		c.maxBody = n
	}
}

// WithHeader adds a header to every request (OpenAI-Organization,
// OpenAI-Project, a proxy's own header).
func WithHeader(name, value string) Option { return func(c *config) { c.header.Add(name, value) } }

// WithClock sets the clock used to read HTTP-date retry-after values. This
// overrides the default of time.Now.
func WithClock(now func() time.Time) Option {
	return func(c *config) {
		if now == nil {
			c.fail("nil clock")
			return
		}
		c.now = now
	}
}

// WithLogger sets the logger. This overrides the default, which discards.
func WithLogger(l *slog.Logger) Option {
	return func(c *config) {
		if l == nil {
			c.fail("nil logger")
			return
		}
		c.logger = l
	}
}

// New returns a client.
func New(opts ...Option) (*Client, error) {
	c := config{baseURL: DefaultBaseURL, model: DefaultModel, maxTokens: MaxTokensField, provider: gateway.ProviderOpenAI,
		timeout: DefaultTimeout, maxBody: DefaultMaxResponseBytes, header: http.Header{}, now: time.Now,
		logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	for _, o := range opts {
		if o != nil {
			o(&c)
		}
	}
	if !strings.HasPrefix(c.baseURL, "http://") && !strings.HasPrefix(c.baseURL, "https://") {
		c.fail(fmt.Sprintf("base URL %q is not http(s)", c.baseURL))
	}
	if len(c.errs) > 0 {
		return nil, errors.Join(c.errs...)
	}
	hc := c.http
	if hc == nil {
		hc = &http.Client{}
	}
	if hc.Timeout == 0 {
		clone := *hc
		clone.Timeout = c.timeout
		hc = &clone
	}
	return &Client{key: c.key, url: strings.TrimRight(c.baseURL, "/") + completionsPath, model: c.model,
		provider: c.provider, http: hc, maxBody: c.maxBody, header: c.header, maxTokens: c.maxTokens,
		now: c.now, logger: c.logger}, nil
}

// Provider is openai unless WithProvider says otherwise.
func (c *Client) Provider() gateway.Provider { return c.provider }

// DefaultModel is the model of requests that name none.
func (c *Client) DefaultModel() string { return c.model }

// Wire types of Chat Completions.
type (
	toolCall struct {
		ID       string `json:"id"`
		Type     string `json:"type"`
		Function struct {
			Name      string `json:"name"`
			Arguments string `json:"arguments"`
		} `json:"function"`
	}
	choice struct {
		Index   int `json:"index"`
		Message struct {
			Role      string     `json:"role"`
			Content   *string    `json:"content"`
			Refusal   *string    `json:"refusal"`
			ToolCalls []toolCall `json:"tool_calls"`
		} `json:"message"`
		FinishReason string `json:"finish_reason"`
	}
	response struct {
		ID      string   `json:"id"`
		Object  string   `json:"object"`
		Model   string   `json:"model"`
		Choices []choice `json:"choices"`
		Usage   *struct {
			PromptTokens        int `json:"prompt_tokens"`
			CompletionTokens    int `json:"completion_tokens"`
			PromptTokensDetails *struct {
				CachedTokens int `json:"cached_tokens"`
			} `json:"prompt_tokens_details"`
		} `json:"usage"`
	}
	errorFields struct {
		Message string          `json:"message"`
		Type    string          `json:"type"`
		Code    json.RawMessage `json:"code"`
	}
)

func (c *Client) body(req gateway.LLMRequest) ([]byte, error) {
	model := req.Model
	if model == "" {
		model = c.model
	}
	msgs := make([]gateway.Message, 0, len(req.Messages)+1)
	if req.System != "" {
		msgs = append(msgs, gateway.Message{Role: "system", Content: req.System})
	}
	msgs = append(msgs, req.Messages...)
	r := map[string]any{"model": model, "messages": msgs}
	if req.MaxTokens > 0 {
		r[c.maxTokens] = req.MaxTokens
	}
	if req.Temperature != nil {
		r["temperature"] = *req.Temperature
	}
	if len(req.OutputSchema) > 0 {
		r["response_format"] = map[string]string{"type": "json_object"}
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(r); err != nil {
		return nil, fmt.Errorf("openai: encoding request: %w", err)
	}
	return buf.Bytes(), nil
}

// Complete sends one Chat Completions request.
func (c *Client) Complete(ctx context.Context, req gateway.LLMRequest) (gateway.LLMResponse, error) {
	body, err := c.body(req)
	if err != nil {
		return gateway.LLMResponse{}, err
	}
	h := c.header.Clone()
	if c.key != "" {
		h.Set("Authorization", "Bearer "+c.key)
	}
	resp, err := httpcall.Post(ctx, c.http, c.url, h, body, c.maxBody)
	if err != nil {
		return gateway.LLMResponse{}, err
	}
	reqID := httpcall.RequestID(resp.Header, "x-request-id", "request-id")
	if resp.Status != http.StatusOK {
		return gateway.LLMResponse{}, c.providerError(resp, reqID)
	}
	var r response
	if err := json.Unmarshal(resp.Body, &r); err != nil {
		return gateway.LLMResponse{}, fmt.Errorf("%w: openai: %v (body %q)", gateway.ErrMalformedResponse, err, httpcall.Snippet(resp.Body))
	}
	if len(r.Choices) == 0 {
		if pe := c.errorIn(resp, reqID); pe != nil {
			return gateway.LLMResponse{}, pe
		}
		return gateway.LLMResponse{}, fmt.Errorf("%w: openai: no choices in response", gateway.ErrMalformedResponse)
	}
	ch := r.Choices[0]
	out := gateway.LLMResponse{ModelID: r.Model, StopReason: ch.FinishReason, RequestID: reqID}
	if out.RequestID == "" {
		out.RequestID = r.ID
	}
	if ch.Message.Content != nil {
		out.Text = *ch.Message.Content
	} else if ch.Message.Refusal != nil {
		out.Text = *ch.Message.Refusal
	}
	for _, tc := range ch.Message.ToolCalls {
		in := json.RawMessage(tc.Function.Arguments)
		if !json.Valid(in) {
			in, _ = json.Marshal(tc.Function.Arguments)
		}
		out.ToolCalls = append(out.ToolCalls, gateway.ToolCall{ID: tc.ID, Name: tc.Function.Name, Input: in})
	}
	if u := r.Usage; u != nil {
		cached := 0
		if u.PromptTokensDetails != nil {
			cached = min(max(u.PromptTokensDetails.CachedTokens, 0), max(u.PromptTokens, 0))
		}
		out.Usage = gateway.Usage{InputTokens: u.PromptTokens - cached, OutputTokens: u.CompletionTokens, CacheReadTokens: cached}
	}
	return out, nil
}

// parseError reads either error shape; ok is false when b is neither.
func parseError(b []byte) (errorFields, bool) {
	var wrapped struct {
		Error json.RawMessage `json:"error"`
	}
	if json.Unmarshal(b, &wrapped) == nil && len(wrapped.Error) > 0 && string(wrapped.Error) != "null" {
		var f errorFields
		if json.Unmarshal(wrapped.Error, &f) == nil {
			return f, true
		}
		var msg string
		if json.Unmarshal(wrapped.Error, &msg) == nil {
			return errorFields{Message: msg}, true
		}
	}
	var flat struct {
		Object string `json:"object"`
		errorFields
	}
	if json.Unmarshal(b, &flat) == nil && flat.Object == "error" {
		return flat.errorFields, true
	}
	return errorFields{}, false
}

// errType is the error's type, else its code when that is a string.
func errType(f errorFields) string {
	if f.Type != "" {
		return f.Type
	}
	var code string
	if json.Unmarshal(f.Code, &code) == nil {
		return code
	}
	return ""
}

func (c *Client) providerError(resp httpcall.Response, reqID string) error {
	pe := &gateway.ProviderError{StatusCode: resp.Status, RequestID: reqID, RetryAfter: httpcall.RetryAfter(resp.Header, c.now())}
	if f, ok := parseError(resp.Body); ok {
		pe.Type, pe.Err = errType(f), errors.New(f.Message)
	} else {
		pe.Err = fmt.Errorf("%s: %s", http.StatusText(resp.Status), httpcall.Snippet(resp.Body))
	}
	return pe
}

// errorIn reports an error object inside a 200 answer (some proxies send
// upstream failures that way).
func (c *Client) errorIn(resp httpcall.Response, reqID string) error {
	f, ok := parseError(resp.Body)
	if !ok {
		return nil
	}
	status := http.StatusBadGateway
	var code int
	if json.Unmarshal(f.Code, &code) == nil && code >= 400 && code <= 599 {
		status = code
	}
	return &gateway.ProviderError{StatusCode: status, Type: errType(f), Err: errors.New(f.Message), RequestID: reqID}
}
