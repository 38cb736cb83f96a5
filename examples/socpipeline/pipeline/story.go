package pipeline

import (
	"context"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strings"
	"time"

	"github.com/socwarden/warden/orchestrator"
	"github.com/socwarden/warden/orchestrator/autonomy"
	"github.com/socwarden/warden/response"
)

// Run builds the services and runs the story once: set-up (tenants go live,
// an approved FP pattern), CTEM ingest, ATLAS run, the sample alerts through
// triage, investigation and response with the approval gate, approval
// timeouts on the injected clock.
func Run(ctx context.Context, cfg Config) (Result, error) {
	svc, err := NewServices(cfg)
	if err != nil {
		return Result{}, err
	}
	st := &story{svc: svc}
	for _, stage := range []struct {
		title string
		fn    func(context.Context) error
	}{
		{"set-up: tenants go live (shadow mode off), an approved FP pattern", st.setup},
		{"CTEM: scanner findings scored, stored and assigned", st.ctemStage},
		{"ATLAS: detection rules over AI-system telemetry", st.atlasStage},
		{"alerts: entityparser → orchestrator (gateway + router) → response", st.alertStage},
		{"approval windows run out on the injected clock", st.timeoutStage},
		{"batch: one cycle with the offline batch provider", st.batchStage},
	} {
		svc.say("== %s", stage.title)
		if err := stage.fn(ctx); err != nil {
			return st.res, fmt.Errorf("%s: %w", stage.title, err)
		}
	}
	if err := st.collect(ctx); err != nil {
		return st.res, err
	}
	return st.res, nil
}

// story is one run of the demo over a Services. Used by one goroutine.
type story struct {
	svc *Services
	res Result
	// invs are the investigation ids in alert order.
	invs []string
}

// say writes one progress line.
func (s *Services) say(format string, args ...any) {
	if s.cfg.Progress != nil {
		fmt.Fprintf(s.cfg.Progress, format+"\n", args...)
	}
}

// GoLiveSigner signs the tenants' go-live in the story.
const GoLiveSigner = "ciso@acme-corp.example"

// The approved FP pattern of the story: the weekly internal vulnerability
// scan from the Qualys scanner host, approved by two analysts.
var scannerPattern = autonomy.FPPattern{
	PatternID: "fp-internal-vuln-scanner", TenantID: TenantAcme, AlertNameRegex: `^Network Port Scan Detected$`,
	EntityPatterns: []autonomy.EntityPattern{{Type: autonomy.EntityHost, ValueRegex: `^vuln-scanner-\d+$`},
		{Type: autonomy.EntityIP, ValueCIDR: "10.20.0.0/24"}},
	ScopeRuleFamily: "Network Port Scan Detected", Confidence: 0.99,
}

func (st *story) setup(ctx context.Context) error {
	s := st.svc
	// New tenants start in shadow mode (decisions logged, nothing acted
	// on). The demo switches it off explicitly, as a go-live sign-off.
	for _, t := range []string{TenantAcme, TenantGlobex} {
		if err := s.Shadow.GoLive(ctx, t, GoLiveSigner, s.Clock.Now().Format(time.DateOnly)); err != nil {
			return err
		}
		s.say("  tenant %-9s shadow mode off (go-live signed off by %s)", t, GoLiveSigner)
	}
	p, err := autonomy.NewCandidate(scannerPattern, s.Clock.Now())
	if err != nil {
		return err
	}
	if err := s.Patterns.Put(ctx, p); err != nil {
		return err
	}
	for _, by := range []string{"alice@acme-corp.example", "bob@acme-corp.example"} {
		if p, err = s.Governance.Approve(ctx, p, by); err != nil {
			return err
		}
	}
	s.say("  FP pattern %s %s (approved by %s and %s)", p.PatternID, p.Status, p.ApprovedBy1, p.ApprovedBy2)
	return nil
}

