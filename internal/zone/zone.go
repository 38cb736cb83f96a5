// Package zone is Warden's single network-zone → consequence table, shared by
// ctem (consequence-weighted exposure scoring) and response (zone floor on
// action tiers and the approval gate's severity). Keeping one table means a
// zone can never score as "equipment" in CTEM while response treats it as
// "data_loss".
//
// The table is the reference platform's: its five-zone configuration file
// (Zone0_PhysicalProcess … Zone4_External) plus its extended fallback map, 30
// zones in all. Keys match exactly and case-sensitively, as in the reference.
//
// # Unknown and empty zones
//
// A zone that is not in the table — including "" — has the consequence
// [DefaultConsequence] (data_loss, severity LOW). This is what both the ctem and
// the response specifications require, and it is deliberate: most assets carry
// no zone label at all, and treating every unlabelled IT asset as safety-critical
// would make every CVE CRITICAL and every containment action wait for a human,
// which buries the zones that really are safety-critical. The cautious path
// belongs to the caller that knows a zone *should* exist: [Lookup] and [Parse]
// report an unknown zone (ok=false / *UnknownZoneError), and response treats a
// failed zone resolution as the worst case (tier floor 2, reason zone_unknown).
//
// The package imports nothing inside Warden (DESIGN §2); tiers are plain ints
// (response's action-autonomy tiers 0–2), severities plain upper-case strings.
package zone

import (
	"errors"
	"slices"
	"strconv"
	"strings"
)

// Zone is a network zone name as assets and scanners label them, e.g.
// "Zone0_PhysicalProcess". Any string may be held in a Zone; [Zone.Known]
// reports whether it is in the table.
type Zone string

// The 30 zones of the table. The first five are the reference's zone
// configuration file; the rest its extended fallback map.
const (
	Zone0PhysicalProcess Zone = "Zone0_PhysicalProcess"
	Zone1EdgeInference   Zone = "Zone1_EdgeInference"
	Zone2Operations      Zone = "Zone2_Operations"
	Zone3Enterprise      Zone = "Zone3_Enterprise"
	Zone4External        Zone = "Zone4_External"

	Zone0Safety                Zone = "Zone0_Safety"
	Zone0FieldDevices          Zone = "Zone0_FieldDevices"
	OTProcessNetwork           Zone = "OT_ProcessNetwork"
	OTSafetyInstrumentedSystem Zone = "OT_SafetyInstrumentedSystem"
	Zone1BasicControl          Zone = "Zone1_BasicControl"
	Zone1SensorNetwork         Zone = "Zone1_SensorNetwork"
	Zone1PLCNetwork            Zone = "Zone1_PLCNetwork"
	OTFieldBus                 Zone = "OT_FieldBus"
	OTControlNetwork           Zone = "OT_ControlNetwork"
	Zone2AreaSupervisory       Zone = "Zone2_AreaSupervisory"
	Zone2SCADA                 Zone = "Zone2_SCADA"
	Zone2HMI                   Zone = "Zone2_HMI"
	Zone3SiteOperations        Zone = "Zone3_SiteOperations"
	Zone3Manufacturing         Zone = "Zone3_Manufacturing"
	CloudProduction            Zone = "Cloud_Production"
	CloudManagement            Zone = "Cloud_Management"
	ITDataCenter               Zone = "IT_DataCenter"
	ITNetworkInfra             Zone = "IT_NetworkInfra"
	Zone3_5DMZ                 Zone = "Zone3_5_DMZ"
	Zone4Corporate             Zone = "Zone4_Corporate"
	Zone4Cloud                 Zone = "Zone4_Cloud"
	Zone5Internet              Zone = "Zone5_Internet"
	CloudStaging               Zone = "Cloud_Staging"
	CloudDevelopment           Zone = "Cloud_Development"
	ITUserWorkstations         Zone = "IT_UserWorkstations"
)

// Consequence is the "physical consequence" class of a compromise in a zone.
// The four values are ordered most → least severe.
type Consequence string

// The four consequence classes (wire values).
const (
	SafetyLife Consequence = "safety_life"
	Equipment  Consequence = "equipment"
	Downtime   Consequence = "downtime"
	DataLoss   Consequence = "data_loss"
)

// DefaultConsequence is the consequence of a zone not in the table, including
// the empty zone. See the package documentation for why it is the least severe
// class.
const DefaultConsequence = DataLoss

