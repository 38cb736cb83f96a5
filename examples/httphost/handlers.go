package main

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/socwarden/warden/audit/chain"
	"github.com/socwarden/warden/entityparser"
	"github.com/socwarden/warden/examples/socpipeline/pipeline"
	"github.com/socwarden/warden/orchestrator"
	"github.com/socwarden/warden/response"
	"github.com/socwarden/warden/taxonomy"
)

// investigationView is what the API returns for an investigation: its
// outcome and what a reviewer needs, without the enrichment internals.
type investigationView struct {
	InvestigationID    string                  `json:"investigation_id"`
	AlertID            string                  `json:"alert_id"`
	TenantID           string                  `json:"tenant_id"`
	Title              string                  `json:"title,omitempty"`
	State              orchestrator.State      `json:"state"`
	Classification     string                  `json:"classification"`
	Confidence         float64                 `json:"confidence"`
	Severity           string                  `json:"severity"`
	RecommendedActions []response.Action       `json:"recommended_actions"`
	ActionResults      []response.ActionResult `json:"action_results"`
	EscalationReasons  []string                `json:"escalation_reasons"`
	Approval           *approvalSummary        `json:"approval,omitempty"`
	LLMCalls           int                     `json:"llm_calls"`
	TotalCostUSD       float64                 `json:"total_cost_usd"`
	CreatedAt          time.Time               `json:"created_at"`
	UpdatedAt          time.Time               `json:"updated_at"`
}

type approvalSummary struct {
	ApprovalID   string                 `json:"approval_id"`
	State        response.ApprovalState `json:"state"`
	Outcome      response.Outcome       `json:"outcome"`
	RequiredRole response.Role          `json:"required_role"`
	Deadline     time.Time              `json:"approval_deadline"`
	DecidedBy    string                 `json:"decided_by,omitempty"`
	Pending      []response.Action      `json:"pending_actions"`
}

