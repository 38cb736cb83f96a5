// Package anthropicbatch implements batch.BatchAPI over the Anthropic
// Message Batches API with net/http: create a batch (POST
// /v1/messages/batches), poll it (GET /v1/messages/batches/{id}) and stream
// its results (the batch's results_url, JSON lines).
//
// Provider errors come back as *APIError with the HTTP status, the error
// type and message of the API's error body and the request id;
// APIError.Retryable tells the batch scheduler whether resubmitting can help
// (408, 409, 429, 5xx and 529 overloaded can; 400, 401, 403, 404 and 413
// cannot). A malformed or oversized result line becomes an errored result
// for its request instead of failing the whole retrieval.
package anthropicbatch

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/socwarden/warden/batch"
	"github.com/socwarden/warden/taxonomy"
)

// Defaults.
const (
	DefaultBaseURL = "https://api.anthropic.com"
	// APIVersion is sent as the anthropic-version header.
	APIVersion = "2023-06-01"
	// DefaultMaxResultLineBytes bounds one line of the results file; longer
	// lines become errored results.
	DefaultMaxResultLineBytes = 8 << 20
	// DefaultTimeout bounds each HTTP exchange of the default client (a
	// creation body may be 256 MB).
	DefaultTimeout = 5 * time.Minute
	// maxErrorBodyBytes bounds how much of an error response is read.
	maxErrorBodyBytes = 64 << 10
	// maxBatchBodyBytes bounds a batch object response.
	maxBatchBodyBytes = 1 << 20
)

// ErrInvalidConfig is returned by New for a bad option or missing key.
var ErrInvalidConfig = errors.New("anthropicbatch: invalid configuration")

// Option configures a Client.
type Option func(*Client)

// WithBaseURL sets the API base URL. This overrides the default of
// https://api.anthropic.com.
func WithBaseURL(u string) Option { return func(c *Client) { c.rawBase = u } }

// WithHTTPClient sets the HTTP client. This overrides the default of a
// client with a 5-minute timeout.
func WithHTTPClient(hc *http.Client) Option { return func(c *Client) { c.hc = hc } }

// WithLogger sets the logger. This overrides the default of slog.Default().
func WithLogger(l *slog.Logger) Option { return func(c *Client) { c.logger = l } }

// WithMaxResultLineBytes bounds one results line (n >= 1024). This
// overrides the default of 8 MiB.
func WithMaxResultLineBytes(n int) Option { return func(c *Client) { c.maxLine = n } }

// Client is a batch.BatchAPI for Anthropic. Safe for concurrent use.
type Client struct {
	apiKey  string
	rawBase string
	base    *url.URL
	hc      *http.Client
	logger  *slog.Logger
	maxLine int

	mu         sync.Mutex        // guards resultURLs
	resultURLs map[string]string // batch id → results_url seen by Retrieve
}

var _ batch.BatchAPI = (*Client)(nil)

// New returns a Client authenticating with apiKey.
func New(apiKey string, opts ...Option) (*Client, error) {
	c := &Client{apiKey: apiKey, rawBase: DefaultBaseURL, hc: &http.Client{Timeout: DefaultTimeout},
		logger: slog.Default(), maxLine: DefaultMaxResultLineBytes, resultURLs: map[string]string{}}
	for _, o := range opts {
		if o != nil {
			o(c)
		}
	}
	switch {
	case strings.TrimSpace(apiKey) == "":
		return nil, fmt.Errorf("%w: empty API key", ErrInvalidConfig)
	case c.hc == nil:
		return nil, fmt.Errorf("%w: nil HTTP client", ErrInvalidConfig)
	case c.logger == nil:
		return nil, fmt.Errorf("%w: nil logger", ErrInvalidConfig)
	case c.maxLine < 1024:
		return nil, fmt.Errorf("%w: max result line bytes below 1024", ErrInvalidConfig)
	}
	u, err := url.Parse(strings.TrimRight(c.rawBase, "/"))
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, fmt.Errorf("%w: base URL %q", ErrInvalidConfig, c.rawBase)
	}
	c.base = u
	return c, nil
}

