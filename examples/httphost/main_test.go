package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/socwarden/warden/audit"
	"github.com/socwarden/warden/examples/socpipeline/pipeline"
	"github.com/socwarden/warden/response"
	"github.com/socwarden/warden/taxonomy"
)

// Tokens of the tests. alice may approve acme-corp's tier-2 actions; carl is
// an analyst (too junior to approve them); gina works for globex only; the
// connector submits alerts for every tenant.
const (
	tokAlice     = "alice-senior-analyst-token"
	tokCarl      = "carl-junior-analyst-token"
	tokGina      = "gina-globex-admin-token-0"
	tokConnector = "siem-connector-token-000"
)

func testTokens(t *testing.T) tokenTable {
	t.Helper()
	aliceHash := sha256.Sum256([]byte(tokAlice))
	tt, err := parseTokens([]byte(fmt.Sprintf(`[
	 {"token_sha256": %q, "subject": "alice@acme-corp.example", "role": "senior_analyst", "tenants": ["acme-corp"]},
	 {"token": %q, "subject": "carl@acme-corp.example", "role": "analyst", "tenants": ["acme-corp"]},
	 {"token": %q, "subject": "gina@globex.example", "role": "admin", "tenants": ["globex"]},
	 {"token": %q, "subject": "siem-connector", "role": "analyst", "tenants": ["*"]}]`,
		hex.EncodeToString(aliceHash[:]), tokCarl, tokGina, tokConnector)))
	require.NoError(t, err)
	return tt
}

// testHost is a host on an in-process Kafka cluster behind an httptest
// server.
type testHost struct {
	h   *host
	s   *server
	srv *httptest.Server
}

func newTestHost(t *testing.T) *testHost {
	t.Helper()
	cfg := hostConfig{tokens: testTokens(t), goLive: []string{pipeline.TenantAcme, pipeline.TenantGlobex},
		goLiveBy: "test", logger: slog.New(slog.DiscardHandler)}
	h, err := newHost(context.Background(), cfg)
	require.NoError(t, err)
	s := newServer(h, cfg)
	srv := httptest.NewServer(s.handler())
	t.Cleanup(func() {
		srv.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_ = h.close(ctx)
	})
	return &testHost{h: h, s: s, srv: srv}
}

// do sends a request and decodes the JSON answer into a map.
func (th *testHost) do(t *testing.T, method, path, token string, body []byte) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(method, th.srv.URL+path, bytes.NewReader(body))
	require.NoError(t, err)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := th.srv.Client().Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	var m map[string]any
	require.NoError(t, json.Unmarshal(raw, &m), "%s %s → %d %s", method, path, resp.StatusCode, raw)
	assert.Contains(t, resp.Header.Get("Content-Type"), "application/json")
	return resp.StatusCode, m
}

func sample(t *testing.T, name string) []byte {
	t.Helper()
	b, err := pipeline.SampleAlert(name)
	require.NoError(t, err)
	return b
}

func errCode(m map[string]any) string {
	e, _ := m["error"].(map[string]any)
	c, _ := e["code"].(string)
	return c
}

