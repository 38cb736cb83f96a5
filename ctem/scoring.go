package ctem

import (
	"crypto/sha256"
	"encoding/hex"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/socwarden/warden/internal/zone"
)

// ExposureKey is the deduplication identity of a finding: the first 16
// lower-case hex characters of SHA-256(source ":" title ":" assetID). Fields
// are joined unescaped, as in the reference (so ("a:b","c") and ("a","b:c")
// collide); the store scopes the key by tenant.
func ExposureKey(source Source, title, assetID string) string {
	h := sha256.New()
	h.Write([]byte(source))
	h.Write([]byte{':'})
	h.Write([]byte(title))
	h.Write([]byte{':'})
	h.Write([]byte(assetID))
	var sum [sha256.Size]byte
	return hex.EncodeToString(h.Sum(sum[:0])[:8])
}

// severityMatrix is the consequence-weighted matrix: exploitability level ×
// consequence → severity. Exactly 12 cells.
var severityMatrix = map[Exploitability]map[Consequence]Severity{
	ExploitabilityHigh: {
		ConsequenceSafetyLife: SeverityCritical, ConsequenceEquipment: SeverityCritical,
		ConsequenceDowntime: SeverityHigh, ConsequenceDataLoss: SeverityMedium,
	},
	ExploitabilityMedium: {
		ConsequenceSafetyLife: SeverityCritical, ConsequenceEquipment: SeverityHigh,
		ConsequenceDowntime: SeverityMedium, ConsequenceDataLoss: SeverityLow,
	},
	ExploitabilityLow: {
		ConsequenceSafetyLife: SeverityHigh, ConsequenceEquipment: SeverityMedium,
		ConsequenceDowntime: SeverityLow, ConsequenceDataLoss: SeverityLow,
	},
}

// SeverityFor looks up the matrix; both inputs are case-insensitive and any
// combination not in it is MEDIUM.
func SeverityFor(exploitability, consequence string) Severity {
	row, ok := severityMatrix[Exploitability(strings.ToLower(exploitability))]
	if !ok {
		return SeverityMedium
	}
	if s, ok := row[Consequence(strings.ToLower(consequence))]; ok {
		return s
	}
	return SeverityMedium
}

// ConsequenceWeight is the scoring weight of a consequence (safety_life 1.0,
// equipment 0.8, downtime 0.5, data_loss 0.3; unknown 0.3). Case-insensitive.
func ConsequenceWeight(consequence string) float64 {
	return Consequence(strings.ToLower(consequence)).Weight()
}

// Score is the CTEM score, round2(exploitabilityScore × weight × 10),
// multiplied left to right in float64 (0.0–10.0 for inputs in range).
func Score(exploitabilityScore float64, consequence string) float64 {
	return round2(exploitabilityScore * ConsequenceWeight(consequence) * 10)
}

// round2 reproduces the reference's decimal rounding: round half to even on
// the exact binary value, which is what FormatFloat does. math.Round(v*100)/100
// would round 0.125 up to 0.13; the reference gives 0.12.
func round2(v float64) float64 { return roundN(v, 2) }

func roundN(v float64, n int) float64 {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return v
	}
	r, _ := strconv.ParseFloat(strconv.FormatFloat(v, 'f', n, 64), 64)
	return r
}

// SLAHours is the remediation window of a severity (case-insensitive):
// CRITICAL 24, HIGH 72, MEDIUM 336, LOW and anything else 720.
func SLAHours(sev string) int {
	switch Severity(strings.ToUpper(sev)) {
	case SeverityCritical:
		return 24
	case SeverityHigh:
		return 72
	case SeverityMedium:
		return 336
	}
	return 720
}

// SLADeadline is base + SLAHours(sev) hours.
func SLADeadline(sev string, base time.Time) time.Time {
	return base.Add(time.Duration(SLAHours(sev)) * time.Hour)
}

