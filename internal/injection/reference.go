package injection

import (
	"math"
	"regexp"
	"strconv"
	"strings"
)

// Replacement markers of the reference's sanitiser. They only ever appear in
// the discarded matching copy and in SanitiseInput's legacy output.
const (
	RedactedInjection = "[REDACTED_INJECTION_ATTEMPT]"
	RedactedMarkup    = "[REDACTED_MARKUP]"
)

// LabelMarkup is the label of the fenced role-markup pattern.
const LabelMarkup = "embedded_markup"

// labelPrefix starts the label of each of the 14 reference patterns.
const (
	labelPrefix   = "injection:"
	labelTextRune = 40
)

// Pattern is one of the reference's 14 injection patterns.
type Pattern struct {
	Number int    // 1–14, the reference's order
	Group  string // role change, override, jailbreak, prompt extraction, developer mode
	Text   string // RE2 source without the (?i) flag
	Label  string // "injection:" + the first 40 characters of Text
}

var patternTable = [...]struct{ group, text string }{
	{"role change", `you\s+are\s+now\b`},
	{"role change", `pretend\s+you\s+are\b`},
	{"role change", `role[\s-]?play\s+as\b`},
	{"role change", `act\s+as\s+(?:a|an|if)\b`},
	{"override", `ignore\s+(?:previous|all|your|the\s+above)\s+instructions?\b`},
	{"override", `disregard\s+(?:your|all|the|previous)\s+(?:instructions?|rules?|prompt)\b`},
	{"override", `override\s+your\s+(?:instructions?|rules?|guidelines?)\b`},
	{"override", `forget\s+(?:everything|all|your)\s+(?:instructions?|rules?)?\b`},
	{"jailbreak", `\bDAN\b.*Do\s+Anything\s+Now`},
	{"jailbreak", `\bjailbreak\b`},
	{"jailbreak", `\bDo\s+Anything\s+Now\b`},
	{"prompt extraction", `(?:print|show|reveal|repeat|output)\s+(?:your\s+)?system\s+prompt\b`},
	{"prompt extraction", `what\s+(?:is|are)\s+your\s+(?:system\s+)?instructions?\b`},
	{"developer mode", `(?:enter|enable|activate)\s+developer\s+mode\b`},
}

const markupText = "```\\s*(?:system|tool|assistant|human)\\b.*?```"

// refPattern is a compiled reference pattern with its prefilter.
type refPattern struct {
	Pattern
	re *regexp.Regexp // (?i) on the matching copy: the reference's form
	// lowRe is the same pattern, lower-cased and without (?i), for the
	// ASCII-lower-cased copy. Without case folding RE2 can jump to literal
	// prefixes; the two agree on every text without the two non-ASCII runes
	// that (?i) folds onto ASCII letters (see foldsToASCII).
	lowRe *regexp.Regexp
	// first returns the offset of the first place the pattern can match in
	// a lower-cased copy (or in one rewritten from it by earlier patterns),
	// or -1. It is a superset test: it ignores \b and allows any white space
	// where the pattern has \s, so no match starts before the offset it
	// returns, and -1 is exact.
	first func(low string) int
}

var (
	refPatterns = buildRefPatterns()
	markupRe    = regexp.MustCompile("(?is)" + markupText)
	markupLowRe = regexp.MustCompile("(?s)" + markupText)
)

// refMatcher is the regex set one scan uses: the (?i) forms on the copy, or
// the lower-case forms on the lower-cased copy.
type refMatcher struct {
	lower bool
}

func (m refMatcher) pattern(i int) *regexp.Regexp {
	if m.lower {
		return refPatterns[i].lowRe
	}
	return refPatterns[i].re
}

func (m refMatcher) markup() *regexp.Regexp {
	if m.lower {
		return markupLowRe
	}
	return markupRe
}

func (m refMatcher) replacement(s string) string {
	if m.lower {
		return strings.ToLower(s)
	}
	return s
}

