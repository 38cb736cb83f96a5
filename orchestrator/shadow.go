package orchestrator

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/socwarden/warden/audit"
	"github.com/socwarden/warden/taxonomy"
)

// TenantConfig is a tenant's autonomy configuration. A tenant with no stored
// config is in shadow mode; shadow mode can only be switched off after the
// go-live sign-off.
type TenantConfig struct {
	TenantID   string `json:"tenant_id"`
	ShadowMode bool   `json:"shadow_mode"`
	// ShadowRuleFamilies limits shadow mode to these rule families; empty
	// means every family.
	ShadowRuleFamilies []string `json:"shadow_rule_families"`
	GoLiveSignedOff    bool     `json:"go_live_signed_off"`
	GoLiveSignedOffBy  string   `json:"go_live_signed_off_by"`
	GoLiveDate         string   `json:"go_live_date"`
	// ApprovalTimeoutOverrides (severity → hours) are read by the response
	// package's approval gate.
	ApprovalTimeoutOverrides map[string]int `json:"approval_timeout_overrides,omitempty"`
}

// DefaultTenantConfig is the config of a tenant with none stored: shadow
// mode on, not signed off.
func DefaultTenantConfig(tenantID string) TenantConfig {
	return TenantConfig{TenantID: tenantID, ShadowMode: true}
}

// UnmarshalJSON applies the defaults: shadow_mode absent means true.
func (c *TenantConfig) UnmarshalJSON(b []byte) error {
	type plain TenantConfig
	p := plain{ShadowMode: true}
	if err := json.Unmarshal(b, &p); err != nil {
		return err
	}
	*c = TenantConfig(p)
	return nil
}

// Validate checks the go-live invariant and the tenant id.
func (c TenantConfig) Validate() error {
	if c.TenantID == "" {
		return ErrMissingTenant
	}
	if !c.ShadowMode && !c.GoLiveSignedOff {
		return ErrGoLiveNotSignedOff
	}
	return nil
}

// DisableShadow switches shadow mode off; ErrGoLiveNotSignedOff without the
// sign-off.
func (c *TenantConfig) DisableShadow() error {
	if !c.GoLiveSignedOff {
		return ErrGoLiveNotSignedOff
	}
	c.ShadowMode = false
	return nil
}

func (c TenantConfig) clone() TenantConfig {
	c.ShadowRuleFamilies = slices.Clone(c.ShadowRuleFamilies)
	c.ApprovalTimeoutOverrides = copyMap(c.ApprovalTimeoutOverrides)
	return c
}

// TenantConfigStore keeps tenant configs. Get returns DefaultTenantConfig for
// an unknown tenant; Set enforces the go-live invariant.
type TenantConfigStore interface {
	Get(ctx context.Context, tenantID string) (TenantConfig, error)
	Set(ctx context.Context, c TenantConfig) error
}

// Shadow-log entry types.
const (
	ShadowEntryShadow  = "shadow"
	ShadowEntryAnalyst = "analyst"
)

// ShadowEntry is one line of a tenant's shadow log.
type ShadowEntry struct {
	Type             string  `json:"type"`
	ShadowDecision   string  `json:"shadow_decision,omitempty"`
	ShadowConfidence float64 `json:"shadow_confidence,omitempty"`
	AnalystDecision  string  `json:"analyst_decision,omitempty"`
	InvestigationID  string  `json:"investigation_id"`
	// TS is Unix seconds (fractional).
	TS float64 `json:"ts"`
}

// ShadowLogKey is the log key of a key-value host:
// shadow_log:{tenant_id}:{rule_family}.
func ShadowLogKey(tenantID, ruleFamily string) string {
	return "shadow_log:" + tenantID + ":" + ruleFamily
}

// ShadowLog keeps shadow and analyst decisions per tenant and rule family.
type ShadowLog interface {
	Append(ctx context.Context, tenantID, ruleFamily string, e ShadowEntry) error
	Entries(ctx context.Context, tenantID, ruleFamily string) ([]ShadowEntry, error)
}

// DefaultAgreementWindowDays is AgreementRate's default window.
const DefaultAgreementWindowDays = 14

// GoLiveCriteria are the bars a tenant must clear before go-live.
type GoLiveCriteria struct {
	MinAgreementRate    float64
	MinWindowDays       int
	MaxMissedCriticalTP int
	MinFPPrecision      float64
}

