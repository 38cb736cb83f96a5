package anthropicbatch_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/socwarden/warden/batch"
	"github.com/socwarden/warden/batch/anthropicbatch"
	"github.com/socwarden/warden/router"
	"github.com/socwarden/warden/taxonomy"
)

var (
	ctx   = context.Background()
	quiet = slog.New(slog.DiscardHandler)
)

const apiKey = "sk-ant-test"

// fakeAnthropic serves the Message Batches API with the provider's shapes:
// batch objects, JSON-lines results and the error body.
type fakeAnthropic struct {
	t   *testing.T
	srv *httptest.Server

	mu        sync.Mutex
	created   [][]batch.Request
	polls     int
	endAfter  int // polls before the batch ends
	resultsFn func(reqs []batch.Request) string
	// failures: path prefix → status and body to return once.
	fail       map[string]fakeFailure
	resultsURL func(srvURL, id string) string
	keysSeen   []string
}

type fakeFailure struct {
	status  int
	body    string
	headers map[string]string
}

func newFake(t *testing.T) *fakeAnthropic {
	f := &fakeAnthropic{t: t, endAfter: 1, fail: map[string]fakeFailure{}}
	f.srv = httptest.NewServer(http.HandlerFunc(f.handle))
	t.Cleanup(f.srv.Close)
	return f
}