// DefaultSeverity is the severity of a zone not in the table (the severity of
// [DefaultConsequence]).
const DefaultSeverity = "LOW"

// ElevatedActionTier is the action-tier floor response applies to intrusive
// actions (playbooks, collection, containment, platform changes) on targets in a
// safety_life or equipment zone: tier 2 means a human must approve.
const ElevatedActionTier = 2

// consequences lists the classes most → least severe; Rank derives from it.
var consequences = [...]Consequence{SafetyLife, Equipment, Downtime, DataLoss}

// Consequences returns the four classes, most severe first.
func Consequences() []Consequence { return slices.Clone(consequences[:]) }

// Valid reports whether c is one of the four classes (exact match).
func (c Consequence) Valid() bool { return c.Rank() > 0 }

// Rank orders the classes: safety_life 4, equipment 3, downtime 2, data_loss 1;
// anything else 0. Higher is more severe.
func (c Consequence) Rank() int {
	if i := slices.Index(consequences[:], c); i >= 0 {
		return len(consequences) - i
	}
	return 0
}

// Weight is the CTEM scoring weight of the class (safety_life 1.0, equipment
// 0.8, downtime 0.5, data_loss 0.3). An invalid class weighs like
// [DefaultConsequence], as the ctem specification requires.
func (c Consequence) Weight() float64 {
	switch c {
	case SafetyLife:
		return 1.0
	case Equipment:
		return 0.8
	case Downtime:
		return 0.5
	default:
		return 0.3
	}
}

// Severity is the approval-gate severity of the class, upper case:
// safety_life CRITICAL, equipment HIGH, downtime MEDIUM, data_loss LOW. An
// invalid class has [DefaultSeverity].
func (c Consequence) Severity() string {
	switch c {
	case SafetyLife:
		return "CRITICAL"
	case Equipment:
		return "HIGH"
	case Downtime:
		return "MEDIUM"
	default:
		return DefaultSeverity
	}
}

// ActionTierFloor is the minimum action tier response applies to intrusive
// actions on a target with this consequence: [ElevatedActionTier] for
// safety_life and equipment, 0 otherwise. Which action risk classes it applies
// to (never observe/notify/record/closure) is response's rule, not this table's.
func (c Consequence) ActionTierFloor() int {
	if c == SafetyLife || c == Equipment {
		return ElevatedActionTier
	}
	return 0
}

func (c Consequence) String() string { return string(c) }

// ParseConsequence accepts a class case-insensitively with surrounding
// whitespace ignored ("SAFETY_LIFE" → SafetyLife), as the ctem parsing helpers
// require. Anything else is an *UnknownConsequenceError.
func ParseConsequence(s string) (Consequence, error) {
	c := Consequence(strings.ToLower(strings.TrimSpace(s)))
	if c.Valid() {
		return c, nil
	}
	return "", &UnknownConsequenceError{Value: s}
}

// Entry is one row of the table.
type Entry struct {
	Zone        Zone
	Consequence Consequence
	// Severity is the upper-case approval-gate severity (CRITICAL, HIGH,
	// MEDIUM, LOW). Every row's equals Consequence.Severity(): the reference's
	// configuration file and its class rule agree on all 30 zones.
	Severity string
}

// table is the zone table in specification order; index is built from it once
// at initialisation and never written afterwards, so reads need no lock.
var table = [...]Entry{
	{Zone0PhysicalProcess, SafetyLife, "CRITICAL"},
	{Zone1EdgeInference, Equipment, "HIGH"},
	{Zone2Operations, Downtime, "MEDIUM"},
	{Zone3Enterprise, DataLoss, "LOW"},
	{Zone4External, DataLoss, "LOW"},

	{Zone0Safety, SafetyLife, "CRITICAL"},
	{Zone0FieldDevices, SafetyLife, "CRITICAL"},
	{OTProcessNetwork, SafetyLife, "CRITICAL"},
	{OTSafetyInstrumentedSystem, SafetyLife, "CRITICAL"},

	{Zone1BasicControl, Equipment, "HIGH"},
	{Zone1SensorNetwork, Equipment, "HIGH"},
	{Zone1PLCNetwork, Equipment, "HIGH"},
	{OTFieldBus, Equipment, "HIGH"},
	{OTControlNetwork, Equipment, "HIGH"},

	{Zone2AreaSupervisory, Downtime, "MEDIUM"},
	{Zone2SCADA, Downtime, "MEDIUM"},
	{Zone2HMI, Downtime, "MEDIUM"},
	{Zone3SiteOperations, Downtime, "MEDIUM"},
	{Zone3Manufacturing, Downtime, "MEDIUM"},
	{CloudProduction, Downtime, "MEDIUM"},
	{CloudManagement, Downtime, "MEDIUM"},
	{ITDataCenter, Downtime, "MEDIUM"},
	{ITNetworkInfra, Downtime, "MEDIUM"},

	{Zone3_5DMZ, DataLoss, "LOW"},
	{Zone4Corporate, DataLoss, "LOW"},
	{Zone4Cloud, DataLoss, "LOW"},
	{Zone5Internet, DataLoss, "LOW"},
	{CloudStaging, DataLoss, "LOW"},
	{CloudDevelopment, DataLoss, "LOW"},
	{ITUserWorkstations, DataLoss, "LOW"},
}