// DefaultGoLiveCriteria returns agreement ≥ 0.95 over ≥ 14 days, no missed
// critical true positive, FP precision ≥ 0.98.
func DefaultGoLiveCriteria() GoLiveCriteria {
	return GoLiveCriteria{MinAgreementRate: 0.95, MinWindowDays: 14, MaxMissedCriticalTP: 0, MinFPPrecision: 0.98}
}

// Check reports whether the criteria are met and, if not, which are unmet
// (agreement, missed critical TPs, FP precision, in that order).
func (c GoLiveCriteria) Check(agreement float64, missedCriticalTPs int, fpPrecision float64) (bool, []string) {
	var unmet []string
	if !(agreement >= c.MinAgreementRate) {
		unmet = append(unmet, fmt.Sprintf("agreement_rate %.3f < %g", agreement, c.MinAgreementRate))
	}
	if missedCriticalTPs > c.MaxMissedCriticalTP {
		unmet = append(unmet, fmt.Sprintf("missed_critical_tps %d > %d", missedCriticalTPs, c.MaxMissedCriticalTP))
	}
	if !(fpPrecision >= c.MinFPPrecision) {
		unmet = append(unmet, fmt.Sprintf("fp_precision %.3f < %g", fpPrecision, c.MinFPPrecision))
	}
	return len(unmet) == 0, unmet
}

// ShadowMode decides whether a tenant's decisions are only logged, records
// shadow and analyst decisions and measures their agreement. New tenants
// are in shadow mode until go-live sign-off; store errors count as shadow
// mode on. Safe for concurrent use.
type ShadowMode struct {
	configs TenantConfigStore
	log     ShadowLog
	now     func() time.Time
	logger  *slog.Logger
	em      emitter
}

// NewShadowMode returns the manager; both stores are required.
func NewShadowMode(configs TenantConfigStore, log ShadowLog, opts ...Option) (*ShadowMode, error) {
	cfg, err := buildConfig(opts)
	if err != nil {
		return nil, err
	}
	if configs == nil || log == nil {
		return nil, &ConfigError{Option: "configs, log", Reason: "nil store"}
	}
	return &ShadowMode{configs: configs, log: log, now: cfg.now, logger: cfg.logger, em: newEmitter(cfg.producer, cfg.logger)}, nil
}

// IsActive reports whether decisions of the tenant's ruleFamily are only
// logged. An unreadable config (or a panicking store) counts as active.
func (s *ShadowMode) IsActive(ctx context.Context, tenantID, ruleFamily string) (on bool, err error) {
	defer func() {
		if r := recover(); r != nil {
			on, err = true, fmt.Errorf("orchestrator: tenant config store panicked: %v", r)
		}
	}()
	c, err := s.configs.Get(ctx, tenantID)
	if err != nil {
		s.logger.Warn("orchestrator: tenant config unreadable; shadow mode applies", "tenant_id", tenantID, "error", err)
		return true, err
	}
	if !c.ShadowMode {
		return false, nil
	}
	return len(c.ShadowRuleFamilies) == 0 || slices.Contains(c.ShadowRuleFamilies, ruleFamily), nil
}

func (s *ShadowMode) ts() float64 { return float64(s.now().UnixNano()) / 1e9 }

// RecordShadowDecision logs what the system would have done and emits
// shadow.decision_logged.
func (s *ShadowMode) RecordShadowDecision(ctx context.Context, tenantID, ruleFamily, decision string, confidence float64, investigationID string) error {
	return s.recordShadow(ctx, tenantID, ruleFamily, decision, confidence, investigationID, "")
}

// recordShadow is RecordShadowDecision with a preset audit id (the graph's
// deterministic id, so a replay after a crash repeats it).
func (s *ShadowMode) recordShadow(ctx context.Context, tenantID, ruleFamily, decision string, confidence float64, investigationID, auditID string) error {
	e := ShadowEntry{Type: ShadowEntryShadow, ShadowDecision: decision, ShadowConfidence: finite(confidence),
		InvestigationID: investigationID, TS: s.ts()}
	if err := s.log.Append(ctx, tenantID, ruleFamily, e); err != nil {
		return fmt.Errorf("orchestrator: shadow log: %w", err)
	}
	if s.em.enabled() && tenantID != "" {
		s.em.emit(audit.Event{
			TenantID: tenantID, Type: taxonomy.ShadowDecisionLogged, Severity: taxonomy.SeverityInfo,
			ActorType: taxonomy.ActorAgent, ActorID: ActorShadowManager, InvestigationID: investigationID, AuditID: auditID,
			Context: audit.Fields{KeyShadowDecision: decision, KeyShadowConfidence: finite(confidence), KeyRuleFamily: ruleFamily},
			Decision: audit.Fields{
				audit.KeyClassification: decision, audit.KeyConfidence: finite(confidence),
				audit.KeyConstraintsApplied: []string{ReasonShadowMode}, audit.KeyReasoningSummary: "rule_family=" + ruleFamily,
			},
			Outcome: audit.Fields{audit.KeyOutcomeStatus: string(taxonomy.OutcomeSuccess)},
		})
	}
	return nil
}

