package mitre

import (
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/socwarden/warden/internal/mitre/internal/mitregen"
)

// The committed extracts are pinned: an edited copy would silently change
// what "exists". Hashes as in testdata/NOTICE.
func TestTestdataPinned(t *testing.T) {
	want := map[string]string{
		"atlas_v5.6.0_ids.json":                   "f0532a052e9dcd05fe731b7e3e47aadbfd43243823f2e6e23e6d0b2a21ce651d",
		"atlas_v5.6.0_techniques.csv":             "824b6e93b5d365de58572f7a835194113dc648380ea7d6903056d0f5891c8dfe",
		"attack_enterprise_v18.1_techniques.json": "ecac856732ea4f24f132a448a3c14ecd22619b086f34166e02ebee040f73b705",
		"attack_enterprise_v18.1_techniques.csv":  "0a94f895485607d60023e8ff8829517b92b9b4ea4cfdfe9f27071745980c6728",
	}
	for name, sum := range want {
		b, err := os.ReadFile(filepath.Join("testdata", name))
		require.NoError(t, err)
		got := sha256.Sum256(b)
		assert.Equal(t, sum, hex.EncodeToString(got[:]), name)
	}
}

// Regenerating from the committed extracts reproduces zz_generated.go byte for
// byte: nobody edited the generated table by hand and it is not stale.
func TestGeneratedFileIsUpToDate(t *testing.T) {
	attack, err := os.ReadFile("testdata/attack_enterprise_v18.1_techniques.json")
	require.NoError(t, err)
	atlas, err := os.ReadFile("testdata/atlas_v5.6.0_ids.json")
	require.NoError(t, err)
	src, err := mitregen.Generate(mitregen.Input{
		ATTACKJSON: attack, ATLASJSON: atlas,
		ATTACKVersion: ATTACKVersion, ATLASVersion: ATLASVersion,
		Command: mitregen.DefaultCommand,
	})
	require.NoError(t, err)
	committed, err := os.ReadFile("zz_generated.go")
	require.NoError(t, err)
	require.True(t, string(src) == string(committed), "zz_generated.go is stale: run go generate ./internal/mitre")
	assert.Regexp(t, `^// Code generated .* DO NOT EDIT\.\n`, string(committed))
}

func TestVersions(t *testing.T) {
	assert.Equal(t, "18.1", ATTACKVersion)
	assert.Equal(t, "5.6.0", ATLASVersion)
}

func readCSV(t *testing.T, name string) []map[string]string {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", name))
	require.NoError(t, err)
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	require.NoError(t, err)
	var rows []map[string]string
	for _, r := range recs[1:] {
		m := map[string]string{}
		for i, h := range recs[0] {
			m[h] = r[i]
		}
		rows = append(rows, m)
	}
	return rows
}

func split(s string) []string {
	if s == "" {
		return nil
	}
	parts := strings.Split(s, ";")
	slices.Sort(parts)
	return parts
}

// The generator reads the JSON extracts; the CSV extracts are independent
// renderings of the same sources, so checking every CSV row against the table
// catches a generator that drops, renames or mis-flags a technique.
func TestTableMatchesATTACKCSV(t *testing.T) {
	rows := readCSV(t, "attack_enterprise_v18.1_techniques.csv")
	require.Len(t, rows, 835)
	active, activeSubs := 0, 0
	for _, r := range rows {
		tech, ok := Lookup(r["id"])
		require.True(t, ok, r["id"])
		assert.Equal(t, ATTACK, tech.Framework, r["id"])
		assert.Equal(t, r["name"], tech.Name, r["id"])
		assert.Equal(t, r["parent"], tech.Parent, r["id"])
		assert.Equal(t, r["is_subtechnique"] == "true", tech.IsSubtechnique(), r["id"])
		assert.Equal(t, r["deprecated"] == "true", tech.Deprecated, r["id"])
		assert.Equal(t, r["revoked"] == "true", tech.Revoked, r["id"])
		var tactics []string
		for _, tc := range tech.Tactics() {
			tactics = append(tactics, tc.Shortname)
			assert.True(t, tech.HasTactic(tc.Shortname) && tech.HasTactic(tc.ID))
		}
		slices.Sort(tactics)
		assert.Equal(t, split(r["tactics"]), tactics, r["id"])
		assert.Empty(t, tech.Maturity)
		if tech.Active() {
			active++
			if tech.IsSubtechnique() {
				activeSubs++
			}
		}
	}
	assert.Equal(t, 691, active, "PROVENANCE: 691 current techniques")
	assert.Equal(t, 475, activeSubs, "PROVENANCE: 475 current sub-techniques")
}

