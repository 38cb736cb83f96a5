// Package anthropic is a gateway.LLMClient for the Anthropic Messages API
// (POST /v1/messages) over net/http, with no SDK dependency.
//
// It renders the gateway's provider-neutral request: the system text as a
// text block (with an ephemeral cache_control block when CacheSystem is
// set), the messages, temperature, and extended thinking (a thinking budget
// of half the output budget, at least 1,024 tokens; dropped when the output
// budget is too small for one). An object output schema is enforced with a
// forced tool call whose input is returned as the answer text (without
// extended thinking, which forbids forced tools; with it the schema is only
// checked by the gateway). Usage maps to input, output, cache-read and
// cache-write tokens; the request id is the request-id header (else the
// message id).
//
// One Complete is one attempt: the gateway retries. Failures are
// *gateway.ProviderError (HTTP status, Anthropic error type such as
// rate_limit_error or overloaded_error, retry-after, request id),
// gateway.ErrTransport (connection failures, timeouts, truncated bodies) or
// gateway.ErrMalformedResponse (a complete body that is not a message).
package anthropic

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
	DefaultBaseURL = "https://api.anthropic.com"
	// APIVersion is the anthropic-version header sent with every request.
	APIVersion = "2023-06-01"
	// DefaultModel is used when a request names no model.
	DefaultModel = "claude-sonnet-4-5-20250929"
	// DefaultTimeout bounds one HTTP exchange (connection, headers, body).
	DefaultTimeout = 5 * time.Minute
	// DefaultMaxResponseBytes bounds a response body.
	DefaultMaxResponseBytes = 8 << 20
	// DefaultMaxTokens is sent when a request has no output budget (the API
	// requires one).
	DefaultMaxTokens = 4096
	// StructuredOutputTool is the name of the forced tool that carries an
	// output schema.
	StructuredOutputTool = "emit_structured_output"
	// MinThinkingBudget is the API's smallest extended-thinking budget.
	MinThinkingBudget = 1024
	// SpendLimitErrorCode marks a 429 that no retry can fix.
	SpendLimitErrorCode = "enforced_spend_limit_reached"
	messagesPath        = "/v1/messages"
)

// ErrEmptyAPIKey is returned by New without an API key.
var ErrEmptyAPIKey = httpcall.ErrEmptyAPIKey

// Client calls the Messages API. It is immutable after New and safe for
// concurrent use.
type Client struct {
	key     string
	url     string
	model   string
	http    *http.Client
	maxBody int64
	header  http.Header
	now     func() time.Time
	logger  *slog.Logger
}

var (
	_ gateway.LLMClient      = (*Client)(nil)
	_ gateway.DefaultModeler = (*Client)(nil)
)

// Option configures a Client.
type Option func(*config)

type config struct {
	baseURL string
	model   string
	http    *http.Client
	timeout time.Duration
	maxBody int64
	header  http.Header
	now     func() time.Time
	logger  *slog.Logger
	errs    []error
}

// WithBaseURL sets the API root (a proxy, a regional endpoint, a test
// server). This overrides the default of https://api.anthropic.com.
func WithBaseURL(u string) Option { return func(c *config) { c.baseURL = u } }

// WithDefaultModel sets the model of requests that name none. This
// overrides the default of claude-sonnet-4-5-20250929.
func WithDefaultModel(m string) Option {
	return func(c *config) {
		if strings.TrimSpace(m) == "" {
			c.errs = append(c.errs, errors.New("anthropic: empty default model"))
			return
		}
		c.model = m
	}
}

// WithHTTPClient sets the HTTP client (transport, proxy, TLS). Its Timeout,
// when zero, is set from WithTimeout. This overrides a new http.Client.
func WithHTTPClient(h *http.Client) Option {
	return func(c *config) {
		if h == nil {
			c.errs = append(c.errs, errors.New("anthropic: nil HTTP client"))
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
			c.errs = append(c.errs, errors.New("anthropic: timeout must be > 0"))
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
			c.errs = append(c.errs, errors.New("anthropic: max response bytes must be > 0"))
			return
		}
		c.maxBody = n
	}
}

// WithHeader adds a header to every request (for example anthropic-beta).
func WithHeader(name, value string) Option { return func(c *config) { c.header.Add(name, value) } }

// WithClock sets the clock used to read HTTP-date retry-after values. This
// overrides the default of time.Now.
func WithClock(now func() time.Time) Option {
	return func(c *config) {
		if now == nil {
			c.errs = append(c.errs, errors.New("anthropic: nil clock"))
			return
		}
		c.now = now
	}
}

