package atlas

import (
	"math"
	"slices"
	"strconv"
	"time"
)

// safetyRelevant are the rules whose findings downstream reasoning may not
// dismiss as false positives. Unexported so no caller can change them.
var safetyRelevant = [...]string{RuleAdversarialEvasion, RulePhysicsOracleDoS, RuleSensorSpoofing}

// safetyFloors are the minimum confidences of safety rules.
var safetyFloors = map[string]float64{RulePhysicsOracleDoS: 0.7, RuleSensorSpoofing: 0.7}

// untrustedSources are telemetry an attacker on the edge could forge.
var untrustedSources = [...]string{SourceEdgeNodeTelemetry, SourceOPCUATelemetry}

// IsSafetyRelevant reports whether ruleID is one of the three safety rules.
func IsSafetyRelevant(ruleID string) bool { return slices.Contains(safetyRelevant[:], ruleID) }

// SafetyRelevantRules returns a fresh copy of the safety-relevant rule ids.
func SafetyRelevantRules() []string { return slices.Clone(safetyRelevant[:]) }

// SafetyFloor is the minimum confidence of a rule (0 for rules without one).
func SafetyFloor(ruleID string) float64 { return safetyFloors[ruleID] }

// ApplySafetyFloor returns max(c, SafetyFloor(ruleID)).
func ApplySafetyFloor(ruleID string, c float64) float64 { return math.Max(c, SafetyFloor(ruleID)) }

// IsUntrustedSource reports whether source is untrusted telemetry.
func IsUntrustedSource(source string) bool { return slices.Contains(untrustedSources[:], source) }

// UntrustedSources returns a fresh copy of the untrusted telemetry sources.
func UntrustedSources() []string { return slices.Clone(untrustedSources[:]) }

// ApplyTrustDowngrade multiplies c by TrustDowngradeFactor for untrusted
// sources. On its own it may go below a safety floor; rules re-apply the
// floor afterwards.
func ApplyTrustDowngrade(c float64, source string) (float64, TrustLevel) {
	if IsUntrustedSource(source) {
		return c * TrustDowngradeFactor, Untrusted
	}
	return c, Trusted
}

// FormatTimestamp renders t in UTC as the reference did: whole seconds as
// 2006-01-02T15:04:05+00:00, otherwise truncated to microseconds with exactly
// six digits.
func FormatTimestamp(t time.Time) string {
	t = t.UTC().Truncate(time.Microsecond)
	if t.Nanosecond() == 0 {
		return t.Format("2006-01-02T15:04:05+00:00")
	}
	return t.Format("2006-01-02T15:04:05.000000+00:00")
}

// roundN rounds half to even on the exact binary value (the reference's
// decimal rounding), via FormatFloat rather than math.Round.
func roundN(v float64, n int) float64 {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return v
	}
	r, _ := strconv.ParseFloat(strconv.FormatFloat(v, 'f', n, 64), 64)
	return r
}
