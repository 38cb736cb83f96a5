package router

import (
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/socwarden/warden/audit"
	"github.com/socwarden/warden/taxonomy"
)

// HealthChecker is the port Route consults for provider health. It is
// implemented by [*HealthRegistry].
type HealthChecker interface {
	// Allow reports whether a call may be sent to p now. For a half-open
	// provider it admits exactly one caller at a time as the probe
	// (probe true); that caller's outcome must be reported.
	Allow(p Provider) (allowed, probe bool)
	// DegradationLevel is the process-wide degradation level.
	DegradationLevel() taxonomy.DegradationLevel
}

// HealthSnapshotter is an optional extension of [HealthChecker]: when the
// checker offers it, routing events carry provider_health.
type HealthSnapshotter interface {
	Snapshot() map[Provider]CircuitState
}

// DegradationPolicy is what consumers (orchestrator, gateway) apply at a
// degradation level. The router reports the level; it does not enforce the
// policy.
type DegradationPolicy struct {
	Level                       taxonomy.DegradationLevel `json:"level"`
	ConfidenceThresholdOverride float64                   `json:"confidence_threshold_override"`
	ExtendedThinkingAvailable   bool                      `json:"extended_thinking_available"`
	MaxTier                     taxonomy.ModelTier        `json:"max_tier"`
	AlertOps                    bool                      `json:"alert_ops"`
	// LLMCallsAllowed is false at deterministic_only and passthrough
	// (DESIGN §3: no LLM calls; FP short-circuit or a human).
	LLMCallsAllowed bool `json:"llm_calls_allowed"`
}

// PolicyFor returns the policy of level l; an unknown level gets the most
// restrictive policy (passthrough's).
func PolicyFor(l taxonomy.DegradationLevel) DegradationPolicy {
	switch l {
	case taxonomy.DegradationFullCapability:
		return DegradationPolicy{Level: l, ConfidenceThresholdOverride: 0.0, ExtendedThinkingAvailable: true,
			MaxTier: taxonomy.Tier1Plus, AlertOps: false, LLMCallsAllowed: true}
	case taxonomy.DegradationSecondaryActive:
		return DegradationPolicy{Level: l, ConfidenceThresholdOverride: 0.95, ExtendedThinkingAvailable: false,
			MaxTier: taxonomy.Tier1, AlertOps: true, LLMCallsAllowed: true}
	case taxonomy.DegradationDeterministicOnly:
		return DegradationPolicy{Level: l, ConfidenceThresholdOverride: 1.0, ExtendedThinkingAvailable: false,
			MaxTier: taxonomy.Tier0, AlertOps: true, LLMCallsAllowed: false}
	}
	return DegradationPolicy{Level: taxonomy.DegradationPassthrough, ConfidenceThresholdOverride: 1.0,
		MaxTier: taxonomy.Tier0, AlertOps: true}
}

// degradationByRank indexes taxonomy's levels by Rank without the slice
// allocation of taxonomy.DegradationLevels (read on every Route).
var degradationByRank = [...]taxonomy.DegradationLevel{
	taxonomy.DegradationFullCapability, taxonomy.DegradationSecondaryActive,
	taxonomy.DegradationDeterministicOnly, taxonomy.DegradationPassthrough,
}

// HealthRegistry keeps one circuit breaker per provider and owns the
// process-wide degradation level.
//
// Level: full_capability while the primary provider's breaker is closed;
// secondary_active while it is not but the secondary's is; otherwise
// deterministic_only. A half-open primary still counts as unavailable for the
// level: it admits a single probe, all other traffic still goes to the
// secondary, so consumers must keep the secondary's policy until the probe
// closes the breaker. The level is raised to the operator's floor
// ([HealthRegistry.SetDegradationFloor]) when that is worse. Every change
// emits degradation.entered (worse) or degradation.exited (better), in order.
//
// A HealthRegistry is safe for concurrent use.
type HealthRegistry struct {
	// Immutable after construction.
	cfg       BreakerConfig
	now       func() time.Time
	emit      emitter
	primary   Provider
	secondary Provider

	// mu guards breakers (the map; each breaker guards itself).
	mu       sync.RWMutex
	breakers map[Provider]*CircuitBreaker

	// levelMu guards last, floor and published and serialises
	// recomputation. It is never held while taking a breaker's lock.
	levelMu   sync.Mutex
	last      taxonomy.DegradationLevel
	floor     taxonomy.DegradationLevel
	published map[Provider]CircuitState // last published state per breaker
	// level mirrors last for lock-free reads (index into DegradationLevels).
	level atomic.Int32
	// publishMu orders degradation events; taken before levelMu is released.
	publishMu sync.Mutex

	// changes counts breaker creations and state changes; auditCache holds
	// the provider_health map built at a given count.
	changes    atomic.Uint64
	auditCache atomic.Pointer[healthCache]
}

type healthCache struct {
	changes uint64
	m       audit.Fields
}

var (
	_ HealthChecker     = (*HealthRegistry)(nil)
	_ HealthSnapshotter = (*HealthRegistry)(nil)
)