func buildRefPatterns() [len(patternTable)]refPattern {
	var out [len(patternTable)]refPattern
	for i, p := range patternTable {
		out[i] = refPattern{
			Pattern: Pattern{Number: i + 1, Group: p.group, Text: p.text, Label: labelFor(p.text)},
			re:      regexp.MustCompile("(?i)" + p.text),
			lowRe:   regexp.MustCompile(strings.ToLower(p.text)),
			first:   refPrefilters[i],
		}
	}
	return out
}

func labelFor(text string) string {
	r := []rune(text)
	if len(r) > labelTextRune {
		r = r[:labelTextRune]
	}
	return labelPrefix + string(r)
}

// Patterns returns the 14 reference patterns in order, in a fresh slice.
func Patterns() []Pattern {
	out := make([]Pattern, len(refPatterns))
	for i := range refPatterns {
		out[i] = refPatterns[i].Pattern
	}
	return out
}

// Word sequences for the prefilters, in the notation of seqIndex, each
// behind a guard on its rarest literal (a cheap Contains that rules most
// texts out).
var refPrefilters = [len(patternTable)]func(string) int{
	func(l string) int { return guarded(l, "now", "you", " ", "are", " ", "now") },
	func(l string) int { return guarded(l, "pretend", "pretend", " ", "you", " ", "are") },
	func(l string) int { return guarded(l, "play", "role", "?", "play", " ", "as") },
	func(l string) int { return guarded(l, "act", "act", " ", "as", " ", "a|if") },
	func(l string) int {
		return guarded(l, "instruction", "ignore", " ", "previous|all|your|the above", " ", "instruction")
	},
	func(l string) int {
		return guarded(l, "disregard", "disregard", " ", "your|all|the|previous", " ", "instruction|rule|prompt")
	},
	func(l string) int {
		return guarded(l, "override", "override", " ", "your", " ", "instruction|rule|guideline")
	},
	func(l string) int { return guarded(l, "forget", "forget", " ", "everything|all|your", " ") },
	func(l string) int {
		if guarded(l, "anything", "do", " ", "anything", " ", "now") < 0 {
			return -1
		}
		return strings.Index(l, "dan")
	},
	func(l string) int { return strings.Index(l, "jailbreak") },
	func(l string) int { return guarded(l, "anything", "do", " ", "anything", " ", "now") },
	func(l string) int {
		return guarded(l, "prompt", "print|show|reveal|repeat|output", " ", "your system|system", " ", "prompt")
	},
	func(l string) int {
		return guarded(l, "instruction", "what", " ", "is|are", " ", "your system instruction|your instruction")
	},
	func(l string) int {
		return guarded(l, "developer", "enter|enable|activate", " ", "developer", " ", "mode")
	},
}

// guarded is seqIndex behind a Contains check of one of its literals.
func guarded(low, guard string, elems ...string) int {
	if !strings.Contains(low, guard) {
		return -1
	}
	return seqIndex(low, elems...)
}

// seqIndex returns the smallest offset at which low contains the element
// sequence elems, or -1. An element is " " (one or more RE2 \s characters),
// "?" (at most one white-space character or hyphen) or literal alternatives
// separated by "|"; inside an alternative a space stands for one or more
// white-space characters. Word boundaries are ignored, which makes the test a
// superset of the regex.
func seqIndex(low string, elems ...string) int {
	best := -1
	for alt := range strings.SplitSeq(elems[0], "|") {
		head, _, _ := strings.Cut(alt, " ")
		for off := 0; best < 0 || off < best; {
			i := strings.Index(low[off:], head)
			if i < 0 {
				break
			}
			start := off + i
			if best >= 0 && start >= best {
				break
			}
			if end, ok := matchAlt(low, start, alt); ok && seqAt(low, end, elems[1:]) {
				best = start
				break
			}
			off = start + 1
		}
	}
	return best
}

