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

// Classes of bytes for the tokenizer: not a word byte, a lower-case letter,
// a digit deleet rewrites, another word byte.
const (
	tokSep = iota
	tokLetter
	tokLeet
	tokOther
)

var tokClass = func() (t [256]uint8) {
	for c := range t {
		switch b := byte(c); {
		case 'a' <= b && b <= 'z':
			t[c] = tokLetter
		case leetLetter(b) != 0:
			t[c] = tokLeet
		case isWordByte(b):
			t[c] = tokOther
		}
	}
	return t
}()

// tokBit is 1 << tokClass, 0 for separators.
var tokBit = func() (t [256]uint8) {
	for c := range t {
		if k := tokClass[c]; k != tokSep {
			t[c] = 1 << k
		}
	}
	return t
}()

// headBase is the number of word-byte values a prefix head can hold
// ([0-9a-z_]; upper-case letters share their lower-case value, so such a
// head can be looked up but never passes the prefix test).
const headBase = 37

var headValue = func() (t [256]uint8) {
	for c := range t {
		switch b := byte(c); {
		case '0' <= b && b <= '9':
			t[c] = b - '0'
		case 'a' <= b && b <= 'z':
			t[c] = b - 'a' + 10
		case 'A' <= b && b <= 'Z':
			t[c] = b - 'A' + 10
		case b == '_':
			t[c] = 36
		}
	}
	return t
}()

// minPrefixWord is the shortest prefix word a rule may start an
// alternative with: such words are found through their first three bytes.
const minPrefixWord = 3

// headKey packs the first three bytes of a word (len ≥ minPrefixWord).
func headKey(w string) int {
	return (int(headValue[w[0]])*headBase+int(headValue[w[1]]))*headBase + int(headValue[w[2]])
}

// FNV-1a, computed by the tokenizer as it reads a word.
const (
	fnvOffset uint32 = 2166136261
	fnvPrime  uint32 = 16777619
)

func wordHash(w string) uint32 {
	h := fnvOffset
	for i := 0; i < len(w); i++ {
		h = (h ^ uint32(w[i])) * fnvPrime
	}
	return h
}

// wordSlot is one entry of the exact-word hash table. Words of at most 8
// bytes are compared through pack (their bytes, little-endian) and n, without
// reading the word itself.
type wordSlot struct {
	pack uint64
	hash uint32
	id   int32 // -1: empty
	n    int32 // the word's length
}

// packWord returns the first (up to) 8 bytes of w, little-endian.
func packWord(w string) uint64 {
	var p uint64
	for i := 0; i < len(w) && i < 8; i++ {
		p |= uint64(w[i]) << (8 * i)
	}
	return p
}

// firstGroup lists the alternatives of one slot that start with one word.
type firstGroup struct {
	id   int32
	alts []int
}

// maxSlots bounds the slots of a rule (one bit each in a uint32 mask).
const maxSlots = 32

// ruleSet is a compiled rule list with its word index.
//
// Every word that starts an alternative of some slot (exact words and
// prefix words apart) has an id. The tokenizer looks each token up once and
// keeps, per id, the positions where the word occurs. A rule can only match
// when each of its slots has one of its first words in one sentence (the
// candidates, see wordScan); for those, matching is a pass over the slots: the set of
// token positions where slot s can end is derived from the set for slot s-1
// (bit sets over positions, widened by the gap and cut at hard breaks) and
// the occurrences of slot s's first words. That is the same relation the
// rule notation defines, computed without trying every trigger.
type ruleSet struct {
	rules []phraseRule

	table    []wordSlot // exact words, open addressing, power-of-two size
	wordText []string   // id → word (exact or prefix)
	// headBits has a bit per head key of some prefix word; headBucket maps
	// such a key to its bucket in buckets (the prefix words with that head).
	headBits   []uint64
	headBucket map[int]int32
	buckets    [][]int32
	firstOf    [][]slotRef      // id → slots in which the word starts an alternative
	slotFirst  [][][]firstGroup // rule → slot → first words with their alternatives
	fullMask   []uint32         // rule → one bit per slot
	refBit     []uint64         // id → bit of the word among referenceWords, or 0

	// words and wordPrefixes are every word of every rule, for isRuleWord;
	// prefixHeads groups wordPrefixes by head key.
	words        map[string]bool
	wordPrefixes []string
	prefixHeads  map[int][]string
}

