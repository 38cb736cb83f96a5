package ctem

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/socwarden/warden/internal/mitre"
	"github.com/socwarden/warden/internal/zone"
)

// Checklist 3, 4, 5 and the golden key table of §3.4.
func TestExposureKey(t *testing.T) {
	assert.Equal(t, "a420ecfc90e16899", ExposureKey(SourceWiz, "finding-1", "asset-1"))
	assert.Equal(t, ExposureKey(SourceWiz, "finding-1", "asset-1"), ExposureKey(SourceWiz, "finding-1", "asset-1"))
	assert.NotEqual(t, ExposureKey(SourceWiz, "finding-1", "asset-1"), ExposureKey(SourceWiz, "finding-2", "asset-1"))
	golden := []struct {
		src          Source
		title, asset string
		key          string
	}{
		{SourceWiz, "S3 Bucket Public Access", "arn:aws:s3:::my-bucket", "8d53de1726fae8c3"},
		{SourceWiz, "finding-1", "asset-1", "a420ecfc90e16899"},
		{SourceSnyk, "Prototype Pollution in lodash", "proj-001", "e3529fe58931d30a"},
		{SourceGarak, "Prompt Injection via DAN", "llm-reasoning-v1", "a1f34252a4288091"},
		{SourceART, "Adversarial Evasion Attack", "model-classifier-v2", "a3b077a2a32f83b4"},
	}
	for _, g := range golden {
		assert.Equal(t, g.key, ExposureKey(g.src, g.title, g.asset), g.title)
	}
	for _, in := range []string{"", "x", strings.Repeat("é", 300), "\x00\xff"} {
		k := ExposureKey(Source(in), in, in)
		require.Len(t, k, 16)
		assert.True(t, validKey(k), k)
	}
}

// Checklist 6, 7, 8, 9.
func TestSeverityMatrix(t *testing.T) {
	want := map[string]Severity{
		"high/safety_life": SeverityCritical, "high/equipment": SeverityCritical, "high/downtime": SeverityHigh, "high/data_loss": SeverityMedium,
		"medium/safety_life": SeverityCritical, "medium/equipment": SeverityHigh, "medium/downtime": SeverityMedium, "medium/data_loss": SeverityLow,
		"low/safety_life": SeverityHigh, "low/equipment": SeverityMedium, "low/downtime": SeverityLow, "low/data_loss": SeverityLow,
	}
	cells := 0
	for _, row := range severityMatrix {
		cells += len(row)
	}
	assert.Equal(t, 12, cells, "matrix has exactly 12 cells")
	for k, sev := range want {
		e, c, _ := strings.Cut(k, "/")
		assert.Equal(t, sev, SeverityFor(e, c), k)
	}
	assert.Equal(t, SeverityMedium, SeverityFor("unknown", "unknown"))
	assert.Equal(t, SeverityMedium, SeverityFor("high", "unknown"))
	assert.Equal(t, SeverityCritical, SeverityFor("HIGH", "SAFETY_LIFE"))
}

// Checklist 10, 11, 12, 19.
func TestScoreAndWeights(t *testing.T) {
	assert.Equal(t, 10.0, Score(1.0, "safety_life"))
	assert.Equal(t, 0.0, Score(0.0, "data_loss"))
	assert.Equal(t, 8.0, Score(1.0, "equipment"))
	assert.Equal(t, 5.0, Score(1.0, "downtime"))
	assert.Equal(t, 3.0, Score(1.0, "data_loss"))
	assert.Equal(t, 4.0, Score(0.5, "equipment"))
	assert.Equal(t, 3.0, Score(1.0, "unknown"))
	assert.Equal(t, 1.0, ConsequenceWeight("safety_life"))
	assert.Equal(t, 0.3, ConsequenceWeight("data_loss"))
	assert.Len(t, zone.Consequences(), 4, "exactly 4 weighted consequences")
	assert.Equal(t, 0.8, ConsequenceWeight("EQUIPMENT"))
}

// Checklist 13: the reference's decimal rounding, not math.Round.
func TestRound2(t *testing.T) {
	assert.Equal(t, 0.12, round2(0.125))
	assert.Equal(t, 2.67, round2(2.675))
	assert.Equal(t, 1.68, round2(1.675))
	assert.Equal(t, 1.05, Score(0.35, "data_loss"), "golden example 6")
}

