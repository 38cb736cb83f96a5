package injection

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"sort"
	"strings"
	"testing"
)

// labelledSample is one line of testdata/eval/*.jsonl.
type labelledSample struct {
	Text  string `json:"text"`
	Label string `json:"label"` // attack or benign
	Kind  string `json:"kind"`
}

func loadSamples(t testing.TB, path string) []labelledSample {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []labelledSample
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var s labelledSample
		if err := json.Unmarshal(sc.Bytes(), &s); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		out = append(out, s)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// evaluation is recall and false-positive rate of a detector on a set.
type evaluation struct {
	attacks, benign  int
	tp, fp           int
	perKind          map[string][2]int // kind → {flagged, total}
	misses, falsePos []labelledSample
}

func (e evaluation) recall() float64 { return float64(e.tp) / float64(e.attacks) }
func (e evaluation) fpr() float64    { return float64(e.fp) / float64(e.benign) }

func evaluate(samples []labelledSample, flag func(string) bool) evaluation {
	e := evaluation{perKind: map[string][2]int{}}
	for _, s := range samples {
		got := flag(s.Text)
		k := e.perKind[s.Kind]
		k[1]++
		if got {
			k[0]++
		}
		e.perKind[s.Kind] = k
		switch s.Label {
		case "attack":
			e.attacks++
			if got {
				e.tp++
			} else {
				e.misses = append(e.misses, s)
			}
		case "benign":
			e.benign++
			if got {
				e.fp++
				e.falsePos = append(e.falsePos, s)
			}
		}
	}
	return e
}

func (e evaluation) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "recall %.3f (%d/%d)  FPR %.3f (%d/%d)\n", e.recall(), e.tp, e.attacks, e.fpr(), e.fp, e.benign)
	kinds := make([]string, 0, len(e.perKind))
	for k := range e.perKind {
		kinds = append(kinds, k)
	}
	sort.Strings(kinds)
	for _, k := range kinds {
		fmt.Fprintf(&b, "  %-14s flagged %d/%d\n", k, e.perKind[k][0], e.perKind[k][1])
	}
	return b.String()
}

func referenceFlag(text string) bool { return Scan(text).ReferenceRisk != RiskBenign }
func wardenFlag(text string) bool    { return Scan(text).Detected }

// addedFalsePositives counts benign samples Warden flags that the reference
// mapping alone does not: the false positives Warden's detectors add.
func addedFalsePositives(e evaluation) int {
	n := 0
	for _, s := range e.falsePos {
		if !referenceFlag(s.Text) {
			n++
		}
	}
	return n
}

// TestDevSetQuality guards the detector's quality on the labelled sets in
// testdata/eval (written for this package; see testdata/eval/README.md).
// The goal is recall ≥ 0.60 at a false-positive rate ≤ 0.05. Risk is
// the higher of the reference mapping and the score mapping, so every false
// positive of the reference patterns (role-play prompts such as "act as a
// travel guide") is also Warden's; the sets over-represent those on purpose,
// which is why the test bounds the false positives Warden adds rather than
// the total. EVALUATION.md records the numbers.
func TestDevSetQuality(t *testing.T) {
	sets := []struct {
		file      string
		minRecall float64
	}{
		// The development set the rules were written against.
		{"devset", 0.95},
		// Sets written before a tuning round and evaluated blind once
		// (numbers in EVALUATION.md); they have informed later rounds.
		{"holdout", 0.85},
		{"holdout2", 0.85},
		{"holdout3", 0.60},
	}
	for _, set := range sets {
		samples := loadSamples(t, "testdata/eval/"+set.file+".jsonl")
		ref := evaluate(samples, referenceFlag)
		w := evaluate(samples, wardenFlag)
		added := addedFalsePositives(w)
		t.Logf("%s reference: %s", set.file, ref)
		t.Logf("%s warden:    %s  (false positives added by Warden: %d)", set.file, w, added)
		if os.Getenv("INJECTION_EVAL_VERBOSE") != "" {
			for _, s := range w.misses {
				r := Scan(s.Text)
				t.Logf("MISS %s score=%.3f rules=%v %q", s.Kind, r.Score, r.Rules, s.Text)
			}
			for _, s := range w.falsePos {
				r := Scan(s.Text)
				t.Logf("FP   %s score=%.3f rules=%v labels=%v %q", s.Kind, r.Score, r.Rules, r.Labels, s.Text)
			}
		}
		if w.recall() < set.minRecall {
			t.Errorf("%s: recall %.3f, want ≥ %.2f", set.file, w.recall(), set.minRecall)
		}
		if float64(added) > 0.02*float64(w.benign) {
			t.Errorf("%s: Warden adds %d false positives on %d benign samples, want ≤ 2%%", set.file, added, w.benign)
		}
		if w.recall() < ref.recall() {
			t.Errorf("%s: Warden recall %.3f below the reference's %.3f", set.file, w.recall(), ref.recall())
		}
		for _, s := range samples {
			if strings.HasPrefix(s.Kind, "soc_") && wardenFlag(s.Text) {
				t.Errorf("%s: SOC hard negative flagged: %q", set.file, s.Text)
			}
		}
	}
}