func (s *server) view(ctx context.Context, inv *orchestrator.Investigation) investigationView {
	v := investigationView{InvestigationID: inv.InvestigationID, AlertID: inv.AlertID, TenantID: inv.TenantID,
		Title: inv.Title, State: inv.State, Classification: inv.Classification, Confidence: inv.Confidence,
		Severity: inv.Severity, RecommendedActions: nonNil(inv.RecommendedActions), ActionResults: nonNil(inv.ActionResults),
		EscalationReasons: nonNil(inv.EscalationReasons), LLMCalls: inv.LLMCalls, TotalCostUSD: inv.TotalCostUSD,
		CreatedAt: inv.CreatedAt, UpdatedAt: inv.UpdatedAt}
	if inv.ApprovalID != "" {
		if a, ok, err := s.h.svc.Responder.Approval(ctx, inv.ApprovalID); err == nil && ok {
			v.Approval = &approvalSummary{ApprovalID: a.ApprovalID, State: a.State, Outcome: a.Outcome(),
				RequiredRole: a.RequiredRole, Deadline: a.Deadline, DecidedBy: a.DecidedBy, Pending: nonNil(a.PendingActions)}
		}
	}
	return v
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// postAlert handles POST /v1/alerts?source=...: the raw SIEM alert runs
// through the whole pipeline and the investigation comes back (201), closed
// or awaiting a human.
func (s *server) postAlert(w http.ResponseWriter, r *http.Request) {
	source := r.URL.Query().Get("source")
	if !slices.Contains(entityparser.Sources(), source) {
		writeError(w, http.StatusBadRequest, "unknown_source",
			"source must be one of "+strings.Join(entityparser.Sources(), ", "))
		return
	}
	body, ok := s.readBody(w, r)
	if !ok {
		return
	}
	if !json.Valid(body) {
		writeError(w, http.StatusBadRequest, "invalid_json", "the body is not valid JSON")
		return
	}
	// Bound the investigations in flight; a client that gives up while
	// waiting frees its place in the queue.
	select {
	case s.slots <- struct{}{}:
		defer func() { <-s.slots }()
	case <-r.Context().Done():
		writeError(w, http.StatusServiceUnavailable, "busy", "request ended while waiting for capacity")
		return
	}
	ctx := r.Context()
	alert, err := s.h.svc.Prepare(ctx, source, body)
	switch {
	case errors.Is(err, pipeline.ErrDropped):
		writeJSON(w, http.StatusAccepted, map[string]any{"dropped": true, "reason": err.Error()})
		return
	case errors.Is(err, entityparser.ErrInvalidAlert), errors.Is(err, entityparser.ErrUnknownSource):
		writeError(w, http.StatusUnprocessableEntity, "invalid_alert", err.Error())
		return
	case err != nil:
		s.logger.Error("httphost: prepare alert", "err", err)
		writeError(w, http.StatusInternalServerError, "internal", "the alert could not be processed")
		return
	}
	p := principalOf(r)
	if !p.mayActFor(alert.TenantID) {
		writeError(w, http.StatusForbidden, "forbidden", "not allowed to submit alerts for tenant "+alert.TenantID)
		return
	}
	inv, err := s.h.svc.Investigate(ctx, alert)
	switch {
	case errors.Is(err, orchestrator.ErrMissingTenant), errors.Is(err, orchestrator.ErrInvalidAlert):
		writeError(w, http.StatusUnprocessableEntity, "invalid_alert", err.Error())
		return
	case errors.Is(err, orchestrator.ErrPassthrough):
		// Passthrough degradation: the alert goes to a human; there is no
		// investigation to return.
		writeError(w, http.StatusServiceUnavailable, "passthrough", err.Error())
		return
	case err != nil && inv == nil:
		s.logger.Error("httphost: investigate", "alert_id", alert.AlertID, "err", err)
		writeError(w, http.StatusInternalServerError, "internal", "the investigation could not be run")
		return
	}
	w.Header().Set("Location", "/v1/investigations/"+inv.InvestigationID)
	writeJSON(w, http.StatusCreated, s.view(ctx, inv))
}

// getInvestigation handles GET /v1/investigations/{id}.
func (s *server) getInvestigation(w http.ResponseWriter, r *http.Request) {
	inv, err := s.h.svc.Repo.Load(r.Context(), r.PathValue("id"))
	switch {
	case errors.Is(err, orchestrator.ErrNotFound):
		writeError(w, http.StatusNotFound, "not_found", "no such investigation")
		return
	case err != nil:
		s.logger.Error("httphost: load investigation", "err", err)
		writeError(w, http.StatusServiceUnavailable, "unavailable", "investigation store unavailable")
		return
	}
	if !principalOf(r).mayActFor(inv.TenantID) {
		writeError(w, http.StatusForbidden, "forbidden", "not allowed to read this tenant's investigations")
		return
	}
	writeJSON(w, http.StatusOK, s.view(r.Context(), inv))
}

// decisionBody is the optional body of a grant or deny. Who decides is the
// token's principal; a body naming an approver or role is refused by the
// strict decoder rather than ignored, so nobody is misled into thinking it
// counts.
type decisionBody struct {
	Comment string `json:"comment"`
}

// decide handles POST /v1/approvals/{id}/grant|deny: the decision goes
// through the investigation (Graph.Resume), so a grant executes the
// approved actions and a deny closes the investigation.
func (s *server) decide(w http.ResponseWriter, r *http.Request) {
	var verdict response.Verdict
	switch r.PathValue("verdict") {
	case "grant":
		verdict = response.VerdictApprove
	case "deny":
		verdict = response.VerdictDeny
	default:
		writeError(w, http.StatusNotFound, "not_found", "use /grant or /deny")
		return
	}
	body, ok := s.readBody(w, r)
	if !ok {
		return
	}
	var db decisionBody
	if len(strings.TrimSpace(string(body))) > 0 {
		dec := json.NewDecoder(strings.NewReader(string(body)))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&db); err != nil {
			writeError(w, http.StatusBadRequest, "invalid_json", `the body must be {"comment": "..."}: `+err.Error())
			return
		}
	}
	ctx := r.Context()
	p := principalOf(r)
	a, found, err := s.h.svc.Responder.Approval(ctx, r.PathValue("id"))
	switch {
	case err != nil:
		s.logger.Error("httphost: approval lookup", "err", err)
		writeError(w, http.StatusServiceUnavailable, "unavailable", "approval store unavailable")
		return
	case !found:
		writeError(w, http.StatusNotFound, "not_found", "no such approval")
		return
	case !p.mayActFor(a.TenantID):
		writeError(w, http.StatusForbidden, "forbidden", "not allowed to act for this approval's tenant")
		return
	}
	inv, err := s.h.svc.Graph.Resume(ctx, a.InvestigationID, response.Decision{Verdict: verdict, Approver: p.Subject,
		Role: p.Role, Channel: taxonomy.ChannelAPI, Comment: db.Comment})
	switch {
	case errors.Is(err, response.ErrInsufficientRole):
		writeError(w, http.StatusForbidden, "forbidden", err.Error())
	case errors.Is(err, response.ErrApprovalClosed), errors.Is(err, orchestrator.ErrNotAwaitingHuman):
		writeError(w, http.StatusConflict, "already_decided", "the approval was already decided or timed out")
	case err != nil && inv == nil:
		s.logger.Error("httphost: resume", "approval_id", a.ApprovalID, "err", err)
		writeError(w, http.StatusServiceUnavailable, "unavailable", "the decision could not be recorded")
	case err != nil:
		s.logger.Error("httphost: resume", "approval_id", a.ApprovalID, "err", err)
		writeError(w, http.StatusServiceUnavailable, "unavailable", "the decision could not be applied")
	default:
		writeJSON(w, http.StatusOK, s.view(ctx, inv))
	}
}

