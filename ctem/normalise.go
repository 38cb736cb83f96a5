package ctem

import (
	"strings"
	"time"
)

// Env is what a normaliser may read besides the finding: the instant of
// ingestion and the consequence lookup.
type Env struct {
	// Now is the ingestion instant: the SLA base and the ts of findings that
	// carry none. Zero means time.Now().
	Now time.Time
	// ZoneConsequence resolves an asset's consequence (used by Wiz). nil
	// means the shared zone table.
	ZoneConsequence func(assetID, zone string) Consequence
}

func (e Env) now() time.Time {
	if e.Now.IsZero() {
		return time.Now().UTC()
	}
	return e.Now.UTC()
}

func (e Env) consequence(assetID, z string) Consequence {
	if e.ZoneConsequence != nil {
		if c := e.ZoneConsequence(assetID, z); c.Valid() {
			return c
		}
	}
	return ZoneConsequence(z)
}

// Normaliser turns one raw finding into an Exposure. Built-ins are pure and
// safe for concurrent use. The error is a *FieldError.
type Normaliser interface {
	Source() Source
	Normalise(raw []byte, env Env) (Exposure, error)
}

// finding is the source-neutral intermediate every input shape (flat JSON,
// CSV row, wizcli entry, Snyk vulnerability, garak eval) is mapped to before
// scoring, so each source is scored by exactly one function.
type finding struct {
	Title, AssetID, Severity, Description  string
	AtlasTechnique, AttackTechnique        string
	ThreatModelRef, Remediation            string
	EvidenceURL, TenantID, AssetType, Zone string
	TS                                     time.Time // zero → Env.Now

	// Wiz: the resource type drives the zone; a known exploit raises the
	// exploitability level to high (real exports only).
	ResourceType string
	KnownExploit bool

	// Snyk: the package decides ML-ness; CVSS is the exploitability input on
	// the 0–10 scale.
	PackageName string
	CVSS        float64

	// garak / ART: probe or attack type and success rate (0–1).
	Category string
	Rate     float64
}

// wizZone derives the zone from the resource type (exact lower-case match).
func wizZone(resourceType string) string {
	switch strings.ToLower(resourceType) {
	case "edge", "orbital":
		return "Zone1_EdgeInference"
	case "demo", "public":
		return "Zone4_External"
	}
	return "Zone3_Enterprise"
}

// wizLevel maps the tool's severity to an exploitability level.
func wizLevel(orig string) Exploitability {
	switch orig {
	case "CRITICAL", "HIGH":
		return ExploitabilityHigh
	case "LOW", "INFORMATIONAL":
		return ExploitabilityLow
	}
	return ExploitabilityMedium
}

func levelScore(l Exploitability) float64 {
	switch l {
	case ExploitabilityHigh:
		return 0.9
	case ExploitabilityLow:
		return 0.2
	}
	return 0.5
}

// build scores a finding for src and also returns the exploitability level
// the severity came from. Required fields must have been checked.
func build(src Source, f finding, env Env) (Exposure, Exploitability) {
	now := env.now()
	e := Exposure{
		SourceTool:          src,
		Title:               f.Title,
		Description:         f.Description,
		AssetID:             f.AssetID,
		AssetType:           f.AssetType,
		AtlasTechnique:      f.AtlasTechnique,
		AttackTechnique:     f.AttackTechnique,
		ThreatModelRef:      f.ThreatModelRef,
		RemediationGuidance: f.Remediation,
		EvidenceURL:         f.EvidenceURL,
		TenantID:            f.TenantID,
		Status:              StatusOpen,
		TS:                  f.TS,
	}
	if e.TS.IsZero() {
		e.TS = now
	}
	e.TS = e.TS.UTC()
	var level Exploitability
	switch src {
	case SourceWiz:
		e.OriginalSeverity = strings.ToUpper(f.Severity)
		if e.OriginalSeverity == "" {
			e.OriginalSeverity = string(SeverityMedium)
		}
		e.AssetType = f.ResourceType
		e.AssetZone = wizZone(f.ResourceType)
		e.PhysicalConsequence = env.consequence(e.AssetID, e.AssetZone)
		level = wizLevel(e.OriginalSeverity)
		if f.KnownExploit {
			level = ExploitabilityHigh
		}
		e.ExploitabilityScore = levelScore(level)
	case SourceSnyk:
		e.OriginalSeverity = strings.ToUpper(f.Severity)
		if e.OriginalSeverity == "" {
			e.OriginalSeverity = string(SeverityMedium)
		}
		level = ExploitabilityFromCVSS(f.CVSS)
		// Rounded to 6 decimals so 5.7 stores as 0.57, not 0.5700000000000001.
		e.ExploitabilityScore = clamp01(roundN(f.CVSS/10.0, 6))
		e.PhysicalConsequence = ConsequenceDataLoss
		if IsMLPackage(f.PackageName) {
			e.PhysicalConsequence = ConsequenceSafetyLife
		}
		e.AssetZone = "Zone3_Enterprise"
	case SourceGarak, SourceART:
		e.OriginalSeverity = strings.ToUpper(f.Severity)
		cat := strings.ToLower(f.Category)
		var t techniqueRow
		if src == SourceGarak {
			t = garakRow(cat)
			e.AssetType = "llm_model"
		} else {
			t = artRow(cat)
			e.AssetType = "ml_model"
		}
		e.PhysicalConsequence, e.AtlasTechnique = t.consequence, t.atlas
		level = ExploitabilityFromRate(f.Rate)
		e.ExploitabilityScore = clamp01(f.Rate)
		e.AssetZone = f.Zone
		if e.AssetZone == "" {
			e.AssetZone = "Zone3_Enterprise"
		}
	}
	e.Severity = SeverityFor(string(level), string(e.PhysicalConsequence))
	e.CTEMScore = Score(e.ExploitabilityScore, string(e.PhysicalConsequence))
	e.ExposureKey = ExposureKey(src, e.Title, e.AssetID)
	e.SLADeadline = SLADeadline(string(e.Severity), now)
	return e, level
}