func seqAt(low string, pos int, elems []string) bool {
	if len(elems) == 0 {
		return true
	}
	switch e := elems[0]; e {
	case " ":
		j := skipSpace(low, pos)
		return j > pos && seqAt(low, j, elems[1:])
	case "?":
		if pos < len(low) && (isRE2Space(low[pos]) || low[pos] == '-') && seqAt(low, pos+1, elems[1:]) {
			return true
		}
		return seqAt(low, pos, elems[1:])
	default:
		for alt := range strings.SplitSeq(e, "|") {
			if end, ok := matchAlt(low, pos, alt); ok && seqAt(low, end, elems[1:]) {
				return true
			}
		}
		return false
	}
}

// matchAlt matches one alternative at pos, a space in alt standing for one
// or more white-space characters.
func matchAlt(low string, pos int, alt string) (int, bool) {
	for {
		word, rest, more := strings.Cut(alt, " ")
		if !strings.HasPrefix(low[pos:], word) {
			return 0, false
		}
		pos += len(word)
		if !more {
			return pos, true
		}
		j := skipSpace(low, pos)
		if j == pos {
			return 0, false
		}
		pos, alt = j, rest
	}
}

func skipSpace(s string, pos int) int {
	for pos < len(s) && isRE2Space(s[pos]) {
		pos++
	}
	return pos
}

// isRE2Space is RE2's \s: [\t\n\f\r ].
func isRE2Space(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\f' || c == '\r'
}

// foldsToASCII reports whether s holds one of the two non-ASCII runes that
// RE2's (?i) matching folds onto an ASCII letter (KELVIN SIGN → k, LATIN
// SMALL LETTER LONG S → s). Such text skips the prefilters.
func foldsToASCII(s string) bool {
	return strings.Contains(s, "\u212a") || strings.Contains(s, "\u017f")
}

// referenceScan is the reference detector on one matching copy.
type referenceScan struct {
	detections []string // labels in detection order (sequential rewriting)
	matchCount int      // patterns matching the copy, each once, no rewriting
}

// scanReference runs both reference procedures on a matching copy. low is
// the ASCII-lower-cased copy with line breaks restored, used by the
// prefilters. When exact is true the prefilters are bypassed and the (?i)
// regexes run on the whole copy; otherwise only candidate patterns run, as
// lower-case regexes on the lower-cased copy from just before the first
// place they can match.
func scanReference(text, low string, exact bool) referenceScan {
	m := refMatcher{lower: !exact}
	var start [len(refPatterns)]int
	any := false
	for i := range refPatterns {
		start[i] = m.start(i, low)
		any = any || start[i] >= 0
	}
	markup := m.markupStart(text)
	var rs referenceScan
	if !any && markup < 0 {
		return rs
	}
	if m.lower {
		text = asciiLower(text)
	}
	// Classifier count: each pattern once on the unmodified copy.
	if markup >= 0 && m.markup().MatchString(text[markup:]) {
		rs.matchCount++
	}
	for i := range refPatterns {
		if start[i] >= 0 && m.pattern(i).MatchString(text[start[i]:]) {
			rs.matchCount++
		}
	}
	if rs.matchCount == 0 {
		// Rewriting only happens after a match; with none there is none.
		return rs
	}
	rs.detections = detectRewriting(m, text)
	return rs
}

// start returns where pattern i's regex must start on low (the offset just
// before its first possible match, so \b sees the preceding byte), or -1.
func (m refMatcher) start(i int, low string) int {
	if !m.lower {
		return 0
	}
	return backOne(refPatterns[i].first(low))
}

// markupStart is start for the markup pattern on the (cased) copy.
func (m refMatcher) markupStart(text string) int {
	if !m.lower {
		return 0
	}
	return backOne(strings.Index(text, "```"))
}

func backOne(i int) int {
	if i > 0 {
		return i - 1
	}
	return i
}

