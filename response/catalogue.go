package response

import (
	"maps"
	"strings"
	"time"

	"github.com/socwarden/warden/internal/zone"
)

// RiskClass groups actions by what they can break; it decides whether a
// target's zone can raise an action's tier.
type RiskClass string

// Risk classes.
const (
	RiskObserve           RiskClass = "observe"
	RiskNotify            RiskClass = "notify"
	RiskRecord            RiskClass = "record"
	RiskClosure           RiskClass = "closure"
	RiskPlaybook          RiskClass = "playbook"
	RiskCollect           RiskClass = "collect"
	RiskContainReversible RiskClass = "contain_reversible"
	RiskContainDisruptive RiskClass = "contain_disruptive"
	RiskPlatformChange    RiskClass = "platform_change"
	RiskUnknown           RiskClass = "unknown"
)

// Valid reports whether r is one of the ten classes.
func (r RiskClass) Valid() bool {
	switch r {
	case RiskObserve, RiskNotify, RiskRecord, RiskClosure, RiskPlaybook, RiskCollect,
		RiskContainReversible, RiskContainDisruptive, RiskPlatformChange, RiskUnknown:
		return true
	}
	return false
}

// zoneSensitive reports whether a safety_life or equipment zone raises this
// class to tier 2. Observing, notifying, recording and closing never touch
// the target, so the zone cannot make them dangerous.
func (r RiskClass) zoneSensitive() bool {
	switch r {
	case RiskObserve, RiskNotify, RiskRecord, RiskClosure:
		return false
	}
	return true
}

// Constraint names the executor constraint an action is subject to.
type Constraint string

// Executor constraints.
const (
	ConstraintNone Constraint = ""
	// ConstraintPlaybookAllowList: the playbook id must be allow-listed.
	ConstraintPlaybookAllowList Constraint = "playbook_allow_list"
	// ConstraintAutoCloseCriteria: confidence and FP-match criteria.
	ConstraintAutoCloseCriteria Constraint = "auto_close_criteria"
	// ConstraintRoutingPolicy: forbidden unless routing changes are allowed.
	ConstraintRoutingPolicy Constraint = "routing_policy"
	// ConstraintGuardrails: forbidden unless guardrail changes are allowed.
	ConstraintGuardrails Constraint = "guardrails"
)

func (c Constraint) valid() bool {
	switch c {
	case ConstraintNone, ConstraintPlaybookAllowList, ConstraintAutoCloseCriteria,
		ConstraintRoutingPolicy, ConstraintGuardrails:
		return true
	}
	return false
}

// ActionSpec is one row of the action catalogue: the code-side grading of an
// action, which the model's own tier can only raise.
type ActionSpec struct {
	Name  string
	Floor Tier
	Risk  RiskClass
	// Reversible says whether a successful execution can be rolled back.
	Reversible bool
	Constraint Constraint
	// Timeout bounds one execution of this action; 0 means the responder's
	// execution timeout.
	Timeout time.Duration
}

// unknownSpec grades every name not in the catalogue: tier 2, never
// reversible, so an action the code does not know cannot run unattended.
func unknownSpec(name string) ActionSpec {
	return ActionSpec{Name: name, Floor: TierRequiresApproval, Risk: RiskUnknown}
}

