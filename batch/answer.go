package batch

import (
	"bytes"
	"cmp"
	"encoding/json"
	"fmt"
	"math"
	"net/netip"
	"regexp"
	"regexp/syntax"
	"slices"
	"sort"
	"strings"
	"unicode/utf8"
)

// Limits on model answers (spec §3.5.3–3.5.4 plus the Go additions).
const (
	// MaxAnswerBytes bounds the content of one result that is parsed.
	MaxAnswerBytes         = 1 << 20
	MaxCandidatesPerAnswer = 50
	MaxPlaybooksPerAnswer  = 10
	MaxRegexBytes          = 1024
	MaxEntityPatterns      = 20
	maxAlertNameRunes      = 512
	maxReasonRunes         = 2000
	maxPlaybookNameRunes   = 200
	maxDescriptionRunes    = 4000
	maxTactics             = 20
	maxTacticRunes         = 100
	maxTechniques          = 50
	maxSteps               = 50
	maxStepRunes           = 1000
	// minAlertRegexLiteral and minEntityRegexLiteral are the shortest
	// literal run every match of a pattern must contain. A pattern without
	// one (".+", "\w+", "[a-f0-9]{64}") matches every title or every value
	// of its type and would auto-close every alert once approved.
	minAlertRegexLiteral  = 3
	minEntityRegexLiteral = 2
	// minIPv4PrefixBits and minIPv6PrefixBits bound how broad a CIDR pattern
	// may be.
	minIPv4PrefixBits = 8
	minIPv6PrefixBits = 32
)

// Severities a candidate may carry.
var candidateSeverities = map[string]string{
	"critical": "critical", "high": "high", "medium": "medium", "low": "low",
	"informational": "informational", "info": "informational",
}

var techniqueIDRe = regexp.MustCompile(`^(T\d{4}(\.\d{3})?|AML\.T\d{4}(\.\d{3})?)$`)

// ReasonInvalidField: a field of a playbook had the wrong JSON type.
const ReasonInvalidField = "invalid_field"

// ReasonInvalidAlertName: alert_name was not a string.
const ReasonInvalidAlertName = "invalid_alert_name"

// stripFence removes a Markdown code fence around the answer.
func stripFence(s string) string {
	s = strings.TrimSpace(s)
	if !strings.HasPrefix(s, "```") {
		return s
	}
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[i+1:]
	} else {
		return ""
	}
	s = strings.TrimSpace(s)
	if strings.HasSuffix(s, "```") {
		s = strings.TrimSpace(s[:len(s)-3])
	}
	return s
}

func firstJSONValue(s string) (json.RawMessage, bool) {
	dec := json.NewDecoder(strings.NewReader(s))
	var v json.RawMessage
	if dec.Decode(&v) != nil {
		return nil, false
	}
	return v, true
}

// decodeAnswer finds the JSON value of a model answer: the whole trimmed
// text without a Markdown fence, or else the first value starting at the
// first '[' or '{' (models sometimes prefix a sentence). It returns the
// elements of an array, or the value itself, and whether it was an array.
func decodeAnswer(content string) (items []json.RawMessage, isArray bool, reason string) {
	if len(content) > MaxAnswerBytes {
		return nil, false, ReasonAnswerTooLarge
	}
	s := stripFence(content)
	v, ok := firstJSONValue(s)
	if !ok {
		i := strings.IndexAny(s, "[{")
		if i < 0 {
			return nil, false, ReasonUnparsableJSON
		}
		if v, ok = firstJSONValue(s[i:]); !ok {
			return nil, false, ReasonUnparsableJSON
		}
	}
	v = bytes.TrimSpace(v)
	if len(v) > 0 && v[0] == '[' {
		if json.Unmarshal(v, &items) != nil {
			return nil, false, ReasonUnparsableJSON
		}
		return items, true, ""
	}
	return []json.RawMessage{v}, false, ""
}

// fields decodes a JSON object; ok is false for anything else.
func fields(raw json.RawMessage) (map[string]json.RawMessage, bool) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || raw[0] != '{' {
		return nil, false
	}
	var m map[string]json.RawMessage
	if json.Unmarshal(raw, &m) != nil {
		return nil, false
	}
	return m, true
}

func isAbsent(raw json.RawMessage) bool {
	return raw == nil || string(bytes.TrimSpace(raw)) == "null"
}

// optString reads an optional string field: absent or null → ("", true).
func optString(m map[string]json.RawMessage, key string) (string, bool) {
	raw := m[key]
	if isAbsent(raw) {
		return "", true
	}
	var s string
	if json.Unmarshal(raw, &s) != nil {
		return "", false
	}
	return s, true
}

