package batch

import (
	"net/netip"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"
)

var fuzzRedactions = map[string]string{"USER_001": "svc.backup", "IP_SRC_001": "10.0.0.5", "HOST_001": "ws-01.corp"}

// FuzzParseFPAnswer feeds arbitrary model answers to the FP candidate
// parser: it never panics, and every candidate it accepts is one the FP
// short-circuit may safely hold.
func FuzzParseFPAnswer(f *testing.F) {
	for _, s := range []string{
		validFP, "[" + validFP + "]", "```json\n[" + validFP + "]\n```", "not json", "[]", `{"alert_name_regex": ".*"}`,
		`[{"alert_name_regex": "^Logon from HOST_001", "confidence": 0.9, "entity_patterns": [{"type": "user", "value_regex": "^USER_001$"}, {"type": "ip", "value_cidr": "IP_SRC_001/32"}]}]`,
		`{"alert_name_regex": "a{1000}", "confidence": 0.9}`, `{"alert_name_regex": "(?i)(a|b|)", "confidence": 1}`,
		`Sure: [{"alert_name_regex": "Test", "confidence": 0.8, "severity": "INFO"}] done`,
	} {
		f.Add(s)
	}
	in := candidateInput{alertGroup: "Test Alert", minConfidence: DefaultMinPatternConfidence, restore: newRestorer(fuzzRedactions)}
	f.Fuzz(func(t *testing.T, content string) {
		items, isArray, reason := decodeAnswer(content)
		if reason != "" {
			if items != nil {
				t.Fatalf("rejected answer returned items")
			}
			return
		}
		if !isArray && len(items) != 1 {
			t.Fatalf("an object answer must yield one item, got %d", len(items))
		}
		for _, raw := range items {
			c, rej := validateCandidate(raw, in)
			if rej != nil {
				if rej.reason == "" {
					t.Fatalf("rejection without reason")
				}
				continue
			}
			re, tree, err := compileMatcher(c.AlertNameRegex)
			if err != nil {
				t.Fatalf("accepted regex %q does not compile: %v", c.AlertNameRegex, err)
			}
			if re.MatchString("") || requiredLiteral(tree.Simplify()) < minAlertRegexLiteral {
				t.Fatalf("accepted catch-all regex %q", c.AlertNameRegex)
			}
			if c.Confidence < DefaultMinPatternConfidence || c.Confidence > 1 {
				t.Fatalf("accepted confidence %v", c.Confidence)
			}
			if !utf8.ValidString(c.AlertName) || utf8.RuneCountInString(c.AlertName) > maxAlertNameRunes ||
				utf8.RuneCountInString(c.Reason) > maxReasonRunes || c.Reason == "" {
				t.Fatalf("bad text fields %q / %q", c.AlertName, c.Reason)
			}
			if c.Severity != "" && !slices.Contains([]string{"critical", "high", "medium", "low", "informational"}, c.Severity) {
				t.Fatalf("accepted severity %q", c.Severity)
			}
			if len(c.EntityPatterns) > MaxEntityPatterns {
				t.Fatalf("%d entity patterns", len(c.EntityPatterns))
			}
			for _, ep := range c.EntityPatterns {
				if !slices.Contains(EntityTypes(), ep.Type) {
					t.Fatalf("entity type %q outside the vocabulary", ep.Type)
				}
				if ep.ValueRegex == "" && ep.ValueCIDR == "" {
					t.Fatalf("entity pattern without value")
				}
				if ep.ValueRegex != "" {
					re, _, err := compileMatcher(ep.ValueRegex)
					if err != nil || re.MatchString("") {
						t.Fatalf("accepted entity regex %q", ep.ValueRegex)
					}
				}
				if ep.ValueCIDR != "" {
					p, err := netip.ParsePrefix(ep.ValueCIDR)
					if err != nil || p.Bits() == 0 || ep.Type != EntityIP {
						t.Fatalf("accepted CIDR %q for %q", ep.ValueCIDR, ep.Type)
					}
				}
			}
			for _, s := range []string{c.AlertNameRegex, c.AlertName} {
				if strings.Contains(s, "USER_001") || strings.Contains(s, "IP_SRC_001") || strings.Contains(s, "HOST_001") {
					t.Fatalf("placeholder left in %q", s)
				}
			}
			if id := candidateFingerprint("t", c.AlertNameRegex, c.EntityPatterns); len(id) != 36 {
				t.Fatalf("fingerprint %q", id)
			}
		}
	})
}

// FuzzParsePlaybookAnswer does the same for playbook answers.
func FuzzParsePlaybookAnswer(f *testing.F) {
	for _, s := range []string{
		validPlaybook, "[" + validPlaybook + "]", `{"remediation_steps": []}`, `{"techniques": ["aml.t0051", "T99", 3], "remediation_steps": ["x"]}`,
		`{"name": 7}`, "```\n" + validPlaybook + "\n```", `{"confidence": 1e400, "remediation_steps": ["x"]}`,
	} {
		f.Add(s)
	}
	restore := newRestorer(fuzzRedactions)
	f.Fuzz(func(t *testing.T, content string) {
		items, _, reason := decodeAnswer(content)
		if reason != "" {
			return
		}
		for _, raw := range items {
			p, rej := validatePlaybook(raw, restore, defaultKnownTechniques)
			if rej != nil {
				continue
			}
			if len(p.steps) == 0 || len(p.steps) > maxSteps || len(p.tactics) > maxTactics || len(p.techniques) > maxTechniques {
				t.Fatalf("bounds violated: %d steps, %d tactics, %d techniques", len(p.steps), len(p.tactics), len(p.techniques))
			}
			for _, id := range p.techniques {
				if !techniqueIDRe.MatchString(id) || !defaultKnownTechniques(id) {
					t.Fatalf("kept technique %q", id)
				}
			}
			if p.name == "" || utf8.RuneCountInString(p.name) > maxPlaybookNameRunes || p.confidence < 0 || p.confidence > 1 {
				t.Fatalf("bad fields %q %v", p.name, p.confidence)
			}
			// Every identified id is kept (once) or quarantined.
			if len(p.identified) < len(p.quarantined)+len(p.techniques) {
				t.Fatalf("identified %v, kept %v, quarantined %v", p.identified, p.techniques, p.quarantined)
			}
		}
	})
}
