package orchestrator

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/socwarden/warden/audit"
	"github.com/socwarden/warden/taxonomy"
)

// KillSwitchDimension is what a kill switch is keyed by.
type KillSwitchDimension string

// The six dimensions: the reference's four plus rule_family and severity
// (which canary rollbacks use).
const (
	DimensionTenant     KillSwitchDimension = "tenant"
	DimensionPattern    KillSwitchDimension = "pattern"
	DimensionTechnique  KillSwitchDimension = "technique"
	DimensionDataSource KillSwitchDimension = "datasource"
	DimensionRuleFamily KillSwitchDimension = "rule_family"
	DimensionSeverity   KillSwitchDimension = "severity"
)

// KillSwitchDimensions returns the six dimensions in check order.
func KillSwitchDimensions() []KillSwitchDimension {
	return []KillSwitchDimension{DimensionTenant, DimensionPattern, DimensionTechnique,
		DimensionDataSource, DimensionRuleFamily, DimensionSeverity}
}

// Valid reports whether d is one of the six dimensions.
func (d KillSwitchDimension) Valid() bool {
	for _, v := range KillSwitchDimensions() {
		if d == v {
			return true
		}
	}
	return false
}

// KillSwitch is one active switch.
type KillSwitch struct {
	Dimension   KillSwitchDimension `json:"dimension"`
	Value       string              `json:"value"`
	ActivatedBy string              `json:"activated_by"`
	ActivatedAt time.Time           `json:"activated_at"`
	Reason      string              `json:"reason"`
}

// KillSwitchKey is the key of a switch in a key-value store:
// kill_switch:{dimension}:{value}.
func KillSwitchKey(dim KillSwitchDimension, value string) string {
	return "kill_switch:" + string(dim) + ":" + value
}

// KillScope is what an alert is checked against; empty values are skipped.
type KillScope struct {
	TenantID     string
	PatternID    string
	TechniqueIDs []string
	DataSource   string
	RuleFamily   string
	Severity     string
}

// KillSwitchStore keeps active switches.
type KillSwitchStore interface {
	Put(ctx context.Context, k KillSwitch) error
	Get(ctx context.Context, dim KillSwitchDimension, value string) (KillSwitch, bool, error)
	Delete(ctx context.Context, dim KillSwitchDimension, value string) (bool, error)
}

// KillChecker answers whether auto-close is switched off for a scope.
// *KillSwitches implements it; a read error must count as switched on.
type KillChecker interface {
	IsKilled(ctx context.Context, s KillScope) (bool, error)
}

// KillSwitches is the human brake on FP auto-close. A killed scope blocks
// only auto-close; the rest of the pipeline runs normally. Reads fail
// closed. Safe for concurrent use.
type KillSwitches struct {
	store KillSwitchStore
	now   func() time.Time
	log   *slog.Logger
	em    emitter
}

var _ KillChecker = (*KillSwitches)(nil)

// NewKillSwitches returns the manager; store is required.
func NewKillSwitches(store KillSwitchStore, opts ...Option) (*KillSwitches, error) {
	cfg, err := buildConfig(opts)
	if err != nil {
		return nil, err
	}
	if store == nil {
		return nil, &ConfigError{Option: "store", Reason: "nil kill-switch store"}
	}
	return &KillSwitches{store: store, now: cfg.now, log: cfg.logger, em: newEmitter(cfg.producer, cfg.logger)}, nil
}

func normKillValue(dim KillSwitchDimension, value string) string {
	value = strings.TrimSpace(value)
	if dim == DimensionSeverity {
		value = strings.ToLower(value)
	}
	return value
}

func checkKill(dim KillSwitchDimension, value string) error {
	if !dim.Valid() {
		return &DimensionError{Dimension: string(dim)}
	}
	if value == "" {
		return ErrEmptyValue
	}
	return nil
}

