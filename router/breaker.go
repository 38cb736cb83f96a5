package router

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/socwarden/warden/audit"
	"github.com/socwarden/warden/taxonomy"
)

// CircuitState is a breaker's state.
type CircuitState string

// Breaker states.
const (
	StateClosed   CircuitState = "closed"
	StateOpen     CircuitState = "open"
	StateHalfOpen CircuitState = "half_open"
)

// CircuitStates returns the three states.
func CircuitStates() []CircuitState { return []CircuitState{StateClosed, StateOpen, StateHalfOpen} }

// Breaker defaults; a zero BreakerConfig field means its default.
const (
	DefaultFailureThreshold = 5
	DefaultRecoveryTimeout  = 30 * time.Second
	// DefaultProbeTimeout is how long a half-open breaker waits for the
	// outcome of its single probe before it admits another one (a caller that
	// never reports must not keep a provider out of service for ever).
	DefaultProbeTimeout = 60 * time.Second
)

// Reasons carried in circuit_breaker.* events.
const (
	ReasonFailureThresholdReached = "failure_threshold_reached"
	ReasonProbeFailed             = "probe_failed"
	ReasonProbeSucceeded          = "probe_succeeded"
	ReasonManualReset             = "manual_reset"
)

// BreakerConfig configures a breaker. Zero fields mean the defaults; negative
// values are invalid.
type BreakerConfig struct {
	FailureThreshold int
	RecoveryTimeout  time.Duration
	ProbeTimeout     time.Duration
}

func (c BreakerConfig) withDefaults() (BreakerConfig, error) {
	switch {
	case c.FailureThreshold < 0:
		return c, configErr("BreakerConfig.FailureThreshold", "must be >= 0 (0 = default)")
	case c.RecoveryTimeout < 0:
		return c, configErr("BreakerConfig.RecoveryTimeout", "must be >= 0 (0 = default)")
	case c.ProbeTimeout < 0:
		return c, configErr("BreakerConfig.ProbeTimeout", "must be >= 0 (0 = default)")
	}
	if c.FailureThreshold == 0 {
		c.FailureThreshold = DefaultFailureThreshold
	}
	if c.RecoveryTimeout == 0 {
		c.RecoveryTimeout = DefaultRecoveryTimeout
	}
	if c.ProbeTimeout == 0 {
		c.ProbeTimeout = DefaultProbeTimeout
	}
	return c, nil
}

// CircuitBreaker tracks one dependency's health.
//
// Closed: calls flow; FailureThreshold consecutive failures open it. Open: no
// calls, until RecoveryTimeout has passed (strictly), when the next look at
// the breaker finds it half-open (lazy promotion, on the injected clock).
// Half-open: exactly one caller at a time is admitted as the probe (see
// [CircuitBreaker.Allow]); its success closes the breaker, its failure opens
// it again. Transitions emit circuit_breaker.opened / circuit_breaker.closed
// (tenant system), in transition order, after the state lock is released.
//
// A CircuitBreaker is safe for concurrent use.
type CircuitBreaker struct {
	// Immutable after construction.
	name     string
	cfg      BreakerConfig
	now      func() time.Time
	emit     emitter
	onChange func(from, to CircuitState) // registry hook; nil for a standalone breaker
	changes  *atomic.Uint64              // registry's state-change counter; nil for a standalone breaker

	// mu guards the state fields below.
	mu       sync.Mutex
	state    CircuitState
	failures int       // consecutive failures
	openedAt time.Time // last transition to open
	probeOut bool      // half-open: a probe is in flight
	probeAt  time.Time // when the in-flight probe was admitted

	// publishMu orders the publication (events, registry hook) of
	// transitions: it is taken before mu is released, so events leave in the
	// order the transitions happened, without mu being held while emitting.
	publishMu sync.Mutex
}

// NewCircuitBreaker returns a closed breaker named name (the provider, in a
// registry). Only the common options apply.
func NewCircuitBreaker(name string, cfg BreakerConfig, opts ...Option) (*CircuitBreaker, error) {
	c, err := buildConfig(forBreaker, opts)
	if err != nil {
		return nil, err
	}
	if name == "" {
		return nil, configErr("name", "must not be empty")
	}
	cfg, err = cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	return newBreaker(name, cfg, c.now, emitter{c.producer, c.logger}, nil, nil), nil
}