// DefaultCatalogue returns a fresh copy of the default action catalogue
// (keys are normalised names). Hosts pass an edited copy to WithCatalogue.
func DefaultCatalogue() map[string]ActionSpec {
	m := make(map[string]ActionSpec, 32)
	add := func(floor Tier, risk RiskClass, reversible bool, c Constraint, names ...string) {
		for _, n := range names {
			m[n] = ActionSpec{Name: n, Floor: floor, Risk: risk, Reversible: reversible, Constraint: c}
		}
	}
	add(TierAuto, RiskObserve, false, ConstraintNone, "monitor", "log_event")
	add(TierAuto, RiskNotify, false, ConstraintNone, "send_alert", "alert", "notify")
	add(TierAuto, RiskRecord, false, ConstraintNone, "comment_incident", "update_incident", "create_ticket")
	add(TierAuto, RiskClosure, false, ConstraintAutoCloseCriteria, "auto_close")
	add(TierAuto, RiskPlaybook, false, ConstraintPlaybookAllowList, "execute_playbook")
	add(TierAutoConditional, RiskCollect, false, ConstraintNone, "collect_forensics")
	add(TierAutoConditional, RiskContainReversible, true, ConstraintNone, "temporary_block")
	add(TierRequiresApproval, RiskContainDisruptive, true, ConstraintNone,
		"block_ip", "firewall_block", "isolate_endpoint", "isolate_host", "isolate",
		"disable_account", "quarantine_file")
	add(TierRequiresApproval, RiskContainDisruptive, false, ConstraintNone,
		"revoke_sessions", "reset_credentials", "force_mfa_reregistration")
	add(TierRequiresApproval, RiskPlatformChange, false, ConstraintRoutingPolicy, "modify_routing_policy")
	add(TierRequiresApproval, RiskPlatformChange, false, ConstraintGuardrails, "disable_guardrails")
	return m
}

// maxActionNameLen bounds an action name; anything longer is malformed.
const maxActionNameLen = 128

// NormaliseAction trims and lower-cases an action name and reports whether
// the result is well-formed: non-empty, at most 128 bytes, only [a-z0-9_.-].
// A malformed name is never executed or graded.
func NormaliseAction(name string) (string, bool) {
	n := strings.ToLower(strings.TrimSpace(name))
	if n == "" || len(n) > maxActionNameLen {
		return n, false
	}
	for i := 0; i < len(n); i++ {
		c := n[i]
		if (c < 'a' || c > 'z') && (c < '0' || c > '9') && c != '_' && c != '.' && c != '-' {
			return n, false
		}
	}
	return n, true
}

// ConsequenceClass is the physical consequence of a compromise in a network
// zone; the values are those of the shared zone table.
type ConsequenceClass string

// Consequence classes, most severe first.
const (
	ConsequenceSafetyLife ConsequenceClass = ConsequenceClass(zone.SafetyLife)
	ConsequenceEquipment  ConsequenceClass = ConsequenceClass(zone.Equipment)
	ConsequenceDowntime   ConsequenceClass = ConsequenceClass(zone.Downtime)
	ConsequenceDataLoss   ConsequenceClass = ConsequenceClass(zone.DataLoss)
)

// ZoneConsequence is one row of a zone table.
type ZoneConsequence struct {
	Class ConsequenceClass
	// Severity is upper case: CRITICAL, HIGH, MEDIUM, LOW.
	Severity string
}

// DefaultZoneTable returns a fresh copy of the shared zone table (the 30
// zones of internal/zone), for hosts that extend it with WithZoneTable.
func DefaultZoneTable() map[string]ZoneConsequence {
	entries := zone.Entries()
	m := make(map[string]ZoneConsequence, len(entries))
	for _, e := range entries {
		m[string(e.Zone)] = ZoneConsequence{Class: ConsequenceClass(e.Consequence), Severity: e.Severity}
	}
	return m
}

// ConsequenceForZone returns the class and severity of a zone in the default
// table (exact, case-sensitive match); an unknown or empty zone is data_loss
// and LOW.
func ConsequenceForZone(z string) (ConsequenceClass, string) {
	e, _ := zone.Lookup(z)
	return ConsequenceClass(e.Consequence), e.Severity
}

// zoneTable resolves zone names against either the shared table or a
// host-supplied copy.
type zoneTable struct {
	custom map[string]ZoneConsequence // nil: the shared table; read-only after New
}

func (t zoneTable) lookup(z string) ZoneConsequence {
	if t.custom == nil {
		c, s := ConsequenceForZone(z)
		return ZoneConsequence{Class: c, Severity: s}
	}
	if e, ok := t.custom[z]; ok {
		return e
	}
	return ZoneConsequence{Class: ConsequenceClass(zone.DefaultConsequence), Severity: zone.DefaultSeverity}
}

// tierFloor is the zone floor for a class: the shared table's rule.
func (c ConsequenceClass) tierFloor() Tier { return Tier(zone.Consequence(c).ActionTierFloor()) }

func cloneCatalogue(m map[string]ActionSpec) map[string]ActionSpec { return maps.Clone(m) }