// A raw Sentinel alert becomes an investigation that waits for a human;
// the grant comes from a bearer token's principal over the API, with every
// wrong caller refused, and executes the action.
func TestAlertInvestigationApproval(t *testing.T) {
	th := newTestHost(t)
	code, inv := th.do(t, "POST", "/v1/alerts?source=sentinel", tokConnector, sample(t, "01-sentinel-encoded-powershell.json"))
	require.Equal(t, http.StatusCreated, code, "%v", inv)
	require.Equal(t, "awaiting_human", inv["state"])
	assert.Equal(t, "true_positive", inv["classification"])
	apv := inv["approval"].(map[string]any)
	id := apv["approval_id"].(string)
	invID := inv["investigation_id"].(string)

	code, got := th.do(t, "GET", "/v1/investigations/"+invID, tokAlice, nil)
	require.Equal(t, http.StatusOK, code)
	assert.Equal(t, invID, got["investigation_id"])
	code, got = th.do(t, "GET", "/v1/investigations/"+invID, tokGina, nil)
	assert.Equal(t, http.StatusForbidden, code, "%v", got)
	code, got = th.do(t, "GET", "/v1/investigations/nope", tokAlice, nil)
	assert.Equal(t, http.StatusNotFound, code, "%v", got)

	grant := "/v1/approvals/" + id + "/grant"
	code, got = th.do(t, "POST", grant, "", nil)
	assert.Equal(t, http.StatusUnauthorized, code)
	assert.Equal(t, "unauthorized", errCode(got))
	code, _ = th.do(t, "POST", grant, "not-a-token-of-ours", nil)
	assert.Equal(t, http.StatusUnauthorized, code)
	code, _ = th.do(t, "POST", grant, tokCarl, nil)
	assert.Equal(t, http.StatusForbidden, code, "an analyst cannot approve a tier-2 action")
	code, _ = th.do(t, "POST", grant, tokGina, nil)
	assert.Equal(t, http.StatusForbidden, code, "another tenant's admin cannot approve")
	// Identity never comes from the request: a header is ignored and a body
	// naming an approver is refused.
	req, _ := http.NewRequest("POST", th.srv.URL+grant, strings.NewReader(`{"approver":"mallory","role":"admin"}`))
	req.Header.Set("Authorization", "Bearer "+tokCarl)
	req.Header.Set("X-Approver", "admin@acme-corp.example")
	resp, err := th.srv.Client().Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusBadRequest, resp.StatusCode)

	code, got = th.do(t, "POST", grant, tokAlice, []byte(`{"comment":"contain it"}`))
	require.Equal(t, http.StatusOK, code, "%v", got)
	assert.Equal(t, "closed", got["state"])
	assert.Equal(t, "alice@acme-corp.example", got["approval"].(map[string]any)["decided_by"])
	executed := map[string]string{}
	for _, r := range got["action_results"].([]any) {
		m := r.(map[string]any)
		executed[m["action"].(string)], _ = m["approved_by"].(string)
	}
	assert.Equal(t, "alice@acme-corp.example", executed["isolate_host"])

	code, got = th.do(t, "POST", grant, tokAlice, nil)
	assert.Equal(t, http.StatusConflict, code, "%v", got)

	// A deny closes the investigation without executing the action.
	code, inv = th.do(t, "POST", "/v1/alerts?source=splunk", tokConnector, sample(t, "03-splunk-brute-force.json"))
	require.Equal(t, http.StatusCreated, code, "%v", inv)
	id = inv["approval"].(map[string]any)["approval_id"].(string)
	code, got = th.do(t, "POST", "/v1/approvals/"+id+"/deny", tokAlice, nil)
	require.Equal(t, http.StatusOK, code, "%v", got)
	assert.Equal(t, "closed", got["state"])
	assert.Equal(t, string(response.StateDenied), got["approval"].(map[string]any)["state"])
	assert.Empty(t, got["action_results"])

	code, got = th.do(t, "POST", "/v1/approvals/no-such-approval/grant", tokAlice, nil)
	assert.Equal(t, http.StatusNotFound, code, "%v", got)
	code, got = th.do(t, "POST", "/v1/approvals/"+id+"/maybe", tokAlice, nil)
	assert.Equal(t, http.StatusNotFound, code, "%v", got)

	// Both decisions were audited with the approver from the token and
	// channel api; the chain of acme-corp verifies.
	code, got = th.do(t, "GET", "/v1/audit/verify?tenant=acme-corp", tokAlice, nil)
	require.Equal(t, http.StatusOK, code, "%v", got)
	assert.Equal(t, "valid", got["status"])
	assert.Equal(t, true, got["valid"])
	assert.Greater(t, got["records"], float64(20))
	records := th.records(t, pipeline.TopicEvents)
	var decided []audit.Record
	for _, r := range records {
		if r.EventType == taxonomy.ApprovalGranted || r.EventType == taxonomy.ApprovalDenied {
			decided = append(decided, r)
		}
	}
	require.Len(t, decided, 2)
	for _, r := range decided {
		assert.Equal(t, "alice@acme-corp.example", r.ActorID)
		assert.Equal(t, taxonomy.ActorHuman, r.ActorType)
		assert.Equal(t, string(taxonomy.ChannelAPI), r.Outcome[audit.KeyApprovalChannel])
	}
}

// records reads a whole topic of the host's cluster.
func (th *testHost) records(t *testing.T, topic string) []audit.Record {
	t.Helper()
	require.NoError(t, th.h.emitter.Flush(context.Background()))
	var out []audit.Record
	require.NoError(t, th.h.kafka.ReadAll(context.Background(), topic, func(r *kgo.Record) {
		rec, err := audit.DecodeRecord(r.Value)
		require.NoError(t, err)
		out = append(out, rec)
	}))
	return out
}