func TestTableMatchesATLASCSV(t *testing.T) {
	rows := readCSV(t, "atlas_v5.6.0_techniques.csv")
	require.Len(t, rows, 170)
	subs := 0
	for _, r := range rows {
		tech, ok := Lookup(r["id"])
		require.True(t, ok, r["id"])
		assert.Equal(t, ATLAS, tech.Framework, r["id"])
		assert.Equal(t, r["name"], tech.Name, r["id"])
		assert.Equal(t, r["subtechnique_of"], tech.Parent, r["id"])
		assert.Equal(t, r["attack_reference"], tech.ATTACKReference, r["id"])
		assert.Equal(t, r["maturity"], tech.Maturity, r["id"])
		assert.True(t, tech.Active(), r["id"])
		var ids, names []string
		for _, tc := range tech.Tactics() {
			ids = append(ids, tc.ID)
			names = append(names, tc.Name)
		}
		slices.Sort(ids)
		slices.Sort(names)
		assert.Equal(t, split(r["tactic_ids"]), ids, r["id"])
		assert.Equal(t, split(r["tactic_names"]), names, r["id"])
		if tech.IsSubtechnique() {
			subs++
		}
	}
	assert.Equal(t, 69, subs, "PROVENANCE: 69 sub-techniques")
}

func TestTableShape(t *testing.T) {
	var ids []string
	counts := map[Framework]int{}
	for tech := range All() {
		ids = append(ids, tech.ID)
		counts[tech.Framework]++
		assert.Equal(t, tech.Framework, FrameworkOf(tech.ID), "grammar matches framework: %s", tech.ID)
		if tech.IsSubtechnique() {
			parent, ok := Lookup(tech.Parent)
			require.True(t, ok, tech.ID)
			assert.False(t, parent.IsSubtechnique())
			assert.True(t, strings.HasPrefix(tech.ID, tech.Parent+"."))
		}
		assert.NotEmpty(t, tech.Tactics(), "every technique has a tactic: %s", tech.ID)
	}
	assert.Equal(t, map[Framework]int{ATTACK: 835, ATLAS: 170}, counts)
	assert.True(t, slices.IsSorted(ids), "All yields id order")
	assert.Less(t, len(techniques), 1<<16, "index positions fit uint16")
	assert.Len(t, slices.Compact(slices.Clone(ids)), len(ids), "no duplicates")

	active := ActiveIDs()
	assert.Len(t, active, 691+170)
	assert.True(t, slices.IsSorted(active))
	for _, id := range active {
		assert.True(t, Active(id))
	}
	assert.NotContains(t, active, "T1050") // revoked
	assert.NotContains(t, active, "T1026") // deprecated

	assert.Len(t, TacticsOf(ATTACK), 14)
	assert.Len(t, TacticsOf(ATLAS), 16)
	assert.Nil(t, TacticsOf(0))

	n := 0
	for range All() {
		n++
		if n == 3 {
			break // early stop must not panic
		}
	}
	assert.Equal(t, 3, n)
}