// Provider is taxonomy.ProviderAnthropic.
func (*Client) Provider() taxonomy.Provider { return taxonomy.ProviderAnthropic }

// APIError is an error response of the API.
type APIError struct {
	StatusCode int
	// Type is the API's error type (invalid_request_error,
	// authentication_error, permission_error, not_found_error,
	// request_too_large, rate_limit_error, api_error, overloaded_error, …);
	// empty when the body was not the API's JSON (e.g. a proxy's page).
	Type      string
	Message   string
	RequestID string
	// RetryAfter is the server's retry-after hint (0 if none).
	RetryAfter time.Duration
}

func (e *APIError) Error() string {
	var b strings.Builder
	b.WriteString("anthropic: ")
	b.WriteString(strconv.Itoa(e.StatusCode))
	if e.Type != "" {
		b.WriteString(" " + e.Type)
	}
	if e.Message != "" {
		b.WriteString(": " + e.Message)
	}
	if e.RequestID != "" {
		b.WriteString(" (request_id=" + e.RequestID + ")")
	}
	return b.String()
}

// Retryable reports whether the same request may succeed later: timeouts,
// conflicts, rate limits, server errors and overload.
func (e *APIError) Retryable() bool {
	switch {
	case e.StatusCode == http.StatusRequestTimeout, e.StatusCode == http.StatusConflict,
		e.StatusCode == http.StatusTooManyRequests, e.StatusCode >= 500:
		return true
	}
	return false
}

// errorBody is the API's error shape.
type errorBody struct {
	Type  string `json:"type"`
	Error struct {
		Type    string `json:"type"`
		Message string `json:"message"`
	} `json:"error"`
	RequestID string `json:"request_id"`
}

// messageBatch is the API's batch object (the fields this adapter reads).
type messageBatch struct {
	ID               string  `json:"id"`
	Type             string  `json:"type"`
	ProcessingStatus string  `json:"processing_status"`
	ResultsURL       *string `json:"results_url"`
}

func (c *Client) endpoint(path string) string {
	u := *c.base
	u.Path = strings.TrimRight(u.Path, "/") + path
	return u.String()
}

func (c *Client) newRequest(ctx context.Context, method, target string, body io.Reader) (*http.Request, error) {
	req, err := http.NewRequestWithContext(ctx, method, target, body)
	if err != nil {
		return nil, err
	}
	req.Header.Set("x-api-key", c.apiKey)
	req.Header.Set("anthropic-version", APIVersion)
	if body != nil {
		req.Header.Set("content-type", "application/json")
	}
	return req, nil
}

// do sends req and returns the response of a 2xx status; any other status
// is an *APIError.
func (c *Client) do(req *http.Request) (*http.Response, error) {
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("anthropic: %s %s: %w", req.Method, req.URL.Path, err)
	}
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return resp, nil
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBodyBytes))
	apiErr := &APIError{StatusCode: resp.StatusCode, RequestID: resp.Header.Get("request-id"),
		RetryAfter: retryAfter(resp.Header.Get("retry-after"))}
	var eb errorBody
	if json.Unmarshal(raw, &eb) == nil && eb.Error.Type != "" {
		apiErr.Type, apiErr.Message = eb.Error.Type, eb.Error.Message
		if eb.RequestID != "" {
			apiErr.RequestID = eb.RequestID
		}
	} else {
		apiErr.Message = http.StatusText(resp.StatusCode)
	}
	return nil, apiErr
}

func retryAfter(h string) time.Duration {
	if h == "" {
		return 0
	}
	if s, err := strconv.ParseFloat(h, 64); err == nil && s >= 0 && s < 1e6 {
		return time.Duration(s * float64(time.Second))
	}
	if t, err := http.ParseTime(h); err == nil {
		if d := time.Until(t); d > 0 {
			return d
		}
	}
	return 0
}

