package injection

import (
	"encoding/base64"
	"regexp"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// This file is the oracle: the plain RE2 (and plain-library) formulation of
// everything the fast path does by hand. The differential tests and fuzz
// targets in fast_test.go check that both return exactly the same.

// ---- matching copy ----

var (
	oracleURLEscape = regexp.MustCompile(`%[0-9A-Fa-f]{2}|\+`)
	oracleEncoded   = regexp.MustCompile(`[A-Za-z0-9+/_-]{16,}={0,2}`)
)

func oracleURLDecode(s string) string {
	return oracleURLEscape.ReplaceAllStringFunc(s, func(m string) string {
		if m == "+" {
			return " "
		}
		v, _ := strconv.ParseUint(m[1:], 16, 8)
		if v >= 0x20 && v <= 0x7e {
			return string(rune(v))
		}
		return m
	})
}

// oracleFold is step 2 of the matching copy; lineBreaks keeps line breaks
// as "\n" (the form the Warden detectors read).
func oracleFold(s string, lineBreaks bool) string {
	return strings.Map(func(r rune) rune {
		switch {
		case unicode.In(r, unicode.Cf, unicode.Mn):
			return -1
		case unicode.IsSpace(r):
			if lineBreaks && strings.ContainsRune("\n\r\v\f\u0085\u2028\u2029", r) {
				return '\n'
			}
			return ' '
		case r >= 0xFF01 && r <= 0xFF5E:
			return r - 0xFEE0
		}
		if a, ok := confusables[r]; ok {
			return a
		}
		return r
	}, s)
}

// oracleSegments returns the decoded segments of s in copy order.
func oracleSegments(s string, levels int, attempts *int) []string {
	if levels == 0 {
		return nil
	}
	var out []string
	for _, m := range oracleEncoded.FindAllString(s, -1) {
		if len(m) > maxEncodedRun {
			continue
		}
		run := strings.TrimRight(m, "=")
		if len(run)%4 == 1 {
			continue
		}
		if *attempts >= maxDecodeAttempts {
			return out
		}
		*attempts++
		enc := base64.RawStdEncoding
		if strings.ContainsAny(run, "-_") {
			enc = base64.RawURLEncoding
		}
		raw, err := enc.DecodeString(run)
		if err != nil || len(raw) == 0 || !utf8.Valid(raw) {
			continue
		}
		total, printable := 0, 0
		for _, r := range string(raw) {
			total++
			if unicode.IsPrint(r) || unicode.IsSpace(r) {
				printable++
			}
		}
		if float64(printable) < minPrintableShare*float64(total) {
			continue
		}
		out = append(out, string(raw))
		out = append(out, oracleSegments(string(raw), levels-1, attempts)...)
	}
	return out
}

// oracleCopy returns the matching copy, the lower-cased copy with line
// breaks and the length of the folded original.
func oracleCopy(text string) (copyText, low string, mainLen int) {
	attempts := 0
	segs := oracleSegments(text, encodedLevels, &attempts)
	var c, l strings.Builder
	c.WriteString(oracleFold(oracleURLDecode(text), false))
	l.WriteString(oracleFold(oracleURLDecode(text), true))
	mainLen = c.Len()
	for _, s := range segs {
		c.WriteString("\n" + oracleFold(oracleURLDecode(s), false))
		l.WriteString("\n" + oracleFold(oracleURLDecode(s), true))
	}
	return c.String(), oracleLower(l.String()), mainLen
}

func oracleLower(s string) string {
	return strings.Map(func(r rune) rune {
		if 'A' <= r && r <= 'Z' {
			return r + 'a' - 'A'
		}
		return r
	}, s)
}

// ---- phrase rules ----

// oracleSoft is a separator without a sentence or line break.
const oracleSoft = `(?:[^\w.!?;\n]+[.!?;]?|[.!?;])`

// oracleEnd is what "$" requires after the last word.
const oracleEnd = `(?:\W*\z|[^\w.!?;\n]*(?:\n|[.!?;]\W))`

func oraclePhraseRegex(r phraseRule) *regexp.Regexp {
	var b strings.Builder
	slotRe := func(s slot) string {
		alts := make([]string, len(s))
		for i, p := range s {
			ws := make([]string, len(p))
			for j, w := range p {
				ws[j] = regexp.QuoteMeta(w.text)
				if w.prefix {
					ws[j] += `\w*`
				}
			}
			alts[i] = strings.Join(ws, oracleSoft)
		}
		return "(?:" + strings.Join(alts, "|") + `)\b`
	}
	b.WriteString(`\b` + slotRe(r.slots[0]))
	for i := 1; i < len(r.slots); i++ {
		b.WriteString("(?:" + oracleSoft + `\w+){0,` + strconv.Itoa(r.gaps[i-1]) + "}" + oracleSoft + slotRe(r.slots[i]))
	}
	if r.atEnd {
		b.WriteString(oracleEnd)
	}
	return regexp.MustCompile(b.String())
}

var oraclePhrases = func() []*regexp.Regexp {
	out := make([]*regexp.Regexp, len(phraseRules))
	for i, r := range phraseRules {
		out[i] = oraclePhraseRegex(r)
	}
	return out
}()

// ---- marker rules ----

func alt(words []string) string {
	q := make([]string, len(words))
	for i, w := range words {
		q[i] = regexp.QuoteMeta(w)
		if strings.HasSuffix(w, "_") {
			q[i] += `\w*`
		}
	}
	return "(?:" + strings.Join(q, "|") + ")"
}

var oracleMarkers = map[string]*regexp.Regexp{
	"role.special_token":       regexp.MustCompile(`<\|[a-z_]{2,20}\|>`),
	"role.llama":               regexp.MustCompile(`\[/?inst\]|<</?sys>>`),
	"role.heading":             regexp.MustCompile(`(?m)^ *#{1,6} *` + alt(strongHeadings) + ` *[:#]* *$`),
	"role.heading_weak":        regexp.MustCompile(`(?m)^ *#{1,6} *` + alt(weakHeadings) + ` *[:#]* *$`),
	"role.line_label":          regexp.MustCompile(`(?m)^ *` + alt(strongLineLabels) + ` *:`),
	"role.line_label_weak":     regexp.MustCompile(`(?m)^ *` + alt(weakLineLabels) + ` *:`),
	"addressed.colon":          regexp.MustCompile(`\b(?:` + strings.Join(colonModels, "|") + `|language model|ai [a-z]+)s? *:`),
	"role.bracket":             regexp.MustCompile(`[\[<{] *` + alt(bracketRoles) + ` *[\]>}]`),
	"role.bracket_anchor":      regexp.MustCompile(`\[` + alt(anchorRoles) + `\]\(#`),
	"delimiter.close_evidence": regexp.MustCompile(`</ *` + alt(evidenceTags) + ` *>`),
	"delimiter.close_tag":      regexp.MustCompile(`</ *` + alt(wrapperTags) + ` *>`),
	"delimiter.fence_role":     regexp.MustCompile("```\\s*" + alt(fenceRoles) + `\b`),
	"delimiter.rule_line":      regexp.MustCompile(`(?:-{3}|={3}|\*{3}|_{3}|~{3}|"{3}|'{3}|#{3}) *` + alt(ruleWords) + `\b`),
	"exfil.markdown_image":     regexp.MustCompile(`!\[[^\]\n]*\]\(https?://[^)\s]*\?[^)\s]*=`),
}

// ---- deobfuscation ----

var (
	oracleSpelt = regexp.MustCompile(`\b[a-z](?:[-.* ][a-z]){3,}\b`)
	oracleWord  = regexp.MustCompile(`\w+`)
	oracleLeet  = strings.NewReplacer("0", "o", "1", "i", "3", "e", "4", "a", "5", "s", "7", "t")
)

func oracleDeobfuscate(low string) (string, bool) {
	changed := false
	s := oracleSpelt.ReplaceAllStringFunc(low, func(m string) string {
		changed = true
		var b strings.Builder
		for i := 0; i < len(m); i += 2 {
			b.WriteByte(m[i])
		}
		return b.String()
	})
	s = oracleWord.ReplaceAllStringFunc(s, func(w string) string {
		letters := 0
		for _, c := range w {
			if 'a' <= c && c <= 'z' {
				letters++
			}
		}
		if len(w) > maxLeetWord || letters < minLeetLetters || !strings.ContainsAny(w, "013457") {
			return w
		}
		d := oracleLeet.Replace(w)
		if !oracleRuleWord(d) {
			return w
		}
		changed = true
		return d
	})
	return s, changed
}

// oracleRuleWord reports whether w is a word of some phrase rule, read
// straight from the rule notation.
func oracleRuleWord(w string) bool {
	for _, r := range phraseRules {
		for _, field := range strings.Fields(r.spec) {
			for _, alt := range strings.Split(field, "|") {
				for _, rw := range strings.Split(alt, "+") {
					if p, ok := strings.CutSuffix(rw, "*"); ok && strings.HasPrefix(w, p) || rw == w {
						return true
					}
				}
			}
		}
	}
	return false
}

// ---- whole scan ----

// oracleScan is Scan built from the oracle parts: every reference regex on
// every text (no prefilter), regex phrase rules and markers.
func oracleScan(text string) Result {
	copyText, low, mainLen := oracleCopy(text)
	ref := scanReference(copyText, low, nil, true, refSeen{})
	wh := wardenHits{
		phrasePlain:  make([]bool, len(phraseRules)),
		phraseHidden: make([]bool, len(phraseRules)),
		markerPlain:  make([]bool, len(markerRules)),
		markerHidden: make([]bool, len(markerRules)),
	}
	regions := []struct {
		s      string
		phrase []bool
		marker []bool
	}{{low[:mainLen], wh.phrasePlain, wh.markerPlain}, {low[mainLen:], wh.phraseHidden, wh.markerHidden}}
	for _, reg := range regions {
		for i, re := range oraclePhrases {
			reg.phrase[i] = reg.phrase[i] || re.MatchString(reg.s)
		}
		for i, m := range markerRules {
			reg.marker[i] = reg.marker[i] || oracleMarkers[m.name].MatchString(reg.s)
		}
	}
	if d, ok := oracleDeobfuscate(low); ok {
		for i, re := range oraclePhrases {
			wh.phraseHidden[i] = wh.phraseHidden[i] || re.MatchString(d)
		}
	}
	return combine(ref, wh, buildCopy(text).hidden)
}

// ---- the plain derivation of the lowered copy ----

// The fast path builds the lowered copy in one pass (folder.lowered); these
// derive it from the plain copy, as the reference would, for the
// differential tests.

// lowerCopy returns the copy with ASCII letters lower-cased and the original
// line breaks restored, and whether the prefilters must be bypassed.
func lowerCopy(mc matchingCopy) (string, bool) {
	b := []byte(mc.text)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	for _, i := range mc.breaks {
		b[i] = '\n'
	}
	return string(b), foldsToASCII(mc.text)
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

// foldsToASCII reports whether s holds one of the two non-ASCII runes that
// RE2's (?i) matching folds onto an ASCII letter (KELVIN SIGN → k, LATIN
// SMALL LETTER LONG S → s). Such text skips the prefilters.
func foldsToASCII(s string) bool {
	return strings.Contains(s, "\u212a") || strings.Contains(s, "\u017f")
}