// slotRef names one slot of one rule.
type slotRef struct {
	rule int32
	bit  uint32 // 1 << slot
}

// isRuleWord reports whether tok is a word some rule can match.
func (rs *ruleSet) isRuleWord(tok string) bool {
	if rs.words[tok] {
		return true
	}
	if len(tok) < minPrefixWord {
		return false
	}
	for _, p := range rs.prefixHeads[headKey(tok)] {
		if strings.HasPrefix(tok, p) {
			return true
		}
	}
	return false
}

// lookup returns the id of exact word w with hash h and packWord pack, or
// -1.
func (rs *ruleSet) lookup(w string, h uint32, pack uint64) int32 {
	mask := uint32(len(rs.table) - 1)
	for i := h & mask; ; i = (i + 1) & mask {
		e := &rs.table[i]
		if e.id < 0 {
			return -1
		}
		if e.hash == h && e.pack == pack && int(e.n) == len(w) && (len(w) <= 8 || rs.wordText[e.id] == w) {
			return e.id
		}
	}
}

func newRuleSet(rules []phraseRule, refWords []string) *ruleSet {
	rs := &ruleSet{rules: rules, headBucket: map[int]int32{}, words: map[string]bool{},
		headBits: make([]uint64, (headBase*headBase*headBase+63)/64)}
	exactIDs, prefixIDs := map[string]int32{}, map[string]int32{}
	id := func(w word) int32 {
		ids := exactIDs
		if w.prefix {
			ids = prefixIDs
		}
		if n, ok := ids[w.text]; ok {
			return n
		}
		n := int32(len(rs.wordText))
		ids[w.text] = n
		rs.wordText = append(rs.wordText, w.text)
		rs.firstOf = append(rs.firstOf, nil)
		rs.refBit = append(rs.refBit, 0)
		if w.prefix {
			if len(w.text) < minPrefixWord {
				panic("injection: a prefix word starting an alternative is shorter than 3 bytes: " + w.text)
			}
			k := headKey(w.text)
			b, ok := rs.headBucket[k]
			if !ok {
				b = int32(len(rs.buckets))
				rs.headBucket[k] = b
				rs.buckets = append(rs.buckets, nil)
				rs.headBits[k/64] |= 1 << (k % 64)
			}
			rs.buckets[b] = append(rs.buckets[b], n)
		}
		return n
	}
	for ri, r := range rules {
		if len(r.slots) > maxSlots {
			panic("injection: too many slots in rule " + r.name)
		}
		rs.fullMask = append(rs.fullMask, 1<<len(r.slots)-1)
		groups := make([][]firstGroup, len(r.slots))
		for si, s := range r.slots {
			for ai, p := range s {
				for _, w := range p {
					if w.prefix {
						if !slices.Contains(rs.wordPrefixes, w.text) {
							rs.wordPrefixes = append(rs.wordPrefixes, w.text)
						}
					} else {
						rs.words[w.text] = true
					}
				}
				first := id(p[0])
				ref := slotRef{rule: int32(ri), bit: 1 << si}
				if !slices.Contains(rs.firstOf[first], ref) {
					rs.firstOf[first] = append(rs.firstOf[first], ref)
				}
				gi := slices.IndexFunc(groups[si], func(g firstGroup) bool { return g.id == first })
				if gi < 0 {
					gi = len(groups[si])
					groups[si] = append(groups[si], firstGroup{id: first})
				}
				groups[si][gi].alts = append(groups[si][gi].alts, ai)
			}
		}
		rs.slotFirst = append(rs.slotFirst, groups)
	}
	rs.prefixHeads = map[int][]string{}
	for _, p := range rs.wordPrefixes {
		if len(p) < minPrefixWord {
			panic("injection: prefix word shorter than 3 bytes: " + p)
		}
		rs.prefixHeads[headKey(p)] = append(rs.prefixHeads[headKey(p)], p)
	}
	if len(refWords) > 64 {
		panic("injection: more than 64 reference words")
	}
	for i, w := range refWords {
		rs.refBit[id(word{text: w})] |= 1 << i
	}
	size := 1
	for size < 2*len(exactIDs) {
		size *= 2
	}
	rs.table = make([]wordSlot, size)
	for i := range rs.table {
		rs.table[i].id = -1
	}
	for w, n := range exactIDs {
		h := wordHash(w)
		for i := h & uint32(size-1); ; i = (i + 1) & uint32(size-1) {
			if rs.table[i].id < 0 {
				rs.table[i] = wordSlot{pack: packWord(w), hash: h, id: n, n: int32(len(w))}
				break
			}
		}
	}
	return rs
}

