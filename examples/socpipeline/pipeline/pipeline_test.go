package pipeline

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/socwarden/warden/audit"
	"github.com/socwarden/warden/response"
	"github.com/socwarden/warden/taxonomy"
)

// runWithRecorder runs the story with an Emitter over an in-memory Recorder
// and returns the results and the delivered records.
func runWithRecorder(t *testing.T, cfg Config) (Result, *audit.Recorder) {
	t.Helper()
	rec := audit.NewRecorder()
	em, err := audit.New(rec, audit.WithLinger(0))
	require.NoError(t, err)
	cfg.Producer = em
	res, err := Run(context.Background(), cfg)
	require.NoError(t, err)
	require.NoError(t, em.Close(context.Background()))
	st := em.Stats()
	require.Zero(t, st.Dropped+st.Failed+st.Invalid, "%+v", st)
	return res, rec
}

// Audit emission never changes a business result: the same story with no
// producer decides and does exactly the same things (issue 8, proof of
// coverage; audit spec checklist 31).
func TestNoProducerSameResults(t *testing.T) {
	withAudit, rec := runWithRecorder(t, Config{})
	require.NotZero(t, rec.Len())
	without, err := Run(context.Background(), Config{})
	require.NoError(t, err)
	assert.Equal(t, withAudit, without)
	// The story is not empty on either side.
	assert.Len(t, without.Investigations, 10)
	assert.NotEmpty(t, without.Approvals)
	assert.NotEmpty(t, without.Exposures)
	assert.NotEmpty(t, without.Detections)
}

// Every event carries the source_service of the service that emitted it.
func TestEventsNameTheirService(t *testing.T) {
	_, rec := runWithRecorder(t, Config{})
	owner := map[taxonomy.EventType]string{
		taxonomy.ApprovalRequested:       "response",
		taxonomy.ResponseExecuted:        "response",
		taxonomy.CTEMExposureScored:      "ctem",
		taxonomy.ATLASDetectionFired:     "atlas",
		taxonomy.CircuitBreakerOpened:    "router",
		taxonomy.RoutingProviderFailover: "router",
	}
	for _, r := range rec.Records() {
		if want, ok := owner[r.EventType]; ok {
			assert.Equal(t, want, r.SourceService, "%s", r.EventType)
		}
		assert.NotEqual(t, "", r.SourceService)
	}
}

// The approval policy grants review-only gates, the scripted reviewer
// grants one tier-2 gate and denies another, the last one times out on the
// injected clock — and nothing executes without a granted approval.
func TestApprovalStory(t *testing.T) {
	res, err := Run(context.Background(), Config{})
	require.NoError(t, err)
	byAlert := map[string]ApprovalOutcome{}
	for _, a := range res.Approvals {
		inv := investigationOf(t, res, a.InvestigationID)
		byAlert[inv.AlertID] = a
	}
	assert.Equal(t, string(response.OutcomeGranted), byAlert["sentinel-7f3a9c21"].Outcome)
	assert.Equal(t, ScriptedApprover, byAlert["sentinel-7f3a9c21"].DecidedBy)
	assert.Equal(t, string(response.OutcomeDenied), byAlert["splunk-1772443800.4412"].Outcome)
	assert.Equal(t, AutoGrantApprover, byAlert["crowdstrike-ldt-91c2"].DecidedBy, "tier-1 review gate granted by policy")
	assert.Equal(t, string(response.OutcomeTimedOutLeftOpen), byAlert["defender-da637292"].Outcome)
	assert.Equal(t, string(response.RoleAdmin), byAlert["defender-da637292"].RequiredRole, "re-routed to the escalated role")
	for _, inv := range res.Investigations {
		for _, act := range inv.Actions {
			if act.Tier < int(response.TierRequiresApproval) || act.Status != string(response.ActionExecuted) {
				continue
			}
			a, ok := byAlert[inv.AlertID]
			require.True(t, ok, "%s executed a tier-2 action without an approval", inv.AlertID)
			assert.Equal(t, string(response.OutcomeGranted), a.Outcome, "%s", inv.AlertID)
		}
	}
}

func investigationOf(t *testing.T, res Result, id string) InvestigationOutcome {
	t.Helper()
	for _, inv := range res.Investigations {
		if inv.InvestigationID == id {
			return inv
		}
	}
	t.Fatalf("no investigation %s", id)
	return InvestigationOutcome{}
}

