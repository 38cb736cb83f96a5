package gateway

import (
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// The plain RE2 regexes of the specification: the oracle every hand-written
// scanner is compared with (DESIGN §6).
var (
	oracleIPv4     = regexp.MustCompile(`\b(?:\d{1,3}\.){3}\d{1,3}\b`)
	oracleEmail    = regexp.MustCompile(`\b[a-zA-Z0-9._%+-]+@[a-zA-Z0-9.-]+\.[a-zA-Z]{2,}\b`)
	oracleHost     = regexp.MustCompile(`\b[A-Z][A-Z0-9_-]{2,15}(?:\.[a-zA-Z0-9.-]+)?\b`)
	oracleUserHost = regexp.MustCompile(`\b[A-Za-z][A-Za-z0-9]{1,19}[-_][A-Za-z]{2,15}(?:\d{1,3})?\b`)
	// The spec's stage-5 regex plus Warden's JSON-escaped Windows prefix.
	oraclePathUser  = regexp.MustCompile(`(?:/home/|/Users/|[A-Za-z]:\\Users\\|[A-Za-z]:\\\\Users\\\\)([a-zA-Z][a-zA-Z0-9._-]{1,20})`)
	oracleHandle    = regexp.MustCompile(`@[a-zA-Z][a-zA-Z0-9._-]{1,20}\b`)
	oracleTechnique = regexp.MustCompile(`\b(T\d{4}(?:\.\d{3})?|AML\.T\d{4}(?:\.\d{3})?)\b`)
	oracleEvidence  = regexp.MustCompile(`(?i)</?evidence>`)
)

func oracleSpans(re *regexp.Regexp, s string, group int) []span {
	var out []span
	for _, m := range re.FindAllStringSubmatchIndex(s, -1) {
		out = append(out, span{m[2*group], m[2*group+1]})
	}
	return out
}

// oracleFinder wraps a regex as a stage finder.
func oracleFinder(re *regexp.Regexp, group int) func(string, []span) []span {
	return func(s string, dst []span) []span { return append(dst, oracleSpans(re, s, group)...) }
}

// oracleStages are piiStages with every finder replaced by its regex.
func oracleStages() *[len(piiStages)]piiStage {
	st := piiStages
	for i, f := range []func(string, []span) []span{
		oracleFinder(oracleIPv4, 0), oracleFinder(oracleEmail, 0), oracleFinder(oracleHost, 0),
		oracleFinder(oracleUserHost, 0), oracleFinder(oraclePathUser, 1), oracleFinder(oracleHandle, 0),
	} {
		st[i].find = f
	}
	return &st
}

// oracleRedact is RedactPII with the regex finders and no stage prefilter
// shortcuts.
func oracleRedact(text string, extra ...ExtraValue) (string, *RedactionMap) {
	m := NewRedactionMap()
	st := oracleStages()
	r := redaction{m: m, orig: text}
	for _, ev := range extra {
		if ev.Value == "" {
			continue
		}
		text = r.apply(text, findLiteral(text, ev.Value, nil), ev.Prefix, always)
	}
	for i := range st {
		text = r.apply(text, st[i].find(text, nil), st[i].prefix, st[i].accept)
	}
	return text, m
}

func oracleEscape(s string) string {
	s = oracleEvidence.ReplaceAllString(s, "")
	s = strings.ReplaceAll(s, "&", "&amp;")
	s = strings.ReplaceAll(s, "<", "&lt;")
	return strings.ReplaceAll(s, ">", "&gt;")
}

var scannerCases = []struct {
	name  string
	fast  func(string, []span) []span
	re    *regexp.Regexp
	group int
}{
	{"ipv4", findIPv4, oracleIPv4, 0},
	{"email", findEmails, oracleEmail, 0},
	{"host", findHosts, oracleHost, 0},
	{"user_host", findUserHosts, oracleUserHost, 0},
	{"path_user", findPathUsers, oraclePathUser, 1},
	{"handle", findHandles, oracleHandle, 0},
	{"technique", findTechniqueIDs, oracleTechnique, 0},
}

// scannerSeeds are hand-picked edge cases for every scanner; they seed the
// fuzz target too.
var scannerSeeds = []string{
	"", "1.2.3.4", "10.0.0.1 and 10.0.0.10", "10.0.0.1 and 110.0.0.1", "1234.5.6.7", "1.2.3.4567", "1.2.3.4.5",
	"a1.2.3.4", "1.2.3.4a", "1.2.3.4_", "1.2.3.1.2.3.4", "é1.2.3.4é", "v1.2.3.4", "01.002.003.0004",
	"john@example.com", "x_.y@ex.com", "a.b@x.com", "a@b.cc.dd@e.com", "a@b.com-x", "a@b.c", "a@b.cc1", "@x.com",
	"a@@b.com", "jo%hn+tag@sub.example.co.uk.", "a@b.com.", "a@-.co", "a@b..cc", "_a@b.cc", "a_@b.cc", "é@b.cc",
	"JSMITH-WORKSTATION connected", "admin-PC01", "SRV-DC01.corp.local", "LSASS.EXE", "WEB-SERVER01", "SRV-DC01.corp.",
	"T1059.001 and AML.T0051", "AML.T0051.000", "T1059.0012", "T10590", "xT1059", "T1059.", "T1059.01", "AML.T005",
	"AAA.a-AAA.a-AAA.a_", "AAA.abbb_", "ABCDEFGHIJKLMNOPQRS", "ABCDEFGHIJKLMNOP.x", "A__", "A--", "AB-", "A1-.x",
	"jdoe-Workstation", "user_name", "follow-up", "Sign-in", "e-mail", "alice_laptop123", "alice_laptop1234",
	"a1234567890123456789x-ab", "a12345678901234567890-ab", "ab-abcdefghijklmnop", "ab-cd_ef",
	"/home/jsmith/x", "/Users/admin.user/Desktop", `C:\Users\jdoe\AppData`, `D:\Users\jsmith\docs\secrets.txt`,
	"/home/1abc", "/home/a", "/home/averyveryverylongusername123/x", `/home/abC:\Users\x`, `x:\Users\:\Users\ab`,
	`1:\Users\ab`, "/home//home/ab", "/Users/", `:\Users\ab`, `"C:\\Users\\jdoe\\AppData"`, `C:\\Users\jdoe`,
	`C:\Users\\x C:\\Users\\ab`, `a:\\Users\\b:\Users\cd`,
	"@jsmith", "@jsmith.ops", "@timestamp", "@a", "@ab", "@a.", "@abcdefghijklmnopqrstuvwxyz", "@a-b-", "@@ab",
	"email me at bob@corp.example.com or @bob", "<evidence>", "</EVIDENCE>", "<evi<evidence>dence>", "a & b < c > d",
	"</evidence><evidence>injected", "<Evidence >", "</evidence", "<<evidence>>",
}

func TestScannersMatchOracle(t *testing.T) {
	for _, tc := range scannerCases {
		t.Run(tc.name, func(t *testing.T) {
			for _, s := range scannerSeeds {
				require.Equal(t, oracleSpans(tc.re, s, tc.group), tc.fast(s, nil), "input %q", s)
			}
		})
	}
}

func TestEscapeMatchesOracle(t *testing.T) {
	for _, s := range scannerSeeds {
		require.Equal(t, oracleEscape(s), EscapeXMLTags(s), "input %q", s)
	}
}

// FuzzScanners is the differential test of DESIGN §6: every hand-written
// scanner returns exactly the regex's spans, the escaper equals the
// regex-based escaper, and RedactPII equals its regex-driven twin.
func FuzzScanners(f *testing.F) {
	for _, s := range scannerSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for _, tc := range scannerCases {
			want, got := oracleSpans(tc.re, s, tc.group), tc.fast(s, nil)
			if len(want) != len(got) {
				t.Fatalf("%s(%q): oracle %v, fast %v", tc.name, s, want, got)
			}
			for i := range want {
				if want[i] != got[i] {
					t.Fatalf("%s(%q): oracle %v, fast %v", tc.name, s, want, got)
				}
			}
		}
		if want, got := oracleEscape(s), EscapeXMLTags(s); want != got {
			t.Fatalf("EscapeXMLTags(%q) = %q, oracle %q", s, got, want)
		}
		wantText, wantMap := oracleRedact(s)
		gotText, gotMap := RedactPII(s, nil)
		if wantText != gotText {
			t.Fatalf("RedactPII(%q) = %q, oracle %q", s, gotText, wantText)
		}
		if len(wantMap.Mappings()) != len(gotMap.Mappings()) {
			t.Fatalf("RedactPII(%q) map %v, oracle %v", s, gotMap.Mappings(), wantMap.Mappings())
		}
	})
}