func TestSpotChecks(t *testing.T) {
	ps, ok := Lookup("T1059.001")
	require.True(t, ok)
	assert.Equal(t, "PowerShell", ps.Name)
	assert.Equal(t, "T1059", ps.Parent)
	assert.Equal(t, []Tactic{{ID: "TA0002", Name: "Execution", Shortname: "execution"}}, ps.Tactics())
	assert.True(t, ps.HasTactic("execution"))
	assert.True(t, ps.HasTactic("TA0002"))
	assert.False(t, ps.HasTactic("impact"))
	assert.False(t, ps.HasTactic(""))

	va, _ := Lookup("T1078")
	assert.Equal(t, "Valid Accounts", va.Name)
	assert.Len(t, va.Tactics(), 4)

	rev, ok := Lookup("T1050") // gateway checklist 35: "deprecated T1050" must be quarantined
	require.True(t, ok)
	assert.True(t, rev.Revoked)
	assert.True(t, Known("T1050"))
	assert.False(t, Active("T1050"))

	dep, ok := Lookup("T1026")
	require.True(t, ok)
	assert.True(t, dep.Deprecated)
	assert.False(t, Active("T1026"))

	pi, ok := Lookup("AML.T0051")
	require.True(t, ok)
	assert.Equal(t, "LLM Prompt Injection", pi.Name)
	assert.Equal(t, "realized", pi.Maturity)
	assert.True(t, pi.HasTactic("AML.TA0005"))

	direct, _ := Lookup("AML.T0051.000")
	assert.Equal(t, "Direct", direct.Name)
	assert.Equal(t, pi.Tactics(), direct.Tactics(), "ATLAS sub-technique inherits its parent's tactics")

	jb, _ := Lookup("AML.T0054")
	assert.Equal(t, "LLM Jailbreak", jb.Name)
	ext, _ := Lookup("AML.T0024.002")
	assert.Equal(t, "Extract AI Model", ext.Name)
	search, _ := Lookup("AML.T0000")
	assert.Equal(t, "T1596", search.ATTACKReference)

	// The ids every spec relies on exist and are active.
	for _, id := range []string{"AML.T0020", "AML.T0015", "AML.T0029", "AML.T0010", "AML.T0018", "AML.T0043",
		"AML.T0040", "AML.T0044", "AML.T0035", "AML.T0051", "AML.T0054", "T1565.001", "T1530", "T1499",
		"T1195", "T1195.002", "T1567", "T1199", "T1565.002", "T1566", "T1059.001", "T1078"} {
		assert.True(t, Active(id), id)
	}
	// gateway checklist 35 uses AML.T0099 as an unknown id against a one-id
	// catalog; in ATLAS 5.6.0 it is real, so a full catalog accepts it.
	aat, ok := Lookup("AML.T0099")
	require.True(t, ok)
	assert.Equal(t, "AI Agent Tool Data Poisoning", aat.Name)

	// Ids the gateway spec uses as inventions.
	for _, id := range []string{"T9999", "T9999.001", "T9999.999", "AML.T0051.999", "", "t1059.001", "T1059.1"} {
		assert.False(t, Known(id), id)
		assert.False(t, Active(id), id)
		tech, ok := Lookup(id)
		assert.False(t, ok)
		assert.Equal(t, Technique{}, tech)
		assert.False(t, tech.Active())
	}
}

func TestFrameworkGrammar(t *testing.T) {
	cases := []struct {
		id     string
		attack bool
		atlas  bool
	}{
		{"T1059", true, false},
		{"T1059.001", true, false},
		{"T9999.999", true, false},
		{"AML.T0051", false, true},
		{"AML.T0051.000", false, true},
		{"t1059", false, false},
		{"aml.T0051", false, false},
		{"AML.t0051", false, false},
		{"T105", false, false},
		{"T10590", false, false},
		{"T1059.01", false, false},
		{"T1059.0001", false, false},
		{"T1059.", false, false},
		{"TA0002", false, false},
		{"AML.TA0002", false, false},
		{"AML.T0051.000.1", false, false},
		{" T1059", false, false},
		{"T1059 ", false, false},
		{"T１059", false, false},
		{"", false, false},
		{"AML.", false, false},
		{"T1059x001", false, false},
	}
	for _, tc := range cases {
		assert.Equal(t, tc.attack, IsATTACK(tc.id), "IsATTACK(%q)", tc.id)
		assert.Equal(t, tc.atlas, IsATLAS(tc.id), "IsATLAS(%q)", tc.id)
		want := Framework(0)
		if tc.attack {
			want = ATTACK
		} else if tc.atlas {
			want = ATLAS
		}
		assert.Equal(t, want, FrameworkOf(tc.id), tc.id)
	}
	assert.Equal(t, "ATT&CK", ATTACK.String())
	assert.Equal(t, "ATLAS", ATLAS.String())
	assert.Equal(t, "Framework(0)", Framework(0).String())
}

