package orchestrator

import (
	"context"
	"slices"
	"time"

	"github.com/socwarden/warden/response"
)

// ResponseService is the part of *response.Responder the graph uses. The
// orchestrator imports response for its types only; a host passes its
// responder to NewResponseAdapter.
type ResponseService interface {
	Respond(ctx context.Context, c response.Case) (response.Report, error)
	RequiresApproval(ctx context.Context, c response.Case) (bool, []string, error)
	Open(ctx context.Context, c response.Case, reasons []string) (response.Approval, error)
	Resolve(ctx context.Context, c response.Case, d response.Decision) (response.Outcome, response.Approval, error)
	Expire(ctx context.Context, now time.Time) ([]response.ExpiredApproval, error)
}

// ResponseAdapter makes a response service the graph's Responder,
// ActionPolicy and ApprovalGate: it builds the response Case from the
// investigation and copies results back.
type ResponseAdapter struct {
	svc ResponseService
}

var (
	_ Responder    = (*ResponseAdapter)(nil)
	_ ActionPolicy = (*ResponseAdapter)(nil)
	_ ApprovalGate = (*ResponseAdapter)(nil)
)

// NewResponseAdapter wraps svc (normally a *response.Responder).
func NewResponseAdapter(svc ResponseService) (*ResponseAdapter, error) {
	if svc == nil {
		return nil, &ConfigError{Option: "svc", Reason: "nil response service"}
	}
	return &ResponseAdapter{svc: svc}, nil
}

// CaseOf is the response package's view of inv: its actions, verdict,
// asset zones (from CTEM exposures), ATT&CK context, approval id and the
// results already recorded (executed actions are skipped on a resume).
func CaseOf(inv *Investigation) response.Case {
	c := response.Case{
		InvestigationID: inv.InvestigationID, TenantID: inv.TenantID, AlertID: inv.AlertID, Severity: inv.Severity,
		Classification: inv.Classification, Confidence: finite(inv.Confidence),
		Actions: slices.Clone(inv.RecommendedActions), Tactics: slices.Clone(inv.Tactics),
		ApprovalID: inv.ApprovalID, Results: slices.Clone(inv.ActionResults),
	}
	for _, t := range slices.Concat(inv.Techniques, inv.AttackTechniques) {
		if !slices.Contains(c.Techniques, t) {
			c.Techniques = append(c.Techniques, t)
		}
	}
	for _, e := range inv.CTEMExposures {
		if e.AssetID != "" && e.AssetZone != "" {
			c.AssetZones = append(c.AssetZones, response.AssetZone{AssetID: e.AssetID, Zone: e.AssetZone})
		}
	}
	return c
}

// Respond runs the responder and appends its results, playbook
// suggestions and query count to inv. On an error the partial results are
// still recorded.
func (a *ResponseAdapter) Respond(ctx context.Context, inv *Investigation) error {
	rep, err := a.svc.Respond(ctx, CaseOf(inv))
	inv.ActionResults = append(inv.ActionResults, rep.Results...)
	if len(rep.Playbooks) > 0 {
		inv.PlaybookMatches = rep.Playbooks
	}
	inv.QueriesExecuted += rep.QueriesExecuted
	return err
}

// RequiresApproval applies the catalogue and zone floors.
func (a *ResponseAdapter) RequiresApproval(ctx context.Context, inv *Investigation) (bool, []string, error) {
	return a.svc.RequiresApproval(ctx, CaseOf(inv))
}

// Open opens the approval and records its id on inv; a reviewer policy that
// decided at once is reported as that outcome.
func (a *ResponseAdapter) Open(ctx context.Context, inv *Investigation, reasons []string) (ApprovalOutcome, error) {
	ap, err := a.svc.Open(ctx, CaseOf(inv), reasons)
	if err != nil {
		return "", err
	}
	inv.ApprovalID = ap.ApprovalID
	return ap.Outcome(), nil
}

// Resolve applies a human decision to the investigation's approval.
func (a *ResponseAdapter) Resolve(ctx context.Context, inv *Investigation, d HumanDecision) (ApprovalOutcome, error) {
	out, ap, err := a.svc.Resolve(ctx, CaseOf(inv), d)
	if ap.ApprovalID != "" && inv.ApprovalID == "" {
		// Resolve opened the approval implicitly (the pause's Open failed).
		inv.ApprovalID = ap.ApprovalID
	}
	return out, err
}

// Expire sweeps due approvals.
func (a *ResponseAdapter) Expire(ctx context.Context, now time.Time) ([]ExpiredApproval, error) {
	return a.svc.Expire(ctx, now)
}