// sampleAlert is one raw SIEM event of the story.
type sampleAlert struct {
	file, source string
	raw          []byte
}

// sampleAlerts reads samples/alerts/<n>-<source>-<name>.json in order.
func sampleAlerts() ([]sampleAlert, error) {
	ents, err := fs.ReadDir(samples, "samples/alerts")
	if err != nil {
		return nil, err
	}
	var out []sampleAlert
	for _, e := range ents {
		parts := strings.SplitN(e.Name(), "-", 3)
		if len(parts) < 3 {
			return nil, fmt.Errorf("sample %s: want <n>-<source>-<name>.json", e.Name())
		}
		raw, err := samples.ReadFile(path.Join("samples/alerts", e.Name()))
		if err != nil {
			return nil, err
		}
		out = append(out, sampleAlert{file: e.Name(), source: parts[1], raw: raw})
	}
	return out, nil
}

// outageBefore is the alert before which the primary provider goes down for
// outageAttempts attempts: its first call fails twice, which opens the
// breaker, and succeeds on the gateway's third attempt; the rest of the
// investigation fails over to the secondary provider.
const (
	outageBefore   = "03-splunk-brute-force.json"
	outageAttempts = demoFailureTrigger
)

func (st *story) alertStage(ctx context.Context) error {
	s := st.svc
	alerts, err := sampleAlerts()
	if err != nil {
		return err
	}
	if s.outage == nil {
		s.say("  a real model answers (%s): no provider outage is simulated, and verdicts are the model's own", s.cfg.LLM)
	}
	for _, a := range alerts {
		if a.file == outageBefore && s.outage != nil {
			s.outage.fail(outageAttempts)
			s.say("  simulating an outage of the primary LLM provider (%s) for its next %d attempts", s.outage.Provider(), outageAttempts)
		}
		inv, err := s.Ingest(ctx, a.source, a.raw)
		if err != nil {
			return fmt.Errorf("%s: %w", a.file, err)
		}
		st.invs = append(st.invs, inv.InvestigationID)
		st.describe(a, inv)
		if a.file == outageBefore && s.outage != nil {
			// The breaker probes again once its recovery timeout has passed
			// on the injected clock; the next call is the probe.
			now := s.Clock.Advance(demoRecovery + time.Second)
			s.say("  injected clock +%s (now %s): the %s breaker is half-open; the next call probes it",
				demoRecovery+time.Second, now.Format("15:04:05"), s.outage.Provider())
		}
	}
	s.say("  LLM: breaker %s, degradation %s, spend $%.6f this month (soft limit $%.2f reached: %v, refusals %d)",
		s.Health.State("anthropic"), s.Health.DegradationLevel(), s.Spend.Status().MonthlyTotalUSD,
		s.Spend.Status().SoftLimitUSD, s.Spend.Status().SoftLimitReached, s.Spend.Status().Rejections)
	return nil
}

// describe prints one investigation's outcome.
func (st *story) describe(a sampleAlert, inv *orchestrator.Investigation) {
	s := st.svc
	s.say("  %-44s %-9s %-14s %-22s conf %.2f %-8s llm calls %d ($%.6f)", a.file, inv.TenantID, inv.State,
		inv.Classification, inv.Confidence, inv.Severity, inv.LLMCalls, inv.TotalCostUSD)
	for _, r := range inv.ActionResults {
		by := ""
		if r.ApprovedBy != "" {
			by = " approved by " + r.ApprovedBy
		}
		s.say("      action %s %s (tier %d): %s%s", r.Action, r.Target, r.Tier, r.Status, by)
	}
	switch {
	case inv.State == orchestrator.StateFailed:
		for _, e := range slices.Backward(inv.DecisionChain) {
			if e.Error != "" {
				s.say("      failed at %s, escalated to a human: %s", e.Agent, e.Error)
				break
			}
		}
	case inv.State == orchestrator.StateAwaitingHuman:
		a, _, _ := s.Responder.Approval(context.Background(), inv.ApprovalID)
		s.say("      awaiting a human (%s): approval %s of %s, needs %s by %s", strings.Join(inv.EscalationReasons, ", "),
			inv.ApprovalID, pendingList(a), a.RequiredRole, a.Deadline.Format("15:04"))
	case inv.ApprovalID != "":
		if a, ok, _ := s.Responder.Approval(context.Background(), inv.ApprovalID); ok {
			s.say("      approval %s of %s: %s by %s (channel %s)", a.ApprovalID, pendingList(a), a.State, a.DecidedBy, a.DecisionChannel)
		}
	}
}