// NewHealthRegistry returns a registry where every provider is healthy.
// Options: the common ones, [WithBreakerConfig], [WithDegradationProviders].
func NewHealthRegistry(opts ...Option) (*HealthRegistry, error) {
	c, err := buildConfig(forHealth, opts)
	if err != nil {
		return nil, err
	}
	bc, err := c.breaker.withDefaults()
	if err != nil {
		return nil, err
	}
	if c.degradePrimary == "" || c.degradeSecondary == "" || c.degradePrimary == c.degradeSecondary {
		return nil, configErr("WithDegradationProviders", "primary and secondary must be non-empty and different")
	}
	return &HealthRegistry{
		cfg: bc, now: c.now, emit: emitter{c.producer, c.logger},
		primary: c.degradePrimary, secondary: c.degradeSecondary,
		breakers:  map[Provider]*CircuitBreaker{},
		published: map[Provider]CircuitState{},
		last:      taxonomy.DegradationFullCapability,
		floor:     taxonomy.DegradationFullCapability,
	}, nil
}

// BreakerConfig returns the configuration of the registry's breakers.
func (h *HealthRegistry) BreakerConfig() BreakerConfig { return h.cfg }

func (h *HealthRegistry) lookup(p Provider) *CircuitBreaker {
	h.mu.RLock()
	b := h.breakers[p]
	h.mu.RUnlock()
	return b
}

