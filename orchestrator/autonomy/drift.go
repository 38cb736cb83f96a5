package autonomy

import (
	"log/slog"
	"math"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/socwarden/warden/audit"
	"github.com/socwarden/warden/orchestrator"
	"github.com/socwarden/warden/taxonomy"
)

// JSDivergence is the Jensen–Shannon divergence (base 2, in [0, 1]) of two
// count distributions over the union of their keys; 0 for an empty union.
func JSDivergence(a, b map[string]int) float64 {
	keys := map[string]struct{}{}
	ta, tb := 0, 0
	for k, v := range a {
		keys[k] = struct{}{}
		ta += max(v, 0)
	}
	for k, v := range b {
		keys[k] = struct{}{}
		tb += max(v, 0)
	}
	if len(keys) == 0 {
		return 0
	}
	if ta == 0 {
		ta = 1
	}
	if tb == 0 {
		tb = 1
	}
	// Sum in a fixed key order so the result does not depend on map order.
	ordered := make([]string, 0, len(keys))
	for k := range keys {
		ordered = append(ordered, k)
	}
	slices.Sort(ordered)
	var jsd float64
	for _, k := range ordered {
		p := float64(max(a[k], 0)) / float64(ta)
		q := float64(max(b[k], 0)) / float64(tb)
		m := (p + q) / 2
		if p > 0 && m > 0 {
			jsd += 0.5 * p * math.Log2(p/m)
		}
		if q > 0 && m > 0 {
			jsd += 0.5 * q * math.Log2(q/m)
		}
	}
	return min(max(jsd, 0), 1)
}

// Drift defaults.
const (
	DefaultDriftWindowDays   = 7
	DefaultDriftBaselineDays = 30
	DefaultDriftThreshold    = 0.3
)

// Distributions are the three count distributions drift is measured on.
type Distributions struct {
	Source    map[string]int
	Technique map[string]int
	Entity    map[string]int
}

// DriftState is one drift measurement.
type DriftState struct {
	SourceDrift       float64   `json:"source_drift"`
	TechniqueDrift    float64   `json:"technique_drift"`
	EntityDrift       float64   `json:"entity_drift"`
	OverallDrift      float64   `json:"overall_drift"`
	ThresholdExceeded bool      `json:"threshold_exceeded"`
	DetectedAt        time.Time `json:"detected_at,omitzero"`
}

// DriftDetector compares a recent window with a baseline.
type DriftDetector struct {
	WindowDays   int
	BaselineDays int
	Threshold    float64
}

// NewDriftDetector returns a detector with the defaults (7, 30, 0.3).
func NewDriftDetector() DriftDetector {
	return DriftDetector{WindowDays: DefaultDriftWindowDays, BaselineDays: DefaultDriftBaselineDays, Threshold: DefaultDriftThreshold}
}

// Overall weighs the three drifts: 0.4 source + 0.35 technique + 0.25 entity.
func (DriftDetector) Overall(source, technique, entity float64) float64 {
	return 0.4*source + 0.35*technique + 0.25*entity
}

// Detect measures window against baseline; the threshold is exceeded when
// the overall drift is strictly above it.
func (d DriftDetector) Detect(window, baseline Distributions, now time.Time) DriftState {
	s := DriftState{
		SourceDrift:    JSDivergence(window.Source, baseline.Source),
		TechniqueDrift: JSDivergence(window.Technique, baseline.Technique),
		EntityDrift:    JSDivergence(window.Entity, baseline.Entity),
		DetectedAt:     now.UTC(),
	}
	s.OverallDrift = d.Overall(s.SourceDrift, s.TechniqueDrift, s.EntityDrift)
	s.ThresholdExceeded = s.OverallDrift > d.Threshold
	return s
}

// ThresholdAdjuster is the FP short-circuit's ThresholdSource: the normal
// threshold, or the elevated one while drift is detected. A change of the
// effective threshold emits config.changed. Safe for concurrent use.
type ThresholdAdjuster struct {
	log *slog.Logger
	em  emitter

	mu       sync.Mutex // guards normal, elevated, exceeded
	normal   float64
	elevated float64
	exceeded bool
}

var _ ThresholdSource = (*ThresholdAdjuster)(nil)

