package autonomy

import (
	"testing"

	"github.com/socwarden/warden/entityparser"
	"github.com/socwarden/warden/orchestrator"
)

// FuzzMatch: arbitrary patterns (including ones RE2 rejects, look-arounds
// and malformed CIDRs) and values never panic, and the confidence stays in
// [0, 1].
func FuzzMatch(f *testing.F) {
	f.Add(".*Exchange.*", "Exchange Unusual", `foo(?=bar)`, "10.0.0.0/8", "10.0.1.50")
	f.Add("[invalid", "x", "(?<=a)b", "not_a_cidr", "::ffff:10.0.0.1")
	f.Add("", "", "", "2001:db8::/32", "2001:db8::1%eth0")
	f.Fuzz(func(t *testing.T, titleRe, title, valueRe, cidr, value string) {
		p := FPPattern{PatternID: "p", TenantID: "t", AlertNameRegex: titleRe, Status: StatusActive,
			ApprovedBy1: "a", ApprovedBy2: "b",
			EntityPatterns: []EntityPattern{{Type: "account", ValueRegex: valueRe}, {Type: "ip", ValueCIDR: cidr}}}
		f, err := NewFPShortCircuit(&listStore{ps: []FPPattern{p}})
		if err != nil {
			t.Fatal(err)
		}
		ents := &entityparser.Entities{Accounts: []entityparser.Entity{{PrimaryValue: value}}, IPs: []entityparser.Entity{{PrimaryValue: value}}}
		c := f.Score(p, title, ents)
		if c < 0 || c > 1 {
			t.Fatalf("confidence %v", c)
		}
		m, err := f.CheckFP(bg, orchestrator.FPQuery{TenantID: "t", Title: title, Entities: ents})
		if err != nil {
			t.Fatal(err)
		}
		if m.Matched && m.Confidence < DefaultThreshold {
			t.Fatalf("matched below the floor: %+v", m)
		}
		_ = InCIDR(value, cidr)
		_ = MatchRegex(valueRe, value)
		_ = p.Validate()
	})
}