// optNumber reads an optional number: present reports whether it was given.
func optNumber(m map[string]json.RawMessage, key string) (v float64, present, ok bool) {
	raw := m[key]
	if isAbsent(raw) {
		return 0, false, true
	}
	if json.Unmarshal(raw, &v) != nil || math.IsNaN(v) || math.IsInf(v, 0) {
		return 0, true, false
	}
	return v, true, true
}

// optStrings reads an optional array; non-string elements are dropped.
func optStrings(m map[string]json.RawMessage, key string) ([]string, bool) {
	raw := m[key]
	if isAbsent(raw) {
		return nil, true
	}
	var elems []json.RawMessage
	if json.Unmarshal(raw, &elems) != nil {
		return nil, false
	}
	out := make([]string, 0, len(elems))
	for _, e := range elems {
		var s string
		if json.Unmarshal(e, &s) == nil {
			out = append(out, s)
		}
	}
	return out, true
}

func truncRunes(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	i := 0
	for k := range s {
		if i == n {
			return s[:k]
		}
		i++
	}
	return s
}

// restorer puts back the values the content gate pseudonymised, in the
// model's answer: verbatim in text, regex-quoted in regular expressions.
type restorer struct {
	text, regex, strip *strings.Replacer
	prefixes           []string // upper-case placeholder prefixes, e.g. "USER_"
}

func newRestorer(m map[string]string) *restorer {
	if len(m) == 0 {
		return nil
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		if k != "" {
			keys = append(keys, k)
		}
	}
	// Longest placeholder first, so USER_0010 is never read as USER_001 + "0".
	sort.Slice(keys, func(i, j int) bool {
		if len(keys[i]) != len(keys[j]) {
			return len(keys[i]) > len(keys[j])
		}
		return keys[i] < keys[j]
	})
	var t, r, s []string
	prefixes := map[string]bool{}
	for _, k := range keys {
		t = append(t, k, m[k])
		r = append(r, k, regexp.QuoteMeta(m[k]))
		s = append(s, k, "")
		if p := placeholderPrefix(k); p != "" {
			prefixes[p] = true
		}
	}
	res := &restorer{text: strings.NewReplacer(t...), regex: strings.NewReplacer(r...), strip: strings.NewReplacer(s...)}
	for p := range prefixes {
		res.prefixes = append(res.prefixes, p)
	}
	slices.Sort(res.prefixes)
	return res
}

// placeholderPrefix of "IP_SRC_001" is "IP_SRC_".
func placeholderPrefix(k string) string {
	i := len(k)
	for i > 0 && k[i-1] >= '0' && k[i-1] <= '9' {
		i--
	}
	if i == len(k) || i == 0 || k[i-1] != '_' {
		return ""
	}
	return strings.ToUpper(k[:i])
}

func (r *restorer) restoreText(s string) string {
	if r == nil {
		return s
	}
	return r.text.Replace(s)
}

func (r *restorer) restoreRegex(s string) string {
	if r == nil {
		return s
	}
	return r.regex.Replace(s)
}

// generalises reports whether a regular expression refers to pseudonyms by
// shape (e.g. USER_\d+) rather than by exact placeholder: such a pattern
// would only ever match placeholders, never a real value.
func (r *restorer) generalises(s string) bool {
	if r == nil {
		return false
	}
	rest := strings.ToUpper(r.strip.Replace(s))
	for _, p := range r.prefixes {
		if strings.Contains(rest, p) {
			return true
		}
	}
	return false
}

// compileMatcher compiles p the way the FP short-circuit matches it:
// case-insensitive, anchored at the start.
func compileMatcher(p string) (*regexp.Regexp, *syntax.Regexp, error) {
	if _, err := syntax.Parse(p, syntax.Perl); err != nil {
		return nil, nil, err
	}
	wrapped := "(?i)^(?:" + p + ")"
	tree, err := syntax.Parse(wrapped, syntax.Perl)
	if err != nil {
		return nil, nil, err
	}
	re, err := regexp.Compile(wrapped)
	if err != nil {
		return nil, nil, err
	}
	return re, tree, nil
}