// Activate switches auto-close off for dimension=value and emits
// kill_switch.activated.
func (k *KillSwitches) Activate(ctx context.Context, dim KillSwitchDimension, value string, by Actor, reason string) error {
	value = normKillValue(dim, value)
	if err := checkKill(dim, value); err != nil {
		return err
	}
	_, was, gerr := k.store.Get(ctx, dim, value)
	if gerr != nil {
		was = false
	}
	ks := KillSwitch{Dimension: dim, Value: value, ActivatedBy: by.ID, ActivatedAt: k.now().UTC(), Reason: reason}
	if err := k.store.Put(ctx, ks); err != nil {
		return fmt.Errorf("orchestrator: kill-switch store: %w", err)
	}
	before := "inactive"
	if was {
		before = "active"
	}
	k.emit(taxonomy.KillSwitchActivated, taxonomy.SeverityWarning, dim, value, by, reason, "activate", before, "active",
		audit.Fields{KeyActivatedBy: by.ID})
	return nil
}

// Deactivate switches auto-close back on and emits kill_switch.deactivated,
// even when nothing was active (the human action is still recorded;
// outcome.state_before says whether a switch was removed).
func (k *KillSwitches) Deactivate(ctx context.Context, dim KillSwitchDimension, value string, by Actor, reason string) error {
	value = normKillValue(dim, value)
	if err := checkKill(dim, value); err != nil {
		return err
	}
	removed, err := k.store.Delete(ctx, dim, value)
	if err != nil {
		return fmt.Errorf("orchestrator: kill-switch store: %w", err)
	}
	before := "inactive"
	if removed {
		before = "active"
	}
	k.emit(taxonomy.KillSwitchDeactivated, taxonomy.SeverityInfo, dim, value, by, reason, "deactivate", before, "inactive",
		audit.Fields{KeyDeactivatedBy: by.ID})
	return nil
}

func (k *KillSwitches) emit(t taxonomy.EventType, sev taxonomy.Severity, dim KillSwitchDimension, value string, by Actor,
	reason, action, before, after string, extra audit.Fields) {
	if !k.em.enabled() {
		return
	}
	tenant := SystemTenant
	if dim == DimensionTenant {
		tenant = value
	}
	actorType := by.Type
	if !actorType.Valid() {
		actorType = taxonomy.ActorHuman
	}
	actorID := by.ID
	if actorID == "" {
		actorID = "unknown"
	}
	ctx := audit.Fields{KeyDimension: string(dim), KeyValue: value, KeyReason: reason}.With(extra)
	k.em.emit(audit.Event{
		TenantID: tenant, Type: t, Severity: sev, ActorType: actorType, ActorID: actorID,
		Context:  ctx,
		Decision: audit.Fields{audit.KeyReasoningSummary: reason},
		Outcome: audit.Fields{
			audit.KeyActionTaken: action, audit.KeyActionTarget: string(dim) + ":" + value,
			audit.KeyStateBefore: before, audit.KeyStateAfter: after,
			audit.KeyOutcomeStatus: string(taxonomy.OutcomeSuccess),
		},
	})
}

// IsKilled checks tenant, pattern, every technique, datasource, rule_family
// and severity, in that order, skipping empty values. A store error (or a
// panicking store) returns true with the error: an unreadable brake counts
// as pulled.
func (k *KillSwitches) IsKilled(ctx context.Context, s KillScope) (killed bool, err error) {
	defer func() {
		if r := recover(); r != nil {
			killed, err = true, fmt.Errorf("orchestrator: kill-switch store panicked: %v", r)
		}
	}()
	check := func(dim KillSwitchDimension, v string) (bool, error) {
		v = normKillValue(dim, v)
		if v == "" {
			return false, nil
		}
		_, ok, err := k.store.Get(ctx, dim, v)
		if err != nil {
			k.log.Warn("orchestrator: kill-switch store unreadable; failing closed", "dimension", string(dim), "error", err)
			return true, err
		}
		return ok, nil
	}
	pairs := []struct {
		dim KillSwitchDimension
		v   string
	}{{DimensionTenant, s.TenantID}, {DimensionPattern, s.PatternID}}
	for _, t := range s.TechniqueIDs {
		pairs = append(pairs, struct {
			dim KillSwitchDimension
			v   string
		}{DimensionTechnique, t})
	}
	pairs = append(pairs, []struct {
		dim KillSwitchDimension
		v   string
	}{{DimensionDataSource, s.DataSource}, {DimensionRuleFamily, s.RuleFamily}, {DimensionSeverity, s.Severity}}...)
	for _, p := range pairs {
		if on, err := check(p.dim, p.v); on || err != nil {
			return true, err
		}
	}
	return false, nil
}