// ZoneConsequence is the consequence of a network zone from the shared zone
// table (exact, case-sensitive; unknown and "" → data_loss).
func ZoneConsequence(z string) Consequence { return zone.ConsequenceOf(z) }

// ExploitabilityFromRate maps a success rate (0–1): ≥ 0.7 high, ≥ 0.3
// medium, otherwise low.
func ExploitabilityFromRate(rate float64) Exploitability {
	switch {
	case rate >= 0.7:
		return ExploitabilityHigh
	case rate >= 0.3:
		return ExploitabilityMedium
	}
	return ExploitabilityLow
}

// ExploitabilityFromCVSS maps a CVSS-scale exploitability (0–10): ≥ 7 high,
// ≥ 3 medium, otherwise low.
func ExploitabilityFromCVSS(score float64) Exploitability {
	switch {
	case score >= 7.0:
		return ExploitabilityHigh
	case score >= 3.0:
		return ExploitabilityMedium
	}
	return ExploitabilityLow
}

// clamp01 limits v to [0, 1]; NaN becomes 0.
func clamp01(v float64) float64 {
	switch {
	case !(v >= 0): // also NaN
		return 0
	case v > 1:
		return 1
	}
	return v
}

// mlPackageSubstrings are matched anywhere in the lower-cased package name.
var mlPackageSubstrings = []string{
	"torch", "pytorch", "tensorflow", "sklearn", "scikit-learn", "keras", "onnx",
	"onnxruntime", "xgboost", "lightgbm", "transformers", "huggingface",
}

// IsMLPackage reports whether a dependency is a machine-learning package, whose
// compromise is treated as safety_life. "tf" counts only as a whole token
// (delimited by the ends of the name or one of - _ . / @): as a substring it
// flagged utf-8-validate, rtf-parser and gltf-loader.
func IsMLPackage(name string) bool {
	n := strings.ToLower(name)
	for _, s := range mlPackageSubstrings {
		if strings.Contains(n, s) {
			return true
		}
	}
	for tok := range strings.FieldsFuncSeq(n, isPackageDelimiter) {
		if tok == "tf" {
			return true
		}
	}
	return false
}

func isPackageDelimiter(r rune) bool {
	switch r {
	case '-', '_', '.', '/', '@':
		return true
	}
	return false
}

// SLAStateAt is BREACHED once now is past the deadline, AT_RISK when less
// than 24 h remain, otherwise ON_TRACK (also for a zero deadline).
func SLAStateAt(deadline, now time.Time) SLAState {
	switch {
	case deadline.IsZero():
		return SLAOnTrack
	case now.After(deadline):
		return SLABreached
	case deadline.Sub(now) < 24*time.Hour:
		return SLAAtRisk
	}
	return SLAOnTrack
}

// AtRisk is the early warning: CRITICAL or HIGH with 0 < deadline − now < 24 h.
func AtRisk(sev Severity, deadline, now time.Time) bool {
	if sev != SeverityCritical && sev != SeverityHigh {
		return false
	}
	left := deadline.Sub(now)
	return left > 0 && left < 24*time.Hour
}

// EscalationFor is who an overdue remediation escalates to.
func EscalationFor(sev Severity, hoursOverdue float64) EscalationLevel {
	switch {
	case sev == SeverityCritical && hoursOverdue > 24:
		return EscalationCISO
	case sev == SeverityCritical:
		return EscalationDirector
	case sev == SeverityHigh && hoursOverdue > 48:
		return EscalationDirector
	case sev == SeverityHigh:
		return EscalationManager
	}
	return EscalationTeamLead
}

// NeedsVerification reports a deployed fix left unverified for over 24 h.
func NeedsVerification(r Remediation, now time.Time) bool {
	return r.Status == RemediationFixDeployed && r.VerifiedDate.IsZero() &&
		!r.FixDeployedDate.IsZero() && now.Sub(r.FixDeployedDate) > 24*time.Hour
}