// flatNormaliser reads the flat per-topic JSON shape of one source.
type flatNormaliser struct{ src Source }

// NewWizNormaliser returns the normaliser of flat Wiz findings (topic
// ctem.raw.wiz).
func NewWizNormaliser() Normaliser { return flatNormaliser{SourceWiz} }

// NewSnykNormaliser returns the normaliser of flat Snyk findings.
func NewSnykNormaliser() Normaliser { return flatNormaliser{SourceSnyk} }

// NewGarakNormaliser returns the normaliser of flat garak findings.
func NewGarakNormaliser() Normaliser { return flatNormaliser{SourceGarak} }

// NewARTNormaliser returns the normaliser of Adversarial Robustness Toolbox
// results. ART has no report format of its own (attacks return arrays), so
// its results are the flat shape: title/attack_name, model_id/asset_id,
// attack_type, success_rate, tested_at, ...
func NewARTNormaliser() Normaliser { return flatNormaliser{SourceART} }

func (n flatNormaliser) Source() Source { return n.src }

func (n flatNormaliser) Normalise(raw []byte, env Env) (Exposure, error) {
	e, _, err := n.normalise(raw, env)
	return e, err
}

func (n flatNormaliser) normalise(raw []byte, env Env) (Exposure, Exploitability, error) {
	o, err := parseObject(n.src, raw)
	if err != nil {
		return Exposure{}, "", err
	}
	f, err := flatFinding(n.src, o)
	if err != nil {
		return Exposure{}, "", err
	}
	e, level := build(n.src, f, env)
	return e, level, nil
}

// flatFinding reads the keys of spec §3.5 in table order, so the first type
// error reported is the first in that order; missing required fields are
// reported after type errors (title before asset id).
func flatFinding(src Source, o *rawObject) (finding, error) {
	var f finding
	var assetKey string
	switch src {
	case SourceWiz:
		f.Title = o.str("title", "name")
		f.AssetID = o.str("resource_id", "asset_id")
		assetKey = "resource_id"
		f.Severity = o.str("severity")
		f.ResourceType = o.str("resource_type")
		f.TS = o.timestamp("detected_at")
		f.AtlasTechnique = o.str("atlas_technique")
		f.AttackTechnique = o.str("attack_technique")
		f.ThreatModelRef = o.str("threat_model_ref")
		f.Remediation = o.str("remediation")
		f.EvidenceURL = o.str("evidence_url", "url")
	case SourceSnyk:
		f.Title = o.str("title", "packageName")
		f.AssetID = o.str("project_id", "asset_id")
		assetKey = "project_id"
		f.Severity = o.str("severity")
		f.CVSS, _ = o.num("exploitability_score", "cvssExploitability")
		f.PackageName = o.str("packageName")
		f.AssetType = o.str("packageManager")
		f.TS = o.timestamp("disclosed_at", "publicationTime")
		f.AtlasTechnique = o.str("atlas_technique")
		f.AttackTechnique = o.str("attack_technique", "cve")
		f.Remediation = o.str("remediation")
		if f.Remediation == "" {
			f.Remediation = o.strOrList("fixedIn")
		}
		f.EvidenceURL = o.str("url")
		f.ThreatModelRef = o.str("threat_model_ref")
	case SourceGarak:
		f.Title = o.str("title", "probe_name")
		f.AssetID = o.str("model_name", "asset_id")
		assetKey = "model_name"
		f.Category = o.str("probe_type", "category")
		f.Rate, _ = o.num("success_rate", "pass_rate")
		f.Zone = o.str("deployment_zone")
		f.TS = o.timestamp("tested_at")
		f.Severity = o.str("severity")
		f.AttackTechnique = o.str("attack_technique")
		f.Remediation = o.str("remediation")
		f.EvidenceURL = o.str("evidence_url")
		f.ThreatModelRef = o.str("threat_model_ref")
	case SourceART:
		f.Title = o.str("title", "attack_name")
		f.AssetID = o.str("model_id", "asset_id")
		assetKey = "model_id"
		f.Category = o.str("attack_type")
		f.AttackTechnique = o.str("attack_technique")
		f.Rate, _ = o.num("success_rate")
		f.Zone = o.str("asset_zone")
		f.TS = o.timestamp("tested_at")
		f.Severity = o.str("severity")
		f.Remediation = o.str("remediation")
		f.EvidenceURL = o.str("evidence_url")
		f.ThreatModelRef = o.str("threat_model_ref")
	}
	f.Description = o.str("description")
	f.TenantID = o.str("tenant_id")
	if o.err != nil {
		return finding{}, o.err
	}
	if strings.TrimSpace(f.Title) == "" {
		return finding{}, &FieldError{Source: src, Field: "title", Reason: reasonMissing}
	}
	if strings.TrimSpace(f.AssetID) == "" {
		return finding{}, &FieldError{Source: src, Field: assetKey, Reason: reasonMissing}
	}
	return f, nil
}