func batchObject(id, status string, n int, resultsURL string) map[string]any {
	counts := map[string]int{"processing": n, "succeeded": 0, "errored": 0, "canceled": 0, "expired": 0}
	var ended, results any
	if status == "ended" {
		counts["processing"], counts["succeeded"] = 0, n
		ended, results = "2025-06-15T13:00:00.000000Z", resultsURL
	}
	return map[string]any{"id": id, "type": "message_batch", "processing_status": status, "request_counts": counts,
		"ended_at": ended, "created_at": "2025-06-15T12:00:00.000000Z", "expires_at": "2025-06-16T12:00:00.000000Z",
		"cancel_initiated_at": nil, "archived_at": nil, "results_url": results}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("content-type", "application/json")
	w.Header().Set("request-id", "req_011CTest")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func apiError(w http.ResponseWriter, status int, typ, msg string) {
	writeJSON(w, status, map[string]any{"type": "error", "error": map[string]any{"type": typ, "message": msg}, "request_id": "req_011CErr"})
}

func (f *fakeAnthropic) handle(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.keysSeen = append(f.keysSeen, r.Header.Get("x-api-key"))
	for prefix, fl := range f.fail {
		if strings.HasPrefix(r.Method+" "+r.URL.Path, prefix) {
			delete(f.fail, prefix)
			for k, v := range fl.headers {
				w.Header().Set(k, v)
			}
			w.WriteHeader(fl.status)
			_, _ = io.WriteString(w, fl.body)
			return
		}
	}
	if r.Header.Get("x-api-key") != apiKey {
		apiError(w, 401, "authentication_error", "invalid x-api-key")
		return
	}
	if r.Header.Get("anthropic-version") != "2023-06-01" {
		apiError(w, 400, "invalid_request_error", "anthropic-version header is required")
		return
	}
	const base = "/v1/messages/batches"
	switch {
	case r.Method == http.MethodPost && r.URL.Path == base:
		if r.Header.Get("content-type") != "application/json" {
			apiError(w, 400, "invalid_request_error", "content-type must be application/json")
			return
		}
		var body struct {
			Requests []batch.Request `json:"requests"`
		}
		dec := json.NewDecoder(r.Body)
		dec.DisallowUnknownFields()
		if err := dec.Decode(&body); err != nil || len(body.Requests) == 0 {
			apiError(w, 400, "invalid_request_error", "requests: field required")
			return
		}
		f.created = append(f.created, body.Requests)
		id := fmt.Sprintf("msgbatch_%02d", len(f.created))
		writeJSON(w, 200, batchObject(id, "in_progress", len(body.Requests), ""))
	case r.Method == http.MethodGet && strings.HasSuffix(r.URL.Path, "/results"):
		id := strings.TrimSuffix(strings.TrimPrefix(r.URL.Path, base+"/"), "/results")
		reqs := f.requestsOf(id)
		if reqs == nil {
			apiError(w, 404, "not_found_error", "batch not found")
			return
		}
		w.Header().Set("content-type", "application/binary")
		_, _ = io.WriteString(w, f.resultsFn(reqs))
	case r.Method == http.MethodGet && strings.HasPrefix(r.URL.Path, base+"/"):
		id := strings.TrimPrefix(r.URL.Path, base+"/")
		reqs := f.requestsOf(id)
		if reqs == nil {
			apiError(w, 404, "not_found_error", "batch not found")
			return
		}
		f.polls++
		status := "in_progress"
		if f.polls > f.endAfter {
			status = "ended"
		}
		u := f.srv.URL + base + "/" + id + "/results"
		if f.resultsURL != nil {
			u = f.resultsURL(f.srv.URL, id)
		}
		writeJSON(w, 200, batchObject(id, status, len(reqs), u))
	default:
		apiError(w, 404, "not_found_error", "no route")
	}
}

func (f *fakeAnthropic) requestsOf(id string) []batch.Request {
	var n int
	if _, err := fmt.Sscanf(id, "msgbatch_%d", &n); err != nil || n < 1 || n > len(f.created) {
		return nil
	}
	return f.created[n-1]
}

func succeeded(id, text string, in, out int) string {
	b, _ := json.Marshal(map[string]any{"custom_id": id, "result": map[string]any{"type": "succeeded", "message": map[string]any{
		"id": "msg_01", "type": "message", "role": "assistant", "model": "claude-sonnet-4-5-20250929",
		"content":     []any{map[string]any{"type": "thinking", "thinking": "hmm", "signature": "x"}, map[string]any{"type": "text", "text": text}},
		"stop_reason": "end_turn", "stop_sequence": nil,
		"usage": map[string]any{"input_tokens": in, "output_tokens": out, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0},
	}}})
	return string(b)
}

func errored(id, typ, msg string) string {
	b, _ := json.Marshal(map[string]any{"custom_id": id, "result": map[string]any{"type": "errored",
		"error": map[string]any{"type": "error", "error": map[string]any{"type": typ, "message": msg}}}})
	return string(b)
}

func newClient(t *testing.T, f *fakeAnthropic, opts ...anthropicbatch.Option) *anthropicbatch.Client {
	t.Helper()
	c, err := anthropicbatch.New(apiKey, append([]anthropicbatch.Option{anthropicbatch.WithBaseURL(f.srv.URL),
		anthropicbatch.WithHTTPClient(f.srv.Client()), anthropicbatch.WithLogger(quiet)}, opts...)...)
	require.NoError(t, err)
	return c
}

func reqs(ids ...string) []batch.Request {
	out := make([]batch.Request, len(ids))
	for i, id := range ids {
		out[i] = batch.Request{CustomID: id, Params: batch.Params{Model: "claude-sonnet-4-5-20250929", MaxTokens: 1024,
			System: "sys", Messages: []batch.Message{{Role: "user", Content: "hello " + id}}}}
	}
	return out
}

func TestCreateRetrieveResults(t *testing.T) {
	f := newFake(t)
	f.resultsFn = func(rs []batch.Request) string {
		// Out of order, an error, a cancellation, an expiry, blank lines and
		// no final newline: the provider's real variety.
		return strings.Join([]string{
			errored(rs[2].CustomID, "invalid_request_error", "max_tokens: must be positive"),
			"",
			succeeded(rs[1].CustomID, `[{"alert_name_regex":"x"}]`, 120, 30),
			`{"custom_id":"` + rs[3].CustomID + `","result":{"type":"canceled"}}`,
			`{"custom_id":"` + rs[4].CustomID + `","result":{"type":"expired"}}`,
			succeeded(rs[0].CustomID, "first", 100, 20),
		}, "\n")
	}
	c := newClient(t, f)
	id, err := c.Create(ctx, reqs("a", "b", "c", "d", "e"))
	require.NoError(t, err)
	assert.Equal(t, "msgbatch_01", id)
	require.Len(t, f.created, 1)
	assert.Equal(t, reqs("a", "b", "c", "d", "e"), f.created[0], "the body is the API's requests shape")

	status, err := c.Retrieve(ctx, id)
	require.NoError(t, err)
	assert.Equal(t, "in_progress", status)
	status, err = c.Retrieve(ctx, id)
	require.NoError(t, err)
	assert.Equal(t, "ended", status)

	rs, err := c.Results(ctx, id)
	require.NoError(t, err)
	assert.Equal(t, []batch.RawResult{
		{CustomID: "c", Type: "errored", ErrorMessage: "invalid_request_error: max_tokens: must be positive"},
		{CustomID: "b", Type: "succeeded", TextBlocks: []string{`[{"alert_name_regex":"x"}]`}, InputTokens: 120, OutputTokens: 30},
		{CustomID: "d", Type: "canceled", ErrorMessage: "request canceled"},
		{CustomID: "e", Type: "expired", ErrorMessage: "request expired"},
		{CustomID: "a", Type: "succeeded", TextBlocks: []string{"first"}, InputTokens: 100, OutputTokens: 20},
	}, rs)
	assert.Equal(t, taxonomy.ProviderAnthropic, c.Provider())
}

func TestResultsWithoutPriorRetrieve(t *testing.T) {
	f := newFake(t)
	f.endAfter = 0
	f.resultsFn = func(rs []batch.Request) string { return succeeded(rs[0].CustomID, "ok", 1, 1) + "\n" }
	c := newClient(t, f)
	id, err := c.Create(ctx, reqs("a"))
	require.NoError(t, err)
	rs, err := c.Results(ctx, id)
	require.NoError(t, err, "the adapter looks up results_url itself")
	require.Len(t, rs, 1)

	f.endAfter = 100
	id, _ = c.Create(ctx, reqs("b"))
	_, err = c.Results(ctx, id)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "no results yet")
}

