package autonomy

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sync"
	"time"
)

// Evaluation targets.
const (
	TargetPrecision = 0.98
	TargetRecall    = 0.95
	MaxFNR          = 0.005
	// DefaultMinSampleSize is a stratum's minimum review sample.
	DefaultMinSampleSize = 30
	// NoveltyDays: a pattern younger than this (whole days) is novel and
	// all its closures are reviewed.
	NoveltyDays = 30
	// MaxAdjustedThreshold caps the feedback loop.
	MaxAdjustedThreshold = 0.99
	// ThresholdStep is the raise per violated target.
	ThresholdStep = 0.02
)

// FPEvaluationResult is one evaluation of auto-closures. FalsePositives are
// auto-closed alerts that were real.
type FPEvaluationResult struct {
	RuleFamily     string  `json:"rule_family"`
	TotalClosures  int     `json:"total_closures"`
	TruePositives  int     `json:"true_positives"`
	FalsePositives int     `json:"false_positives"`
	FalseNegatives int     `json:"false_negatives"`
	Precision      float64 `json:"precision"`
	Recall         float64 `json:"recall"`
	FNR            float64 `json:"fnr"`
}

// ComputeMetrics returns e with precision = tp/(tp+fp) (1 when 0/0), recall
// = tp/(tp+fn) (1 when 0/0) and fnr = fn/(fn+tp) (0 when 0/0).
func (e FPEvaluationResult) ComputeMetrics() FPEvaluationResult {
	tp, fp, fn := float64(max(e.TruePositives, 0)), float64(max(e.FalsePositives, 0)), float64(max(e.FalseNegatives, 0))
	e.Precision, e.Recall, e.FNR = 1, 1, 0
	if tp+fp > 0 {
		e.Precision = tp / (tp + fp)
	}
	if tp+fn > 0 {
		e.Recall = tp / (tp + fn)
		e.FNR = fn / (fn + tp)
	}
	return e
}

// Closure is one auto-closed alert under evaluation.
type Closure struct {
	AlertID          string    `json:"alert_id"`
	RuleFamily       string    `json:"rule_family"`
	Severity         string    `json:"severity"`
	AssetCriticality string    `json:"asset_criticality"`
	PatternID        string    `json:"pattern_id,omitempty"`
	PatternCreatedAt time.Time `json:"pattern_created_at,omitzero"`
	FNFlagged        bool      `json:"fn_flagged,omitempty"`
	FNFlaggedAt      time.Time `json:"fn_flagged_at,omitzero"`
	ReviewStatus     string    `json:"review_status,omitempty"`
}

// StratumKey is "{rule_family}:{severity}:{asset_criticality}", missing
// parts "unknown".
func (c Closure) StratumKey() string {
	part := func(s string) string {
		if s == "" {
			return "unknown"
		}
		return s
	}
	return part(c.RuleFamily) + ":" + part(c.Severity) + ":" + part(c.AssetCriticality)
}

// Stratify groups closures by stratum key, in input order.
func Stratify(cs []Closure) map[string][]Closure {
	out := map[string][]Closure{}
	for _, c := range cs {
		out[c.StratumKey()] = append(out[c.StratumKey()], c)
	}
	return out
}

// IsNovel reports whether a pattern created at created is fewer than 30
// whole days old at now; a zero time is not novel.
func IsNovel(created, now time.Time) bool {
	if created.IsZero() {
		return false
	}
	return int(now.Sub(created).Hours()/24) < NoveltyDays
}

// SelectSample picks the review sample per stratum: every novel closure
// plus a uniform random sample of the others of size min(max(0, minSize −
// novel), others). rng must not be nil (inject one for repeatable runs).
func SelectSample(strata map[string][]Closure, minSize int, now time.Time, rng *rand.Rand) map[string][]Closure {
	if minSize <= 0 {
		minSize = DefaultMinSampleSize
	}
	out := map[string][]Closure{}
	keys := make([]string, 0, len(strata))
	for k := range strata {
		keys = append(keys, k)
	}
	slices.Sort(keys) // fixed order: the same rng gives the same sample
	for _, k := range keys {
		var novel, others []Closure
		for _, c := range strata[k] {
			if IsNovel(c.PatternCreatedAt, now) {
				novel = append(novel, c)
			} else {
				others = append(others, c)
			}
		}
		n := min(max(0, minSize-len(novel)), len(others))
		if n < len(others) && rng != nil {
			rng.Shuffle(len(others), func(i, j int) { others[i], others[j] = others[j], others[i] })
		}
		sample := append(novel, others[:n]...)
		if len(sample) > 0 {
			out[k] = sample
		}
	}
	return out
}