func TestNormalize(t *testing.T) {
	ok := map[string]string{
		"T1059.001":         "T1059.001",
		"t1059.001":         "T1059.001",
		"  T1059 ":          "T1059",
		"\tt1566\n":         "T1566",
		"aml.t0051":         "AML.T0051",
		"Aml.T0051.000":     "AML.T0051.000",
		"AML.T0051":         "AML.T0051",
		"T9999":             "T9999", // well-formed; existence is Known's question
		"\u00a0T1078\u2003": "T1078",
	}
	for in, want := range ok {
		got, err := Normalize(in)
		require.NoError(t, err, "%q", in)
		assert.Equal(t, want, got, "%q", in)
	}
	for _, in := range []string{"", " ", "T1059.1", "T1059.0001", "T 1059", "TA0002", "AML.TA0005",
		"AML T0051", "AMLT0051", "T1059.001x", "xT1059", "T１059", "T1059\x00", "AML.T0051.000.000",
		"T1059/001", strings.Repeat("T1059", 100), "ｔ1059"} {
		got, err := Normalize(in)
		assert.Empty(t, got, "%q", in)
		require.ErrorIs(t, err, ErrInvalidID, "%q", in)
		var ie *InvalidIDError
		require.True(t, errors.As(err, &ie))
		assert.Equal(t, in, ie.Input)
		assert.LessOrEqual(t, len(err.Error()), 120, "long input is truncated in the message")
	}
}

// Brief/issue 5: the reference used ATLAS ids that do not exist in 5.6.0. Each
// one (typed out from ctem.md and atlas.md) is flagged and mapped to an active id.
func TestReferenceIDsThatNeverExisted(t *testing.T) {
	used := map[string]string{
		"AML.T0044.001": "AML.T0024.002", // ctem garak extraction/exfiltration, ART inference; atlas DETECT-002
		"AML.T0035.002": "AML.T0035",     // atlas DETECT-007
	}
	for from, to := range used {
		assert.False(t, Known(from), "%s must not exist in ATLAS %s", from, ATLASVersion)
		got, ok := Correct(from)
		require.True(t, ok, from)
		assert.Equal(t, to, got, from)
		assert.True(t, Active(got), got)
	}
	// Every id with a global correction is one that does not exist.
	for _, c := range Corrections() {
		if c.Scope == ScopeEverywhere {
			assert.Contains(t, used, c.From)
		}
	}
}

func TestCorrections(t *testing.T) {
	cs := Corrections()
	require.NotEmpty(t, cs)
	for _, c := range cs {
		assert.NotEmpty(t, c.Reason, c.From)
		assert.True(t, IsATLAS(c.From), c.From)
		if c.To != "" {
			assert.True(t, Active(c.To), "%s → %s", c.From, c.To)
		}
		if c.Scope == ScopeEverywhere {
			assert.False(t, Known(c.From), "a global correction is only for ids that never existed: %s", c.From)
			assert.NotEmpty(t, c.To)
		} else {
			// scoped corrections fix a real id attached to the wrong finding,
			// or restate a global one for the rule that carries it
			assert.NotEqual(t, c.From, c.To)
			if strings.HasPrefix(c.Scope, "atlas/") {
				want, ok := Correct(c.From)
				require.True(t, ok)
				assert.Equal(t, want, c.To, "rule-scoped restatement agrees: %s", c.Scope)
			}
		}
		got, ok := CorrectIn(c.Scope, c.From)
		assert.True(t, ok)
		assert.Equal(t, c.To, got)
	}

	got, ok := CorrectIn(ScopeGarakJailbreak, "AML.T0051") // DESIGN §3
	assert.True(t, ok)
	assert.Equal(t, "AML.T0054", got)
	got, ok = CorrectIn(ScopeARTInference, "AML.T0044.001")
	assert.True(t, ok)
	assert.Equal(t, "AML.T0024.000", got)
	got, ok = CorrectIn(ScopeARTUnknown, "AML.T0000")
	assert.True(t, ok)
	assert.Empty(t, got, "unknown ART attack types get no technique")
	got, ok = CorrectIn(ScopeGarakJailbreak, "AML.T0044.001") // falls back to the global row
	assert.True(t, ok)
	assert.Equal(t, "AML.T0024.002", got)
	got, ok = CorrectIn("ctem/garak:prompt_injection", "AML.T0051") // prompt injection stays
	assert.False(t, ok)
	assert.Empty(t, got)

	// Real ids are never corrected globally.
	for _, id := range []string{"AML.T0051", "AML.T0000", "AML.T0044", "T1059.001", "", "garbage"} {
		_, ok := Correct(id)
		assert.False(t, ok, id)
	}

	cs[0].To = "tampered"
	again, _ := Correct(cs[0].From)
	assert.NotEqual(t, "tampered", again, "Corrections returns a copy")
}