// Checklist 14, 15.
func TestSLA(t *testing.T) {
	assert.Equal(t, 24, SLAHours("CRITICAL"))
	assert.Equal(t, 72, SLAHours("HIGH"))
	assert.Equal(t, 336, SLAHours("MEDIUM"))
	assert.Equal(t, 720, SLAHours("LOW"))
	assert.Equal(t, 720, SLAHours("UNKNOWN"))
	assert.Equal(t, 24, SLAHours("critical"))
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	assert.Equal(t, time.Date(2026, 1, 2, 0, 0, 0, 0, time.UTC), SLADeadline("CRITICAL", base))
	assert.Equal(t, time.Date(2026, 1, 4, 0, 0, 0, 0, time.UTC), SLADeadline("HIGH", base))
	assert.Equal(t, time.Date(2026, 1, 15, 0, 0, 0, 0, time.UTC), SLADeadline("MEDIUM", base))
	assert.Equal(t, time.Date(2026, 1, 31, 0, 0, 0, 0, time.UTC), SLADeadline("UNKNOWN", base))
	b, err := json.Marshal(SLADeadline("CRITICAL", base))
	require.NoError(t, err)
	var back time.Time
	require.NoError(t, json.Unmarshal(b, &back))
	assert.True(t, back.Equal(SLADeadline("CRITICAL", base)))
}

// Checklist 16, 17, 18: the zone table is the shared one of internal/zone.
func TestZoneTable(t *testing.T) {
	entries := zone.Entries()
	assert.GreaterOrEqual(t, len(entries), 30)
	seen := map[Consequence]bool{}
	for _, e := range entries {
		assert.True(t, e.Consequence.Valid(), e.Zone)
		seen[e.Consequence] = true
		assert.Equal(t, e.Consequence, ZoneConsequence(string(e.Zone)))
	}
	assert.Len(t, seen, 4)
	zones := []string{"Zone0_PhysicalProcess", "Zone0_Safety", "Zone1_EdgeInference", "Zone1_PLCNetwork", "Zone2_Operations",
		"Zone2_SCADA", "Zone3_Enterprise", "Zone3_Manufacturing", "Zone4_External", "Cloud_Production", "Cloud_Development",
		"OT_SafetyInstrumentedSystem", "OT_ControlNetwork"}
	want := []Consequence{ConsequenceSafetyLife, ConsequenceSafetyLife, ConsequenceEquipment, ConsequenceEquipment,
		ConsequenceDowntime, ConsequenceDowntime, ConsequenceDataLoss, ConsequenceDowntime, ConsequenceDataLoss,
		ConsequenceDowntime, ConsequenceDataLoss, ConsequenceSafetyLife, ConsequenceEquipment}
	for i, z := range zones {
		assert.Equal(t, want[i], ZoneConsequence(z), z)
	}
	assert.Equal(t, ConsequenceDataLoss, ZoneConsequence("Zone99_Unknown"))
	assert.Equal(t, ConsequenceDataLoss, ZoneConsequence(""))
	assert.Equal(t, ConsequenceDataLoss, ZoneConsequence("zone0_physicalprocess"), "exact, case-sensitive")
}

// Checklist 34, 43, 50 (levels) and 84 (levels of out-of-range rates).
func TestExploitabilityLevels(t *testing.T) {
	cvss := map[float64]Exploitability{8.0: ExploitabilityHigh, 5.0: ExploitabilityMedium, 2.0: ExploitabilityLow,
		7.0: ExploitabilityHigh, 3.0: ExploitabilityMedium}
	for in, want := range cvss {
		assert.Equal(t, want, ExploitabilityFromCVSS(in), in)
	}
	rates := map[float64]Exploitability{0.8: ExploitabilityHigh, 0.5: ExploitabilityMedium, 0.1: ExploitabilityLow,
		0.7: ExploitabilityHigh, 0.3: ExploitabilityMedium, 0.2: ExploitabilityLow, 1.7: ExploitabilityHigh, -0.2: ExploitabilityLow}
	for in, want := range rates {
		assert.Equal(t, want, ExploitabilityFromRate(in), in)
	}
}

// Checklist 35, 82 and the tf-token fix of §8.
func TestIsMLPackage(t *testing.T) {
	for _, n := range []string{"torch", "tensorflow", "tensorflow-gpu", "scikit-learn", "pytorch-lightning", "tf-keras",
		"@tensorflow/tfjs", "tf", "my_tf.utils", "ONNXRuntime", "huggingface-hub", "xgboost", "lightgbm", "transformers", "sklearn"} {
		assert.True(t, IsMLPackage(n), n)
	}
	for _, n := range []string{"lodash", "utf-8-validate", "rtf-parser", "gltf-loader", "tfjs-node-less", "express", ""} {
		assert.False(t, IsMLPackage(n), n)
	}
	assert.Len(t, mlPackageSubstrings, 12, "12 substrings + the tf token = the 13-entry list")
}