// Breaker returns p's breaker, creating it (closed) on first use.
func (h *HealthRegistry) Breaker(p Provider) *CircuitBreaker {
	if b := h.lookup(p); b != nil {
		return b
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if b := h.breakers[p]; b != nil {
		return b
	}
	b := newBreaker(string(p), h.cfg, h.now, h.emit, h.onBreakerChange(p), &h.changes)
	h.breakers[p] = b
	h.changes.Add(1)
	return b
}

// onBreakerChange returns p's breaker hook. Breakers call it after releasing
// their state lock, in transition order (under their publish lock), so the
// registry can follow every breaker's state without ever taking a breaker
// lock while it holds its own.
func (h *HealthRegistry) onBreakerChange(p Provider) func(from, to CircuitState) {
	return func(_, to CircuitState) {
		h.levelMu.Lock()
		h.published[p] = to
		h.recomputeLocked()
	}
}

// Allow implements [HealthChecker]. A provider never seen is admitted.
func (h *HealthRegistry) Allow(p Provider) (allowed, probe bool) {
	b := h.lookup(p)
	if b == nil {
		return true, false
	}
	return b.Allow()
}

// IsAvailable reports whether a call to p would be admitted now, without
// claiming a probe. A provider never seen is available.
func (h *HealthRegistry) IsAvailable(p Provider) bool {
	b := h.lookup(p)
	return b == nil || b.Available()
}

// State returns p's breaker state (closed for a provider never seen).
func (h *HealthRegistry) State(p Provider) CircuitState {
	if b := h.lookup(p); b != nil {
		return b.State()
	}
	return StateClosed
}

// RecordSuccess reports a successful call to p.
func (h *HealthRegistry) RecordSuccess(p Provider) {
	if b := h.lookup(p); b != nil {
		b.RecordSuccess()
	}
}

// RecordFailure reports a provider failure (timeout, connection error, 429,
// 5xx) of a call to p; client errors are not provider failures.
func (h *HealthRegistry) RecordFailure(p Provider) { h.Breaker(p).RecordFailure() }

// ReleaseProbe gives back p's half-open probe admission when the admitted
// call was not made or ended without a health verdict (Decision.HealthProbe
// tells a caller it holds one).
func (h *HealthRegistry) ReleaseProbe(p Provider) {
	if b := h.lookup(p); b != nil {
		b.ReleaseProbe()
	}
}

// Reset closes p's breaker by hand; see [CircuitBreaker.Reset].
func (h *HealthRegistry) Reset(p Provider, actorID string) {
	if b := h.lookup(p); b != nil {
		b.Reset(actorID)
	}
}

// Snapshot returns the state of every breaker created so far.
func (h *HealthRegistry) Snapshot() map[Provider]CircuitState { return h.snapshot(true) }

// snapshot reads every breaker; with publish false it does not publish lazy
// promotions, so it is safe to call while a level change is being published.
func (h *HealthRegistry) snapshot(publish bool) map[Provider]CircuitState {
	h.mu.RLock()
	bs := make([]*CircuitBreaker, 0, len(h.breakers))
	for _, b := range h.breakers {
		bs = append(bs, b)
	}
	h.mu.RUnlock()
	out := make(map[Provider]CircuitState, len(bs))
	for _, b := range bs {
		if publish {
			out[Provider(b.name)] = b.State()
		} else {
			out[Provider(b.name)] = b.peek()
		}
	}
	return out
}

// auditSnapshot returns provider_health for audit records. The map is
// rebuilt only after a breaker changed state, and is shared by the events
// built until then, so it must never be modified. It shows the states as
// last observed: a recovery timeout that elapsed unobserved still reads open.
func (h *HealthRegistry) auditSnapshot() audit.Fields {
	n := h.changes.Load()
	if c := h.auditCache.Load(); c != nil && c.changes == n {
		return c.m
	}
	m := stateMap(h.snapshot(false))
	h.auditCache.Store(&healthCache{changes: n, m: m})
	return m
}

// DegradationLevel implements [HealthChecker]; it is a lock-free read.
func (h *HealthRegistry) DegradationLevel() taxonomy.DegradationLevel {
	return degradationByRank[h.level.Load()]
}

// Policy returns PolicyFor(DegradationLevel()).
func (h *HealthRegistry) Policy() DegradationPolicy { return PolicyFor(h.DegradationLevel()) }

// SetDegradationFloor sets the best level the registry may report, for
// degradation the breakers cannot see (for example passthrough during an
// infrastructure incident). full_capability removes the floor. The change is
// audited like any other level change.
func (h *HealthRegistry) SetDegradationFloor(l taxonomy.DegradationLevel) error {
	if !l.Known() {
		return configErr("SetDegradationFloor", "unknown degradation level "+quoteTrunc(string(l)))
	}
	h.levelMu.Lock()
	h.floor = l
	h.levelMu.Unlock()
	h.recompute()
	return nil
}

// closedLocked reports whether p's breaker was last published closed (a
// provider never seen is closed). Callers hold levelMu.
func (h *HealthRegistry) closedLocked(p Provider) bool {
	st, ok := h.published[p]
	return !ok || st == StateClosed
}

func (h *HealthRegistry) recompute() {
	h.levelMu.Lock()
	h.recomputeLocked()
}

// recomputeLocked is entered with levelMu held and releases it. It derives
// the level from the published breaker states and the floor and, on a
// change, emits the degradation event in order (publishMu is taken before
// levelMu is released).
func (h *HealthRegistry) recomputeLocked() {
	primaryOK, secondaryOK := h.closedLocked(h.primary), h.closedLocked(h.secondary)
	level := taxonomy.DegradationDeterministicOnly
	switch {
	case primaryOK:
		level = taxonomy.DegradationFullCapability
	case secondaryOK:
		level = taxonomy.DegradationSecondaryActive
	}
	if h.floor.Rank() > level.Rank() {
		level = h.floor
	}
	prev := h.last
	if level == prev {
		h.levelMu.Unlock()
		return
	}
	h.last = level
	h.level.Store(int32(level.Rank()))
	floor := h.floor
	var health audit.Fields
	if h.emit.enabled() {
		health = h.publishedHealthLocked()
	}
	h.publishMu.Lock()
	h.levelMu.Unlock()
	defer h.publishMu.Unlock()
	if !h.emit.enabled() {
		return
	}
	typ, sev := taxonomy.DegradationExited, taxonomy.SeverityInfo
	if level.Rank() > prev.Rank() {
		typ, sev = taxonomy.DegradationEntered, taxonomy.SeverityWarning
		if level.Rank() >= taxonomy.DegradationDeterministicOnly.Rank() {
			sev = taxonomy.SeverityCritical
		}
	}
	ev := systemEvent(typ, sev)
	ev.Context = audit.Fields{
		audit.KeyDegradationLevel: string(level),
		"previous_level":          string(prev),
		audit.KeyProviderHealth:   health,
	}
	ev.Decision = audit.Fields{
		audit.KeyDecisionType:     string(taxonomy.DecisionDegrade),
		audit.KeyReasoningSummary: h.degradationReason(primaryOK, secondaryOK, floor),
	}
	ev.Outcome = audit.Fields{audit.KeyStateBefore: string(prev), audit.KeyStateAfter: string(level)}
	h.emit.emit(ev)
}

// publishedHealthLocked is provider_health from the published states of
// every breaker created so far. Callers hold levelMu.
func (h *HealthRegistry) publishedHealthLocked() audit.Fields {
	h.mu.RLock()
	defer h.mu.RUnlock()
	out := make(audit.Fields, len(h.breakers))
	for p := range h.breakers {
		st, ok := h.published[p]
		if !ok {
			st = StateClosed
		}
		out[string(p)] = string(st)
	}
	return out
}

func (h *HealthRegistry) degradationReason(primaryOK, secondaryOK bool, floor taxonomy.DegradationLevel) string {
	var parts []string
	switch {
	case primaryOK && secondaryOK:
		parts = append(parts, "all providers available")
	case primaryOK:
		parts = append(parts, string(h.primary)+" available; "+string(h.secondary)+" unavailable")
	case secondaryOK:
		parts = append(parts, string(h.primary)+" unavailable; "+string(h.secondary)+" available")
	default:
		parts = append(parts, string(h.primary)+" and "+string(h.secondary)+" unavailable")
	}
	if floor != taxonomy.DegradationFullCapability {
		parts = append(parts, "operator floor "+string(floor))
	}
	return strings.Join(parts, "; ")
}

// stateMap converts a snapshot for an audit record. It is an audit.Fields
// (not a map of strings) because the audit encoder writes Fields without
// reflection.
func stateMap(s map[Provider]CircuitState) audit.Fields {
	out := make(audit.Fields, len(s))
	for p, st := range s {
		out[string(p)] = string(st)
	}
	return out
}