// verifyView is the answer of the verify endpoint.
type verifyView struct {
	TenantID string `json:"tenant_id"`
	chain.Result
	// Records is the number of the tenant's chained records (genesis
	// included).
	Records int `json:"records"`
	// CheckpointKey names the key the checkpoints were verified with.
	CheckpointKey string `json:"checkpoint_key_id"`
}

// verify handles GET /v1/audit/verify?tenant=...: everything emitted before
// the request is flushed to audit.events, chained, read back from
// audit.records and verified from the tenant's genesis, with its signed
// checkpoints.
func (s *server) verify(w http.ResponseWriter, r *http.Request) {
	tenant := r.URL.Query().Get("tenant")
	if tenant == "" {
		writeError(w, http.StatusBadRequest, "missing_tenant", "the tenant query parameter is required")
		return
	}
	if !principalOf(r).mayActFor(tenant) {
		writeError(w, http.StatusForbidden, "forbidden", "not allowed to read this tenant's audit trail")
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), verifyWait)
	defer cancel()
	if err := s.h.emitter.Flush(ctx); err != nil {
		writeError(w, http.StatusServiceUnavailable, "unavailable", "the audit trail could not be flushed: "+err.Error())
		return
	}
	if err := s.h.chain.WaitCaughtUp(ctx); err != nil {
		writeError(w, http.StatusServiceUnavailable, "unavailable", "the chain did not catch up: "+err.Error())
		return
	}
	rep, err := pipeline.VerifyTrail(ctx, s.h.kafka, nil, tenant, s.h.chain.PublicKey())
	if err != nil {
		writeError(w, http.StatusServiceUnavailable, "unavailable", "the audit records could not be read: "+err.Error())
		return
	}
	v := verifyView{TenantID: tenant, Records: rep.RecordsByTenant[tenant], CheckpointKey: chain.KeyID(s.h.chain.PublicKey())}
	for _, t := range rep.Tenants {
		if t.TenantID == tenant {
			v.Result = t.Result
		}
	}
	if v.Records == 0 {
		writeError(w, http.StatusNotFound, "not_found", "no audit records for this tenant")
		return
	}
	writeJSON(w, http.StatusOK, v)
}