// Checklist 93 and the other SLA helpers of §3.8.
func TestSLAHelpers(t *testing.T) {
	now := t0
	assert.Equal(t, SLAAtRisk, SLAStateAt(now.Add(23*time.Hour), now))
	assert.Equal(t, SLAOnTrack, SLAStateAt(now.Add(25*time.Hour), now))
	assert.Equal(t, SLABreached, SLAStateAt(now.Add(-time.Second), now))
	assert.Equal(t, SLAOnTrack, SLAStateAt(time.Time{}, now))
	assert.Equal(t, EscalationCISO, EscalationFor(SeverityCritical, 25))
	assert.Equal(t, EscalationDirector, EscalationFor(SeverityCritical, 2))
	assert.Equal(t, EscalationDirector, EscalationFor(SeverityHigh, 49))
	assert.Equal(t, EscalationManager, EscalationFor(SeverityHigh, 1))
	assert.Equal(t, EscalationTeamLead, EscalationFor(SeverityLow, 500))
	assert.True(t, AtRisk(SeverityHigh, now.Add(2*time.Hour), now))
	assert.False(t, AtRisk(SeverityMedium, now.Add(2*time.Hour), now))
	assert.False(t, AtRisk(SeverityCritical, now.Add(-time.Hour), now), "already breached is not early warning")
	deployed := Remediation{Status: RemediationFixDeployed, FixDeployedDate: now.Add(-25 * time.Hour)}
	assert.True(t, NeedsVerification(deployed, now))
	deployed.FixDeployedDate = now.Add(-23 * time.Hour)
	assert.False(t, NeedsVerification(deployed, now))
	deployed.FixDeployedDate, deployed.VerifiedDate = now.Add(-48*time.Hour), now
	assert.False(t, NeedsVerification(deployed, now))
}

func TestParsers(t *testing.T) {
	c, ok := ParseConsequence("SAFETY_LIFE")
	assert.True(t, ok)
	assert.Equal(t, ConsequenceSafetyLife, c)
	_, ok = ParseConsequence("bogus")
	assert.False(t, ok)
	s, ok := ParseSeverity(" critical ")
	assert.True(t, ok)
	assert.Equal(t, SeverityCritical, s)
	_, ok = ParseSeverity("INFORMATIONAL")
	assert.False(t, ok)
	st, ok := ParseStatus("inprogress")
	assert.True(t, ok)
	assert.Equal(t, StatusInProgress, st)
	_, ok = ParseStatus("open-ish")
	assert.False(t, ok)
	rs, ok := ParseRemediationStatus("VERIFIED")
	assert.True(t, ok)
	assert.Equal(t, RemediationVerified, rs)
	ex, ok := ParseExploitability("High")
	assert.True(t, ok)
	assert.Equal(t, ExploitabilityHigh, ex)
	src, ok := ParseSource("SNYK")
	assert.True(t, ok)
	assert.Equal(t, SourceSnyk, src)
	_, ok = ParseSource("burp")
	assert.False(t, ok)
}

// Every technique id the normalisers can emit exists in the pinned ATLAS
// table, and the reference ids that never existed are corrected (DESIGN §3).
func TestTechniqueIDsArePinned(t *testing.T) {
	ids := map[string]string{}
	for _, p := range []string{"escalation", "tool_use", "prompt_injection", "jailbreak", "extraction", "exfiltration", "encoding", "other"} {
		ids["garak/"+p] = garakRow(p).atlas
	}
	for _, a := range []string{"poisoning", "evasion", "extraction", "inference"} {
		ids["art/"+a] = artRow(a).atlas
	}
	for where, id := range ids {
		assert.True(t, mitre.Active(id), "%s → %s is not an active ATLAS 5.6.0 technique", where, id)
	}
	assert.Equal(t, "AML.T0054", ids["garak/jailbreak"], "garak jailbreak is LLM Jailbreak")
	assert.Equal(t, "AML.T0024.002", ids["garak/extraction"])
	assert.Equal(t, "AML.T0024.002", ids["garak/exfiltration"])
	assert.Equal(t, "AML.T0024.000", ids["art/inference"])
	assert.Equal(t, "AML.T0024.002", ids["art/extraction"])
	assert.Equal(t, "", artRow("backdoor").atlas, "unknown ART attacks carry no technique")
	assert.False(t, mitre.Known("AML.T0044.001"), "the reference id never existed")

	corr := TechniqueCorrections()
	froms := map[string]bool{}
	for _, c := range corr {
		froms[c.Scope+"|"+c.From] = true
		if c.To != "" {
			assert.True(t, mitre.Active(c.To), c.To)
		}
		assert.NotEmpty(t, c.Reason)
	}
	assert.True(t, froms["|AML.T0044.001"])
	assert.True(t, froms[mitre.ScopeGarakJailbreak+"|AML.T0051"])
	assert.True(t, froms[mitre.ScopeARTInference+"|AML.T0044.001"])
	assert.True(t, froms[scopeARTExtraction+"|AML.T0044"])
}

func TestGarakProbeType(t *testing.T) {
	cases := map[string]string{
		"promptinject.HijackHateHumans": "prompt_injection", "dan.DanInTheWild": "jailbreak",
		"encoding.InjectBase64": "encoding", "leakreplay.LiteratureCloze": "extraction",
		"xss.MarkdownImageExfil": "exfiltration", "exploitation.JinjaTemplatePythonInjection": "tool_use",
		"lmrc.QuackMedicine": "", "test.Test": "", "": "", "DAN.Dan_11_0": "jailbreak",
	}
	for probe, want := range cases {
		assert.Equal(t, want, GarakProbeType(probe), probe)
	}
}
