package injection

import (
	"slices"
	"strconv"
	"strings"
)

// The phrase rules are written in a small notation so that the fast token
// scanner and the RE2 oracle in the tests are generated from one source:
//
//	ignore|disregard* ~2 previous|prior ~3 instruction*|rule*
//
// Space-separated fields are slots; "|" separates a slot's alternatives;
// "+" joins the words of a multi-word alternative ("system+prompt"); a
// trailing "*" makes a word a prefix ("instruction*" matches
// "instructions"); "~N" allows up to N other words before the next slot
// (default 0); a final "$" requires the match to end a sentence (the next
// separator holds a break, or the text ends). Words are ASCII lower case and compared with whole tokens of
// the lower-cased matching copy. A token is a maximal run of [0-9a-z_] (RE2's
// \w); the separators between the words of one match must not contain a
// sentence or line break: a newline, or one of . ! ? ; not directly followed
// by a word character (so "host.example.com" and "e.g" do not break).

// minTriggerPrefix is the shortest prefix word allowed in a rule's first
// slot; the trigger index looks prefixes up by their first bytes.
const minTriggerPrefix = 4

type word struct {
	text   string
	prefix bool
}

func (w word) matches(tok string) bool {
	if w.prefix {
		return strings.HasPrefix(tok, w.text)
	}
	return tok == w.text
}

type phrase []word

type slot []phrase

// phraseRule is one compiled phrase rule.
type phraseRule struct {
	name   string // stable id, e.g. "override.qualified"
	label  string // detector label, e.g. "warden:override_instructions"
	weight float64
	spec   string
	slots  []slot
	gaps   []int // gaps[i] = words allowed between slots i and i+1
	// atEnd: the last slot must be followed by a sentence break or the end.
	atEnd bool
}

func compileRule(name, label string, weight float64, spec string) phraseRule {
	r := phraseRule{name: name, label: label, weight: weight, spec: spec}
	gap := 0
	for field := range strings.FieldsSeq(spec) {
		if field == "$" {
			r.atEnd = true
			continue
		}
		if r.atEnd {
			panic("injection: $ must end rule " + name)
		}
		if n, ok := strings.CutPrefix(field, "~"); ok {
			g, err := strconv.Atoi(n)
			if err != nil || len(r.slots) == 0 {
				panic("injection: bad gap in rule " + name)
			}
			gap = g
			continue
		}
		var s slot
		for alt := range strings.SplitSeq(field, "|") {
			var p phrase
			for w := range strings.SplitSeq(alt, "+") {
				text, prefix := strings.CutSuffix(w, "*")
				if text == "" || strings.ToLower(text) != text {
					panic("injection: bad word in rule " + name)
				}
				p = append(p, word{text: text, prefix: prefix})
			}
			s = append(s, p)
		}
		if len(r.slots) > 0 {
			r.gaps = append(r.gaps, gap)
		}
		r.slots = append(r.slots, s)
		gap = 0
	}
	return r
}

// token is one word of the lower-cased copy.
type token struct {
	text string
	// hardBefore: the separator before this token holds a sentence or line
	// break, so no match spans it.
	hardBefore bool
}

func isWordByte(c byte) bool {
	return 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '_' || 'A' <= c && c <= 'Z'
}

func isSentenceEnd(c byte) bool { return c == '.' || c == '!' || c == '?' || c == ';' }

// breaksAt reports whether low[i], a separator byte, ends a sentence or line.
func breaksAt(low string, i int) bool {
	c := low[i]
	return c == '\n' || isSentenceEnd(c) && (i+1 == len(low) || !isWordByte(low[i+1]))
}

// tokenize splits low into tokens, reusing buf.
func tokenize(low string, buf []token) []token {
	toks := buf[:0]
	hard := false
	for i := 0; i < len(low); {
		c := low[i]
		if !isWordByte(c) {
			if breaksAt(low, i) {
				hard = true
			}
			i++
			continue
		}
		j := i + 1
		for j < len(low) && isWordByte(low[j]) {
			j++
		}
		toks = append(toks, token{text: low[i:j], hardBefore: hard})
		hard = false
		i = j
	}
	return toks
}