// WithLogger sets the logger. This overrides the default, which discards.
func WithLogger(l *slog.Logger) Option {
	return func(c *config) {
		if l == nil {
			c.errs = append(c.errs, errors.New("anthropic: nil logger"))
			return
		}
		c.logger = l
	}
}

// New returns a client authenticating with apiKey.
func New(apiKey string, opts ...Option) (*Client, error) {
	c := config{baseURL: DefaultBaseURL, model: DefaultModel, timeout: DefaultTimeout, maxBody: DefaultMaxResponseBytes,
		header: http.Header{}, now: time.Now, logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	for _, o := range opts {
		if o != nil {
			o(&c)
		}
	}
	if strings.TrimSpace(apiKey) == "" {
		c.errs = append(c.errs, ErrEmptyAPIKey)
	}
	if !strings.HasPrefix(c.baseURL, "http://") && !strings.HasPrefix(c.baseURL, "https://") {
		c.errs = append(c.errs, fmt.Errorf("anthropic: base URL %q is not http(s)", c.baseURL))
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
	return &Client{key: apiKey, url: strings.TrimRight(c.baseURL, "/") + messagesPath, model: c.model, http: hc,
		maxBody: c.maxBody, header: c.header, now: c.now, logger: c.logger}, nil
}

// Provider is anthropic.
func (c *Client) Provider() gateway.Provider { return gateway.ProviderAnthropic }

// DefaultModel is the model of requests that name none.
func (c *Client) DefaultModel() string { return c.model }

// Wire types of the Messages API.
type (
	cacheControl struct {
		Type string `json:"type"`
	}
	textBlock struct {
		Type         string        `json:"type"`
		Text         string        `json:"text"`
		CacheControl *cacheControl `json:"cache_control,omitempty"`
	}
	thinking struct {
		Type         string `json:"type"`
		BudgetTokens int    `json:"budget_tokens"`
	}
	tool struct {
		Name        string          `json:"name"`
		Description string          `json:"description"`
		InputSchema json.RawMessage `json:"input_schema"`
	}
	toolChoice struct {
		Type string `json:"type"`
		Name string `json:"name,omitempty"`
	}
	request struct {
		Model       string            `json:"model"`
		MaxTokens   int               `json:"max_tokens"`
		System      []textBlock       `json:"system,omitempty"`
		Messages    []gateway.Message `json:"messages"`
		Temperature *float64          `json:"temperature,omitempty"`
		Thinking    *thinking         `json:"thinking,omitempty"`
		Tools       []tool            `json:"tools,omitempty"`
		ToolChoice  *toolChoice       `json:"tool_choice,omitempty"`
	}
	contentBlock struct {
		Type  string          `json:"type"`
		Text  string          `json:"text"`
		ID    string          `json:"id"`
		Name  string          `json:"name"`
		Input json.RawMessage `json:"input"`
	}
	response struct {
		ID         string         `json:"id"`
		Type       string         `json:"type"`
		Model      string         `json:"model"`
		Content    []contentBlock `json:"content"`
		StopReason string         `json:"stop_reason"`
		Usage      struct {
			InputTokens              int `json:"input_tokens"`
			OutputTokens             int `json:"output_tokens"`
			CacheCreationInputTokens int `json:"cache_creation_input_tokens"`
			CacheReadInputTokens     int `json:"cache_read_input_tokens"`
		} `json:"usage"`
	}
	errorBody struct {
		Type  string `json:"type"`
		Error struct {
			Type    string `json:"type"`
			Message string `json:"message"`
			Details struct {
				ErrorCode string `json:"error_code"`
			} `json:"details"`
		} `json:"error"`
		RequestID string `json:"request_id"`
	}
)

// isObjectSchema reports whether s is a JSON object whose type is object
// (what input_schema accepts).
func isObjectSchema(s json.RawMessage) bool {
	var v struct {
		Type string `json:"type"`
	}
	return len(s) > 0 && json.Unmarshal(s, &v) == nil && v.Type == "object"
}

func (c *Client) body(req gateway.LLMRequest) ([]byte, bool, error) {
	r := request{Model: req.Model, MaxTokens: req.MaxTokens, Messages: req.Messages, Temperature: req.Temperature}
	if r.Model == "" {
		r.Model = c.model
	}
	if r.MaxTokens <= 0 {
		r.MaxTokens = DefaultMaxTokens
	}
	if r.Messages == nil {
		r.Messages = []gateway.Message{}
	}
	if req.System != "" {
		b := textBlock{Type: "text", Text: req.System}
		if req.CacheSystem {
			b.CacheControl = &cacheControl{Type: "ephemeral"}
		}
		r.System = []textBlock{b}
	}
	// Thinking needs budget_tokens >= 1024 and < max_tokens, and only the
	// default temperature.
	if req.ExtendedThinking && r.MaxTokens > MinThinkingBudget {
		r.Thinking = &thinking{Type: "enabled", BudgetTokens: max(MinThinkingBudget, r.MaxTokens/2)}
		r.Temperature = nil
	}
	if isObjectSchema(req.OutputSchema) {
		r.Tools = []tool{{Name: StructuredOutputTool, Description: "Return the answer as the tool input, matching the schema.",
			InputSchema: req.OutputSchema}}
		if r.Thinking == nil {
			r.ToolChoice = &toolChoice{Type: "tool", Name: StructuredOutputTool}
		}
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(r); err != nil {
		return nil, false, fmt.Errorf("anthropic: encoding request: %w", err)
	}
	return buf.Bytes(), r.Tools != nil, nil
}

// Complete sends one Messages request.
func (c *Client) Complete(ctx context.Context, req gateway.LLMRequest) (gateway.LLMResponse, error) {
	body, withTool, err := c.body(req)
	if err != nil {
		return gateway.LLMResponse{}, err
	}
	h := c.header.Clone()
	h.Set("x-api-key", c.key)
	h.Set("anthropic-version", APIVersion)
	resp, err := httpcall.Post(ctx, c.http, c.url, h, body, c.maxBody)
	if err != nil {
		return gateway.LLMResponse{}, err
	}
	reqID := httpcall.RequestID(resp.Header, "request-id", "x-request-id")
	if resp.Status != http.StatusOK {
		return gateway.LLMResponse{}, c.providerError(resp, reqID)
	}
	var m response
	if err := json.Unmarshal(resp.Body, &m); err != nil {
		return gateway.LLMResponse{}, fmt.Errorf("%w: anthropic: %v (body %q)", gateway.ErrMalformedResponse, err, httpcall.Snippet(resp.Body))
	}
	if m.Type != "message" {
		return gateway.LLMResponse{}, fmt.Errorf("%w: anthropic: response type %q is not a message", gateway.ErrMalformedResponse, m.Type)
	}
	out := gateway.LLMResponse{ModelID: m.Model, StopReason: m.StopReason, RequestID: reqID,
		Usage: gateway.Usage{InputTokens: m.Usage.InputTokens, OutputTokens: m.Usage.OutputTokens,
			CacheReadTokens: m.Usage.CacheReadInputTokens, CacheWriteTokens: m.Usage.CacheCreationInputTokens}}
	if out.RequestID == "" {
		out.RequestID = m.ID
	}
	var text strings.Builder
	structured := ""
	for _, b := range m.Content {
		switch b.Type {
		case "text":
			text.WriteString(b.Text)
		case "tool_use":
			out.ToolCalls = append(out.ToolCalls, gateway.ToolCall{ID: b.ID, Name: b.Name, Input: b.Input})
			if withTool && b.Name == StructuredOutputTool && structured == "" {
				structured = string(b.Input)
			}
		}
	}
	out.Text = text.String()
	if structured != "" {
		out.Text = structured
	}
	return out, nil
}

func (c *Client) providerError(resp httpcall.Response, reqID string) error {
	pe := &gateway.ProviderError{StatusCode: resp.Status, RequestID: reqID, RetryAfter: httpcall.RetryAfter(resp.Header, c.now())}
	var eb errorBody
	if err := json.Unmarshal(resp.Body, &eb); err == nil && eb.Error.Type != "" {
		pe.Type = eb.Error.Type
		pe.Err = errors.New(eb.Error.Message)
		// An exhausted monthly spend limit comes as a 429 rate_limit_error
		// but lasts until the month ends: retrying only burns attempts.
		pe.NoRetry = eb.Error.Details.ErrorCode == SpendLimitErrorCode
		if pe.RequestID == "" {
			pe.RequestID = eb.RequestID
		}
	} else {
		pe.Err = fmt.Errorf("%s: %s", http.StatusText(resp.Status), httpcall.Snippet(resp.Body))
	}
	return pe
}
