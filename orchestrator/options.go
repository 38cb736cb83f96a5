package orchestrator

import (
	"crypto/rand"
	"fmt"
	"log/slog"
	"time"

	"github.com/socwarden/warden/audit"
	"github.com/socwarden/warden/taxonomy"
)

// Defaults the options override.
const (
	// DefaultRetrievalTier never deep-retrieves (the reference graph's tier).
	DefaultRetrievalTier = taxonomy.Tier0
	// ReviewConfidenceThreshold: a critical or high verdict below it goes to
	// a human.
	ReviewConfidenceThreshold = 0.6
	// DestructiveTier: a recommended action at this tier or above needs a
	// human.
	DestructiveTier = 2
	// DegradedAutoCloseConfidence is the auto-close floor under
	// secondary_active degradation (DESIGN §3).
	DegradedAutoCloseConfidence = 0.95
	// DefaultCheckpointRetryTimeout bounds the E11 save attempted after a
	// failed checkpoint.
	DefaultCheckpointRetryTimeout = 5 * time.Second
)

// Option configures New and the node constructors. Each option's comment
// says which constructors read it; the others ignore it, so one option list
// can configure a whole graph.
type Option func(*config)

// config is filled by the options and read once by a constructor; the
// constructed value keeps its own copy and never writes it afterwards.
type config struct {
	producer      audit.Producer
	logger        *slog.Logger
	now           func() time.Time
	newID         func() string
	fp            FPChecker
	shadow        *ShadowMode
	gate          ApprovalGate
	policy        ActionPolicy
	degradation   DegradationSource
	escalator     Escalator
	retrievalTier taxonomy.ModelTier
	threatIntel   ThreatIntel
}

func defaultConfig() config {
	return config{
		logger:        slog.New(slog.DiscardHandler),
		now:           time.Now,
		newID:         NewUUID,
		retrievalTier: DefaultRetrievalTier,
	}
}

func buildConfig(opts []Option) (config, error) {
	c := defaultConfig()
	for _, o := range opts {
		if o != nil {
			o(&c)
		}
	}
	if c.logger == nil {
		c.logger = slog.New(slog.DiscardHandler)
	}
	if c.now == nil {
		return c, &ConfigError{Option: "WithClock", Reason: "nil clock"}
	}
	if c.newID == nil {
		return c, &ConfigError{Option: "WithIDGenerator", Reason: "nil generator"}
	}
	if !c.retrievalTier.Known() {
		return c, &ConfigError{Option: "WithRetrievalTier", Reason: "unknown tier " + quote(string(c.retrievalTier))}
	}
	return c, nil
}

// WithAuditProducer sets the producer every event goes through (all
// constructors). The default is none: no events, identical results.
func WithAuditProducer(p audit.Producer) Option { return func(c *config) { c.producer = p } }

// WithLogger sets the logger for absorbed errors (all constructors). The
// default discards.
func WithLogger(l *slog.Logger) Option { return func(c *config) { c.logger = l } }

// WithClock sets the clock for timestamps, staleness and deadlines (all
// constructors). This overrides the default of time.Now.
func WithClock(now func() time.Time) Option { return func(c *config) { c.now = now } }

// WithIDGenerator sets the investigation id generator (New). This overrides
// the default of random UUIDv4s.
func WithIDGenerator(f func() string) Option { return func(c *config) { c.newID = f } }

// WithFPShortCircuit sets the FP short-circuit (New), normally an
// autonomy.FPShortCircuit. The default is none: no alert is auto-closed by
// a pattern.
func WithFPShortCircuit(fp FPChecker) Option { return func(c *config) { c.fp = fp } }

// WithShadowMode sets the shadow-mode manager (New). The default is none:
// no tenant is in shadow mode.
func WithShadowMode(s *ShadowMode) Option { return func(c *config) { c.shadow = s } }

// WithApprovalGate sets the approval gate (New), normally a ResponseAdapter.
// The default is none: the graph decides timeouts itself.
func WithApprovalGate(g ApprovalGate) Option { return func(c *config) { c.gate = g } }

// WithActionPolicy sets the action policy (New), normally a
// ResponseAdapter. The default is none: only the model's tier decides.
func WithActionPolicy(p ActionPolicy) Option { return func(c *config) { c.policy = p } }

// WithDegradation sets the degradation source (New). The default is none:
// full capability.
func WithDegradation(d DegradationSource) Option { return func(c *config) { c.degradation = d } }

// WithEscalator sets the reasoner's escalation policy (NewReasoner). The
// default is none: no escalated second call.
func WithEscalator(e Escalator) Option { return func(c *config) { c.escalator = e } }

// WithRetrievalTier sets the context enricher's retrieval tier
// (NewContextEnricher); tier_1 and above deep-retrieve. This overrides the
// default of tier_0.
func WithRetrievalTier(t taxonomy.ModelTier) Option { return func(c *config) { c.retrievalTier = t } }

// WithThreatIntel sets the context enricher's technique intelligence
// (NewContextEnricher). The default is none: technique deep context is
// "unavailable".
func WithThreatIntel(t ThreatIntel) Option { return func(c *config) { c.threatIntel = t } }

// NewUUID returns a random RFC 4122 version-4 UUID.
func NewUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}
