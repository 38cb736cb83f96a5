package router

import (
	"log/slog"
	"math/rand/v2"

	"github.com/socwarden/warden/audit"
	"github.com/socwarden/warden/taxonomy"
)

// Audit identities of router-package events.
const (
	// ActorID is the actor_id of every event the package emits on its own
	// behalf (actor_type system).
	ActorID = "llm-router"
	// SystemTenantID is the tenant of platform-wide events (breakers,
	// degradation, spend).
	SystemTenantID = "system"
	// UnknownTenantID is the tenant of routing events whose TaskContext has
	// no tenant.
	UnknownTenantID = "unknown"
)

// KeyRoutingDecisionID joins the router's routing.tier_selected record with
// the gateway's record of the completed call (= Decision.ID).
const KeyRoutingDecisionID = audit.KeyRoutingDecisionID

// KeyRequestedMinTier is the routing.tier_selected context key of
// [TaskContext.MinTier], written only when the caller set one.
const KeyRequestedMinTier = "requested_min_tier"

// emitter sends events through an optional producer; it never lets the
// producer change a business result.
type emitter struct {
	p      audit.Producer
	logger *slog.Logger
}

func (e emitter) enabled() bool { return e.p != nil }

func (e emitter) emit(ev audit.Event) {
	if e.p == nil {
		return
	}
	defer func() {
		if r := recover(); r != nil {
			e.logger.Warn("router: audit producer panicked; event dropped",
				"event_type", string(ev.Type), "panic", r)
		}
	}()
	if _, ok := audit.Emit(e.p, ev); !ok {
		e.logger.Debug("router: audit producer refused event", "event_type", string(ev.Type))
	}
}

// systemEvent returns the skeleton of a platform-wide event.
func systemEvent(t taxonomy.EventType, sev taxonomy.Severity) audit.Event {
	return audit.Event{
		TenantID:  SystemTenantID,
		Type:      t,
		Severity:  sev,
		ActorType: taxonomy.ActorSystem,
		ActorID:   ActorID,
	}
}

// newDecisionID returns a random (version 4) UUID. The runtime generator is
// seeded from the OS and per-thread, so this is cheap and contention-free;
// decision ids need uniqueness, not secrecy.
func newDecisionID() string {
	var b [16]byte
	hi, lo := rand.Uint64(), rand.Uint64()
	for i := range 8 {
		b[i] = byte(hi >> (56 - 8*i))
		b[8+i] = byte(lo >> (56 - 8*i))
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	const hexDigits = "0123456789abcdef"
	var out [36]byte
	j := 0
	for i, v := range b {
		if i == 4 || i == 6 || i == 8 || i == 10 {
			out[j] = '-'
			j++
		}
		out[j], out[j+1] = hexDigits[v>>4], hexDigits[v&0x0f]
		j += 2
	}
	return string(out[:])
}