func newBreaker(name string, cfg BreakerConfig, now func() time.Time, e emitter, onChange func(from, to CircuitState), changes *atomic.Uint64) *CircuitBreaker {
	return &CircuitBreaker{name: name, cfg: cfg, now: now, emit: e, onChange: onChange, changes: changes, state: StateClosed}
}

// Name returns the breaker's name.
func (b *CircuitBreaker) Name() string { return b.name }

// Config returns the effective configuration (defaults applied).
func (b *CircuitBreaker) Config() BreakerConfig { return b.cfg }

// transition is one state change, described for publication.
type transition struct {
	from, to CircuitState
	at       time.Time
	reason   string
	failures int           // consecutive failures that caused an opening
	openFor  time.Duration // closing: time since the last opening
	actorID  string        // manual reset: who reset it
}

type transitions struct {
	n  int
	ts [2]transition
}

func (t *transitions) add(tr transition) { t.ts[t.n] = tr; t.n++ }

// promoteLocked applies lazy promotion open → half-open.
func (b *CircuitBreaker) promoteLocked(now time.Time, ts *transitions) {
	if b.state == StateOpen && now.Sub(b.openedAt) > b.cfg.RecoveryTimeout {
		b.state, b.probeOut = StateHalfOpen, false
		ts.add(transition{from: StateOpen, to: StateHalfOpen, at: now})
	}
}

// unlockAndPublish releases mu and publishes ts in order.
func (b *CircuitBreaker) unlockAndPublish(ts *transitions) {
	if ts.n == 0 {
		b.mu.Unlock()
		return
	}
	b.countChange()
	b.publishMu.Lock()
	b.mu.Unlock()
	defer b.publishMu.Unlock()
	for i := range ts.n {
		b.publish(ts.ts[i])
	}
}

func (b *CircuitBreaker) publish(tr transition) {
	if b.emit.enabled() {
		switch tr.to {
		case StateOpen:
			ev := systemEvent(taxonomy.CircuitBreakerOpened, taxonomy.SeverityWarning)
			ev.Context = audit.Fields{
				"provider":                 b.name,
				"failure_threshold":        b.cfg.FailureThreshold,
				"recovery_timeout_seconds": b.cfg.RecoveryTimeout.Seconds(),
				"consecutive_failures":     tr.failures,
				"reason":                   tr.reason,
			}
			ev.Outcome = audit.Fields{audit.KeyStateBefore: string(tr.from), audit.KeyStateAfter: string(tr.to)}
			b.emit.emit(ev)
		case StateClosed:
			ev := systemEvent(taxonomy.CircuitBreakerClosed, taxonomy.SeverityInfo)
			if tr.actorID != "" {
				ev.ActorType, ev.ActorID = taxonomy.ActorHuman, tr.actorID
			}
			ev.Context = audit.Fields{
				"provider":                 b.name,
				"failure_threshold":        b.cfg.FailureThreshold,
				"recovery_timeout_seconds": b.cfg.RecoveryTimeout.Seconds(),
				"open_duration_ms":         tr.openFor.Milliseconds(),
				"reason":                   tr.reason,
			}
			ev.Outcome = audit.Fields{audit.KeyStateBefore: string(tr.from), audit.KeyStateAfter: string(tr.to)}
			b.emit.emit(ev)
		}
	}
	if b.onChange != nil {
		b.onChange(tr.from, tr.to)
	}
}

// State returns the state after lazy promotion.
func (b *CircuitBreaker) State() CircuitState {
	var ts transitions
	b.mu.Lock()
	b.promoteLocked(b.now(), &ts)
	s := b.state
	b.unlockAndPublish(&ts)
	return s
}

// peek returns the state after promotion without publishing the promotion;
// the registry uses it while recomputing the degradation level (an
// open → half-open promotion never changes that level).
func (b *CircuitBreaker) peek() CircuitState {
	var ts transitions
	b.mu.Lock()
	defer b.mu.Unlock()
	b.promoteLocked(b.now(), &ts)
	if ts.n > 0 {
		b.countChange()
	}
	return b.state
}

func (b *CircuitBreaker) countChange() {
	if b.changes != nil {
		b.changes.Add(1)
	}
}

