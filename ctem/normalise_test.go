package ctem

import (
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Golden examples 1–8 of spec §3.5 (with the DESIGN §3 technique
// corrections).
func TestGoldenExamples(t *testing.T) {
	cases := []struct {
		name        string
		src         Source
		raw         map[string]any
		key         string
		sev         Severity
		expl        float64
		consequence Consequence
		score       float64
		check       func(t *testing.T, e Exposure)
	}{
		{"1 wiz", SourceWiz, goldenWiz1, "8d53de1726fae8c3", SeverityMedium, 0.9, ConsequenceDataLoss, 2.7, func(t *testing.T, e Exposure) {
			assert.Equal(t, "Zone3_Enterprise", e.AssetZone)
			assert.Equal(t, "s3", e.AssetType)
			assert.Equal(t, "HIGH", e.OriginalSeverity)
			assert.Equal(t, "https://app.wiz.io/finding/123", e.EvidenceURL)
			assert.Equal(t, "Disable public access", e.RemediationGuidance)
		}},
		{"2 wiz edge", SourceWiz, goldenWiz2, "147975c281593595", SeverityHigh, 0.5, ConsequenceEquipment, 4.0, func(t *testing.T, e Exposure) {
			assert.Equal(t, "Zone1_EdgeInference", e.AssetZone)
			assert.Equal(t, "Edge", e.AssetType)
		}},
		{"3 snyk", SourceSnyk, goldenSnyk3, "e3529fe58931d30a", SeverityMedium, 0.8, ConsequenceDataLoss, 2.4, func(t *testing.T, e Exposure) {
			assert.Equal(t, "HIGH", e.OriginalSeverity)
			assert.Equal(t, "CVE-2026-9999", e.AttackTechnique)
			assert.Equal(t, "4.17.22", e.RemediationGuidance)
			assert.Equal(t, "npm", e.AssetType)
		}},
		{"4 snyk torch", SourceSnyk, goldenSnyk4, "cc7b835b08ae8a02", SeverityCritical, 0.39, ConsequenceSafetyLife, 3.9, func(t *testing.T, e Exposure) {
			assert.Equal(t, "CRITICAL", e.OriginalSeverity)
		}},
		{"5 garak", SourceGarak, goldenGarak5, "a1f34252a4288091", SeverityCritical, 0.75, ConsequenceSafetyLife, 7.5, func(t *testing.T, e Exposure) {
			assert.Equal(t, "AML.T0051", e.AtlasTechnique)
			assert.Equal(t, "llm_model", e.AssetType)
		}},
		{"6 garak encoding", SourceGarak, goldenGarak6, "76529084ebb71f0a", SeverityLow, 0.35, ConsequenceDataLoss, 1.05, func(t *testing.T, e Exposure) {
			assert.Equal(t, "AML.T0051", e.AtlasTechnique)
		}},
		{"7 art evasion", SourceART, goldenART7, "a3b077a2a32f83b4", SeverityHigh, 0.65, ConsequenceEquipment, 5.2, func(t *testing.T, e Exposure) {
			assert.Equal(t, "AML.T0015", e.AtlasTechnique)
			assert.Equal(t, "T1499", e.AttackTechnique)
			assert.Equal(t, "Zone2_Operations", e.AssetZone)
			assert.Equal(t, "ml_model", e.AssetType)
		}},
		{"8 art poisoning", SourceART, goldenART8, "8ea91c209e5bef6e", SeverityCritical, 0.9, ConsequenceSafetyLife, 9.0, func(t *testing.T, e Exposure) {
			assert.Equal(t, "AML.T0020", e.AtlasTechnique)
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := normalise(t, c.src, c.raw)
			assert.Equal(t, c.key, e.ExposureKey)
			assert.Equal(t, c.sev, e.Severity)
			assert.Equal(t, c.expl, e.ExploitabilityScore)
			assert.Equal(t, c.consequence, e.PhysicalConsequence)
			assert.Equal(t, c.score, e.CTEMScore)
			assert.Equal(t, c.src, e.SourceTool)
			assert.Equal(t, StatusOpen, e.Status)
			assert.Equal(t, SLADeadline(string(c.sev), t0), e.SLADeadline, "SLA base is the ingestion instant")
			c.check(t, e)
		})
	}
}

// Checklist 1: normaliser output is Open, unassigned, and has all 22 keys.
func TestNormaliserOutputShape(t *testing.T) {
	for _, raw := range []struct {
		src Source
		m   map[string]any
	}{{SourceWiz, goldenWiz1}, {SourceSnyk, goldenSnyk3}, {SourceGarak, goldenGarak5}, {SourceART, goldenART7}} {
		e := normalise(t, raw.src, raw.m)
		assert.Equal(t, StatusOpen, e.Status)
		assert.Empty(t, e.AssignedTo)
		var m map[string]any
		require.NoError(t, json.Unmarshal(mustJSON(t, e), &m))
		for _, k := range []string{"exposure_key", "ts", "source_tool", "title", "description", "severity", "original_severity",
			"asset_id", "asset_type", "asset_zone", "exploitability_score", "physical_consequence", "ctem_score",
			"atlas_technique", "attack_technique", "threat_model_ref", "status", "assigned_to", "sla_deadline",
			"remediation_guidance", "evidence_url", "tenant_id"} {
			assert.Contains(t, m, k, "%s: key %s", raw.src, k)
		}
		assert.Len(t, m, 22, "no store timestamps on normaliser output")
	}
}

// Checklist 2: JSON round trip of a fully populated exposure.
func TestExposureRoundTrip(t *testing.T) {
	e := Exposure{
		ExposureKey: "0123456789abcdef", TS: t0.Add(time.Nanosecond * 123), SourceTool: SourceSnyk, Title: "t", Description: "d",
		Severity: SeverityMedium, OriginalSeverity: "HIGH", AssetID: "proj", AssetType: "npm", AssetZone: "Zone3_Enterprise",
		ExploitabilityScore: 0.8, PhysicalConsequence: ConsequenceDataLoss, CTEMScore: 2.4, AtlasTechnique: "AML.T0051",
		AttackTechnique: "CVE-2026-1234", ThreatModelRef: "TM-01", Status: StatusInProgress, AssignedTo: "bob",
		SLADeadline: t0.Add(72 * time.Hour), RemediationGuidance: "upgrade", EvidenceURL: "https://x", TenantID: "t1",
		CreatedAt: t0, UpdatedAt: t0.Add(time.Hour),
	}
	var back Exposure
	require.NoError(t, json.Unmarshal(mustJSON(t, e), &back))
	assert.Equal(t, e, back)
	require.NoError(t, e.Validate())
}

func TestValidate(t *testing.T) {
	good := normalise(t, SourceWiz, goldenWiz1)
	require.NoError(t, good.Validate())
	cases := map[string]func(e *Exposure){
		"exposure_key":         func(e *Exposure) { e.ExposureKey = "ABCDEF0123456789" },
		"ts":                   func(e *Exposure) { e.TS = time.Time{} },
		"title":                func(e *Exposure) { e.Title = "  " },
		"severity":             func(e *Exposure) { e.Severity = "SEVERE" },
		"asset_id":             func(e *Exposure) { e.AssetID = "" },
		"exploitability_score": func(e *Exposure) { e.ExploitabilityScore = 1.5 },
		"physical_consequence": func(e *Exposure) { e.PhysicalConsequence = "fire" },
		"ctem_score":           func(e *Exposure) { e.CTEMScore = 11 },
		"status":               func(e *Exposure) { e.Status = "Done" },
		"tenant_id":            func(e *Exposure) { e.TenantID = "" },
	}
	for field, mutate := range cases {
		e := good
		mutate(&e)
		err := e.Validate()
		var fe *FieldError
		require.ErrorAs(t, err, &fe, field)
		assert.Equal(t, field, fe.Field)
		assert.ErrorIs(t, err, ErrInvalidFinding)
	}
	e := good
	e.Status = ""
	assert.NoError(t, e.Validate(), "empty status reads as Open")
}

// Checklist 20–27 (Wiz).
func TestWizNormaliser(t *testing.T) {
	assert.Equal(t, SourceWiz, NewWizNormaliser().Source())
	e := normalise(t, SourceWiz, goldenWiz1)
	assert.Equal(t, "S3 Bucket Public Access", e.Title)
	assert.Equal(t, "arn:aws:s3:::my-bucket", e.AssetID)
	assert.Equal(t, "8d53de1726fae8c3", e.ExposureKey)
	assert.Equal(t, e.ExposureKey, normalise(t, SourceWiz, goldenWiz1).ExposureKey)
	assert.Greater(t, e.CTEMScore, 0.0)
	assert.False(t, e.SLADeadline.IsZero())
	assert.Equal(t, "tenant-A", e.TenantID)
	assert.Equal(t, 0.9, normalise(t, SourceWiz, with(goldenWiz1, "severity", "CRITICAL")).ExploitabilityScore)
	edge := normalise(t, SourceWiz, with(goldenWiz1, "resource_type", "edge", "severity", "CRITICAL"))
	assert.Equal(t, "Zone1_EdgeInference", edge.AssetZone)
	assert.Equal(t, SeverityCritical, edge.Severity)
	low := normalise(t, SourceWiz, with(goldenWiz1, "severity", "LOW"))
	assert.Equal(t, 0.2, low.ExploitabilityScore)
	assert.Equal(t, "LOW", low.OriginalSeverity)
	assert.Equal(t, 0.2, normalise(t, SourceWiz, with(goldenWiz1, "severity", "INFORMATIONAL")).ExploitabilityScore)
	def := normalise(t, SourceWiz, with(goldenWiz1, "severity", nil))
	assert.Equal(t, "MEDIUM", def.OriginalSeverity)
	assert.Equal(t, 0.5, def.ExploitabilityScore)
	for rt, z := range map[string]string{"orbital": "Zone1_EdgeInference", "DEMO": "Zone4_External", "public": "Zone4_External", "vm": "Zone3_Enterprise"} {
		assert.Equal(t, z, normalise(t, SourceWiz, with(goldenWiz1, "resource_type", rt)).AssetZone, rt)
	}
	// Checklist 80: an empty title falls through to name.
	assert.Equal(t, "X", normalise(t, SourceWiz, with(goldenWiz1, "title", "", "name", "X")).Title)
	// Fallbacks of evidence_url and asset id.
	e = normalise(t, SourceWiz, with(goldenWiz1, "evidence_url", "https://primary", "resource_id", nil, "asset_id", "a-1"))
	assert.Equal(t, "https://primary", e.EvidenceURL)
	assert.Equal(t, "a-1", e.AssetID)
}

// Checklist 28–35 (Snyk) and 81.
func TestSnykNormaliser(t *testing.T) {
	assert.Equal(t, SourceSnyk, NewSnykNormaliser().Source())
	e := normalise(t, SourceSnyk, goldenSnyk3)
	assert.Equal(t, "Prototype Pollution in lodash", e.Title)
	assert.Equal(t, "proj-001", e.AssetID)
	assert.Equal(t, "Zone3_Enterprise", e.AssetZone)
	assert.Equal(t, 0.8, e.ExploitabilityScore)
	assert.Equal(t, ConsequenceDataLoss, e.PhysicalConsequence)
	assert.Equal(t, "e3529fe58931d30a", e.ExposureKey)
	assert.Equal(t, e.ExposureKey, normalise(t, SourceSnyk, goldenSnyk3).ExposureKey)
	assert.Equal(t, ConsequenceSafetyLife, normalise(t, SourceSnyk, with(goldenSnyk3, "packageName", "torch")).PhysicalConsequence)
	assert.Equal(t, ConsequenceSafetyLife, normalise(t, SourceSnyk, with(goldenSnyk3, "packageName", "tensorflow-gpu")).PhysicalConsequence)
	assert.Equal(t, ConsequenceDataLoss, normalise(t, SourceSnyk, with(goldenSnyk3, "packageName", "utf-8-validate")).PhysicalConsequence, "§8 tf bug")
	assert.Equal(t, "CVE-2026-9999", e.AttackTechnique)
	assert.Equal(t, "T1195", normalise(t, SourceSnyk, with(goldenSnyk3, "attack_technique", "T1195")).AttackTechnique)
	assert.Contains(t, e.RemediationGuidance, "4.17.22")
	assert.Equal(t, "4.17.21, 5.0.0", normalise(t, SourceSnyk, with(goldenSnyk3, "fixedIn", []string{"4.17.21", "5.0.0"})).RemediationGuidance)
	assert.Equal(t, "pin it", normalise(t, SourceSnyk, with(goldenSnyk3, "remediation", "pin it")).RemediationGuidance)
	for cvss, sev := range map[float64]Severity{8.0: SeverityMedium, 5.0: SeverityLow, 2.0: SeverityLow, 7.0: SeverityMedium} {
		got := normalise(t, SourceSnyk, with(goldenSnyk3, "exploitability_score", cvss))
		assert.Equal(t, sev, got.Severity, cvss)
	}
	assert.Equal(t, 0.0, normalise(t, SourceSnyk, with(goldenSnyk3, "exploitability_score", nil)).ExploitabilityScore, "default 0")
	assert.Equal(t, 1.0, normalise(t, SourceSnyk, with(goldenSnyk3, "exploitability_score", 42)).ExploitabilityScore, "clamped")
	assert.Equal(t, 0.57, normalise(t, SourceSnyk, with(goldenSnyk3, "exploitability_score", 5.7)).ExploitabilityScore)
	pub := normalise(t, SourceSnyk, with(goldenSnyk3, "publicationTime", "2020-08-16T13:09:06Z"))
	assert.Equal(t, time.Date(2020, 8, 16, 13, 9, 6, 0, time.UTC), pub.TS)
}

// Checklist 36–43 (garak).
func TestGarakNormaliser(t *testing.T) {
	assert.Equal(t, SourceGarak, NewGarakNormaliser().Source())
	e := normalise(t, SourceGarak, goldenGarak5)
	assert.Equal(t, "llm_model", e.AssetType)
	assert.Equal(t, "llm-reasoning-v1", e.AssetID)
	ex := normalise(t, SourceGarak, with(goldenGarak5, "probe_type", "extraction"))
	assert.Equal(t, ConsequenceDataLoss, ex.PhysicalConsequence)
	assert.Equal(t, "AML.T0024.002", ex.AtlasTechnique, "AML.T0044.001 corrected")
	assert.Equal(t, ConsequenceSafetyLife, normalise(t, SourceGarak, with(goldenGarak5, "probe_type", "escalation")).PhysicalConsequence)
	assert.Equal(t, ConsequenceSafetyLife, normalise(t, SourceGarak, with(goldenGarak5, "probe_type", "tool_use")).PhysicalConsequence)
	assert.Equal(t, SeverityHigh, normalise(t, SourceGarak, with(goldenGarak5, "success_rate", 0.1)).Severity)
	assert.Equal(t, e.ExposureKey, normalise(t, SourceGarak, goldenGarak5).ExposureKey)
	assert.Equal(t, "Zone1_EdgeInference", normalise(t, SourceGarak, with(goldenGarak5, "deployment_zone", "Zone1_EdgeInference")).AssetZone)
	jb := normalise(t, SourceGarak, with(goldenGarak5, "probe_type", "Jailbreak", "success_rate", 0.6))
	assert.Equal(t, "AML.T0054", jb.AtlasTechnique)
	assert.Equal(t, SeverityCritical, jb.Severity)
	assert.Equal(t, "", normalise(t, SourceGarak, goldenGarak5).OriginalSeverity, "no default severity for garak")
	assert.Equal(t, "AML.T0051", normalise(t, SourceGarak, with(goldenGarak5, "probe_type", "toxicity")).AtlasTechnique)
}

// Checklist 44–50 (ART) and 83, 84.
func TestARTNormaliser(t *testing.T) {
	assert.Equal(t, SourceART, NewARTNormaliser().Source())
	e := normalise(t, SourceART, goldenART7)
	assert.Equal(t, SourceART, e.SourceTool)
	cases := map[string][2]string{
		"poisoning": {"safety_life", "AML.T0020"}, "extraction": {"data_loss", "AML.T0024.002"}, "inference": {"data_loss", "AML.T0024.000"},
	}
	for at, want := range cases {
		got := normalise(t, SourceART, with(goldenART7, "attack_type", at))
		assert.Equal(t, want[0], string(got.PhysicalConsequence), at)
		assert.Equal(t, want[1], got.AtlasTechnique, at)
	}
	for rate, sev := range map[float64]Severity{0.85: SeverityCritical, 0.65: SeverityHigh, 0.1: SeverityMedium} {
		got := normalise(t, SourceART, with(goldenART7, "success_rate", rate))
		assert.Equal(t, rate, got.ExploitabilityScore)
		assert.Equal(t, sev, got.Severity, rate)
	}
	p := normalise(t, SourceART, goldenART8)
	assert.Equal(t, SeverityCritical, p.Severity)
	assert.Equal(t, 9.0, p.CTEMScore)
	assert.Equal(t, e.ExposureKey, normalise(t, SourceART, goldenART7).ExposureKey)
	bd := normalise(t, SourceART, with(goldenART7, "attack_type", "backdoor", "success_rate", 0.5))
	assert.Equal(t, ConsequenceEquipment, bd.PhysicalConsequence)
	assert.Equal(t, SeverityHigh, bd.Severity)
	assert.Equal(t, 4.0, bd.CTEMScore)
	assert.Equal(t, "", bd.AtlasTechnique)
	hi := normalise(t, SourceART, with(goldenART7, "success_rate", 1.7))
	assert.Equal(t, 1.0, hi.ExploitabilityScore)
	assert.Equal(t, SeverityCritical, hi.Severity, "level high from the raw rate")
	lo := normalise(t, SourceART, with(goldenART7, "success_rate", -0.2))
	assert.Equal(t, 0.0, lo.ExploitabilityScore)
	assert.Equal(t, SeverityMedium, lo.Severity, "level low × equipment")
	assert.Equal(t, 0.0, normalise(t, SourceART, with(goldenART7, "success_rate", nil, "pass_rate", 0.9)).ExploitabilityScore,
		"ART has no pass_rate fallback")
}

// Checklist 76, 77, 78 and the §3.2 input rules.
func TestFlatInputRules(t *testing.T) {
	fieldErr := func(t *testing.T, src Source, raw []byte) *FieldError {
		t.Helper()
		_, err := normaliserFor(src).Normalise(raw, Env{Now: t0})
		var fe *FieldError
		require.ErrorAs(t, err, &fe)
		assert.ErrorIs(t, err, ErrInvalidFinding)
		assert.Equal(t, src, fe.Source)
		return fe
	}
	fe := fieldErr(t, SourceWiz, mustJSON(t, with(goldenWiz1, "title", 42)))
	assert.Equal(t, FieldError{Source: SourceWiz, Field: "title", Reason: "wrong type: want string"}, *fe)
	assert.Equal(t, `ctem: invalid finding: wiz: field "title": wrong type: want string`, fe.Error())
	fe = fieldErr(t, SourceART, mustJSON(t, with(goldenART7, "success_rate", "0.5")))
	assert.Equal(t, "success_rate", fe.Field)
	assert.Equal(t, reasonWantNumber, fe.Reason)
	fe = fieldErr(t, SourceWiz, mustJSON(t, with(goldenWiz1, "detected_at", "yesterday")))
	assert.Equal(t, "detected_at", fe.Field)
	assert.Equal(t, reasonBadTimestamp, fe.Reason)
	e := normalise(t, SourceWiz, with(goldenWiz1, "detected_at", "2026-01-15 10:00:00"))
	assert.Equal(t, time.Date(2026, 1, 15, 10, 0, 0, 0, time.UTC), e.TS)
	for in, want := range map[string]time.Time{
		"2026-01-15T10:00:00+02:00":    time.Date(2026, 1, 15, 8, 0, 0, 0, time.UTC),
		"2026-01-15T10:00:00.5Z":       time.Date(2026, 1, 15, 10, 0, 0, 5e8, time.UTC),
		"2026-01-15T10:00:00":          time.Date(2026, 1, 15, 10, 0, 0, 0, time.UTC),
		"2026-01-15 10:00:00+01:00":    time.Date(2026, 1, 15, 9, 0, 0, 0, time.UTC),
		"2026-01-15":                   time.Date(2026, 1, 15, 0, 0, 0, 0, time.UTC),
		"2026-01-15T10:00:00.123456":   time.Date(2026, 1, 15, 10, 0, 0, 123456000, time.UTC),
		"  2026-01-15T10:00:00Z  ":     time.Date(2026, 1, 15, 10, 0, 0, 0, time.UTC),
		"2026-01-15T10:00:00.000+0000": {},
	} {
		got, ok := parseTimestamp(in)
		if want.IsZero() {
			assert.False(t, ok, in)
			continue
		}
		require.True(t, ok, in)
		assert.Equal(t, want, got, in)
	}
	assert.Equal(t, t0, normalise(t, SourceWiz, goldenWiz1).TS, "absent ts is Env.Now")

	// Missing required fields, title first, naming the first key of the chain.
	fe = fieldErr(t, SourceWiz, []byte(`{}`))
	assert.Equal(t, "title", fe.Field)
	assert.Equal(t, reasonMissing, fe.Reason)
	fe = fieldErr(t, SourceSnyk, []byte(`{"title":"x"}`))
	assert.Equal(t, "project_id", fe.Field)
	fe = fieldErr(t, SourceGarak, []byte(`{"title":"x","model_name":""}`))
	assert.Equal(t, "model_name", fe.Field)
	fe = fieldErr(t, SourceART, []byte(`{"attack_name":"x","asset_id":null}`))
	assert.Equal(t, "model_id", fe.Field)
	// Type errors before missing ones, in table order.
	fe = fieldErr(t, SourceWiz, []byte(`{"severity":1,"remediation":2}`))
	assert.Equal(t, "severity", fe.Field)
	fe = fieldErr(t, SourceSnyk, []byte(`{"title":"x","project_id":"p","fixedIn":[1]}`))
	assert.Equal(t, "fixedIn", fe.Field)
	// A present wrong type does not fall through to the next key.
	fe = fieldErr(t, SourceWiz, []byte(`{"title":["x"],"name":"y","resource_id":"r"}`))
	assert.Equal(t, "title", fe.Field)
	// Whole-input problems.
	assert.Equal(t, reasonInvalidJSON, fieldErr(t, SourceWiz, []byte(`{"title":`)).Reason)
	assert.Equal(t, reasonNotObject, fieldErr(t, SourceWiz, []byte(`[{"title":"x"}]`)).Reason)
	assert.Equal(t, reasonNotObject, fieldErr(t, SourceWiz, []byte(`"x"`)).Reason)
	// Unknown keys are ignored; null falls through.
	e = normalise(t, SourceWiz, with(goldenWiz1, "unknown", map[string]any{"a": 1}, "url", nil, "evidence_url", nil))
	assert.Equal(t, "", e.EvidenceURL)
}

func TestNormaliserNeverPanicsOnOddNumbers(t *testing.T) {
	_, err := NewARTNormaliser().Normalise([]byte(`{"title":"x","model_id":"m","success_rate":1e400}`), Env{Now: t0})
	var fe *FieldError
	require.True(t, errors.As(err, &fe))
	assert.Equal(t, "success_rate", fe.Field)
}