// Bad requests get a 4xx with a JSON error, never a 5xx or a panic.
func TestBadRequests(t *testing.T) {
	th := newTestHost(t)
	good := sample(t, "01-sentinel-encoded-powershell.json")
	huge := append([]byte(`{"AlertName":"`), bytes.Repeat([]byte("A"), DefaultMaxBodyBytes+1)...)
	huge = append(huge, `"}`...)
	nested := strings.Repeat("[", 100000) + strings.Repeat("]", 100000)
	for _, tc := range []struct {
		name, method, path, token string
		body                      []byte
		want                      int
		code                      string
	}{
		{"no token", "POST", "/v1/alerts?source=sentinel", "", good, 401, "unauthorized"},
		{"basic auth", "POST", "/v1/alerts?source=sentinel", "", good, 401, "unauthorized"},
		{"malformed JSON", "POST", "/v1/alerts?source=sentinel", tokConnector, []byte(`{"AlertName": "x",`), 400, "invalid_json"},
		{"not JSON at all", "POST", "/v1/alerts?source=elastic", tokConnector, []byte("\x00\xff garbage"), 400, "invalid_json"},
		{"empty body", "POST", "/v1/alerts?source=splunk", tokConnector, nil, 400, "invalid_json"},
		{"unknown source", "POST", "/v1/alerts?source=qradar", tokConnector, good, 400, "unknown_source"},
		{"no source", "POST", "/v1/alerts", tokConnector, good, 400, "unknown_source"},
		{"oversized body", "POST", "/v1/alerts?source=sentinel", tokConnector, huge, 413, "body_too_large"},
		{"JSON array", "POST", "/v1/alerts?source=sentinel", tokConnector, []byte(`[1,2,3]`), 422, "invalid_alert"},
		{"nested beyond the JSON depth limit", "POST", "/v1/alerts?source=sentinel", tokConnector, []byte(nested), 400, "invalid_json"},
		{"not an alert", "POST", "/v1/alerts?source=sentinel", tokConnector, []byte(`{"hello":"world"}`), 422, "invalid_alert"},
		{"wrong types", "POST", "/v1/alerts?source=defender", tokConnector, []byte(`{"id":7,"title":["x"],"severity":{}}`), 422, "invalid_alert"},
		{"bad severity", "POST", "/v1/alerts?source=sentinel", tokConnector,
			[]byte(`{"AlertName":"x","Severity":"Unknown","TimeGenerated":"2026-03-02T08:00:00Z","TenantId":"acme-corp"}`), 422, "invalid_alert"},
		{"other tenant's alert", "POST", "/v1/alerts?source=sentinel", tokGina, good, 403, "forbidden"},
		{"verify without tenant", "GET", "/v1/audit/verify", tokAlice, nil, 400, "missing_tenant"},
		{"verify other tenant", "GET", "/v1/audit/verify?tenant=globex", tokAlice, nil, 403, "forbidden"},
		{"decision body with identity", "POST", "/v1/approvals/x/grant", tokAlice, []byte(`{"approver":"root"}`), 400, "invalid_json"},
		{"unknown route", "GET", "/v1/nothing", tokAlice, nil, 404, "not_found"},
		{"wrong method", "DELETE", "/v1/alerts", tokAlice, nil, 404, "not_found"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, err := http.NewRequest(tc.method, th.srv.URL+tc.path, bytes.NewReader(tc.body))
			require.NoError(t, err)
			if tc.token != "" {
				req.Header.Set("Authorization", "Bearer "+tc.token)
			}
			if tc.name == "basic auth" {
				req.SetBasicAuth("alice", tokAlice)
			}
			resp, err := th.srv.Client().Do(req)
			require.NoError(t, err)
			defer resp.Body.Close()
			raw, _ := io.ReadAll(resp.Body)
			var e apiError
			require.NoError(t, json.Unmarshal(raw, &e), "%d %s", resp.StatusCode, raw)
			assert.Equal(t, tc.want, resp.StatusCode, "%s", raw)
			assert.Equal(t, tc.code, e.Error.Code, "%s", raw)
			assert.NotEmpty(t, e.Error.Message)
		})
	}
	assert.Zero(t, th.s.serverErrors.Load(), "no bad request may produce a 5xx")
}

// /debug/vars is expvar plus the audit emitter's Stats and the chaining
// service's counters.
func TestDebugVars(t *testing.T) {
	th := newTestHost(t)
	code, _ := th.do(t, "POST", "/v1/alerts?source=elastic", tokConnector, sample(t, "02-elastic-vulnerability-scanner.json"))
	require.Equal(t, http.StatusCreated, code)
	code, vars := th.do(t, "GET", "/debug/vars", "", nil)
	require.Equal(t, http.StatusOK, code)
	st, ok := vars["warden_audit"].(map[string]any)
	require.True(t, ok, "%v", vars)
	assert.Greater(t, st["Emitted"], float64(0))
	assert.Contains(t, vars, "warden_chain")
	assert.Contains(t, vars, "memstats", "the standard expvar variables are served too")
	assert.Equal(t, float64(1), vars["warden_http"].(map[string]any)["requests"].(float64)-1, "the POST, then this GET")
}