func TestResultsURLOnForeignHostIsNotFollowed(t *testing.T) {
	f := newFake(t)
	evil := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t.Errorf("the API key was sent to a foreign host: %q", r.Header.Get("x-api-key"))
	}))
	defer evil.Close()
	f.resultsURL = func(string, string) string { return evil.URL + "/steal" }
	f.endAfter = 0
	f.resultsFn = func(rs []batch.Request) string { return succeeded(rs[0].CustomID, "ok", 1, 1) }
	c := newClient(t, f)
	id, _ := c.Create(ctx, reqs("a"))
	_, err := c.Retrieve(ctx, id)
	require.NoError(t, err)
	rs, err := c.Results(ctx, id)
	require.NoError(t, err)
	require.Len(t, rs, 1)
}

func TestMalformedAndOversizedLines(t *testing.T) {
	f := newFake(t)
	f.endAfter = 0
	f.resultsFn = func(rs []batch.Request) string {
		return strings.Join([]string{
			`{"custom_id":"a","result":{"type":"succeeded","message":`, // truncated JSON
			`garbage without id`,
			succeeded("b", strings.Repeat("x", 4000), 1, 1), // longer than the 2 KiB limit below
			`{"custom_id":"c","result":{"type":"mystery"}}`,
			`{"custom_id":"d","result":{"type":"succeeded"}}`,
			`{"custom_id":"e","result":{"type":"errored"}}`,
			succeeded("f", "fine", 5, 6),
		}, "\n") + "\n"
	}
	c := newClient(t, f, anthropicbatch.WithMaxResultLineBytes(2048))
	id, _ := c.Create(ctx, reqs("a", "b", "c", "d", "e", "f"))
	rs, err := c.Results(ctx, id)
	require.NoError(t, err, "one bad line never fails the whole retrieval")
	assert.Equal(t, []batch.RawResult{
		{CustomID: "a", Type: "errored", ErrorMessage: "malformed result line"},
		{CustomID: "b", Type: "errored", ErrorMessage: "result line too large"},
		{CustomID: "c", Type: "errored", ErrorMessage: `unknown result type "mystery"`},
		{CustomID: "d", Type: "errored", ErrorMessage: "succeeded result without message"},
		{CustomID: "e", Type: "errored", ErrorMessage: "unknown"},
		{CustomID: "f", Type: "succeeded", TextBlocks: []string{"fine"}, InputTokens: 5, OutputTokens: 6},
	}, rs)
}