// -approve: a person at the terminal answers; end of input waits for the
// timeout.
func TestTerminalReviewer(t *testing.T) {
	var prompts strings.Builder
	tr := NewTerminalReviewer(strings.NewReader("maybe\nd\ng\n"), &prompts, "terminal:bob", response.RoleAdmin)
	a := response.Approval{ApprovalID: "apv-1", TenantID: TenantAcme, AlertID: "x", Severity: "high",
		PendingActions: []response.Action{{Action: "isolate_host", Target: "h", Tier: 2}}}
	d, ok, err := tr.RequestApproval(context.Background(), a)
	require.NoError(t, err)
	require.True(t, ok)
	assert.Equal(t, response.VerdictDeny, d.Verdict)
	assert.Equal(t, "terminal:bob", d.Approver)
	assert.Equal(t, taxonomy.ChannelUI, d.Channel)
	assert.Contains(t, prompts.String(), "please answer g, d or w")
	d, ok, _ = tr.RequestApproval(context.Background(), a)
	require.True(t, ok)
	assert.Equal(t, response.VerdictApprove, d.Verdict)
	_, ok, err = tr.RequestApproval(context.Background(), a)
	require.NoError(t, err)
	assert.False(t, ok, "end of input leaves the gate open")
	assert.Contains(t, prompts.String(), "isolate_host h (tier 2)")
}

func TestForServiceStampsAndKeepsNil(t *testing.T) {
	assert.Nil(t, ForService(nil, "x"))
	rec := audit.NewRecorder()
	em, err := audit.New(rec, audit.WithLinger(0))
	require.NoError(t, err)
	p := ForService(em, "router")
	ev := audit.Event{TenantID: "t", Type: taxonomy.AlertClassified, ActorType: taxonomy.ActorSystem, ActorID: "a"}
	_, ok := p.Emit(ev)
	require.True(t, ok)
	ev.SourceService = "own"
	_, ok = p.Emit(ev)
	require.True(t, ok)
	require.NoError(t, em.Close(context.Background()))
	rs := rec.Records()
	require.Len(t, rs, 2)
	assert.Equal(t, "router", rs[0].SourceService)
	assert.Equal(t, "own", rs[1].SourceService)
}

// -llm openai: the same story against an OpenAI-compatible server (here a
// local fake that answers like the analyst persona), reached through
// OPENAI_BASE_URL; every call goes through the gateway to it.
func TestOpenAICompatibleProvider(t *testing.T) {
	var calls atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			Model    string `json:"model"`
			Messages []struct{ Role, Content string }
		}
		if r.URL.Path != "/v1/chat/completions" || json.NewDecoder(r.Body).Decode(&req) != nil || len(req.Messages) < 2 {
			http.Error(w, `{"error":{"message":"bad request","type":"invalid_request_error"}}`, http.StatusBadRequest)
			return
		}
		calls.Add(1)
		system, user := req.Messages[0].Content, req.Messages[len(req.Messages)-1].Content
		answer := analystVerdict(user)
		if strings.Contains(system, iocMarker) {
			answer = analystIOCs(user)
		}
		_ = json.NewEncoder(w).Encode(map[string]any{"id": "chatcmpl-1", "model": req.Model,
			"choices": []any{map[string]any{"index": 0, "finish_reason": "stop",
				"message": map[string]any{"role": "assistant", "content": answer}}},
			"usage": map[string]any{"prompt_tokens": 900, "completion_tokens": 120}})
	}))
	defer srv.Close()
	env := map[string]string{EnvOpenAIBase: srv.URL + "/v1", EnvOpenAIKey: "test-key"}
	res, rec := runWithRecorder(t, Config{LLM: LLMOpenAI, Getenv: func(k string) string { return env[k] }})
	assert.Positive(t, calls.Load())
	states := map[string]string{}
	for _, inv := range res.Investigations {
		states[inv.AlertID] = inv.State
	}
	assert.Equal(t, "closed", states["sentinel-7f3a9c21"])
	assert.Equal(t, "awaiting_human", states["defender-da637292"])
	var models []string
	for _, r := range rec.ByType(taxonomy.RoutingTierSelected) {
		if r.SourceService == "gateway" {
			models = append(models, fmt.Sprint(r.Context[audit.KeyLLMProvider]))
		}
	}
	require.NotEmpty(t, models)
	for _, m := range models {
		assert.Equal(t, "openai", m)
	}

	_, err := Run(context.Background(), Config{LLM: LLMOpenAI, Getenv: func(string) string { return "" }})
	assert.ErrorIs(t, err, ErrMissingAPIKey)
	_, err = Run(context.Background(), Config{LLM: "llama"})
	assert.Error(t, err)
}
