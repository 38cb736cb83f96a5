package injection

import (
	"math"
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
var wardenLabelOrder = []string{
	LabelOverride, LabelNewTask, LabelAddressed, LabelRoleMarker, LabelExfil,
	LabelDelimiter, LabelPersona, LabelPromptLeak, LabelObfuscation,
}

var tokenPool = sync.Pool{New: func() any {
	b := make([]token, 0, initialTokenBufferCap)
	return &b
}}

// Scan runs every detector on text and never modifies it.
func Scan(text string) Result {
	mc := buildCopy(text)
	low, exact := lowerCopy(mc)
	ref := scanReference(mc.text, low, exact)
	wh := scanWarden(low, mc.mainLen)
	return combine(ref, wh, mc.hidden)
}

// wardenHits records which Warden rules fired in plain view (the folded
// original) and which only in hidden form (decoded segments, leetspeak).
type wardenHits struct {
	phrasePlain, phraseHidden []bool
	markerPlain, markerHidden []bool
}

func scanWarden(low string, mainLen int) wardenHits {
	wh := wardenHits{
		phrasePlain:  make([]bool, len(phraseRules)),
		phraseHidden: make([]bool, len(phraseRules)),
		markerPlain:  make([]bool, len(markerRules)),
		markerHidden: make([]bool, len(markerRules)),
	}
	bufp := tokenPool.Get().(*[]token)
	defer tokenPool.Put(bufp)
	main, seg := low[:mainLen], low[mainLen:]
	scanPhrases(main, bufp, wh.phrasePlain)
	scanMarkers(main, wh.markerPlain)
	if len(seg) > 0 {
		scanPhrases(seg, bufp, wh.phraseHidden)
		scanMarkers(seg, wh.markerHidden)
	}
	if d, ok := deobfuscate(low); ok {
		scanPhrases(d, bufp, wh.phraseHidden)
	}
	return wh
}

// scanPhrases sets hit[i] for every phrase rule that matches in low; hits
// already set stay set.
func scanPhrases(low string, bufp *[]token, hit []bool) {
	toks := tokenize(low, *bufp)
	phraseRuleSet.match(toks, hit)
	*bufp = toks[:0]
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
		j, letters, leet := i, 0, 0
		for ; j < len(low) && isWordByte(low[j]); j++ {
			switch c := low[j]; {
			case 'a' <= c && c <= 'z':
				letters++
			case leetLetter(c) != 0:
				leet++
			}
		}
		if leet > 0 && letters >= minLeetLetters && j-i <= maxLeetWord {
			w := buf[:j-i]
			for k := range w {
				w[k] = low[i+k]
				if r := leetLetter(w[k]); r != 0 {
					w[k] = r
				}
			}
			if phraseRuleSet.isRuleWord(string(w)) {
				if b == nil {
					b = []byte(low)
				}
				copy(b[i:j], w)
			}
		}
		i = j
	}
	if b == nil {
		return "", false
	}
	return string(b), true
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

func combine(ref referenceScan, wh wardenHits, hidden int) Result {
	res := Result{Detections: ref.detections, MatchCount: ref.matchCount}
	res.ReferenceRisk, res.Confidence = ReferenceRisk(ref.matchCount)
	if res.Detections == nil {
		res.Detections = []string{}
	}

	miss := 1.0 // Π(1 − w) over the evidence
	labels := map[string]bool{}
	for range ref.detections {
		miss *= 1 - referenceLabelWeight
	}
	hiddenOnly := false
	note := func(name, label string, weight float64, plain, hidden bool) {
		if !plain && !hidden {
			return
		}
		miss *= 1 - weight
		labels[label] = true
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
	res.Labels = make([]string, 0, len(ref.detections)+len(labels))
	res.Labels = append(res.Labels, ref.detections...)
	for _, l := range wardenLabelOrder {
		if labels[l] {
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
