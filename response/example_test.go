package response_test

import (
	"context"
	"fmt"
	"time"

	"github.com/socwarden/warden/response"
	"github.com/socwarden/warden/taxonomy"
)

// A model recommends isolating a host at tier 0. The catalogue raises it to
// tier 2, so the gate opens and nothing runs until a senior analyst grants
// it; then the action executes once, through the executor port.
func Example() {
	ctx := context.Background()
	now := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	n := 0
	ids := func() string { n++; return fmt.Sprintf("id-%d", n) }

	exec := response.NewDryRunExecutor() // a host plugs its EDR/IdP/firewall executor here
	r, err := response.New(exec, response.WithClock(clock), response.WithIDGenerator(ids))
	if err != nil {
		panic(err)
	}
	c := response.Case{
		InvestigationID: "inv-1", TenantID: "acme", AlertID: "alert-7", Severity: "high",
		Actions: []response.Action{
			{Action: "monitor", Target: "web-01", Tier: 0},
			{Action: "isolate_host", Target: "web-01", Tier: 0}, // the model's tier is only a floor
		},
	}
	gated, reasons, _ := r.RequiresApproval(ctx, c)
	fmt.Println("requires approval:", gated, reasons)

	a, _ := r.Open(ctx, c, reasons)
	fmt.Println("gate:", a.State, a.Severity, a.RequiredRole, "deadline", a.Deadline.Format("15:04"))

	now = now.Add(25 * time.Minute)
	out, _, err := r.Decide(ctx, a.ApprovalID, response.Decision{
		Verdict: response.VerdictApprove, Approver: "alice", Role: response.RoleSeniorAnalyst,
		Channel: taxonomy.ChannelSlack, Comment: "contain"})
	fmt.Println("decision:", out, err)

	c.ApprovalID = a.ApprovalID
	rep, _ := r.Respond(ctx, c)
	for _, res := range rep.Results {
		fmt.Println(res.Action, res.Status, "tier", res.Tier, "approved by", fmt.Sprintf("%q", res.ApprovedBy))
	}
	rep, _ = r.Respond(ctx, c) // a replay executes nothing new
	fmt.Println("executor calls:", len(exec.Requests()), "replayed:", rep.Results[1].Replayed)
	// Output:
	// requires approval: true [destructive_action]
	// gate: awaiting_approval high senior_analyst deadline 12:00
	// decision: granted <nil>
	// monitor executed tier 0 approved by ""
	// isolate_host executed tier 2 approved by "alice"
	// executor calls: 2 replayed: true
}

// The sweeper enforces deadlines with the responder's clock: a critical
// approval gets a reminder at half-time, is re-routed once to an admin at its
// deadline and is then left open — a timeout never executes anything. This
// example injects the clock, so no time really passes.
func ExampleResponder_Expire() {
	ctx := context.Background()
	now := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	r, _ := response.New(response.NewDryRunExecutor(), response.WithClock(func() time.Time { return now }))
	a, _ := r.Open(ctx, response.Case{InvestigationID: "inv-1", TenantID: "acme", Severity: "critical",
		Actions: []response.Action{{Action: "disable_account", Target: "bob"}}}, nil)

	for _, hhmm := range []string{"10:31", "11:00", "11:31", "12:00"} {
		t, _ := time.Parse("15:04", hhmm)
		now = time.Date(2026, 3, 2, t.Hour(), t.Minute(), 0, 0, time.UTC)
		out, _ := r.Sweep(ctx)
		cur, _, _ := r.Approval(ctx, a.ApprovalID)
		fmt.Println(hhmm, len(out), cur.State, cur.RequiredRole, cur.Outcome())
	}
	// Output:
	// 10:31 0 awaiting_approval senior_analyst pending
	// 11:00 1 awaiting_approval admin pending
	// 11:31 0 awaiting_approval admin pending
	// 12:00 1 awaiting_approval admin timed_out_left_open
}

// An approval policy: review-only gates (tier 0/1 actions) are granted by
// the policy; gates with a tier-2 action go to an interactive reviewer — a
// terminal prompt, a chat bot or an HTTP handler calling Decide later.
func ExampleAutoGrantBelow() {
	ctx := context.Background()
	interactive := response.ApproverFunc(func(_ context.Context, a response.Approval) (response.Decision, bool, error) {
		fmt.Println("asking a human about", a.PendingActions[0].Action)
		return response.Decision{}, false, nil // answer arrives later via Decide
	})
	policy := response.AutoGrantBelow(response.TierRequiresApproval,
		response.Decision{Approver: "policy:low-tier", Channel: taxonomy.ChannelAPI}, interactive)
	r, _ := response.New(response.NewDryRunExecutor(), response.WithApprover(policy))

	low, _ := r.Open(ctx, response.Case{InvestigationID: "inv-1", TenantID: "acme", Severity: "critical",
		Actions: []response.Action{{Action: "temporary_block", Target: "10.0.0.9"}}}, []string{"low_confidence_high_severity"})
	high, _ := r.Open(ctx, response.Case{InvestigationID: "inv-2", TenantID: "acme", Severity: "high",
		Actions: []response.Action{{Action: "isolate_host", Target: "db-01"}}}, nil)
	fmt.Println(low.State, low.DecidedBy)
	fmt.Println(high.State)
	// Output:
	// asking a human about isolate_host
	// granted policy:low-tier
	// awaiting_approval
}