// Available reports whether [CircuitBreaker.Allow] would admit a call now:
// closed, or half-open with no probe in flight. It claims nothing.
func (b *CircuitBreaker) Available() bool {
	var ts transitions
	b.mu.Lock()
	now := b.now()
	b.promoteLocked(now, &ts)
	ok := b.state == StateClosed || (b.state == StateHalfOpen && !b.probeBusyLocked(now))
	b.unlockAndPublish(&ts)
	return ok
}

func (b *CircuitBreaker) probeBusyLocked(now time.Time) bool {
	return b.probeOut && now.Sub(b.probeAt) < b.cfg.ProbeTimeout
}

// Allow admits a call. Closed: always (probe false). Open: never.
// Half-open: the first caller is admitted as the probe (probe true) and every
// other caller is refused until the probe's outcome is recorded, the probe is
// released, or ProbeTimeout passes. A caller admitted as the probe must
// report the outcome (RecordSuccess / RecordFailure) or call ReleaseProbe.
func (b *CircuitBreaker) Allow() (allowed, probe bool) {
	var ts transitions
	b.mu.Lock()
	now := b.now()
	b.promoteLocked(now, &ts)
	switch b.state {
	case StateClosed:
		allowed = true
	case StateHalfOpen:
		if !b.probeBusyLocked(now) {
			b.probeOut, b.probeAt = true, now
			allowed, probe = true, true
		}
	}
	b.unlockAndPublish(&ts)
	return allowed, probe
}

// ReleaseProbe gives back a half-open probe admission whose call was not made
// or said nothing about the dependency's health (for example cancelled). It
// is a no-op in other states.
func (b *CircuitBreaker) ReleaseProbe() {
	b.mu.Lock()
	if b.state == StateHalfOpen {
		b.probeOut = false
	}
	b.mu.Unlock()
}

// RecordSuccess records a successful call: a half-open breaker closes; in
// any state the consecutive-failure count resets.
func (b *CircuitBreaker) RecordSuccess() {
	var ts transitions
	b.mu.Lock()
	now := b.now()
	b.promoteLocked(now, &ts)
	b.failures = 0
	if b.state == StateHalfOpen {
		b.state, b.probeOut = StateClosed, false
		ts.add(transition{from: StateHalfOpen, to: StateClosed, at: now, reason: ReasonProbeSucceeded, openFor: now.Sub(b.openedAt)})
	}
	b.unlockAndPublish(&ts)
}

// RecordFailure records a failed call. Closed: the count grows and reaching
// FailureThreshold opens the breaker. Half-open: the probe failed and the
// breaker opens again. Open: reaching the threshold again re-arms the
// recovery timeout (no event).
func (b *CircuitBreaker) RecordFailure() {
	var ts transitions
	b.mu.Lock()
	now := b.now()
	b.promoteLocked(now, &ts)
	switch b.state {
	case StateClosed:
		b.failures++
		if b.failures >= b.cfg.FailureThreshold {
			n := b.failures
			b.state, b.openedAt, b.failures = StateOpen, now, 0
			ts.add(transition{from: StateClosed, to: StateOpen, at: now, reason: ReasonFailureThresholdReached, failures: n})
		}
	case StateHalfOpen:
		b.state, b.openedAt, b.failures, b.probeOut = StateOpen, now, 0, false
		ts.add(transition{from: StateHalfOpen, to: StateOpen, at: now, reason: ReasonProbeFailed, failures: 1})
	case StateOpen:
		b.failures++
		if b.failures >= b.cfg.FailureThreshold {
			b.openedAt, b.failures = now, 0
		}
	}
	b.unlockAndPublish(&ts)
}

// Reset closes the breaker by hand (an operator who knows the dependency is
// back). actorID names the operator for the circuit_breaker.closed record
// (actor_type human); empty means the system itself. Resetting a closed
// breaker only clears its failure count and emits nothing.
func (b *CircuitBreaker) Reset(actorID string) {
	var ts transitions
	b.mu.Lock()
	now := b.now()
	b.promoteLocked(now, &ts)
	b.failures = 0
	if b.state != StateClosed {
		from := b.state
		b.state, b.probeOut = StateClosed, false
		ts.add(transition{from: from, to: StateClosed, at: now, reason: ReasonManualReset, openFor: now.Sub(b.openedAt), actorID: actorID})
	}
	b.unlockAndPublish(&ts)
}