func decodeBatch(resp *http.Response) (messageBatch, error) {
	defer resp.Body.Close()
	var b messageBatch
	if err := json.NewDecoder(io.LimitReader(resp.Body, maxBatchBodyBytes)).Decode(&b); err != nil {
		return b, fmt.Errorf("anthropic: decoding message batch: %w", err)
	}
	if b.ID == "" {
		return b, errors.New("anthropic: message batch without id")
	}
	return b, nil
}

// Create implements batch.BatchAPI.
func (c *Client) Create(ctx context.Context, reqs []batch.Request) (string, error) {
	if len(reqs) == 0 {
		return "", errors.New("anthropic: no requests")
	}
	body, err := json.Marshal(struct {
		Requests []batch.Request `json:"requests"`
	}{reqs})
	if err != nil {
		return "", fmt.Errorf("anthropic: encoding batch: %w", err)
	}
	req, err := c.newRequest(ctx, http.MethodPost, c.endpoint("/v1/messages/batches"), bytes.NewReader(body))
	if err != nil {
		return "", err
	}
	resp, err := c.do(req)
	if err != nil {
		return "", err
	}
	b, err := decodeBatch(resp)
	if err != nil {
		return "", err
	}
	c.remember(b)
	return b.ID, nil
}

func (c *Client) remember(b messageBatch) {
	if b.ResultsURL == nil || *b.ResultsURL == "" {
		return
	}
	c.mu.Lock()
	c.resultURLs[b.ID] = *b.ResultsURL
	c.mu.Unlock()
}

func (c *Client) get(ctx context.Context, id string) (messageBatch, error) {
	if id == "" {
		return messageBatch{}, errors.New("anthropic: empty batch id")
	}
	req, err := c.newRequest(ctx, http.MethodGet, c.endpoint("/v1/messages/batches/"+url.PathEscape(id)), nil)
	if err != nil {
		return messageBatch{}, err
	}
	resp, err := c.do(req)
	if err != nil {
		return messageBatch{}, err
	}
	b, err := decodeBatch(resp)
	if err != nil {
		return b, err
	}
	c.remember(b)
	return b, nil
}

// Retrieve implements batch.BatchAPI: the batch's processing_status
// (in_progress, canceling, ended).
func (c *Client) Retrieve(ctx context.Context, id string) (string, error) {
	b, err := c.get(ctx, id)
	if err != nil {
		return "", err
	}
	return b.ProcessingStatus, nil
}

// resultsURL is the results_url the API gave for id, if it is on the API's
// own host (the API key is never sent elsewhere), else the documented path.
func (c *Client) resultsURL(ctx context.Context, id string) (string, error) {
	c.mu.Lock()
	u, ok := c.resultURLs[id]
	c.mu.Unlock()
	if !ok {
		b, err := c.get(ctx, id)
		if err != nil {
			return "", err
		}
		if b.ResultsURL == nil || *b.ResultsURL == "" {
			return "", fmt.Errorf("anthropic: batch %s has no results yet (processing_status=%s)", id, b.ProcessingStatus)
		}
		u = *b.ResultsURL
	}
	parsed, err := url.Parse(u)
	if err != nil || parsed.Scheme != c.base.Scheme || parsed.Host != c.base.Host {
		c.logger.WarnContext(ctx, "anthropic: results_url not on the API host, using the documented path", "batch_id", id)
		return c.endpoint("/v1/messages/batches/" + url.PathEscape(id) + "/results"), nil
	}
	return parsed.String(), nil
}

// Results implements batch.BatchAPI, streaming the JSON-lines results file.
func (c *Client) Results(ctx context.Context, id string) ([]batch.RawResult, error) {
	target, err := c.resultsURL(ctx, id)
	if err != nil {
		return nil, err
	}
	req, err := c.newRequest(ctx, http.MethodGet, target, nil)
	if err != nil {
		return nil, err
	}
	resp, err := c.do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	out, err := c.readResults(ctx, resp.Body, id)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	delete(c.resultURLs, id)
	c.mu.Unlock()
	return out, nil
}

