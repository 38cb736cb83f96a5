package autonomy_test

import (
	"context"
	"fmt"
	"time"

	"github.com/socwarden/warden/entityparser"
	"github.com/socwarden/warden/orchestrator"
	"github.com/socwarden/warden/orchestrator/autonomy"
)

// A generated pattern becomes usable only after two different people
// approve it; the short-circuit then closes matching alerts of the tenant.
func Example() {
	ctx := context.Background()
	now := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	store := autonomy.NewMemoryFPPatterns()

	// What batch does: a candidate into the store.
	cand, _ := autonomy.NewCandidate(autonomy.FPPattern{PatternID: "fp-scan", TenantID: "acme",
		AlertNameRegex: `Vulnerability scanner`, EntityPatterns: []autonomy.EntityPattern{{Type: "ip", ValueCIDR: "10.20.0.0/16"}}}, now)
	_ = store.Put(ctx, cand)

	fp, _ := autonomy.NewFPShortCircuit(store, autonomy.WithClock(clock))
	q := orchestrator.FPQuery{TenantID: "acme", Title: "Vulnerability scanner activity",
		Entities: &entityparser.Entities{IPs: []entityparser.Entity{{PrimaryValue: "10.20.3.4"}}}}
	m, _ := fp.CheckFP(ctx, q)
	fmt.Println("before approval:", m.Matched)

	gov, _ := autonomy.NewGovernance(store, nil, nil, autonomy.WithClock(clock))
	_, _ = gov.Approve(ctx, cand, "alice")
	_, err := gov.Approve(ctx, cand, "alice")
	fmt.Println("same person twice:", err != nil)
	p, _ := gov.Approve(ctx, cand, "bob")
	fmt.Println(p.Status, "until", p.ExpiryDate.Format("2006-01-02"))

	m, _ = fp.CheckFP(ctx, q)
	fmt.Println("after approval:", m.Matched, m.PatternID, m.Confidence)
	// Output:
	// before approval: false
	// same person twice: true
	// approved until 2026-05-31
	// after approval: true fp-scan 1
}
