package ctem

import (
	"strings"

	"github.com/socwarden/warden/internal/mitre"
)

// The technique ids of the garak and ART tables are the reference
// platform's, passed through the shared corrections of internal/mitre
// (DESIGN §3) so that ctem and atlas always change together. Every resolved
// id is checked against the pinned ATLAS 5.6.0 table in the tests.

// scopeARTExtraction is a correction this package applies on its own; see
// localCorrections.
const scopeARTExtraction = "ctem/art:extraction"

// localCorrections are corrections not (yet) in internal/mitre's table. The
// reference mapped ART extraction attacks to AML.T0044 Full AI Model Access, a
// white-box access precondition; ART's extraction attacks (Copycat CNN,
// Knockoff Nets, functionally-equivalent extraction) steal a model through
// its inference API, which is AML.T0024.002 Extract AI Model — the id the
// garak extraction probes and atlas rule ATLAS-DETECT-002 use, so the three
// correlate.
var localCorrections = []TechniqueCorrection{{
	Scope: scopeARTExtraction, From: "AML.T0044", To: "AML.T0024.002",
	Reason: "AML.T0044 (Full AI Model Access) is an access precondition; ART extraction attacks steal the " +
		"model through its inference API, AML.T0024.002 Extract AI Model",
}}

// TechniqueCorrection documents one technique id the reference emitted and
// the id Warden emits instead.
type TechniqueCorrection struct {
	Scope  string // "" = everywhere; otherwise one mapping, e.g. "ctem/garak:jailbreak"
	From   string // the reference's id
	To     string // Warden's id ("" = no technique)
	Reason string
}

// TechniqueCorrections lists the corrections that apply to this package's
// mappings: the shared table of internal/mitre (ids that never existed in
// ATLAS 5.6.0, and scoped fixes of ctem mappings) plus this package's own.
func TechniqueCorrections() []TechniqueCorrection {
	var out []TechniqueCorrection
	for _, c := range mitre.Corrections() {
		if c.Scope == mitre.ScopeEverywhere || strings.HasPrefix(c.Scope, "ctem/") {
			out = append(out, TechniqueCorrection{Scope: c.Scope, From: c.From, To: c.To, Reason: c.Reason})
		}
	}
	for _, l := range localCorrections {
		if _, ok := mitre.CorrectIn(l.Scope, l.From); !ok {
			out = append(out, l)
		}
	}
	return out
}

// correctedTechnique applies the corrections for a reference id in a scope.
func correctedTechnique(scope, referenceID string) string {
	if to, ok := mitre.CorrectIn(scope, referenceID); ok {
		return to
	}
	for _, l := range localCorrections {
		if l.Scope == scope && l.From == referenceID {
			return l.To
		}
	}
	return referenceID
}

// Resolved ids of the garak and ART tables.
var (
	atlasPromptInjection = correctedTechnique(mitre.ScopeEverywhere, "AML.T0051")
	atlasGarakJailbreak  = correctedTechnique(mitre.ScopeGarakJailbreak, "AML.T0051")
	atlasGarakExtraction = correctedTechnique(mitre.ScopeEverywhere, "AML.T0044.001")
	atlasARTPoisoning    = correctedTechnique(mitre.ScopeEverywhere, "AML.T0020")
	atlasARTEvasion      = correctedTechnique(mitre.ScopeEverywhere, "AML.T0015")
	atlasARTExtraction   = correctedTechnique(scopeARTExtraction, "AML.T0044")
	atlasARTInference    = correctedTechnique(mitre.ScopeARTInference, "AML.T0044.001")
	atlasARTUnknown      = correctedTechnique(mitre.ScopeARTUnknown, "AML.T0000")
)

type techniqueRow struct {
	consequence Consequence
	atlas       string
}

// garakRow maps a garak probe type (exact lower-case match).
func garakRow(probeType string) techniqueRow {
	switch probeType {
	case "escalation", "tool_use", "prompt_injection":
		return techniqueRow{ConsequenceSafetyLife, atlasPromptInjection}
	case "jailbreak":
		return techniqueRow{ConsequenceSafetyLife, atlasGarakJailbreak}
	case "extraction", "exfiltration":
		return techniqueRow{ConsequenceDataLoss, atlasGarakExtraction}
	}
	return techniqueRow{ConsequenceDataLoss, atlasPromptInjection}
}

// artRow maps an ART attack type (exact lower-case match).
func artRow(attackType string) techniqueRow {
	switch attackType {
	case "poisoning":
		return techniqueRow{ConsequenceSafetyLife, atlasARTPoisoning}
	case "evasion":
		return techniqueRow{ConsequenceEquipment, atlasARTEvasion}
	case "extraction":
		return techniqueRow{ConsequenceDataLoss, atlasARTExtraction}
	case "inference":
		return techniqueRow{ConsequenceDataLoss, atlasARTInference}
	}
	return techniqueRow{ConsequenceEquipment, atlasARTUnknown}
}

// garakModuleTypes maps garak probe modules (the part of a probe name before
// the first dot, e.g. "dan" in "dan.DanInTheWild") to the probe types of the
// flat shape. Modules not listed are "other" (data_loss, AML.T0051).
var garakModuleTypes = map[string]string{
	// Instructions smuggled into the prompt or retrieved content.
	"promptinject": "prompt_injection", "latentinjection": "prompt_injection",
	"goodside": "prompt_injection", "web_injection": "prompt_injection",
	// Attempts to lift the model's safety policy.
	"dan": "jailbreak", "tap": "jailbreak", "suffix": "jailbreak", "grandma": "jailbreak",
	"visual_jailbreak": "jailbreak", "phrasing": "jailbreak", "doctor": "jailbreak",
	"dra": "jailbreak", "fitd": "jailbreak", "sata": "jailbreak", "smuggling": "jailbreak",
	"atkgen": "jailbreak",
	// Obfuscated payloads.
	"encoding": "encoding", "badchars": "encoding",
	// Training data or secrets coming back out.
	"leakreplay": "extraction", "divergence": "extraction",
	// Data carried out through rendered output.
	"xss": "exfiltration",
	// Model output that drives a downstream interpreter (template, SQL, code).
	"exploitation": "tool_use",
}

// GarakProbeType returns the probe type of a garak probe name such as
// "promptinject.HijackHateHumans" ("prompt_injection"); "" when the module
// has no specific type.
func GarakProbeType(probe string) string {
	module, _, _ := strings.Cut(strings.ToLower(strings.TrimSpace(probe)), ".")
	return garakModuleTypes[module]
}