// checkRegex validates a pattern regex: size, RE2 syntax, not catch-all,
// specific enough. It returns a rejection reason or "".
func checkRegex(p string, minLiteral int, invalidReason string) (*regexp.Regexp, string, string) {
	if len(p) > MaxRegexBytes {
		return nil, invalidReason, fmt.Sprintf("regex longer than %d bytes", MaxRegexBytes)
	}
	re, tree, err := compileMatcher(p)
	if err != nil {
		return nil, invalidReason, "regex does not compile as RE2"
	}
	if re.MatchString("") {
		return nil, ReasonRegexMatchesEverything, "regex matches the empty string, so it matches everything"
	}
	if requiredLiteral(tree.Simplify()) < minLiteral {
		return nil, ReasonRegexTooGeneric, fmt.Sprintf("every match must contain a literal of at least %d characters", minLiteral)
	}
	return re, "", ""
}

func zeroWidth(op syntax.Op) bool {
	switch op {
	case syntax.OpBeginLine, syntax.OpEndLine, syntax.OpBeginText, syntax.OpEndText,
		syntax.OpWordBoundary, syntax.OpNoWordBoundary, syntax.OpEmptyMatch:
		return true
	}
	return false
}

// requiredLiteral is the length in runes of the longest literal run that
// every match of re contains.
func requiredLiteral(re *syntax.Regexp) int {
	switch re.Op {
	case syntax.OpLiteral:
		return len(re.Rune)
	case syntax.OpCapture, syntax.OpPlus:
		return requiredLiteral(re.Sub[0])
	case syntax.OpRepeat:
		if re.Min >= 1 {
			return requiredLiteral(re.Sub[0])
		}
		return 0
	case syntax.OpConcat:
		best, run := 0, 0
		for _, sub := range re.Sub {
			switch {
			case sub.Op == syntax.OpLiteral:
				run += len(sub.Rune)
				best = max(best, run)
			case zeroWidth(sub.Op):
			default:
				run = 0
				best = max(best, requiredLiteral(sub))
			}
		}
		return best
	case syntax.OpAlternate:
		m := math.MaxInt
		for _, sub := range re.Sub {
			m = min(m, requiredLiteral(sub))
		}
		if m == math.MaxInt {
			return 0
		}
		return m
	}
	return 0
}

// candidateInput is what validateCandidate needs from the task.
type candidateInput struct {
	alertGroup    string
	minConfidence float64
	restore       *restorer
}

type rejected struct{ reason, detail string }

// validateCandidate checks one FP candidate object (spec §3.5.3 with the Go
// additions) and returns the pattern fields it carries; only the keys
// named there are read, so a model can never approve or scope its own
// pattern.
func validateCandidate(raw json.RawMessage, in candidateInput) (PatternCandidate, *rejected) {
	m, ok := fields(raw)
	if !ok {
		return PatternCandidate{}, &rejected{ReasonNotAnObject, "candidate is not a JSON object"}
	}
	var c PatternCandidate

	rx, ok := optString(m, "alert_name_regex")
	rx = strings.TrimSpace(rx)
	if !ok || rx == "" {
		return c, &rejected{ReasonInvalidAlertNameRegex, "alert_name_regex missing or not a string"}
	}
	if in.restore.generalises(rx) {
		return c, &rejected{ReasonRegexReferencesRedacted, "alert_name_regex matches pseudonyms, not real values"}
	}
	rx = in.restore.restoreRegex(rx)
	re, reason, detail := checkRegex(rx, minAlertRegexLiteral, ReasonInvalidAlertNameRegex)
	if reason != "" {
		return c, &rejected{reason, "alert_name_regex: " + detail}
	}
	c.AlertNameRegex = rx

	name, ok := optString(m, "alert_name")
	if !ok {
		return c, &rejected{ReasonInvalidAlertName, "alert_name is not a string"}
	}
	name = strings.TrimSpace(in.restore.restoreText(name))
	if name != "" {
		name = truncRunes(name, maxAlertNameRunes)
		if !re.MatchString(name) {
			return c, &rejected{ReasonRegexNotMatchAlertName, "alert_name_regex does not match alert_name"}
		}
	} else {
		name = truncRunes(in.alertGroup, maxAlertNameRunes)
	}
	c.AlertName = name

	eps, r := validateEntityPatterns(m["entity_patterns"], in.restore)
	if r != nil {
		return c, r
	}
	c.EntityPatterns = eps

	sev, ok := optString(m, "severity")
	if !ok {
		return c, &rejected{ReasonInvalidSeverity, "severity is not a string"}
	}
	if sev = strings.ToLower(strings.TrimSpace(sev)); sev != "" {
		if c.Severity, ok = candidateSeverities[sev]; !ok {
			return c, &rejected{ReasonInvalidSeverity, "severity not one of critical, high, medium, low, informational"}
		}
	}

	conf, present, ok := optNumber(m, "confidence")
	switch {
	case !present || !ok || conf < 0 || conf > 1:
		return c, &rejected{ReasonInvalidConfidence, "confidence must be a number in [0, 1]"}
	case conf < in.minConfidence:
		return c, &rejected{ReasonConfidenceBelowMinimum, fmt.Sprintf("confidence %.3g below minimum %.3g", conf, in.minConfidence)}
	}
	c.Confidence = conf

	reasonText, ok := optString(m, "reason")
	reasonText = strings.TrimSpace(in.restore.restoreText(reasonText))
	if !ok || reasonText == "" {
		reasonText = DefaultPatternReason
	}
	c.Reason = truncRunes(reasonText, maxReasonRunes)
	return c, nil
}