// wordScan is what tokenize learnt about one text, and the matcher's
// working memory; its buffers are reused between scans.
//
// Candidates are found per segment (the tokens between two hard breaks):
// no match spans a hard break, so a rule can only match where one segment
// holds a first word of each of its slots. Segment numbers only grow, so
// stale stamps from earlier segments and scans never need clearing.
type wordScan struct {
	seg   uint32      // current segment
	idSeg []uint32    // word id → last segment it occurred in
	rules []ruleState // by rule
	cands []int32     // the rules with cand set, in the order found
	// Occurrences: postHead[id] is the last entry for id, postNext chains
	// them backwards, postPos is the token index; -1 ends a chain. touched
	// lists the ids with a chain, to reset postHead.
	postHead, postNext, postPos []int32
	touched                     []int32
	hard                        []uint64 // bit per token that has hardBefore
	sets                        [3][]uint64
	// ref has the reference words and pairs seen (see refNeeds); refPrev
	// is the reference-word bits of the last token and refSpaced whether
	// only \s characters followed it. They accumulate like the gates, so
	// that a pair may span two texts tokenized one after the other (the
	// copy and its decoded segments).
	ref       refSeen
	refPrev   uint64
	refSpaced bool
	// spelt: a run of minSpeltLetters single-letter words one spelling
	// separator apart (despell has work); leet: a word deleet rewrites.
	// They accumulate over every text tokenized since the caller reset them.
	spelt, leet bool
}

// ruleState is one rule's candidate state (one struct, so that occur
// touches one cache line per rule).
type ruleState struct {
	seg  uint32 // segment sat is about
	sat  uint32 // bit per slot that a word of segment seg can start
	full uint32 // every slot's bit
	cand bool   // some segment satisfied every slot
}

// resetGates starts a new text for the accumulated fields.
func (ws *wordScan) resetGates() {
	ws.spelt, ws.leet = false, false
	ws.ref, ws.refPrev, ws.refSpaced = refSeen{}, 0, false
}

func (rs *ruleSet) newWordScan() *wordScan {
	ws := &wordScan{idSeg: make([]uint32, len(rs.wordText)), rules: make([]ruleState, len(rs.rules)),
		postHead: make([]int32, len(rs.wordText))}
	for i := range ws.postHead {
		ws.postHead[i] = -1
	}
	for r := range ws.rules {
		ws.rules[r].full = rs.fullMask[r]
	}
	return ws
}

// nextSegment starts a segment.
func (ws *wordScan) nextSegment() {
	ws.seg++
	if ws.seg == 0 { // wrapped: forget every stamp
		clear(ws.idSeg)
		for r := range ws.rules {
			ws.rules[r].seg = 0
		}
		ws.seg = 1
	}
}