// Graceful shutdown: in-flight requests finish and the audit emitter is
// flushed and closed within the deadline — nothing accepted is lost.
func TestGracefulShutdown(t *testing.T) {
	cfg := hostConfig{tokens: testTokens(t), goLive: []string{pipeline.TenantAcme}, goLiveBy: "test",
		logger: slog.New(slog.DiscardHandler)}
	h, err := newHost(context.Background(), cfg)
	require.NoError(t, err)
	s := newServer(h, cfg)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- run(ctx, ln, h, s, 20*time.Second) }()

	url := "http://" + ln.Addr().String() + "/v1/alerts?source=defender"
	var wg sync.WaitGroup
	codes := make(chan int, 20)
	for range 20 {
		wg.Go(func() {
			req, _ := http.NewRequest("POST", url, bytes.NewReader(sample(t, "07-defender-eicar-test-file.json")))
			req.Header.Set("Authorization", "Bearer "+tokConnector)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				codes <- 0
				return
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			codes <- resp.StatusCode
		})
	}
	wg.Wait()
	close(codes)
	for c := range codes {
		require.Equal(t, http.StatusCreated, c)
	}
	cancel()
	require.NoError(t, <-done)
	st := h.emitter.Stats()
	assert.Zero(t, st.Queued)
	assert.Equal(t, st.Emitted, st.Delivered)
	assert.Zero(t, st.Dropped+st.Failed)
	_, err = http.Get("http://" + ln.Addr().String() + "/debug/vars")
	assert.Error(t, err, "the listener is closed")
}

// loadAlerts is the number of concurrent alert posts of the load test
// (issue 8: at least 1,000).
const loadAlerts = 1000

// A burst of concurrent alert posts loses no audit record: every post gets
// its investigation, and after the graceful close the topic holds every
// event the emitter accepted — the SeqTracker finds no producer_seq gap.
func TestConcurrentAlertsLoseNoAuditRecord(t *testing.T) {
	th := newTestHost(t)
	names := []string{"01-sentinel-encoded-powershell.json", "02-elastic-vulnerability-scanner.json",
		"03-splunk-brute-force.json", "05-defender-ransomware.json", "07-defender-eicar-test-file.json"}
	sources := []string{"sentinel", "elastic", "splunk", "defender", "defender"}
	bodies := make([][]byte, len(names))
	for i, n := range names {
		bodies[i] = sample(t, n)
	}
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 256}}
	start := make(chan struct{})
	codes := make([]int, loadAlerts)
	var wg sync.WaitGroup
	for i := range loadAlerts {
		wg.Go(func() {
			<-start
			k := i % len(names)
			req, _ := http.NewRequest("POST", th.srv.URL+"/v1/alerts?source="+sources[k], bytes.NewReader(bodies[k]))
			req.Header.Set("Authorization", "Bearer "+tokConnector)
			resp, err := client.Do(req)
			if err != nil {
				return
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			codes[i] = resp.StatusCode
		})
	}
	t0 := time.Now()
	close(start)
	wg.Wait()
	t.Logf("TIMING posts %s", time.Since(t0))
	for i, c := range codes {
		require.Equal(t, http.StatusCreated, c, "post %d", i)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	t1 := time.Now()
	require.NoError(t, th.h.emitter.Close(ctx))
	t.Logf("TIMING close %s", time.Since(t1))
	st := th.h.emitter.Stats()
	require.Zero(t, st.Dropped+st.Failed+st.Invalid, "%+v", st)
	require.Equal(t, st.Emitted, st.Delivered)

	seq := audit.NewSeqTracker()
	parsed := 0
	require.NoError(t, th.h.kafka.ReadAll(ctx, pipeline.TopicEvents, func(r *kgo.Record) {
		seq.ObserveRecord(r.Value)
		rec, err := audit.DecodeRecord(r.Value)
		require.NoError(t, err)
		if rec.EventType == taxonomy.AlertClassified && rec.ActorID == "entity-parser" {
			parsed++
		}
	}))
	t.Logf("TIMING read %s events=%d", time.Since(t1), st.Emitted)
	require.Equal(t, []string{th.h.emitter.ProducerID()}, seq.Producers())
	assert.Equal(t, st.LastSeq, seq.Highest(th.h.emitter.ProducerID()))
	assert.Zero(t, seq.MissingCount(th.h.emitter.ProducerID()), "%v", seq.Missing(th.h.emitter.ProducerID()))
	assert.Zero(t, seq.Duplicates())
	assert.Equal(t, loadAlerts, parsed, "one ingest record per alert")
	assert.Zero(t, th.s.serverErrors.Load())
}
