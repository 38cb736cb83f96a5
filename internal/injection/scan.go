package injection

import (
	"math"
	"slices"
	"sync"
)

// Risk is the detector's verdict.
type Risk string

// The three risks, in ascending order.
const (
	RiskBenign     Risk = "benign"
	RiskSuspicious Risk = "suspicious"
	RiskMalicious  Risk = "malicious"
)

// Rank orders risks: benign 0, suspicious 1, malicious 2 (unknown −1).
func (r Risk) Rank() int {
	switch r {
	case RiskBenign:
		return 0
	case RiskSuspicious:
		return 1
	case RiskMalicious:
		return 2
	}
	return -1
}

// Score thresholds of the Warden mapping.
const (
	SuspiciousScore = 0.5
	MaliciousScore  = 0.85
)

// Evidence weights of the reference detector and of obfuscation inside
// Score.
const (
	referenceLabelWeight  = 0.5  // one reference pattern alone is suspicious, as in the reference mapping
	obfuscationWeight     = 0.3  // folding undid homoglyphs, zero-width characters or URL-escaped letters
	hiddenOnlyWeight      = 0.45 // a detector fired only inside a decoded segment or leetspeak
	minHiddenForEvidence  = 2    // folding events needed before they count without other evidence
	scoreDecimals         = 1000 // Score is rounded to three decimals so output is stable
	initialTokenBufferCap = 1024
)

// ScoreRisk maps a Warden score to a risk: ≥ 0.85 malicious, ≥ 0.5
// suspicious, else benign.
func ScoreRisk(score float64) Risk {
	switch {
	case score >= MaliciousScore:
		return RiskMalicious
	case score >= SuspiciousScore:
		return RiskSuspicious
	}
	return RiskBenign
}

// Result is the verdict of Scan on one text. Its JSON form is
// {"detected","risk","score","labels"}.
type Result struct {
	// Detected is true when Risk is not benign.
	Detected bool `json:"detected"`
	// Risk is the higher of ReferenceRisk and ScoreRisk(Score).
	Risk Risk `json:"risk"`
	// Score (0–1, three decimals) combines every piece of evidence: each
	// reference detection, each Warden rule that fired, obfuscation.
	Score float64 `json:"score"`
	// Labels are the distinct labels: reference detections first (in
	// detection order), then Warden labels in a fixed order. Never nil.
	Labels []string `json:"labels"`

	// Detections are the reference labels of Detect (sequential rewriting).
	Detections []string `json:"-"`
	// MatchCount is the reference classifier's count (each pattern plus
	// markup once, no rewriting) and ReferenceRisk/Confidence its mapping.
	MatchCount    int     `json:"-"`
	ReferenceRisk Risk    `json:"-"`
	Confidence    float64 `json:"-"`
	// Rules names the Warden rules that fired, for explanations.
	Rules []string `json:"-"`
}

// wardenLabelOrder fixes the order of Warden labels in Result.Labels.
var wardenLabelOrder = [...]string{
	LabelOverride, LabelNewTask, LabelAddressed, LabelRoleMarker, LabelExfil,
	LabelDelimiter, LabelPersona, LabelPromptLeak, LabelObfuscation,
}

// scratch is the working memory of one Scan, pooled: the lower-cased
// copy's buffer, the token buffer, the word scan and the hit flags. Nothing
// in it outlives the Scan that borrowed it.
type scratch struct {
	f    folder
	toks []token
	ws   *wordScan
	hits []bool // phrasePlain, phraseHidden, markerPlain, markerHidden
}

var scratchPool = sync.Pool{New: func() any {
	return &scratch{
		toks: make([]token, 0, initialTokenBufferCap),
		ws:   phraseRuleSet.newWordScan(),
		hits: make([]bool, 2*len(phraseRules)+2*len(markerRules)),
	}
}}

// loweredCopy is the matching copy in the form the detectors read: ASCII
// letters lower-cased, line breaks kept as "\n" (lowerCopy of buildCopy,
// built in one pass).
type loweredCopy struct {
	low     string
	mainLen int   // length of the folded original; decoded segments follow
	seps    []int // offsets of the "\n" before each decoded segment
	hidden  int
	// exact: the copy holds a rune RE2's (?i) folds onto an ASCII letter,
	// so the reference regexes run in their (?i) form on the plain copy.
	exact bool
}

