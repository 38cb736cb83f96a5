package injection

import (
	"math"
	"regexp"
	"slices"
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
	// that (?i) folds onto ASCII letters (see folder.foldsToASCII).
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
var refPrefilters = func() [len(patternTable)]func(string) int {
	g := func(guard string, elems ...string) func(string) int { return compileSeq(guard, elems...).index }
	doAnythingNow := g("anything", "do", " ", "anything", " ", "now")
	return [len(patternTable)]func(string) int{
		g("now", "you", " ", "are", " ", "now"),
		g("pretend", "pretend", " ", "you", " ", "are"),
		g("play", "role", "?", "play", " ", "as"),
		g("act", "act", " ", "as", " ", "a|if"),
		g("instruction", "ignore", " ", "previous|all|your|the above", " ", "instruction"),
		g("disregard", "disregard", " ", "your|all|the|previous", " ", "instruction|rule|prompt"),
		g("override", "override", " ", "your", " ", "instruction|rule|guideline"),
		g("forget", "forget", " ", "everything|all|your", " "),
		func(l string) int {
			if doAnythingNow(l) < 0 {
				return -1
			}
			return strings.Index(l, "dan")
		},
		func(l string) int { return strings.Index(l, "jailbreak") },
		doAnythingNow,
		g("prompt", "print|show|reveal|repeat|output", " ", "your system|system", " ", "prompt"),
		g("instruction", "what", " ", "is|are", " ", "your system instruction|your instruction"),
		g("developer", "enter|enable|activate", " ", "developer", " ", "mode"),
	}
}()

// refNeeds lists, for each reference pattern, what the lower-cased copy's
// tokens (maximal runs of \w) must hold for the pattern to match: groups of
// words ("a|b": one of them as a whole token) and adjacent pairs of groups
// ("a|b>c": a token of the first group, then only \s characters, then a
// token of the second). They are the pattern's words that stand between
// white space or word boundaries on both sides. It is a necessary condition
// only, checked before the prefilters; the tokenizer records these words and
// pairs as it reads the copy.
var refNeeds = [len(patternTable)][]string{
	{"are>now"},    // you\s+are\s+now\b
	{"you>are"},    // pretend\s+you\s+are\b ("pretend" may end a longer word)
	{"as"},         // role[\s-]?play\s+as\b
	{"as>a|an|if"}, // act\s+as\s+(?:a|an|if)\b
	{"previous|all|your|above>instruction|instructions"},
	{"your|all|the|previous>instruction|instructions|rule|rules|prompt"},
	{"your>instruction|instructions|rule|rules|guideline|guidelines"},
	{"everything|all|your"},         // forget\s+(?:everything|all|your)\s+…
	{"dan", "anything"},             // \bDAN\b.*Do\s+Anything\s+Now ("do" may end a word, "now" start one)
	{"jailbreak"},                   // \bjailbreak\b
	{"do>anything", "anything>now"}, // \bDo\s+Anything\s+Now\b
	{"system>prompt"},               // (?:print|…)\s+(?:your\s+)?system\s+prompt\b
	{"is|are>your", "instruction|instructions"},
	{"developer>mode"}, // (?:enter|enable|activate)\s+developer\s+mode\b
}

// refNeed is refNeeds compiled: word groups as masks over referenceWords,
// pairs as indexes into refPairs.
type refNeed struct {
	groups []uint64
	pairs  uint64 // bit per refPairs entry
}

// refPair is an adjacent pair of word groups.
type refPair struct{ first, second uint64 }

// referenceWords are the words of refNeeds, each once.
var referenceWords, refPairs, refNeedsCompiled = func() ([]string, []refPair, [len(patternTable)]refNeed) {
	var words []string
	var pairs []refPair
	var needs [len(patternTable)]refNeed
	group := func(g string) uint64 {
		var m uint64
		for w := range strings.SplitSeq(g, "|") {
			k := slices.Index(words, w)
			if k < 0 {
				k = len(words)
				words = append(words, w)
			}
			m |= 1 << k
		}
		return m
	}
	for i, conds := range refNeeds {
		for _, c := range conds {
			a, b, pair := strings.Cut(c, ">")
			if !pair {
				needs[i].groups = append(needs[i].groups, group(a))
				continue
			}
			p := refPair{group(a), group(b)}
			k := slices.Index(pairs, p)
			if k < 0 {
				k = len(pairs)
				pairs = append(pairs, p)
			}
			needs[i].pairs |= 1 << k
		}
	}
	if len(words) > 64 || len(pairs) > 64 {
		panic("injection: too many reference words or pairs")
	}
	return words, pairs, needs
}()

// refSeen is what the tokenizer found of referenceWords and refPairs.
type refSeen struct {
	words, pairs uint64
}

// mayMatch reports whether reference pattern i can match a copy whose
// tokens hold what seen says.
func mayMatch(i int, seen refSeen) bool {
	n := &refNeedsCompiled[i]
	if seen.pairs&n.pairs != n.pairs {
		return false
	}
	for _, g := range n.groups {
		if seen.words&g == 0 {
			return false
		}
	}
	return true
}

// seqPattern is an element sequence for the prefilters behind a Contains
// check of one of its literals (the guard, which rules most texts out).
//
// An element is " " (one or more RE2 \s characters), "?" (at most one
// white-space character or hyphen) or literal alternatives separated by
// "|"; inside an alternative a space stands for one or more white-space
// characters. Word boundaries are ignored, which makes the test a superset
// of the regex.
type seqPattern struct {
	guard string
	elems []seqElem
}

type seqElem struct {
	kind byte       // ' ', '?' or 'w' (alternatives)
	alts [][]string // kind 'w': each alternative's words
}

func compileSeq(guard string, elems ...string) *seqPattern {
	p := &seqPattern{guard: guard}
	for _, e := range elems {
		switch e {
		case " ", "?":
			p.elems = append(p.elems, seqElem{kind: e[0]})
		default:
			el := seqElem{kind: 'w'}
			for alt := range strings.SplitSeq(e, "|") {
				el.alts = append(el.alts, strings.Split(alt, " "))
			}
			p.elems = append(p.elems, el)
		}
	}
	if p.elems[0].kind != 'w' {
		panic("injection: a prefilter sequence must start with words")
	}
	return p
}

// index returns the smallest offset at which low contains the sequence, or
// -1.
func (p *seqPattern) index(low string) int {
	if !strings.Contains(low, p.guard) {
		return -1
	}
	best := -1
	for _, alt := range p.elems[0].alts {
		head := alt[0]
		for off := 0; best < 0 || off < best; {
			i := strings.Index(low[off:], head)
			if i < 0 {
				break
			}
			start := off + i
			if best >= 0 && start >= best {
				break
			}
			if end, ok := matchWords(low, start, alt); ok && seqAt(low, end, p.elems[1:]) {
				best = start
				break
			}
			off = start + 1
		}
	}
	return best
}

func seqAt(low string, pos int, elems []seqElem) bool {
	if len(elems) == 0 {
		return true
	}
	switch e := &elems[0]; e.kind {
	case ' ':
		j := skipSpace(low, pos)
		return j > pos && seqAt(low, j, elems[1:])
	case '?':
		if pos < len(low) && (isRE2Space(low[pos]) || low[pos] == '-') && seqAt(low, pos+1, elems[1:]) {
			return true
		}
		return seqAt(low, pos, elems[1:])
	default:
		for _, alt := range e.alts {
			if end, ok := matchWords(low, pos, alt); ok && seqAt(low, end, elems[1:]) {
				return true
			}
		}
		return false
	}
}

// matchWords matches one alternative's words at pos, with one or more
// white-space characters between them.
func matchWords(low string, pos int, words []string) (int, bool) {
	for k, w := range words {
		if k > 0 {
			j := skipSpace(low, pos)
			if j == pos {
				return 0, false
			}
			pos = j
		}
		if !strings.HasPrefix(low[pos:], w) {
			return 0, false
		}
		pos += len(w)
	}
	return pos, true
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

// referenceScan is the reference detector on one matching copy.
type referenceScan struct {
	detections []string // labels in detection order (sequential rewriting)
	matchCount int      // patterns matching the copy, each once, no rewriting
}

// scanReference runs both reference procedures on a matching copy. low is
// the ASCII-lower-cased copy with line breaks restored, seps the offsets of
// its segment separators and seen the reference words and pairs among its
// tokens. When exact is true the gates and prefilters are bypassed and the
// (?i) regexes run on the whole plain copy (cased); otherwise only patterns
// that pass their token gate (mayMatch) and their prefilter run, as
// lower-case regexes on the lower-cased copy (its line breaks turned back
// into spaces, as in the plain copy) from just before the first place they
// can match.
func scanReference(cased, low string, seps []int, exact bool, seen refSeen) referenceScan {
	m := refMatcher{lower: !exact}
	var start [len(refPatterns)]int
	any := false
	for i := range refPatterns {
		start[i] = -1
		if !m.lower || mayMatch(i, seen) {
			start[i] = m.start(i, low)
		}
		any = any || start[i] >= 0
	}
	// The fence has no letters and no line breaks: it is where it is in
	// either copy.
	markup := 0
	if m.lower {
		markup = m.markupStart(low)
	}
	var rs referenceScan
	if !any && markup < 0 {
		return rs
	}
	text := cased
	if m.lower {
		text = spacedBreaks(low, seps)
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
	rs.detections = detectRewriting(m, text, seen)
	return rs
}

// spacedBreaks returns low with its line breaks back to the spaces of the
// plain copy, except the separators before decoded segments (seps), which
// are line breaks there too: asciiLower of the plain copy.
func spacedBreaks(low string, seps []int) string {
	var b strings.Builder
	b.Grow(len(low))
	for i := 0; ; {
		j := strings.IndexByte(low[i:], '\n')
		if j < 0 {
			b.WriteString(low[i:])
			return b.String()
		}
		b.WriteString(low[i : i+j])
		i += j
		if len(seps) > 0 && seps[0] == i {
			b.WriteByte('\n')
			seps = seps[1:]
		} else {
			b.WriteByte(' ')
		}
		i++
	}
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
// lower-case form text is lower-cased, and a pattern runs only where it can
// match the rewritten text: while no rewrite has cut a token in two, the
// tokens of the rewritten text are those of the copy minus the rewritten
// spans plus the replacement marker (one token, no reference word, and
// bracketed, so that it joins no pair), so seen still bounds what they hold;
// after a cut only the prefilter, asked again on the rewritten text, decides
// (the rewritten copy has no restored line breaks, which the prefilters
// treat as white space either way).
func detectRewriting(m refMatcher, text string, seen refSeen) []string {
	var labels []string
	intact := true // no rewrite has cut a token
	if i := m.markupStart(text); i >= 0 && m.markup().MatchString(text[i:]) {
		labels = append(labels, LabelMarkup)
		var cut bool
		text, _, cut = replaceFrom(m.markup(), text, i, m.replacement(RedactedMarkup))
		intact = intact && !cut
	}
	for k := range refPatterns {
		if m.lower && intact && !mayMatch(k, seen) {
			continue
		}
		i := m.start(k, text)
		if i < 0 {
			continue
		}
		rewritten, n, cut := replaceFrom(m.pattern(k), text, i, m.replacement(RedactedInjection))
		if n == 0 {
			continue
		}
		labels = append(labels, refPatterns[k].Label)
		text, intact = rewritten, intact && !cut
	}
	return labels
}

// replaceFrom is text[:from] + re.ReplaceAllLiteralString(text[from:],
// repl), with the number of matches replaced; cut reports whether a
// replaced span started or ended inside a token (a word byte on both sides
// of its edge).
func replaceFrom(re *regexp.Regexp, text string, from int, repl string) (out string, n int, cut bool) {
	matches := re.FindAllStringIndex(text[from:], -1)
	if len(matches) == 0 {
		return text, 0, false
	}
	var b strings.Builder
	b.Grow(len(text))
	b.WriteString(text[:from])
	last := from
	for _, m := range matches {
		a, e := from+m[0], from+m[1]
		cut = cut || a > 0 && isWordByte(text[a-1]) && isWordByte(text[a]) ||
			e < len(text) && e > a && isWordByte(text[e-1]) && isWordByte(text[e])
		b.WriteString(text[last:a])
		b.WriteString(repl)
		last = e
	}
	b.WriteString(text[last:])
	return b.String(), len(matches), cut
}

// Detect returns the reference detection labels for text (0–15): the markup
// label, then the label of each of the 14 patterns that matches the matching
// copy as progressively rewritten by the earlier ones.
func Detect(text string) []string {
	return referenceOf(text).detections
}

// referenceOf is the reference detector on text's matching copy.
func referenceOf(text string) referenceScan {
	sc := scratchPool.Get().(*scratch)
	defer scratchPool.Put(sc)
	lc := sc.f.lowered(text)
	if lc.exact {
		return lc.reference(text, refSeen{})
	}
	ws := sc.ws
	ws.resetGates()
	sc.toks = phraseRuleSet.tokenize(lc.low, sc.toks, ws)[:0]
	return lc.reference(text, ws.ref)
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
	n := referenceOf(title + " " + description + " " + entities).matchCount
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