// Escalation is an alert that was escalated after the fact.
type Escalation struct {
	AlertID string `json:"alert_id"`
}

// DailyFNDetector flags auto-closures whose alert was later escalated.
type DailyFNDetector struct {
	Now func() time.Time
}

// Check returns flagged copies of the closures whose non-empty alert id
// appears among the escalations.
func (d DailyFNDetector) Check(closures []Closure, escalations []Escalation) []Closure {
	now := time.Now
	if d.Now != nil {
		now = d.Now
	}
	esc := map[string]bool{}
	for _, e := range escalations {
		if e.AlertID != "" {
			esc[e.AlertID] = true
		}
	}
	var out []Closure
	for _, c := range closures {
		if c.AlertID != "" && esc[c.AlertID] {
			c.FNFlagged, c.FNFlaggedAt, c.ReviewStatus = true, now().UTC(), StatusPendingReview
			out = append(out, c)
		}
	}
	return out
}

// AutonomyGuard tightens auto-close when targets are missed.
type AutonomyGuard struct{}

// ShouldReduce reports whether precision is below 0.98 or FNR above 0.005.
func (AutonomyGuard) ShouldReduce(e FPEvaluationResult) bool {
	return e.Precision < TargetPrecision || e.FNR > MaxFNR
}

// Adjusted raises current by 0.02 per violated target, capped at 0.99 and
// rounded to two decimals; unchanged when the targets are met.
func (AutonomyGuard) Adjusted(current float64, e FPEvaluationResult) float64 {
	steps := 0
	if e.Precision < TargetPrecision {
		steps++
	}
	if e.FNR > MaxFNR {
		steps++
	}
	if steps == 0 {
		return current
	}
	return math.Round(min(current+ThresholdStep*float64(steps), MaxAdjustedThreshold)*100) / 100
}

// FeedbackChange is one threshold change of the feedback loop.
type FeedbackChange struct {
	RuleFamily        string    `json:"rule_family"`
	PreviousThreshold float64   `json:"previous_threshold"`
	NewThreshold      float64   `json:"new_threshold"`
	Precision         float64   `json:"precision"`
	FNR               float64   `json:"fnr"`
	TS                time.Time `json:"ts"`
}

// FeedbackLoop applies evaluations to the adjuster's normal threshold.
// Safe for concurrent use.
type FeedbackLoop struct {
	guard    AutonomyGuard
	adjuster *ThresholdAdjuster
	now      func() time.Time
	em       emitter

	mu      sync.Mutex // guards history and serialises OnEvaluation
	history []FeedbackChange
}

// NewFeedbackLoop returns the loop; a nil adjuster gets a default one.
func NewFeedbackLoop(g AutonomyGuard, a *ThresholdAdjuster, opts ...Option) *FeedbackLoop {
	cfg, _ := buildConfig(opts)
	if a == nil {
		a = NewThresholdAdjuster(DefaultThreshold, DefaultElevatedThreshold, opts...)
	}
	return &FeedbackLoop{guard: g, adjuster: a, now: cfg.now, em: emitter{cfg.producer, cfg.logger}}
}

// OnEvaluation applies the guard to the adjuster's normal threshold (never
// the drift-elevated one) and returns the new normal threshold; a change is
// recorded in the history and emitted as config.changed (through the
// loop's own producer).
func (f *FeedbackLoop) OnEvaluation(e FPEvaluationResult) float64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	cur := f.adjuster.Normal()
	next := f.guard.Adjusted(cur, e)
	if next == cur {
		return cur
	}
	var cause string
	switch {
	case e.Precision < TargetPrecision && e.FNR > MaxFNR:
		cause = fmt.Sprintf("precision %.3f < %g and fnr %.4f > %g", e.Precision, TargetPrecision, e.FNR, MaxFNR)
	case e.Precision < TargetPrecision:
		cause = fmt.Sprintf("precision %.3f < %g", e.Precision, TargetPrecision)
	default:
		cause = fmt.Sprintf("fnr %.4f > %g", e.FNR, MaxFNR)
	}
	if e.RuleFamily != "" {
		cause += " (rule_family " + e.RuleFamily + ")"
	}
	f.adjuster.setNormal(next)
	configChanged(f.em, ActorFeedbackLoop, cur, next, cause)
	f.history = append(f.history, FeedbackChange{RuleFamily: e.RuleFamily, PreviousThreshold: cur, NewThreshold: next,
		Precision: e.Precision, FNR: e.FNR, TS: f.now().UTC()})
	return next
}

// History returns the threshold changes in order.
func (f *FeedbackLoop) History() []FeedbackChange {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]FeedbackChange(nil), f.history...)
}