func TestAPIErrors(t *testing.T) {
	cases := []struct {
		name      string
		fail      fakeFailure
		status    int
		typ       string
		retryable bool
		retry     time.Duration
	}{
		{"invalid request", fakeFailure{400, `{"type":"error","error":{"type":"invalid_request_error","message":"requests.0.custom_id: String should match pattern"},"request_id":"req_1"}`, nil},
			400, "invalid_request_error", false, 0},
		{"auth", fakeFailure{401, `{"type":"error","error":{"type":"authentication_error","message":"invalid x-api-key"}}`, nil}, 401, "authentication_error", false, 0},
		{"permission", fakeFailure{403, `{"type":"error","error":{"type":"permission_error","message":"no"}}`, nil}, 403, "permission_error", false, 0},
		{"too large from the proxy", fakeFailure{413, `<html><body>413 Request Entity Too Large</body></html>`, nil}, 413, "", false, 0},
		{"rate limit", fakeFailure{429, `{"type":"error","error":{"type":"rate_limit_error","message":"slow down"}}`, map[string]string{"retry-after": "30"}},
			429, "rate_limit_error", true, 30 * time.Second},
		{"api error", fakeFailure{500, `{"type":"error","error":{"type":"api_error","message":"internal"}}`, nil}, 500, "api_error", true, 0},
		{"overloaded", fakeFailure{529, `{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}`, nil}, 529, "overloaded_error", true, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFake(t)
			f.fail["POST /v1/messages/batches"] = tc.fail
			_, err := newClient(t, f).Create(ctx, reqs("a"))
			var apiErr *anthropicbatch.APIError
			require.True(t, errors.As(err, &apiErr), "%v", err)
			assert.Equal(t, tc.status, apiErr.StatusCode)
			assert.Equal(t, tc.typ, apiErr.Type)
			assert.Equal(t, tc.retryable, apiErr.Retryable())
			assert.Equal(t, tc.retry, apiErr.RetryAfter)
			assert.Contains(t, err.Error(), fmt.Sprint(tc.status))
		})
	}
}

func TestRetrieveNotFound(t *testing.T) {
	f := newFake(t)
	_, err := newClient(t, f).Retrieve(ctx, "msgbatch_99")
	var apiErr *anthropicbatch.APIError
	require.True(t, errors.As(err, &apiErr))
	assert.Equal(t, "not_found_error", apiErr.Type)
	assert.Equal(t, "req_011CErr", apiErr.RequestID)
	assert.False(t, apiErr.Retryable())
}

func TestWrongKeyIsAuthenticationError(t *testing.T) {
	f := newFake(t)
	c, err := anthropicbatch.New("sk-wrong", anthropicbatch.WithBaseURL(f.srv.URL), anthropicbatch.WithLogger(quiet))
	require.NoError(t, err)
	_, err = c.Create(ctx, reqs("a"))
	var apiErr *anthropicbatch.APIError
	require.True(t, errors.As(err, &apiErr))
	assert.Equal(t, "authentication_error", apiErr.Type)
}

func TestNetworkErrorAndContext(t *testing.T) {
	f := newFake(t)
	c := newClient(t, f)
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	_, err := c.Create(cctx, reqs("a"))
	require.ErrorIs(t, err, context.Canceled)
	f.srv.Close()
	_, err = c.Retrieve(ctx, "msgbatch_01")
	require.Error(t, err)
	var apiErr *anthropicbatch.APIError
	assert.False(t, errors.As(err, &apiErr), "a network failure is not an API error (and counts as retryable)")
}

func TestNewValidation(t *testing.T) {
	for name, build := range map[string]func() (*anthropicbatch.Client, error){
		"empty key": func() (*anthropicbatch.Client, error) { return anthropicbatch.New(" ") },
		"bad url": func() (*anthropicbatch.Client, error) {
			return anthropicbatch.New("k", anthropicbatch.WithBaseURL("ftp://x"))
		},
		"nil http": func() (*anthropicbatch.Client, error) {
			return anthropicbatch.New("k", anthropicbatch.WithHTTPClient(nil))
		},
		"tiny lines": func() (*anthropicbatch.Client, error) {
			return anthropicbatch.New("k", anthropicbatch.WithMaxResultLineBytes(10))
		},
	} {
		_, err := build()
		assert.ErrorIs(t, err, anthropicbatch.ErrInvalidConfig, name)
	}
	_, err := anthropicbatch.New("k")
	require.NoError(t, err)
}