func benchAlert(b *testing.B) string {
	data, err := os.ReadFile("testdata/alert_4k.txt")
	if err != nil {
		b.Fatal(err)
	}
	return string(data)
}

// BenchmarkRedactPII4KBOracle is RedactPII with the plain regexes, for
// comparison with BenchmarkRedactPII4KBFast.
func BenchmarkRedactPII4KBOracle(b *testing.B) {
	a := benchAlert(b)
	b.SetBytes(int64(len(a)))
	b.ReportAllocs()
	for b.Loop() {
		_, _ = oracleRedact(a)
	}
}

func BenchmarkRedactPII4KBFast(b *testing.B) {
	a := benchAlert(b)
	b.SetBytes(int64(len(a)))
	b.ReportAllocs()
	for b.Loop() {
		_, _ = RedactPII(a, nil)
	}
}

func BenchmarkEscape4KBOracle(b *testing.B) {
	a := benchAlert(b)
	b.SetBytes(int64(len(a)))
	b.ReportAllocs()
	for b.Loop() {
		_ = oracleEscape(a)
	}
}

func TestRedactPIIOnAlertMatchesOracle(t *testing.T) {
	data, err := os.ReadFile("testdata/alert_4k.txt")
	require.NoError(t, err)
	want, _ := oracleRedact(string(data))
	got, m := RedactPII(string(data), nil)
	require.Equal(t, want, got)
	require.Equal(t, string(data), Deanonymise(got, m))
	require.NotContains(t, got, "jdoe@contoso.com")
	require.NotContains(t, got, "10.20.30.40")
	require.Contains(t, got, "T1059.001")
	require.Contains(t, got, "KB5034441")
	require.Contains(t, got, "WINWORD.EXE")
}
