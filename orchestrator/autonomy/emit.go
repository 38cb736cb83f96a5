package autonomy

import (
	"log/slog"

	"github.com/socwarden/warden/audit"
)

// Actor ids of this package's events.
const (
	ActorFPCanary        = "fp_canary"
	ActorCanaryRollout   = "canary_rollout_manager"
	ActorDriftDetector   = "drift_detector"
	ActorFeedbackLoop    = "evaluation_feedback_loop"
	ActorFPGovernance    = "fp_governance"
	KeyPatternID         = "pattern_id"
	KeyApprovedBy1       = "approved_by_1"
	KeyApprovedBy2       = "approved_by_2"
	KeyExpiryDate        = "expiry_date"
	ConfigFPThresholdKey = "fp_confidence_threshold"
)

// emitter sends events through an optional producer; nil is a no-op and a
// panicking producer is recovered and logged, so audit never changes a
// result.
type emitter struct {
	p   audit.Producer
	log *slog.Logger
}

func (e emitter) emit(ev audit.Event) {
	if e.p == nil {
		return
	}
	defer func() {
		if r := recover(); r != nil {
			e.log.Warn("autonomy: audit producer panicked; event dropped", "type", ev.Type, "panic", r)
		}
	}()
	if _, ok := e.p.Emit(ev); !ok {
		e.log.Debug("autonomy: audit event not accepted", "type", ev.Type)
	}
}