// lowered builds the lowered copy of text in f's buffer; seps aliases f.
func (f *folder) lowered(text string) loweredCopy {
	*f = folder{b: f.b[:0], seps: f.seps[:0], dec: f.dec, lower: true}
	f.fold(text)
	mainLen := len(f.b)
	attempts := 0
	f.appendSegments(text, encodedLevels, &attempts)
	return loweredCopy{low: string(f.b), mainLen: mainLen, seps: f.seps, hidden: f.hidden, exact: f.foldsToASCII}
}

// reference runs the reference detector on the copy of text; seen has the
// reference words among the copy's tokens.
func (lc loweredCopy) reference(text string, seen refSeen) referenceScan {
	if lc.exact {
		return scanReference(buildCopy(text).text, lc.low, nil, true, refSeen{})
	}
	return scanReference("", lc.low, lc.seps, false, seen)
}

// Scan runs every detector on text and never modifies it.
func Scan(text string) Result {
	sc := scratchPool.Get().(*scratch)
	defer scratchPool.Put(sc)
	lc := sc.f.lowered(text)
	wh := scanWarden(lc.low, lc.mainLen, sc)
	ref := lc.reference(text, wh.refWords)
	return combine(ref, wh, lc.hidden)
}

// wardenHits records which Warden rules fired in plain view (the folded
// original) and which only in hidden form (decoded segments, leetspeak).
type wardenHits struct {
	phrasePlain, phraseHidden []bool
	markerPlain, markerHidden []bool
	// refWords has the reference words and pairs among the tokens of the
	// copy (not of its deobfuscated form): see refNeeds.
	refWords refSeen
}

// scanWarden runs the Warden detectors; the hits alias sc.
func scanWarden(low string, mainLen int, sc *scratch) wardenHits {
	clear(sc.hits)
	p, m := len(phraseRules), len(markerRules)
	wh := wardenHits{
		phrasePlain:  sc.hits[:p],
		phraseHidden: sc.hits[p : 2*p],
		markerPlain:  sc.hits[2*p : 2*p+m],
		markerHidden: sc.hits[2*p+m:],
	}
	ws := sc.ws
	ws.resetGates()
	main, seg := low[:mainLen], low[mainLen:]
	sc.toks = phraseRuleSet.scan(main, sc.toks, ws, wh.phrasePlain)
	scanMarkers(main, wh.markerPlain)
	if len(seg) > 0 {
		sc.toks = phraseRuleSet.scan(seg, sc.toks, ws, wh.phraseHidden)
		scanMarkers(seg, wh.markerHidden)
	}
	wh.refWords = ws.ref
	// The gates were set while tokenizing every part of low: without them
	// deobfuscate has nothing to do.
	if ws.spelt || ws.leet {
		if d, ok := deobfuscate(low); ok {
			sc.toks = phraseRuleSet.scan(d, sc.toks, ws, wh.phraseHidden)
		}
	}
	return wh
}

func scanMarkers(low string, hit []bool) {
	for i := range markerRules {
		hit[i] = hit[i] || markerRules[i].find(low)
	}
}

// deobfuscate undoes two spellings the matching copy keeps: letters spelt
// out one at a time ("i-g-n-o-r-e", "d i s r e g a r d") and leetspeak
// ("y0ur"). It reports false when neither occurs.
func deobfuscate(low string) (string, bool) {
	s, spelt := despell(low)
	if d, leet := deleet(s); leet {
		return d, true
	}
	return s, spelt
}

// minSpeltLetters is the shortest run of spelt-out letters that despell
// joins; shorter runs ("a b c") occur in ordinary text.
const minSpeltLetters = 4

func isSpellSep(c byte) bool { return c == '-' || c == '.' || c == '*' || c == ' ' }

// despell joins runs of at least minSpeltLetters single letters separated
// by one of - . * or a space: \b[a-z](?:[-.* ][a-z]){3,}\b, leftmost first,
// each match replaced by its letters.
func despell(low string) (string, bool) {
	var b []byte
	last := 0 // end of the previous match in low
	for p := 0; p < len(low); p++ {
		if !isLowerLetter(low[p]) || p > 0 && isWordByte(low[p-1]) {
			continue
		}
		j, reps := p+1, 0
		for j+1 < len(low) && isSpellSep(low[j]) && isLowerLetter(low[j+1]) {
			j += 2
			reps++
		}
		if j < len(low) && isWordByte(low[j]) {
			// The last letter continues a word: give it back.
			j -= 2
			reps--
		}
		if reps < minSpeltLetters-1 {
			continue
		}
		b = append(b, low[last:p]...)
		for k := p; k < j; k += 2 {
			b = append(b, low[k])
		}
		last = j
		p = j - 1
	}
	if b == nil {
		return low, false
	}
	return string(append(b, low[last:]...)), true
}