// The adapter behind the batch Client and Scheduler: a provider rejection
// requeues, then the batch runs, results come back out of order and are
// matched by custom_id, and spend is settled.
func TestWithBatchPipeline(t *testing.T) {
	f := newFake(t)
	f.fail["POST /v1/messages/batches"] = fakeFailure{529, `{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}`, nil}
	f.resultsFn = func(rs []batch.Request) string {
		var lines []string
		for i := len(rs) - 1; i >= 0; i-- {
			if strings.HasPrefix(rs[i].CustomID, "fp") {
				lines = append(lines, succeeded(rs[i].CustomID,
					`[{"alert_name":"Nessus scan","alert_name_regex":"^Nessus scan","entity_patterns":[{"type":"ip","value_cidr":"IP_SRC_001/32"}],"confidence":0.9}]`, 2000, 100))
			} else {
				lines = append(lines, errored(rs[i].CustomID, "api_error", "internal"))
			}
		}
		return strings.Join(lines, "\n")
	}
	api := newClient(t, f)
	now := time.Date(2025, 6, 15, 12, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	guard, err := router.NewSpendGuard(router.WithClock(clock), router.WithLogger(quiet))
	require.NoError(t, err)
	store := batch.NewMemoryCandidateStore()
	svc, err := batch.New(api, batch.GatewayGate(), guard, store, batch.WithClock(clock), batch.WithLogger(quiet),
		batch.WithCountThreshold(2), batch.WithRetryBackoff(time.Minute, time.Hour))
	require.NoError(t, err)
	_, err = svc.Enqueue(batch.Task{ID: "fp1", Type: batch.TaskFPPatternGeneration, TenantID: "acme",
		UserContent: `{"alert_group":"Nessus scan","investigations":[{"entities":{"ips":["10.20.0.5"]}}]}`,
		Metadata:    map[string]any{batch.MetaAlertGroup: "Nessus scan", batch.MetaSourceInvestigations: []string{"inv-1"}}})
	require.NoError(t, err)
	_, err = svc.Enqueue(batch.Task{ID: "other1", Type: "threat_landscape_summary", TenantID: "acme", UserContent: "{}"})
	require.NoError(t, err)

	rep, err := svc.Cycle(ctx)
	require.NoError(t, err)
	assert.Contains(t, rep.FlushError, "overloaded_error")
	assert.Equal(t, 2, svc.Scheduler().QueueSize(), "the rejected batch's tasks are back")
	assert.Zero(t, guard.Status().Outstanding)

	now = now.Add(time.Minute)
	rep, err = svc.Cycle(ctx) // resubmits; first poll: in_progress
	require.NoError(t, err)
	require.NotNil(t, rep.Flushed)
	assert.Empty(t, rep.Summaries)
	assert.Equal(t, 2, guard.Status().Outstanding, "two tasks hold spend while the batch runs")
	rep, err = svc.Cycle(ctx) // ended → collected → processed
	require.NoError(t, err)
	require.Len(t, rep.Summaries, 1)
	sum := rep.Summaries[0]
	assert.Equal(t, 1, sum.FPPatternsStored, sum.Rejections)
	assert.Equal(t, 1, sum.Errors, "the errored request")
	cs := store.Candidates()
	require.Len(t, cs, 1)
	assert.Equal(t, []batch.EntityPattern{{Type: "ip", ValueCIDR: "10.20.0.5/32"}}, cs[0].EntityPatterns)
	assert.Zero(t, guard.Status().Outstanding)
	assert.InDelta(t, (2000*1.5+100*7.5)/1e6, guard.Status().MonthlyTotalUSD, 1e-9, "settled at batch prices")
	for _, k := range f.keysSeen {
		assert.Equal(t, apiKey, k)
	}
	sent := f.created[len(f.created)-1]
	assert.NotContains(t, sent[0].Params.Messages[0].Content, "10.20.0.5", "pseudonymised before it left")
}
