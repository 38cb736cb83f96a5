package pipeline

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"strings"
	"sync"

	"github.com/socwarden/warden/response"
	"github.com/socwarden/warden/taxonomy"
)

// AutoGrantApprover is the identity the approval policy grants review-only
// gates (tier-0/1 actions) under.
const AutoGrantApprover = "policy:auto-grant-low-tier"

// ApprovalPolicy is the demo's approval policy: gates whose actions are all
// tier 0/1 are granted at once by policy; gates holding a tier-2 action go
// to reviewer (response.AutoGrantBelow never grants tier 2 unattended).
func ApprovalPolicy(reviewer response.Approver) response.Approver {
	return response.AutoGrantBelow(response.TierRequiresApproval,
		response.Decision{Approver: AutoGrantApprover, Role: response.RoleSeniorAnalyst, Channel: taxonomy.ChannelAPI}, reviewer)
}

// NoReviewer leaves every tier-2 gate open for a decision that arrives
// later, through Graph.Resume (an HTTP handler, a chat callback) or the
// timeout sweep.
var NoReviewer response.Approver = response.ApproverFunc(func(context.Context, response.Approval) (response.Decision, bool, error) {
	return response.Decision{}, false, nil
})

// ScriptedReviewer plays the story's human reviewer when nobody is at the
// terminal: it answers each gate by the alert it belongs to. An alert with
// no entry is left open, so its approval window runs out on the injected
// clock.
type ScriptedReviewer struct {
	Approver string
	Role     response.Role
	// Verdicts by alert id.
	Verdicts map[string]response.Verdict
}

var _ response.Approver = ScriptedReviewer{}

// RequestApproval implements response.Approver.
func (s ScriptedReviewer) RequestApproval(_ context.Context, a response.Approval) (response.Decision, bool, error) {
	v, ok := s.Verdicts[a.AlertID]
	if !ok || v == response.VerdictTimeout {
		return response.Decision{}, false, nil
	}
	return response.Decision{Verdict: v, Approver: s.Approver, Role: s.Role, Channel: taxonomy.ChannelAPI,
		Comment: "scripted reviewer (run with -approve to decide yourself)"}, true, nil
}

// TerminalReviewer asks a person at the terminal about each gate:
// g(rant), d(eny) or w(ait) — waiting leaves the gate open until its window
// runs out on the injected clock. End of input counts as wait.
type TerminalReviewer struct {
	Approver string
	Role     response.Role

	mu  sync.Mutex // serialises prompts; guards in
	in  *bufio.Reader
	out io.Writer
}

var _ response.Approver = (*TerminalReviewer)(nil)

// NewTerminalReviewer returns a reviewer reading answers from in and writing
// prompts to out, deciding as approver with role.
func NewTerminalReviewer(in io.Reader, out io.Writer, approver string, role response.Role) *TerminalReviewer {
	return &TerminalReviewer{Approver: approver, Role: role, in: bufio.NewReader(in), out: out}
}

// RequestApproval implements response.Approver.
func (t *TerminalReviewer) RequestApproval(ctx context.Context, a response.Approval) (response.Decision, bool, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	var acts []string
	for _, pa := range a.PendingActions {
		acts = append(acts, fmt.Sprintf("%s %s (tier %d)", pa.Action, pa.Target, pa.Tier))
	}
	for {
		fmt.Fprintf(t.out, "\nAPPROVAL %s  tenant %s  alert %s  severity %s  needs %s\n  actions: %s\n  reasons: %s\n  deadline %s (injected clock)\n[g]rant, [d]eny or [w]ait for the timeout? ",
			a.ApprovalID, a.TenantID, a.AlertID, a.Severity, a.RequiredRole, strings.Join(acts, "; "),
			strings.Join(a.Reasons, ", "), a.Deadline.Format("2006-01-02 15:04 MST"))
		line, err := t.in.ReadString('\n')
		if err := ctx.Err(); err != nil {
			return response.Decision{}, false, err
		}
		switch strings.ToLower(strings.TrimSpace(line)) {
		case "g", "grant", "y", "yes":
			return response.Decision{Verdict: response.VerdictApprove, Approver: t.Approver, Role: t.Role, Channel: taxonomy.ChannelUI}, true, nil
		case "d", "deny", "n", "no":
			return response.Decision{Verdict: response.VerdictDeny, Approver: t.Approver, Role: t.Role, Channel: taxonomy.ChannelUI}, true, nil
		case "w", "wait":
			return response.Decision{}, false, nil
		}
		if err != nil { // end of input: nobody is there to answer
			fmt.Fprintln(t.out, "(no answer: waiting for the timeout on the injected clock)")
			return response.Decision{}, false, nil
		}
		fmt.Fprintln(t.out, "please answer g, d or w")
	}
}

// The story's reviewer when nobody is at the terminal.
const (
	ScriptedApprover = "alice@acme-corp.example"
	ScriptedRole     = response.RoleSeniorAnalyst
)

// storyVerdicts are the scripted reviewer's answers, by alert id: two
// grants, one deny; the other gates are left to time out.
var storyVerdicts = map[string]response.Verdict{
	"sentinel-7f3a9c21":      response.VerdictApprove,
	"splunk-1772443800.4412": response.VerdictDeny,
	"crowdstrike-ldt-a7f0":   response.VerdictApprove,
}
