package response

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// nameOracle is the plain-regex statement of a well-formed action name.
var nameOracle = regexp.MustCompile(`^[a-z0-9_.-]{1,128}$`)

// FuzzNormaliseAction: the hand-written check agrees with the regex oracle,
// never panics, and any name it accepts grades without panicking and at
// least at its catalogue floor (unknown names at tier 2).
func FuzzNormaliseAction(f *testing.F) {
	for _, s := range []string{"isolate_host", " Isolate_Host ", "DROP TABLE;", "", "wipe_disk", "execute playbook PB-EVIL",
		"block_ip\x00", "ısolate_host", strings.Repeat("a", 129)} {
		f.Add(s, 0)
	}
	r, err := New(NewDryRunExecutor())
	if err != nil {
		f.Fatal(err)
	}
	cat := DefaultCatalogue()
	f.Fuzz(func(t *testing.T, name string, tier int) {
		n, ok := NormaliseAction(name)
		want := strings.ToLower(strings.TrimSpace(name))
		if n != want {
			t.Fatalf("normalised %q to %q, want %q", name, n, want)
		}
		if ok != nameOracle.MatchString(want) {
			t.Fatalf("NormaliseAction(%q) ok=%v, oracle disagrees", name, ok)
		}
		got, _ := r.EffectiveTier(bg, testCase("low"), Action{Action: name, Target: "t", Tier: Tier(tier)})
		if got < TierAuto || got > TierRequiresApproval {
			t.Fatalf("tier %d out of range", got)
		}
		spec, known := cat[n]
		switch {
		case !ok || !known:
			if got != TierRequiresApproval {
				t.Fatalf("%q (known=%v ok=%v) graded %d, want 2", name, known, ok, got)
			}
		case got < spec.Floor:
			t.Fatalf("%q graded %d below its floor %d", name, got, spec.Floor)
		}
	})
}

// FuzzFileApprovalsReplay: any file content either opens (and the store then
// works) or is rejected with an error — never a panic, never a record
// without an id.
func FuzzFileApprovalsReplay(f *testing.F) {
	f.Add([]byte(`{"approval_id":"a1","investigation_id":"i1","tenant_id":"t","state":"awaiting_approval","version":0}` + "\n"))
	f.Add([]byte(`{"approval_id":"a1","investigation_id":"i1","state":"granted"}` + "\n" + `{"approval_id":"a1","inv`))
	f.Add([]byte("{}\n"))
	f.Add([]byte("\n\n"))
	f.Add([]byte(`{"approval_id":"a1","investigation_id":"i1","pending_actions":[{"action":"x","tier":"2"}]}` + "\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		path := filepath.Join(t.TempDir(), "a.jsonl")
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		s, err := OpenFileApprovals(path)
		if err != nil {
			return
		}
		defer s.Close()
		open, err := s.ListOpen(bg)
		if err != nil {
			t.Fatal(err)
		}
		for _, a := range open {
			if a.ApprovalID == "" || a.InvestigationID == "" {
				t.Fatalf("record without id: %+v", a)
			}
		}
		if err := s.Create(bg, Approval{ApprovalID: "fuzz-new", InvestigationID: "fuzz-inv", State: StateAwaitingApproval}); err != nil {
			t.Fatal(err)
		}
	})
}