var index = func() map[Zone]int {
	m := make(map[Zone]int, len(table))
	for i, e := range table {
		m[e.Zone] = i
	}
	return m
}()

// Entries returns a copy of the table in specification order (the five
// configuration zones first).
func Entries() []Entry { return slices.Clone(table[:]) }

// Table returns a fresh zone → consequence map that the caller owns, the
// starting point for a service option that replaces or extends the table.
func Table() map[Zone]Consequence {
	m := make(map[Zone]Consequence, len(table))
	for _, e := range table {
		m[e.Zone] = e.Consequence
	}
	return m
}

// Lookup returns the table row of zone (exact, case-sensitive). ok is false
// for a zone not in the table; the returned Entry then still holds the zone
// with [DefaultConsequence] and [DefaultSeverity], so callers that accept the
// default can ignore ok.
func Lookup(zone string) (e Entry, ok bool) {
	if i, ok := index[Zone(zone)]; ok {
		return table[i], true
	}
	return Entry{Zone: Zone(zone), Consequence: DefaultConsequence, Severity: DefaultSeverity}, false
}

// ConsequenceOf returns the consequence of zone, [DefaultConsequence] if the
// zone is not in the table.
func ConsequenceOf(zone string) Consequence {
	e, _ := Lookup(zone)
	return e.Consequence
}

// SeverityOf returns the upper-case severity of zone, [DefaultSeverity] if the
// zone is not in the table.
func SeverityOf(zone string) string {
	e, _ := Lookup(zone)
	return e.Severity
}

// Known reports whether z is in the table.
func (z Zone) Known() bool { _, ok := index[z]; return ok }

// Consequence returns the consequence of z ([DefaultConsequence] if unknown).
func (z Zone) Consequence() Consequence { return ConsequenceOf(string(z)) }

func (z Zone) String() string { return string(z) }

// Parse returns the zone for an exact, case-sensitive name, or an
// *UnknownZoneError. Input is not trimmed or case-folded: the reference
// matched exactly, and a near-miss such as "zone0_physicalprocess" silently
// becoming a known zone would hide a mislabelled asset.
func Parse(s string) (Zone, error) {
	if z := Zone(s); z.Known() {
		return z, nil
	}
	return "", &UnknownZoneError{Zone: s}
}

// ErrUnknownZone is matched by errors.Is for every *UnknownZoneError.
var ErrUnknownZone = errors.New("zone: unknown zone")

// ErrUnknownConsequence is matched by errors.Is for every
// *UnknownConsequenceError.
var ErrUnknownConsequence = errors.New("zone: unknown consequence")

// UnknownZoneError reports a zone name that is not in the table.
type UnknownZoneError struct{ Zone string }

func (e *UnknownZoneError) Error() string {
	return "zone: unknown zone " + strconv.Quote(e.Zone)
}

// Is reports whether target is ErrUnknownZone.
func (e *UnknownZoneError) Is(target error) bool { return target == ErrUnknownZone }

// UnknownConsequenceError reports a string that is not a consequence class.
type UnknownConsequenceError struct{ Value string }

func (e *UnknownConsequenceError) Error() string {
	return "zone: unknown consequence " + strconv.Quote(e.Value)
}

// Is reports whether target is ErrUnknownConsequence.
func (e *UnknownConsequenceError) Is(target error) bool { return target == ErrUnknownConsequence }