// NewThresholdAdjuster returns an adjuster (normally 0.90 and 0.95). Values
// outside [0.90, 1] are raised or capped into it: an adjuster never lowers
// auto-close below the floor.
func NewThresholdAdjuster(normal, elevated float64, opts ...Option) *ThresholdAdjuster {
	cfg, _ := buildConfig(opts)
	clamp := func(v float64) float64 {
		if math.IsNaN(v) {
			return DefaultThreshold
		}
		return min(max(v, DefaultThreshold), 1)
	}
	n, e := clamp(normal), clamp(elevated)
	return &ThresholdAdjuster{log: cfg.logger, em: emitter{cfg.producer, cfg.logger}, normal: n, elevated: max(e, n)}
}

// Threshold is the effective threshold.
func (t *ThresholdAdjuster) Threshold() float64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.effectiveLocked()
}

func (t *ThresholdAdjuster) effectiveLocked() float64 {
	if t.exceeded {
		return t.elevated
	}
	return t.normal
}

// ThresholdFor is the threshold a state would give.
func (t *ThresholdAdjuster) ThresholdFor(s DriftState) float64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	if s.ThresholdExceeded {
		return t.elevated
	}
	return t.normal
}

// IsElevated reports whether the last state exceeded the drift threshold.
func (t *ThresholdAdjuster) IsElevated() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.exceeded
}

// Normal is the threshold without drift.
func (t *ThresholdAdjuster) Normal() float64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.normal
}

// Update applies a drift measurement.
func (t *ThresholdAdjuster) Update(s DriftState) {
	t.mu.Lock()
	before := t.effectiveLocked()
	t.exceeded = s.ThresholdExceeded
	after := t.effectiveLocked()
	t.mu.Unlock()
	if before != after {
		cause := "drift restored"
		if s.ThresholdExceeded {
			cause = "drift " + strconv.FormatFloat(s.OverallDrift, 'f', 3, 64) + " exceeded"
		}
		t.changed(ActorDriftDetector, before, after, cause)
	}
}

// setNormal changes the normal threshold (the feedback loop, which emits
// its own config.changed).
func (t *ThresholdAdjuster) setNormal(v float64) {
	t.mu.Lock()
	t.normal = min(max(v, DefaultThreshold), 1)
	t.elevated = max(t.elevated, t.normal)
	t.mu.Unlock()
}

func (t *ThresholdAdjuster) changed(actor string, before, after float64, cause string) {
	configChanged(t.em, actor, before, after, cause)
}

// configChanged emits config.changed for the FP threshold (tenant system).
func configChanged(em emitter, actor string, before, after float64, cause string) {
	em.emit(audit.Event{
		TenantID: orchestrator.SystemTenant, Type: taxonomy.ConfigChanged, Severity: taxonomy.SeverityWarning,
		ActorType: taxonomy.ActorSystem, ActorID: actor,
		Decision: audit.Fields{audit.KeyReasoningSummary: cause},
		Outcome: audit.Fields{audit.KeyActionTarget: ConfigFPThresholdKey,
			audit.KeyStateBefore:   strconv.FormatFloat(before, 'f', 2, 64),
			audit.KeyStateAfter:    strconv.FormatFloat(after, 'f', 2, 64),
			audit.KeyOutcomeStatus: string(taxonomy.OutcomeSuccess)},
	})
}

// DriftSampling raises the evaluation sampling of drifting rule families.
// Safe for concurrent use.
type DriftSampling struct {
	mu         sync.Mutex // guards families and multiplier
	families   map[string]bool
	multiplier float64
}

// ElevatedSampling is the multiplier of drifting families.
const ElevatedSampling = 2.0

// NewDriftSampling returns sampling with no drift.
func NewDriftSampling() *DriftSampling {
	return &DriftSampling{families: map[string]bool{}, multiplier: 1}
}

// OnDriftDetected marks families as drifting.
func (d *DriftSampling) OnDriftDetected(families []string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, f := range families {
		d.families[f] = true
	}
	d.multiplier = ElevatedSampling
}

// OnDriftRestored clears every drifting family.
func (d *DriftSampling) OnDriftRestored() {
	d.mu.Lock()
	defer d.mu.Unlock()
	clear(d.families)
	d.multiplier = 1
}

// Multiplier is 1 with no drifting family or for a named family that is not
// drifting; otherwise the elevated multiplier (so an empty family with any
// drift gets it).
func (d *DriftSampling) Multiplier(family string) float64 {
	d.mu.Lock()
	defer d.mu.Unlock()
	if len(d.families) == 0 || (family != "" && !d.families[family]) {
		return 1
	}
	return d.multiplier
}

// Families returns the drifting families, sorted.
func (d *DriftSampling) Families() []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	out := make([]string, 0, len(d.families))
	for f := range d.families {
		out = append(out, f)
	}
	slices.Sort(out)
	return out
}