// occur records that word id occurs at token index pos.
func (ws *wordScan) occur(rs *ruleSet, id int32, pos int) {
	if ws.idSeg[id] != ws.seg {
		ws.idSeg[id] = ws.seg
		for _, ref := range rs.firstOf[id] {
			st := &ws.rules[ref.rule]
			if st.seg != ws.seg {
				st.seg, st.sat = ws.seg, 0
			}
			st.sat |= ref.bit
			if st.sat == st.full && !st.cand {
				st.cand = true
				ws.cands = append(ws.cands, ref.rule)
			}
		}
	}
	if ws.postHead[id] < 0 {
		ws.touched = append(ws.touched, id)
	}
	ws.postNext = append(ws.postNext, ws.postHead[id])
	ws.postPos = append(ws.postPos, int32(pos))
	ws.postHead[id] = int32(len(ws.postPos) - 1)
}

// tokenize splits low into tokens (reusing buf), looks each one up in the
// word index and fills ws for low: presence and occurrences of rule words,
// hard breaks, and (accumulated) the reference words and deobfuscation
// gates.
func (rs *ruleSet) tokenize(low string, buf []token, ws *wordScan) []token {
	for _, id := range ws.touched {
		ws.postHead[id] = -1
	}
	for _, r := range ws.cands {
		ws.rules[r].cand = false
	}
	ws.touched, ws.cands, ws.postNext, ws.postPos = ws.touched[:0], ws.cands[:0], ws.postNext[:0], ws.postPos[:0]
	ws.hard = ws.hard[:0]
	ws.nextSegment()
	toks := buf[:0]
	hard := false
	spelt, prevEnd := 0, -2 // single-letter run length, end of the previous token
	for i := 0; i < len(low); {
		c := low[i]
		if tokClass[c] == tokSep {
			if c == '\n' || isSentenceEnd(c) && breaksAt(low, i) {
				hard = true
			}
			if !isRE2Space(c) {
				ws.refSpaced = false
			}
			i++
			continue
		}
		h, kinds, pack := fnvOffset, uint8(0), uint64(0)
		j := i
		for ; j < len(low); j++ {
			c := low[j]
			b := tokBit[c]
			if b == 0 {
				break
			}
			kinds |= b
			h = (h ^ uint32(c)) * fnvPrime
			if j-i < 8 {
				pack |= uint64(c) << (8 * (j - i))
			}
		}
		w, pos := low[i:j], len(toks)
		toks = append(toks, token{text: w, hardBefore: hard})
		if pos%64 == 0 {
			ws.hard = append(ws.hard, 0)
		}
		if hard {
			ws.hard[pos/64] |= 1 << (pos % 64)
			ws.nextSegment()
		}
		var refBits uint64
		if id := rs.lookup(w, h, pack); id >= 0 {
			refBits = rs.refBit[id]
			if len(rs.firstOf[id]) > 0 {
				ws.occur(rs, id, pos)
			}
		}
		if refBits != 0 {
			ws.ref.words |= refBits
			if ws.refPrev != 0 && ws.refSpaced {
				for k, p := range refPairs {
					if ws.refPrev&p.first != 0 && refBits&p.second != 0 {
						ws.ref.pairs |= 1 << k
					}
				}
			}
		}
		ws.refPrev, ws.refSpaced = refBits, true
		if len(w) >= minPrefixWord {
			if k := headKey(w); rs.headBits[k/64]&(1<<(k%64)) != 0 {
				for _, id := range rs.buckets[rs.headBucket[k]] {
					if strings.HasPrefix(w, rs.wordText[id]) {
						ws.occur(rs, id, pos)
					}
				}
			}
		}
		// The deobfuscation gates: exactly the words despell and deleet
		// would rewrite (see there).
		if j == i+1 && kinds == 1<<tokLetter {
			if spelt > 0 && i == prevEnd+1 && isSpellSep(low[prevEnd]) {
				spelt++
			} else {
				spelt = 1
			}
			ws.spelt = ws.spelt || spelt >= minSpeltLetters
		} else {
			spelt = 0
		}
		if kinds&(1<<tokLeet) != 0 && !ws.leet {
			ws.leet = deleetWord(w)
		}
		hard = false
		prevEnd = j
		i = j
	}
	// Position len(toks) ends the text: it needs a word of the hard set.
	if len(toks)%64 == 0 {
		ws.hard = append(ws.hard, 0)
	}
	return toks
}