func validateEntityPatterns(raw json.RawMessage, restore *restorer) ([]EntityPattern, *rejected) {
	out := []EntityPattern{}
	if isAbsent(raw) {
		return out, nil
	}
	var elems []json.RawMessage
	if json.Unmarshal(raw, &elems) != nil {
		return nil, &rejected{ReasonInvalidEntityPattern, "entity_patterns is not an array"}
	}
	if len(elems) > MaxEntityPatterns {
		return nil, &rejected{ReasonInvalidEntityPattern, fmt.Sprintf("more than %d entity patterns", MaxEntityPatterns)}
	}
	seen := map[EntityPattern]bool{}
	for i, e := range elems {
		m, ok := fields(e)
		if !ok {
			return nil, &rejected{ReasonInvalidEntityPattern, fmt.Sprintf("entity pattern %d is not an object", i)}
		}
		bad := func(what string) *rejected {
			return &rejected{ReasonInvalidEntityPattern, fmt.Sprintf("entity pattern %d: %s", i, what)}
		}
		typ, ok := optString(m, "type")
		if !ok {
			return nil, bad("type is not a string")
		}
		canon, ok := CanonicalEntityType(typ)
		if !ok {
			return nil, bad("unknown entity type")
		}
		vr, ok1 := optString(m, "value_regex")
		vc, ok2 := optString(m, "value_cidr")
		if !ok1 || !ok2 {
			return nil, bad("value_regex and value_cidr must be strings")
		}
		vr, vc = strings.TrimSpace(vr), strings.TrimSpace(vc)
		if vr == "" && vc == "" {
			return nil, bad("neither value_regex nor value_cidr")
		}
		ep := EntityPattern{Type: canon}
		if vr != "" {
			if restore.generalises(vr) {
				return nil, &rejected{ReasonRegexReferencesRedacted, fmt.Sprintf("entity pattern %d: value_regex matches pseudonyms, not real values", i)}
			}
			vr = restore.restoreRegex(vr)
			if _, reason, detail := checkRegex(vr, minEntityRegexLiteral, ReasonInvalidEntityPattern); reason != "" {
				return nil, &rejected{reason, fmt.Sprintf("entity pattern %d: value_regex: %s", i, detail)}
			}
			ep.ValueRegex = vr
		}
		if vc != "" {
			if canon != EntityIP {
				return nil, bad("value_cidr is only valid for type ip")
			}
			prefix, err := netip.ParsePrefix(restore.restoreText(vc))
			if err != nil {
				return nil, bad("value_cidr is not a CIDR prefix")
			}
			prefix = prefix.Masked()
			switch {
			case prefix.Bits() == 0:
				return nil, &rejected{ReasonRegexMatchesEverything, fmt.Sprintf("entity pattern %d: value_cidr covers every address", i)}
			case prefix.Addr().Is4() && prefix.Bits() < minIPv4PrefixBits, !prefix.Addr().Is4() && prefix.Bits() < minIPv6PrefixBits:
				return nil, bad("value_cidr is too broad")
			}
			ep.ValueCIDR = prefix.String()
		}
		if !seen[ep] {
			seen[ep] = true
			out = append(out, ep)
		}
	}
	slices.SortFunc(out, compareEntityPatterns)
	return out, nil
}

func compareEntityPatterns(a, b EntityPattern) int {
	return cmp.Or(cmp.Compare(a.Type, b.Type), cmp.Compare(a.ValueRegex, b.ValueRegex), cmp.Compare(a.ValueCIDR, b.ValueCIDR))
}