// trigger says that a token may start rule's first slot with phrase alt.
type trigger struct {
	rule int
	alt  int
}

// ruleSet is a compiled rule list with its first-word index.
type ruleSet struct {
	rules    []phraseRule
	exact    map[string][]trigger
	prefixes map[string][]trigger // keyed by the first minTriggerPrefix bytes
	// words and wordPrefixes are every word of every rule, for isRuleWord.
	words        map[string]bool
	wordPrefixes []string
}

// isRuleWord reports whether tok is a word some rule can match.
func (rs *ruleSet) isRuleWord(tok string) bool {
	if rs.words[tok] {
		return true
	}
	for _, p := range rs.wordPrefixes {
		if strings.HasPrefix(tok, p) {
			return true
		}
	}
	return false
}

func newRuleSet(rules []phraseRule) *ruleSet {
	rs := &ruleSet{rules: rules, exact: map[string][]trigger{}, prefixes: map[string][]trigger{}, words: map[string]bool{}}
	for _, r := range rules {
		for _, s := range r.slots {
			for _, p := range s {
				for _, w := range p {
					switch {
					case !w.prefix:
						rs.words[w.text] = true
					case !slices.Contains(rs.wordPrefixes, w.text):
						rs.wordPrefixes = append(rs.wordPrefixes, w.text)
					}
				}
			}
		}
	}
	for ri, r := range rules {
		for ai, p := range r.slots[0] {
			w := p[0]
			t := trigger{rule: ri, alt: ai}
			if !w.prefix {
				rs.exact[w.text] = append(rs.exact[w.text], t)
				continue
			}
			if len(w.text) < minTriggerPrefix {
				panic("injection: trigger prefix too short in rule " + r.name)
			}
			k := w.text[:minTriggerPrefix]
			rs.prefixes[k] = append(rs.prefixes[k], t)
		}
	}
	return rs
}

// match marks in hit every rule that matches somewhere in toks.
func (rs *ruleSet) match(toks []token, hit []bool) {
	for i := range toks {
		tok := toks[i].text
		for _, t := range rs.exact[tok] {
			rs.try(t, toks, i, hit)
		}
		if len(tok) >= minTriggerPrefix {
			for _, t := range rs.prefixes[tok[:minTriggerPrefix]] {
				rs.try(t, toks, i, hit)
			}
		}
	}
}

func (rs *ruleSet) try(t trigger, toks []token, i int, hit []bool) {
	if hit[t.rule] {
		return
	}
	r := &rs.rules[t.rule]
	if end := matchPhrase(r.slots[0][t.alt], toks, i); end >= 0 && r.matchFrom(1, toks, end) {
		hit[t.rule] = true
	}
}

// matchFrom reports whether slots[s:] match starting at or up to gaps[s-1]
// words after pos.
func (r *phraseRule) matchFrom(s int, toks []token, pos int) bool {
	if s == len(r.slots) {
		return !r.atEnd || pos == len(toks) || toks[pos].hardBefore
	}
	limit := pos + r.gaps[s-1]
	for j := pos; j <= limit && j < len(toks); j++ {
		if toks[j].hardBefore {
			return false
		}
		for _, p := range r.slots[s] {
			if end := matchPhrase(p, toks, j); end >= 0 && r.matchFrom(s+1, toks, end) {
				return true
			}
		}
	}
	return false
}

// matchPhrase returns the index after p when p matches at toks[i], else -1.
func matchPhrase(p phrase, toks []token, i int) int {
	if i+len(p) > len(toks) {
		return -1
	}
	for k, w := range p {
		t := toks[i+k]
		if k > 0 && t.hardBefore {
			return -1
		}
		if !w.matches(t.text) {
			return -1
		}
	}
	return i + len(p)
}
