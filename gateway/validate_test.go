package gateway_test

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/socwarden/warden/gateway"
	"github.com/socwarden/warden/gateway/gatewaytest"
	"github.com/socwarden/warden/internal/mitre"
)

func set(ids ...string) *gateway.TechniqueSet { return gateway.NewTechniqueSet(ids, "", "") }

// Checklist 18: the configured catalog is used; with none, validation is
// skipped.
func TestGatewayUsesCatalog(t *testing.T) {
	f := newFixture(t, []gatewaytest.Step{sonnetStep("T1059.001 and T1078 and T1003")},
		gateway.WithTechniqueCatalog(set("T1059.001", "T1078")))
	resp := complete(t, f.gw, req("x"))
	assert.Equal(t, []string{"T1003"}, resp.QuarantinedIDs)

	f = newFixture(t, []gatewaytest.Step{sonnetStep("Random text T9999")}, gateway.WithTechniqueCatalog(nil))
	resp = complete(t, f.gw, req("x"))
	assert.True(t, resp.Valid)
	assert.Empty(t, resp.QuarantinedIDs)
}

// Checklist 19, 20.
func TestStrippingInPipeline(t *testing.T) {
	reply := `{"techniques":["T1059.001","T9999"],"classification":"T9999 lateral movement","actions":["Block T9999 activity"]}`
	f := newFixture(t, []gatewaytest.Step{sonnetStep(reply), sonnetStep("T1059.001 only")},
		gateway.WithTechniqueCatalog(set("T1059.001")))
	resp := complete(t, f.gw, req("x"))
	assert.Contains(t, resp.QuarantinedIDs, "T9999")
	assert.Contains(t, resp.RawOutput, "T9999")
	assert.NotContains(t, resp.Content, "T9999")
	assert.Contains(t, resp.Content, "T1059.001")
	assert.Equal(t, reply, resp.RawOutput)
	resp = complete(t, f.gw, req("x"))
	assert.Equal(t, "T1059.001 only", resp.Content)
	assert.Empty(t, resp.QuarantinedIDs)
	assert.Equal(t, "T1059.001 only", resp.RawOutput)
}

// Checklist 21, 22.
func TestStripTechniqueIDs(t *testing.T) {
	assert.Equal(t, "Detected technique  in the alert", gateway.StripTechniqueIDs("Detected technique T1566 in the alert", []string{"T1566"}))
	assert.Equal(t, "prefixT1566suffix", gateway.StripTechniqueIDs("prefixT1566suffix", []string{"T1566"}))
	assert.Equal(t, "T1566 here", gateway.StripTechniqueIDs("T1566 here", nil))
	assert.Equal(t, " and T9999.001", gateway.StripTechniqueIDs("T9999 and T9999.001", []string{"T9999"}))
	res := gateway.ValidateOutput("T9999 and T9999.001", set("T9999.001"), nil)
	assert.Equal(t, []string{"T9999"}, res.Quarantined)
}

// Checklist 23–27, 32, 35, 36.
func TestValidateTechniques(t *testing.T) {
	r := gateway.ValidateOutput("The attacker used T1059.001 for execution.", set("T1059.001", "T1078"), nil)
	assert.True(t, r.Valid)
	assert.Equal(t, []string{}, r.Errors)
	assert.Equal(t, []string{}, r.Quarantined)
	assert.Equal(t, []string{"T1059.001"}, r.Identified)

	r = gateway.ValidateOutput("Detected T9999.999 activity.", set("T1059.001"), nil) // 24
	assert.False(t, r.Valid)
	assert.Equal(t, []string{"T9999.999"}, r.Quarantined)
	assert.Contains(t, r.Errors[0], "Unknown technique ID")

	r = gateway.ValidateOutput("Used T1059.001 and T9999 for attack.", set("T1059.001"), nil) // 25
	assert.Equal(t, []string{"T9999"}, r.Quarantined)

	assert.True(t, gateway.ValidateOutput("ML model attack using AML.T0043.", set("AML.T0043"), nil).Valid) // 26

	for _, cat := range []gateway.TechniqueCatalog{nil, set()} { // 27
		r = gateway.ValidateOutput("Random text T9999", cat, nil)
		assert.True(t, r.Valid)
		assert.Empty(t, r.Quarantined)
		assert.Equal(t, []string{"T9999"}, r.Identified)
	}
	assert.True(t, gateway.ValidateOutput("anything { at all", nil, nil).Valid) // 32

	one := set("T1059.001") // 35
	assert.Equal(t, []string{"T9999"}, gateway.ValidateOutput("Detected T9999 activity via T1059.001.", one, nil).Quarantined)
	assert.Equal(t, []string{"T1050"}, gateway.ValidateOutput("Used deprecated T1050 technique.", one, nil).Quarantined)
	// With a one-id catalog AML.T0099 is "unknown"; it is real in ATLAS
	// 5.6.0 (see TestMITRECatalog), which is why catalogs are injectable.
	assert.Equal(t, []string{"AML.T0099"}, gateway.ValidateOutput("Attack used AML.T0099 and AML.T0043.", set("AML.T0043"), nil).Quarantined)

	assert.Equal(t, []string{"AML.T0051.999"}, gateway.ValidateOutput("AML.T0051.999", set("AML.T0051"), nil).Quarantined) // 36

	r = gateway.ValidateOutput("T1078 T1003 T1078 AML.T0051 T1003.001", set(), nil)
	assert.Equal(t, []string{"AML.T0051", "T1003", "T1003.001", "T1078"}, r.Identified, "distinct, sorted")
}