// approvalSweeps are the injected-clock steps after the alerts: past the
// high window (2 h), then past the re-routed window and the medium one (4 h).
var approvalSweeps = []time.Duration{2*time.Hour + time.Minute, 2*time.Hour + time.Minute}

func (st *story) timeoutStage(ctx context.Context) error {
	s := st.svc
	for _, step := range approvalSweeps {
		now := s.Clock.Advance(step)
		s.say("  injected clock +%s (now %s); no real time passes, and a timeout never executes anything", step, now.Format("15:04"))
		invs, err := s.Graph.ExpireApprovals(ctx)
		if err != nil {
			return err
		}
		for _, inv := range invs {
			a, _, err := s.Responder.Approval(ctx, inv.ApprovalID)
			if err != nil {
				return err
			}
			s.say("      approval %s of %s: %s, now needs %s (escalation level %d) → investigation %s",
				a.ApprovalID, inv.AlertID, a.Outcome(), a.RequiredRole, a.EscalationLevel, inv.State)
		}
	}
	return nil
}

// collect reads the final state of every investigation and approval.
func (st *story) collect(ctx context.Context) error {
	s := st.svc
	for _, id := range st.invs {
		inv, err := s.Repo.Load(ctx, id)
		if err != nil {
			return err
		}
		out := InvestigationOutcome{InvestigationID: inv.InvestigationID, AlertID: inv.AlertID, TenantID: inv.TenantID,
			State: string(inv.State), Classification: inv.Classification, Confidence: inv.Confidence, Severity: inv.Severity,
			Escalations: slices.Clone(inv.EscalationReasons), LLMCalls: inv.LLMCalls, CostUSD: inv.TotalCostUSD}
		for _, a := range inv.RecommendedActions {
			out.RecommendedAction = append(out.RecommendedAction, a.Action+" "+a.Target)
		}
		for _, r := range inv.ActionResults {
			out.Actions = append(out.Actions, ActionOutcome{Action: r.Action, Target: r.Target, Tier: int(r.Tier),
				Status: string(r.Status), ApprovedBy: r.ApprovedBy, Blocked: string(r.ConstraintBlockedType)})
		}
		st.res.Investigations = append(st.res.Investigations, out)
		a, ok, err := s.Responder.ApprovalFor(ctx, id)
		if err != nil {
			return err
		}
		if ok {
			st.res.Approvals = append(st.res.Approvals, approvalOutcome(a))
		}
	}
	return nil
}

// pendingList names an approval's pending actions.
func pendingList(a response.Approval) string {
	var acts []string
	for _, pa := range a.PendingActions {
		acts = append(acts, pa.Action+" "+pa.Target)
	}
	return strings.Join(acts, ", ")
}

func approvalOutcome(a response.Approval) ApprovalOutcome {
	var acts []string
	for _, pa := range a.PendingActions {
		acts = append(acts, pa.Action+" "+pa.Target)
	}
	return ApprovalOutcome{ApprovalID: a.ApprovalID, InvestigationID: a.InvestigationID, TenantID: a.TenantID,
		Severity: a.Severity, Actions: acts, State: string(a.State), Outcome: string(a.Outcome()),
		DecidedBy: a.DecidedBy, RequiredRole: string(a.RequiredRole)}
}