func isLowerLetter(c byte) bool { return 'a' <= c && c <= 'z' }

// Leetspeak undoing applies to words of at most maxLeetWord bytes with at
// least minLeetLetters letters whose undone form is a word of some phrase
// rule, so hashes, identifiers and version strings are left alone.
const (
	maxLeetWord    = 20
	minLeetLetters = 2
)

// deleet replaces the digits 0 1 3 4 5 7 by o i e a s t inside words that
// mix them with letters when the result is a rule word ("y0ur" → "your"). It
// reports false, and does no allocation, when no word qualifies.
func deleet(low string) (string, bool) {
	var b []byte
	var buf [maxLeetWord]byte
	for i := 0; i < len(low); {
		if !isWordByte(low[i]) {
			i++
			continue
		}
		j := i
		for j < len(low) && isWordByte(low[j]) {
			j++
		}
		if leetRewrite(low[i:j], &buf) {
			if b == nil {
				b = []byte(low)
			}
			copy(b[i:j], buf[:j-i])
		}
		i = j
	}
	if b == nil {
		return "", false
	}
	return string(b), true
}

// deleetWord reports whether deleet rewrites word w.
func deleetWord(w string) bool {
	var buf [maxLeetWord]byte
	return leetRewrite(w, &buf)
}

// leetRewrite reports whether deleet rewrites word w (at most maxLeetWord
// bytes, at least minLeetLetters letters, a leet digit, and a rule word once
// undone), leaving the undone form in buf[:len(w)].
func leetRewrite(w string, buf *[maxLeetWord]byte) bool {
	if len(w) > maxLeetWord {
		return false
	}
	letters, leet := 0, 0
	for k := 0; k < len(w); k++ {
		c := w[k]
		buf[k] = c
		switch {
		case 'a' <= c && c <= 'z':
			letters++
		case leetLetter(c) != 0:
			leet++
			buf[k] = leetLetter(c)
		}
	}
	return leet > 0 && letters >= minLeetLetters && phraseRuleSet.isRuleWord(string(buf[:len(w)]))
}

func leetLetter(c byte) byte {
	switch c {
	case '0':
		return 'o'
	case '1':
		return 'i'
	case '3':
		return 'e'
	case '4':
		return 'a'
	case '5':
		return 's'
	case '7':
		return 't'
	}
	return 0
}

func combine(ref referenceScan, wh wardenHits, hidden int) Result {
	res := Result{Detections: ref.detections, MatchCount: ref.matchCount}
	res.ReferenceRisk, res.Confidence = ReferenceRisk(ref.matchCount)
	if res.Detections == nil {
		res.Detections = []string{}
	}

	miss := 1.0 // Π(1 − w) over the evidence
	var labels [len(wardenLabelOrder)]bool
	for range ref.detections {
		miss *= 1 - referenceLabelWeight
	}
	hiddenOnly := false
	note := func(name, label string, weight float64, plain, hidden bool) {
		if !plain && !hidden {
			return
		}
		miss *= 1 - weight
		labels[slices.Index(wardenLabelOrder[:], label)] = true
		res.Rules = append(res.Rules, name)
		hiddenOnly = hiddenOnly || !plain
	}
	for i := range phraseRules {
		r := &phraseRules[i]
		note(r.name, r.label, r.weight, wh.phrasePlain[i], wh.phraseHidden[i])
	}
	for i := range markerRules {
		r := &markerRules[i]
		note(r.name, r.label, r.weight, wh.markerPlain[i], wh.markerHidden[i])
	}
	evidence := len(ref.detections) > 0 || len(res.Rules) > 0
	switch {
	case hiddenOnly:
		note("obfuscation.hidden", LabelObfuscation, hiddenOnlyWeight, true, false)
	case hidden >= minHiddenForEvidence || hidden > 0 && evidence:
		note("obfuscation.folded", LabelObfuscation, obfuscationWeight, true, false)
	}

	res.Score = math.Round((1-miss)*scoreDecimals) / scoreDecimals
	n := len(ref.detections)
	for _, seen := range labels {
		if seen {
			n++
		}
	}
	res.Labels = make([]string, 0, n)
	res.Labels = append(res.Labels, ref.detections...)
	for i, l := range wardenLabelOrder {
		if labels[i] {
			res.Labels = append(res.Labels, l)
		}
	}
	res.Risk = res.ReferenceRisk
	if sr := ScoreRisk(res.Score); sr.Rank() > res.Risk.Rank() {
		res.Risk = sr
	}
	res.Detected = res.Risk != RiskBenign
	return res
}