// RecordAnalystDecision logs the analyst's verdict for the same
// investigation.
func (s *ShadowMode) RecordAnalystDecision(ctx context.Context, tenantID, ruleFamily, decision, investigationID string) error {
	e := ShadowEntry{Type: ShadowEntryAnalyst, AnalystDecision: decision, InvestigationID: investigationID, TS: s.ts()}
	if err := s.log.Append(ctx, tenantID, ruleFamily, e); err != nil {
		return fmt.Errorf("orchestrator: shadow log: %w", err)
	}
	return nil
}

// AgreementRate is the share of investigations in the window (windowDays,
// ≤ 0 means 14) whose last shadow decision equals their last analyst
// decision, among those that have both; 0 when there are none.
func (s *ShadowMode) AgreementRate(ctx context.Context, tenantID, ruleFamily string, windowDays int) (float64, error) {
	if windowDays <= 0 {
		windowDays = DefaultAgreementWindowDays
	}
	entries, err := s.log.Entries(ctx, tenantID, ruleFamily)
	if err != nil {
		return 0, fmt.Errorf("orchestrator: shadow log: %w", err)
	}
	cutoff := s.ts() - float64(windowDays)*86400
	type pair struct{ shadow, analyst string }
	pairs := map[string]*pair{}
	for _, e := range entries {
		if e.TS < cutoff {
			continue
		}
		p := pairs[e.InvestigationID]
		if p == nil {
			p = &pair{}
			pairs[e.InvestigationID] = p
		}
		switch e.Type {
		case ShadowEntryShadow:
			p.shadow = e.ShadowDecision
		case ShadowEntryAnalyst:
			p.analyst = e.AnalystDecision
		}
	}
	paired, equal := 0, 0
	for _, p := range pairs {
		if p.shadow == "" || p.analyst == "" {
			continue
		}
		paired++
		if p.shadow == p.analyst {
			equal++
		}
	}
	if paired == 0 {
		return 0, nil
	}
	return float64(equal) / float64(paired), nil
}

// GoLive records the sign-off, switches shadow mode off, persists and emits
// shadow.go_live_approved.
func (s *ShadowMode) GoLive(ctx context.Context, tenantID, signedOffBy, date string) error {
	if tenantID == "" {
		return ErrMissingTenant
	}
	if signedOffBy == "" {
		return fmt.Errorf("%w: go-live needs a signer", ErrApproverRequired)
	}
	c, err := s.configs.Get(ctx, tenantID)
	if err != nil {
		return fmt.Errorf("orchestrator: tenant config: %w", err)
	}
	c.TenantID = tenantID
	c.GoLiveSignedOff, c.GoLiveSignedOffBy, c.GoLiveDate = true, signedOffBy, date
	if err := c.DisableShadow(); err != nil {
		return err
	}
	if err := s.configs.Set(ctx, c); err != nil {
		return fmt.Errorf("orchestrator: tenant config: %w", err)
	}
	s.em.emit(audit.Event{
		TenantID: tenantID, Type: taxonomy.ShadowGoLiveApproved, Severity: taxonomy.SeverityInfo,
		ActorType: taxonomy.ActorHuman, ActorID: signedOffBy,
		Context:  audit.Fields{"go_live_date": date},
		Decision: audit.Fields{audit.KeyDecisionType: string(taxonomy.DecisionApprove)},
		Outcome: audit.Fields{
			audit.KeyOutcomeStatus: string(taxonomy.OutcomeSuccess), audit.KeyStateBefore: "shadow",
			audit.KeyStateAfter: "live", audit.KeyApprovalReceivedFrom: signedOffBy,
		},
	})
	return nil
}

// ApprovalTimeoutOverrides returns the tenant's approval windows (severity
// → hours), so a ShadowMode can feed response.WithTimeoutOverrides.
func (s *ShadowMode) ApprovalTimeoutOverrides(ctx context.Context, tenantID string) (map[string]int, error) {
	c, err := s.configs.Get(ctx, tenantID)
	if err != nil {
		return nil, err
	}
	return copyMap(c.ApprovalTimeoutOverrides), nil
}