// Checklist 28–33.
func TestValidateSchema(t *testing.T) {
	schema := json.RawMessage(`{"type":"object","required":["verdict","confidence"],"properties":{"verdict":{"type":"string"},"confidence":{"type":"number"}}}`)
	r := gateway.ValidateOutput(`{"verdict":"malicious","confidence":0.95}`, nil, schema) // 28
	assert.True(t, r.Valid)
	assert.Empty(t, r.Errors)

	r = gateway.ValidateOutput(`{"verdict":"clean"}`, nil, schema) // 29
	assert.False(t, r.Valid)
	assert.Equal(t, []string{"Missing required field: confidence"}, r.Errors)

	r = gateway.ValidateOutput(`{"confidence":"not a number"}`, nil, json.RawMessage(`{"type":"object","properties":{"confidence":{"type":"number"}}}`)) // 30
	assert.Equal(t, []string{"Field 'confidence' expected number, got string"}, r.Errors)

	r = gateway.ValidateOutput(`[1,2,3]`, nil, json.RawMessage(`{"type":"object"}`)) // 31
	assert.Equal(t, []string{"Expected object, got array"}, r.Errors)
	r = gateway.ValidateOutput(`{"key":"value"}`, nil, json.RawMessage(`{"type":"array"}`))
	assert.Equal(t, []string{"Expected array, got object"}, r.Errors)

	r = gateway.ValidateOutput(`not json {`, nil, json.RawMessage(`{"type":"object"}`)) // 32
	require.Len(t, r.Errors, 1)
	assert.Contains(t, r.Errors[0], "not valid JSON")

	tech := json.RawMessage(`{"type":"object","required":["technique"],"properties":{"technique":{"type":"string"}}}`) // 33
	assert.True(t, gateway.ValidateOutput(`{"technique":"T1059.001"}`, set("T1059.001"), tech).Valid)
	r = gateway.ValidateOutput(`{"result":"T9999 detected"}`, set("T1059.001"), json.RawMessage(`{"type":"object","required":["result"]}`))
	assert.False(t, r.Valid)
	assert.Equal(t, []string{"T9999"}, r.Quarantined)
	assert.Equal(t, []string{"Unknown technique ID: T9999"}, r.Errors, "schema fine, technique error only")

	// Warden: booleans are not numbers; kinds; trailing data; sorted keys.
	r = gateway.ValidateOutput(`{"b":true,"a":1}`, nil, json.RawMessage(`{"type":"object","properties":{"b":{"type":"number"},"a":{"type":"boolean"}}}`))
	assert.Equal(t, []string{"Field 'a' expected boolean, got number", "Field 'b' expected number, got boolean"}, r.Errors)
	r = gateway.ValidateOutput(`{} {}`, nil, json.RawMessage(`{"type":"object"}`))
	assert.Contains(t, r.Errors[0], "not valid JSON")
	r = gateway.ValidateOutput(`null`, nil, json.RawMessage(`{"type":"object"}`))
	assert.Equal(t, []string{"Expected object, got null"}, r.Errors)
	r = gateway.ValidateOutput(`"T9999"`, set("T1"), json.RawMessage(`{"type":"object"}`))
	assert.Equal(t, []string{"Unknown technique ID: T9999", "Expected object, got string"}, r.Errors, "technique errors first")
}

// Checklist 34.
func TestTaxonomyVersion(t *testing.T) {
	cat := gateway.NewTechniqueSet([]string{"T1059.001", "T1078", "AML.T0043"}, "16.1", "4.5.2")
	assert.Equal(t, "attack-16.1+atlas-4.5.2", gateway.TaxonomyVersion(cat))
	assert.True(t, gateway.ValidateOutput("The attacker used T1059.001 for execution.", cat, nil).Valid)
	assert.Equal(t, "atlas-5", gateway.TaxonomyVersion(gateway.NewTechniqueSet(nil, "", "5")))
	assert.Equal(t, "", gateway.TaxonomyVersion(set()))
	assert.Equal(t, "", gateway.TaxonomyVersion(nil))
}

// The default catalog is the pinned MITRE tables: active ids pass, unknown,
// deprecated and revoked ones are quarantined; the reference's ids that
// never existed in ATLAS 5.6.0 are flagged (issue 5).
func TestMITRECatalog(t *testing.T) {
	cat := gateway.MITRECatalog()
	assert.Equal(t, "attack-18.1+atlas-5.6.0", gateway.TaxonomyVersion(cat))
	assert.Equal(t, len(mitre.ActiveIDs()), cat.Len())
	text := "Saw T1059.001, T1566, AML.T0051.000 and AML.T0099; also T1050 (revoked), T1026 (deprecated), " +
		"T9999, AML.T0044.001 and AML.T0035.002 (never existed in ATLAS)."
	r := gateway.ValidateOutput(text, cat, nil)
	assert.Equal(t, []string{"AML.T0035.002", "AML.T0044.001", "T1026", "T1050", "T9999"}, r.Quarantined)
	assert.False(t, r.Valid)

	// The gateway's default is this catalog.
	f := newFixture(t, []gatewaytest.Step{sonnetStep(text)})
	resp := complete(t, f.gw, req("x"))
	assert.Equal(t, r.Quarantined, resp.QuarantinedIDs)
	assert.Contains(t, resp.Content, "AML.T0099")
	assert.NotContains(t, resp.Content, "AML.T0044.001")
}