func TestLookupDoesNotAllocate(t *testing.T) {
	for _, id := range []string{"T1059.001", "AML.T0051", "T9999"} {
		allocs := testing.AllocsPerRun(100, func() { _, _ = Lookup(id) })
		assert.Zero(t, allocs, id)
	}
	allocs := testing.AllocsPerRun(100, func() { _, _ = Normalize("AML.T0051.000") })
	assert.Zero(t, allocs, "canonical input is returned as is")
}

func TestConcurrentLookups(t *testing.T) {
	ids := ActiveIDs()
	var wg sync.WaitGroup
	for g := 0; g < 32; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := g; i < len(ids); i += 7 {
				if !Active(ids[i]) {
					t.Errorf("%s", ids[i])
					return
				}
				if n, err := Normalize(strings.ToLower(ids[i])); err != nil || n != ids[i] {
					t.Errorf("normalize %s: %q %v", ids[i], n, err)
					return
				}
			}
		}()
	}
	wg.Wait()
}

// oracle is the id grammar as a plain regex (DESIGN §6: the hand-written path
// is checked against it).
var oracle = regexp.MustCompile(`^(?:AML\.)?T[0-9]{4}(?:\.[0-9]{3})?$`)

func FuzzNormalize(f *testing.F) {
	for _, s := range []string{"T1059.001", "t1059.001", " aml.t0051.000 ", "TA0002", "T1059.1", "", "AML.T0051.999", "\xffT1059"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := Normalize(s)
		want := strings.ToUpper(strings.TrimSpace(s))
		ok := oracle.MatchString(want) && want == asciiOnlyUpper(strings.TrimSpace(s))
		if ok != (err == nil) {
			t.Fatalf("Normalize(%q) = %q, %v; oracle ok=%v", s, got, err, ok)
		}
		if err != nil {
			if got != "" || !errors.Is(err, ErrInvalidID) {
				t.Fatalf("bad failure for %q: %q %v", s, got, err)
			}
			return
		}
		if got != want || FrameworkOf(got) == 0 {
			t.Fatalf("Normalize(%q) = %q, want %q", s, got, want)
		}
		if again, err := Normalize(got); err != nil || again != got {
			t.Fatalf("not idempotent: %q → %q, %v", got, again, err)
		}
		if tech, ok := Lookup(got); ok && tech.ID != got {
			t.Fatalf("Lookup(%q) returned %q", got, tech.ID)
		}
	})
}

// asciiOnlyUpper upper-cases ASCII letters only, so the oracle rejects inputs
// whose Unicode upper-casing would turn them into an id (e.g. "ſ").
func asciiOnlyUpper(s string) string {
	return strings.Map(func(r rune) rune {
		if 'a' <= r && r <= 'z' {
			return r - 'a' + 'A'
		}
		return r
	}, s)
}

func BenchmarkLookup(b *testing.B) {
	b.ReportAllocs()
	ids := []string{"T1059.001", "AML.T0051", "T1566.002", "T9999"}
	i := 0
	for b.Loop() {
		_, _ = Lookup(ids[i&3])
		i++
	}
}

func BenchmarkActive(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if !Active("T1059.001") {
			b.Fatal("inactive")
		}
	}
}

func BenchmarkNormalize(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		_, _ = Normalize(" t1059.001")
	}
}
