package injection

import (
	"slices"
	"strings"
	"testing"
)

// prompt4K builds a 4 KB prompt from the labelled samples of the given
// kinds.
func prompt4K(b testing.TB, kinds ...string) string {
	var sb strings.Builder
	for sb.Len() < 4096 {
		for _, s := range loadSamples(b, "testdata/eval/devset.jsonl") {
			if slices.Contains(kinds, s.Kind) && sb.Len() < 4096 {
				sb.WriteString(s.Text)
				sb.WriteString("\n")
			}
		}
	}
	return sb.String()[:4096]
}

func benchmarkScan(b *testing.B, text string, scan func(string) Result) {
	b.SetBytes(int64(len(text)))
	b.ReportAllocs()
	for b.Loop() {
		_ = scan(text)
	}
}

var (
	socKinds    = []string{"soc_alert", "soc_cmdline", "benign_long"}
	mixedKinds  = []string{"benign_prompt", "benign_long", "soc_alert", "soc_cmdline", "security_text"}
	attackKinds = []string{"direct", "indirect", "dan", "obfuscated"}
)

// BenchmarkScan4KSOC is the common case on ingest: 4 KB of alert text and
// command lines, nothing for the reference patterns.
func BenchmarkScan4KSOC(b *testing.B) { benchmarkScan(b, prompt4K(b, socKinds...), Scan) }

// BenchmarkScan4KBenignMixed is 4 KB of every benign kind of the dev set,
// including role-play prompts the reference patterns match.
func BenchmarkScan4KBenignMixed(b *testing.B) { benchmarkScan(b, prompt4K(b, mixedKinds...), Scan) }

// BenchmarkScan4KAttack is 4 KB of attacks: every detector busy.
func BenchmarkScan4KAttack(b *testing.B) { benchmarkScan(b, prompt4K(b, attackKinds...), Scan) }

// BenchmarkOracleScan4KSOC is the plain-regex formulation, for comparison.
func BenchmarkOracleScan4KSOC(b *testing.B) { benchmarkScan(b, prompt4K(b, socKinds...), oracleScan) }