// detectRewriting is the reference's sequential detection: markup first, then
// each pattern in order on the copy as rewritten by the previous ones. In the
// lower-case form text is lower-cased, and the prefilter is asked again on
// each rewritten text (the rewritten copy has no restored line breaks, which
// the prefilters treat as white space either way).
func detectRewriting(m refMatcher, text string) []string {
	var labels []string
	if i := m.markupStart(text); i >= 0 && m.markup().MatchString(text[i:]) {
		labels = append(labels, LabelMarkup)
		text = text[:i] + m.markup().ReplaceAllLiteralString(text[i:], m.replacement(RedactedMarkup))
	}
	for k := range refPatterns {
		i := m.start(k, text)
		if i < 0 || !m.pattern(k).MatchString(text[i:]) {
			continue
		}
		labels = append(labels, refPatterns[k].Label)
		text = text[:i] + m.pattern(k).ReplaceAllLiteralString(text[i:], m.replacement(RedactedInjection))
	}
	return labels
}

// asciiLower lower-cases ASCII letters only (RE2's (?i) on ASCII).
func asciiLower(s string) string {
	for i := 0; i < len(s); i++ {
		if 'A' <= s[i] && s[i] <= 'Z' {
			b := []byte(s)
			for j := i; j < len(b); j++ {
				if 'A' <= b[j] && b[j] <= 'Z' {
					b[j] += 'a' - 'A'
				}
			}
			return string(b)
		}
	}
	return s
}

// Detect returns the reference detection labels for text (0–15): the markup
// label, then the label of each of the 14 patterns that matches the matching
// copy as progressively rewritten by the earlier ones.
func Detect(text string) []string {
	mc := buildCopy(text)
	low, exact := lowerCopy(mc)
	return scanReference(mc.text, low, exact).detections
}

// Classification is the reference classifier's verdict on one text.
type Classification struct {
	Risk       Risk
	Confidence float64
	MatchCount int
	Reason     string // "<n> injection pattern match(es)"
}

// Classify is the reference classifier over an alert's three untrusted
// fields: the count of patterns (plus markup) matching the matching copy of
// title + " " + description + " " + entities, mapped by ReferenceRisk.
func Classify(title, description, entities string) Classification {
	text := title + " " + description + " " + entities
	mc := buildCopy(text)
	low, exact := lowerCopy(mc)
	n := scanReference(mc.text, low, exact).matchCount
	return classification(n)
}

func classification(n int) Classification {
	risk, conf := ReferenceRisk(n)
	return Classification{Risk: risk, Confidence: conf, MatchCount: n, Reason: strconv.Itoa(n) + " injection pattern match(es)"}
}

// ReferenceRisk maps a match count to the reference's risk and confidence:
// 0 → benign 1.0; 1–2 → suspicious min(0.5+0.15n, 0.9); ≥3 → malicious
// min(0.7+0.05n, 0.99), in float64 arithmetic exactly as written.
func ReferenceRisk(n int) (Risk, float64) {
	switch {
	case n <= 0:
		return RiskBenign, 1.0
	case n <= 2:
		return RiskSuspicious, math.Min(0.5+0.15*float64(n), 0.9)
	default:
		return RiskMalicious, math.Min(0.7+0.05*float64(n), 0.99)
	}
}

// SanitiseInput is the reference's legacy marker-based sanitiser, kept for
// compatibility and log scrubbing: it runs the sequential detection on the
// original text (no matching copy) and returns the rewritten text and the
// labels. Never use it to prepare LLM input: visible markers tell an
// attacker what was caught.
func SanitiseInput(text string) (string, []string) {
	labels := []string{}
	if markupRe.MatchString(text) {
		labels = append(labels, LabelMarkup)
		text = markupRe.ReplaceAllLiteralString(text, RedactedMarkup)
	}
	for i := range refPatterns {
		if refPatterns[i].re.MatchString(text) {
			labels = append(labels, refPatterns[i].Label)
			text = refPatterns[i].re.ReplaceAllLiteralString(text, RedactedInjection)
		}
	}
	return text, labels
}