// bitSet returns working set k sized for n+1 positions, cleared.
func (ws *wordScan) bitSet(k, n int) []uint64 {
	words := n/64 + 1
	if cap(ws.sets[k]) < words {
		ws.sets[k] = make([]uint64, words, 2*words)
	}
	s := ws.sets[k][:words]
	clear(s)
	return s
}

// match marks in hit every rule that matches in toks (tokenized with ws).
func (rs *ruleSet) match(toks []token, hit []bool, ws *wordScan) {
	for _, ri := range ws.cands {
		if !hit[ri] && rs.matchRule(int(ri), toks, ws) {
			hit[ri] = true
		}
	}
}

// matchRule reports whether rule ri matches somewhere in toks.
func (rs *ruleSet) matchRule(ri int, toks []token, ws *wordScan) bool {
	r := &rs.rules[ri]
	n := len(toks)
	ends := ws.bitSet(0, n) // positions where the slots so far can end
	if !rs.slotEnds(ri, 0, toks, ws, nil, ends) {
		return false
	}
	next := ws.bitSet(2, n)
	for s := 1; s < len(r.slots); s++ {
		// Slot s may start within gaps[s-1] words after an end, with no
		// hard break on the way (the first word of the slot included).
		reach := ws.bitSet(1, n)
		for w := range reach {
			reach[w] = ends[w] &^ ws.hard[w]
		}
		for range r.gaps[s-1] {
			for w := len(reach) - 1; w >= 0; w-- {
				shifted := reach[w] << 1
				if w > 0 {
					shifted |= reach[w-1] >> 63
				}
				reach[w] |= shifted &^ ws.hard[w]
			}
		}
		clear(next)
		if !rs.slotEnds(ri, s, toks, ws, reach, next) {
			return false
		}
		ends, next = next, ends
	}
	if !r.atEnd {
		return true
	}
	// The last slot must end the text or be followed by a hard break.
	if ends[n/64]&(1<<(n%64)) != 0 {
		return true
	}
	for w := range ends {
		if ends[w]&ws.hard[w] != 0 {
			return true
		}
	}
	return false
}

// slotEnds sets in out the end of every match of slot s of rule ri that
// starts at a position in reach (anywhere when reach is nil), and reports
// whether there was one.
func (rs *ruleSet) slotEnds(ri, s int, toks []token, ws *wordScan, reach, out []uint64) bool {
	slot := rs.rules[ri].slots[s]
	found := false
	for _, g := range rs.slotFirst[ri][s] {
		for k := ws.postHead[g.id]; k >= 0; k = ws.postNext[k] {
			j := int(ws.postPos[k])
			if reach != nil && reach[j/64]&(1<<(j%64)) == 0 {
				continue
			}
			for _, a := range g.alts {
				if end := matchPhrase(slot[a], toks, j); end >= 0 {
					out[end/64] |= 1 << (end % 64)
					found = true
				}
			}
		}
	}
	return found
}

// scan marks in hit every rule that matches somewhere in low.
func (rs *ruleSet) scan(low string, buf []token, ws *wordScan, hit []bool) []token {
	toks := rs.tokenize(low, buf, ws)
	rs.match(toks, hit, ws)
	return toks[:0]
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
