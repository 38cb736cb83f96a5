package atlas

import (
	"strings"

	"github.com/socwarden/warden/internal/mitre"
)

// ruleTechnique is a rule's reference ATLAS id and the correction scope it is
// resolved in. The ids come from the pinned table of internal/mitre; the two
// ids the reference used that never existed in ATLAS 5.6.0 are corrected
// there, together with ctem (DESIGN §3):
//
//	ATLAS-DETECT-002  AML.T0044.001 → AML.T0024.002 Extract AI Model
//	ATLAS-DETECT-007  AML.T0035.002 → AML.T0035     AI Artifact Collection
//
// Every other rule keeps the reference id, each checked against the pinned
// table by the tests.
type ruleTechnique struct {
	scope, reference string
}

var ruleTechniques = map[string]ruleTechnique{
	RuleTrainingDataPoisoning: {mitre.ScopeEverywhere, "AML.T0020"},
	RuleModelExtraction:       {mitre.ScopeAtlasDetect002, "AML.T0044.001"},
	RulePromptInjection:       {mitre.ScopeEverywhere, "AML.T0051"},
	RuleAdversarialEvasion:    {mitre.ScopeEverywhere, "AML.T0015"},
	RulePhysicsOracleDoS:      {mitre.ScopeEverywhere, "AML.T0029"},
	RuleInsiderExfiltration:   {mitre.ScopeAtlasDetect007, "AML.T0035.002"},
	RuleAlertFatigue:          {mitre.ScopeEverywhere, "AML.T0015"},
	RuleSensorSpoofing:        {mitre.ScopeEverywhere, "AML.T0043"},
	RulePartnerCompromise:     {mitre.ScopeEverywhere, "AML.T0043"},
	RuleEdgeNodeCompromise:    {mitre.ScopeEverywhere, "AML.T0040"},
}

// Rule 006 has two signals with their own techniques.
var (
	techniquePromotion  = resolve(mitre.ScopeEverywhere, "AML.T0010")
	techniqueDependency = resolve(mitre.ScopeEverywhere, "AML.T0018")
)

func resolve(scope, id string) string {
	if to, ok := mitre.CorrectIn(scope, id); ok {
		return to
	}
	return id
}

// RuleTechnique returns the ATLAS id a built-in rule emits ("" for unknown
// rules; rule 006 emits AML.T0010 or AML.T0018 per signal).
func RuleTechnique(ruleID string) string {
	t, ok := ruleTechniques[ruleID]
	if !ok {
		return ""
	}
	return resolve(t.scope, t.reference)
}

// TechniqueCorrection documents one reference id this package replaces.
type TechniqueCorrection struct {
	RuleID    string
	Reference string
	Warden    string
	Reason    string
}

// TechniqueCorrections lists the corrected rule techniques.
func TechniqueCorrections() []TechniqueCorrection {
	var out []TechniqueCorrection
	for _, c := range mitre.Corrections() {
		rule, ok := strings.CutPrefix(c.Scope, "atlas/")
		if !ok {
			continue
		}
		out = append(out, TechniqueCorrection{RuleID: rule, Reference: c.From, Warden: c.To, Reason: c.Reason})
	}
	return out
}