// resultLine is one line of the results file.
type resultLine struct {
	CustomID string `json:"custom_id"`
	Result   struct {
		Type    string `json:"type"`
		Message *struct {
			Content []struct {
				Type string `json:"type"`
				Text string `json:"text"`
			} `json:"content"`
			Usage struct {
				InputTokens              int `json:"input_tokens"`
				OutputTokens             int `json:"output_tokens"`
				CacheCreationInputTokens int `json:"cache_creation_input_tokens"`
				CacheReadInputTokens     int `json:"cache_read_input_tokens"`
			} `json:"usage"`
		} `json:"message"`
		Error *errorBody `json:"error"`
	} `json:"result"`
}

var customIDPrefix = regexp.MustCompile(`^\s*\{\s*"custom_id"\s*:\s*"([A-Za-z0-9_-]{1,64})"`)

// readResults parses the JSON lines. A line that cannot be read becomes an
// errored result for its custom_id when the id can still be found at its
// start, and is otherwise logged and skipped; blank lines are ignored.
func (c *Client) readResults(ctx context.Context, body io.Reader, id string) ([]batch.RawResult, error) {
	r := bufio.NewReaderSize(body, 64<<10)
	var out []batch.RawResult
	for lineNo := 1; ; lineNo++ {
		line, tooLong, err := readLine(r, c.maxLine)
		if len(bytes.TrimSpace(line)) > 0 || tooLong {
			out = append(out, c.parseLine(ctx, line, tooLong, id, lineNo)...)
		}
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return nil, fmt.Errorf("anthropic: reading results of %s: %w", id, err)
		}
	}
}

// readLine reads one '\n'-terminated line; past max bytes it keeps only the
// first 256 bytes (enough to find the custom_id) and reports tooLong.
func readLine(r *bufio.Reader, max int) (line []byte, tooLong bool, err error) {
	n := 0
	for {
		chunk, e := r.ReadSlice('\n')
		n += len(chunk)
		switch {
		case n > max:
			if !tooLong {
				keep := min(len(line)+len(chunk), 256) - len(line)
				if keep > 0 {
					line = append(line, chunk[:keep]...)
				}
				tooLong = true
			}
		default:
			line = append(line, chunk...)
		}
		if e == bufio.ErrBufferFull {
			continue
		}
		return line, tooLong, e
	}
}

func (c *Client) parseLine(ctx context.Context, line []byte, tooLong bool, id string, lineNo int) []batch.RawResult {
	var l resultLine
	if tooLong || json.Unmarshal(line, &l) != nil || l.CustomID == "" {
		reason := "malformed result line"
		if tooLong {
			reason = "result line too large"
		}
		if m := customIDPrefix.FindSubmatch(line); m != nil {
			return []batch.RawResult{{CustomID: string(m[1]), Type: batch.RawErrored, ErrorMessage: reason}}
		}
		c.logger.WarnContext(ctx, "anthropic: unreadable result line skipped", "batch_id", id, "line", lineNo, "reason", reason)
		return nil
	}
	res := batch.RawResult{CustomID: l.CustomID, Type: l.Result.Type}
	switch l.Result.Type {
	case batch.RawSucceeded:
		m := l.Result.Message
		if m == nil {
			res.Type, res.ErrorMessage = batch.RawErrored, "succeeded result without message"
			break
		}
		for _, b := range m.Content {
			if b.Type == "text" {
				res.TextBlocks = append(res.TextBlocks, b.Text)
			}
		}
		res.InputTokens = m.Usage.InputTokens + m.Usage.CacheCreationInputTokens + m.Usage.CacheReadInputTokens
		res.OutputTokens = m.Usage.OutputTokens
	case batch.RawErrored:
		res.ErrorMessage = "unknown"
		if e := l.Result.Error; e != nil && (e.Error.Type != "" || e.Error.Message != "") {
			res.ErrorMessage = strings.TrimPrefix(e.Error.Type+": "+e.Error.Message, ": ")
		}
	case batch.RawCanceled, batch.RawExpired:
		res.ErrorMessage = "request " + l.Result.Type
	default:
		res.Type, res.ErrorMessage = batch.RawErrored, "unknown result type "+strconv.Quote(l.Result.Type)
	}
	return []batch.RawResult{res}
}