// candidateFingerprint is the deterministic pattern id of spec §3.5.3:
// SHA-256 over "fp", the scope tenant, the alert-name regex and the sorted
// entity patterns.
func candidateFingerprint(scopeTenant, alertNameRegex string, eps []EntityPattern) string {
	sorted := slices.Clone(eps)
	slices.SortFunc(sorted, compareEntityPatterns)
	var b bytes.Buffer
	b.WriteString("fp\x00" + scopeTenant + "\x00" + alertNameRegex + "\x00")
	for _, ep := range sorted {
		b.WriteString(ep.Type + "\x1f" + ep.ValueRegex + "\x1f" + ep.ValueCIDR + "\x1e")
	}
	return fingerprintUUID(b.Bytes())
}

// playbookFields is a validated playbook answer.
type playbookFields struct {
	name, description          string
	tactics, techniques, steps []string
	identified, quarantined    []string
	confidence                 float64
}

// validatePlaybook checks one playbook object (spec §3.5.4).
func validatePlaybook(raw json.RawMessage, restore *restorer, known func(string) bool) (playbookFields, *rejected) {
	var p playbookFields
	m, ok := fields(raw)
	if !ok {
		return p, &rejected{ReasonNotAnObject, "playbook is not a JSON object"}
	}
	name, ok := optString(m, "name")
	if !ok {
		return p, &rejected{ReasonInvalidField, "name is not a string"}
	}
	if name = strings.TrimSpace(restore.restoreText(name)); name == "" {
		name = DefaultPlaybookName
	}
	p.name = truncRunes(name, maxPlaybookNameRunes)

	desc, ok := optString(m, "description")
	if !ok {
		return p, &rejected{ReasonInvalidField, "description is not a string"}
	}
	p.description = truncRunes(strings.TrimSpace(restore.restoreText(desc)), maxDescriptionRunes)

	tactics, ok := optStrings(m, "tactics")
	if !ok {
		return p, &rejected{ReasonInvalidField, "tactics is not an array"}
	}
	p.tactics = []string{}
	for _, t := range tactics {
		if t = strings.TrimSpace(t); t != "" && len(p.tactics) < maxTactics {
			p.tactics = append(p.tactics, truncRunes(t, maxTacticRunes))
		}
	}

	techs, ok := optStrings(m, "techniques")
	if !ok {
		return p, &rejected{ReasonInvalidField, "techniques is not an array"}
	}
	p.techniques, p.identified, p.quarantined = []string{}, []string{}, []string{}
	seen := map[string]bool{}
	for _, t := range techs {
		t = strings.TrimSpace(t)
		if t == "" {
			continue
		}
		p.identified = append(p.identified, truncRunes(t, 64))
		id := strings.ToUpper(t)
		if !techniqueIDRe.MatchString(id) || known != nil && !known(id) {
			p.quarantined = append(p.quarantined, truncRunes(t, 64))
			continue
		}
		if !seen[id] && len(p.techniques) < maxTechniques {
			seen[id] = true
			p.techniques = append(p.techniques, id)
		}
	}

	steps, ok := optStrings(m, "remediation_steps")
	if !ok {
		return p, &rejected{ReasonNoRemediationSteps, "remediation_steps is not an array"}
	}
	p.steps = []string{}
	for _, s := range steps {
		if s = strings.TrimSpace(restore.restoreText(s)); s != "" && len(p.steps) < maxSteps {
			p.steps = append(p.steps, truncRunes(s, maxStepRunes))
		}
	}
	if len(p.steps) == 0 {
		return p, &rejected{ReasonNoRemediationSteps, "no remediation steps"}
	}

	conf, present, ok := optNumber(m, "confidence")
	if present && (!ok || conf < 0 || conf > 1) {
		return p, &rejected{ReasonInvalidConfidence, "confidence must be a number in [0, 1]"}
	}
	p.confidence = conf
	return p, nil
}

// playbookFingerprint is the deterministic draft id of spec §3.5.4; index >
// 0 distinguishes further drafts of one answer.
func playbookFingerprint(tenant, primary string, sources []string, taskID string, index int) string {
	var b bytes.Buffer
	b.WriteString("pb\x00" + tenant + "\x00")
	if primary == "" && len(sources) == 0 {
		b.WriteString("task\x00" + taskID)
	} else {
		sorted := slices.Clone(sources)
		slices.Sort(sorted)
		b.WriteString(primary + "\x00" + strings.Join(sorted, "\x1f"))
	}
	if index > 0 {
		fmt.Fprintf(&b, "\x00#%d", index)
	}
	return fingerprintUUID(b.Bytes())
}
