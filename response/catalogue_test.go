package response

import (
	"context"
	"errors"
	"math"
	"testing"

	"github.com/socwarden/warden/internal/zone"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The default catalogue, typed out independently from spec §2.2.
func TestDefaultCatalogueMatchesSpec(t *testing.T) {
	type row struct {
		floor      Tier
		risk       RiskClass
		reversible bool
		constraint Constraint
	}
	want := map[string]row{
		"monitor": {0, RiskObserve, false, ""}, "log_event": {0, RiskObserve, false, ""},
		"send_alert": {0, RiskNotify, false, ""}, "alert": {0, RiskNotify, false, ""}, "notify": {0, RiskNotify, false, ""},
		"comment_incident": {0, RiskRecord, false, ""}, "update_incident": {0, RiskRecord, false, ""},
		"create_ticket":     {0, RiskRecord, false, ""},
		"auto_close":        {0, RiskClosure, false, ConstraintAutoCloseCriteria},
		"execute_playbook":  {0, RiskPlaybook, false, ConstraintPlaybookAllowList},
		"collect_forensics": {1, RiskCollect, false, ""},
		"temporary_block":   {1, RiskContainReversible, true, ""},
		"block_ip":          {2, RiskContainDisruptive, true, ""}, "firewall_block": {2, RiskContainDisruptive, true, ""},
		"isolate_endpoint": {2, RiskContainDisruptive, true, ""}, "isolate_host": {2, RiskContainDisruptive, true, ""},
		"isolate": {2, RiskContainDisruptive, true, ""}, "disable_account": {2, RiskContainDisruptive, true, ""},
		"quarantine_file": {2, RiskContainDisruptive, true, ""},
		"revoke_sessions": {2, RiskContainDisruptive, false, ""}, "reset_credentials": {2, RiskContainDisruptive, false, ""},
		"force_mfa_reregistration": {2, RiskContainDisruptive, false, ""},
		"modify_routing_policy":    {2, RiskPlatformChange, false, ConstraintRoutingPolicy},
		"disable_guardrails":       {2, RiskPlatformChange, false, ConstraintGuardrails},
	}
	got := DefaultCatalogue()
	require.Len(t, got, len(want))
	for name, w := range want {
		s, ok := got[name]
		require.True(t, ok, name)
		assert.Equal(t, name, s.Name)
		assert.Equal(t, w, row{s.Floor, s.Risk, s.Reversible, s.Constraint}, name)
	}
	// A fresh copy each call: editing one cannot weaken the responder's.
	got["isolate_host"] = ActionSpec{Name: "isolate_host", Risk: RiskObserve}
	assert.Equal(t, TierRequiresApproval, DefaultCatalogue()["isolate_host"].Floor)
}

// Checklist 18.
func TestConstants(t *testing.T) {
	assert.Equal(t, 4*60*60.0, DefaultApprovalTimeout.Seconds())
	assert.Equal(t, Tier(0), TierAuto)
	assert.Equal(t, Tier(1), TierAutoConditional)
	assert.Equal(t, Tier(2), TierRequiresApproval)
}

// Checklist 7, 8, 9.
func TestEffectiveTierCatalogue(t *testing.T) {
	e := newEnv(t)
	c := testCase("high")
	tier, _ := e.r.EffectiveTier(bg, c, act("monitor", "h1", 0))
	assert.Equal(t, TierAuto, tier)
	tier, _ = e.r.EffectiveTier(bg, c, act("alert", "h1", 1))
	assert.Equal(t, TierAutoConditional, tier)

	c7 := testCase("high", act("monitor", "h1", 0), act("alert", "h1", 1))
	gated, reasons, err := e.r.RequiresApproval(bg, c7)
	require.NoError(t, err)
	assert.False(t, gated, "7: monitor and alert are auto")
	assert.Empty(t, reasons)

	c8 := testCase("high", act("isolate_endpoint", "h1", 2), act("disable_account", "bob", 2))
	for _, a := range c8.Actions {
		tier, _ := e.r.EffectiveTier(bg, c8, a)
		assert.Equal(t, TierRequiresApproval, tier, "8: %s gated", a.Action)
	}
	gated, reasons, err = e.r.RequiresApproval(bg, c8)
	require.NoError(t, err)
	assert.True(t, gated)
	assert.Equal(t, []string{ReasonDestructiveAction}, reasons)

	c9 := testCase("high", act("monitor", "h1", 0), act("isolate_endpoint", "h1", 2))
	t0, _ := e.r.EffectiveTier(bg, c9, c9.Actions[0])
	t2, _ := e.r.EffectiveTier(bg, c9, c9.Actions[1])
	assert.Equal(t, []Tier{0, 2}, []Tier{t0, t2}, "9: one auto, one gated")
}

// Checklist 11: the model cannot lower a catalogue floor.
func TestEffectiveTierCatalogueFloorBeatsModel(t *testing.T) {
	e := newEnv(t)
	c := testCase("high", act("isolate_endpoint", "h1", 0))
	tier, why := e.r.EffectiveTier(bg, c, c.Actions[0])
	assert.Equal(t, TierRequiresApproval, tier)
	assert.Equal(t, []string{ReasonCatalogueFloor}, why)
	gated, reasons, err := e.r.RequiresApproval(bg, c)
	require.NoError(t, err)
	assert.True(t, gated)
	assert.Equal(t, []string{ReasonDestructiveAction}, reasons)

	// The model can raise: monitor at tier 2 is gated.
	tier, why = e.r.EffectiveTier(bg, c, act("monitor", "h1", 2))
	assert.Equal(t, TierRequiresApproval, tier)
	assert.Equal(t, []string{ReasonLLMTier}, why)
	// Out-of-range model tiers are clamped, not trusted.
	tier, _ = e.r.EffectiveTier(bg, c, act("monitor", "h1", -7))
	assert.Equal(t, TierAuto, tier)
	tier, _ = e.r.EffectiveTier(bg, c, act("monitor", "h1", 99))
	assert.Equal(t, TierRequiresApproval, tier)
}

// Checklist 12.
func TestEffectiveTierUnknownAction(t *testing.T) {
	e := newEnv(t)
	c := testCase("low", act("wipe_disk", "h1", 0))
	tier, why := e.r.EffectiveTier(bg, c, c.Actions[0])
	assert.Equal(t, TierRequiresApproval, tier)
	assert.Equal(t, []string{"unknown_action:wipe_disk"}, why)
	gated, reasons, err := e.r.RequiresApproval(bg, c)
	require.NoError(t, err)
	assert.True(t, gated)
	assert.Equal(t, []string{ReasonDestructiveAction, "unknown_action:wipe_disk"}, reasons)
}

// Checklist 13: the zone floor applies to intrusive classes only.
func TestEffectiveTierZoneConsequence(t *testing.T) {
	e := newEnv(t)
	c := testCase("medium", Action{Action: "execute_playbook", Target: "web-01", PlaybookID: "PB-001"},
		act("monitor", "web-01", 0))
	c.AssetZones = []AssetZone{{AssetID: "web-01", Zone: "Zone0_PhysicalProcess"}}
	tier, why := e.r.EffectiveTier(bg, c, c.Actions[0])
	assert.Equal(t, TierRequiresApproval, tier)
	assert.Equal(t, []string{"zone_consequence:safety_life"}, why)
	tier, why = e.r.EffectiveTier(bg, c, c.Actions[1])
	assert.Equal(t, TierAuto, tier)
	assert.Empty(t, why)
	_, reasons, err := e.r.RequiresApproval(bg, c)
	require.NoError(t, err)
	assert.Equal(t, []string{ReasonDestructiveAction, "zone_consequence:safety_life"}, reasons)

	// An equipment zone raises too; downtime and data_loss zones do not.
	for z, want := range map[string]Tier{"Zone1_PLCNetwork": 2, "Zone2_SCADA": 0, "IT_UserWorkstations": 0, "no-such-zone": 0} {
		c.AssetZones = []AssetZone{{AssetID: "web-01", Zone: z}}
		tier, _ := e.r.EffectiveTier(bg, c, c.Actions[0])
		assert.Equal(t, want, tier, z)
	}
}

// Checklist 14: a resolver error is the worst case for intrusive actions.
func TestEffectiveTierZoneResolverError(t *testing.T) {
	boom := errors.New("cmdb down")
	e := newEnv(t, WithZoneResolver(ZoneResolverFunc(func(context.Context, string, string) (string, bool, error) {
		return "", false, boom
	})))
	c := testCase("low", act("temporary_block", "10.0.0.5", 1), act("send_alert", "10.0.0.5", 0))
	tier, why := e.r.EffectiveTier(bg, c, c.Actions[0])
	assert.Equal(t, TierRequiresApproval, tier)
	assert.Equal(t, []string{ReasonZoneUnknown}, why)
	tier, _ = e.r.EffectiveTier(bg, c, c.Actions[1])
	assert.Equal(t, TierAuto, tier, "notify is never raised by zone")
	_, reasons, err := e.r.RequiresApproval(bg, c)
	require.NoError(t, err)
	assert.Equal(t, []string{ReasonDestructiveAction, ReasonZoneUnknown}, reasons)
}

func TestZoneResolverTakesPrecedenceAndPanicsAreContained(t *testing.T) {
	calls := 0
	e := newEnv(t, WithZoneResolver(ZoneResolverFunc(func(_ context.Context, tenant, target string) (string, bool, error) {
		calls++
		if target == "boom" {
			panic("resolver bug")
		}
		return "OT_ControlNetwork", true, nil
	})))
	c := testCase("low", act("collect_forensics", "plc-7", 0), act("collect_forensics", "boom", 0))
	c.AssetZones = []AssetZone{{AssetID: "plc-7", Zone: "IT_UserWorkstations"}}
	tier, why := e.r.EffectiveTier(bg, c, c.Actions[0])
	assert.Equal(t, TierRequiresApproval, tier)
	assert.Equal(t, []string{"zone_consequence:equipment"}, why)
	tier, why = e.r.EffectiveTier(bg, c, c.Actions[1])
	assert.Equal(t, TierRequiresApproval, tier)
	assert.Equal(t, []string{ReasonZoneUnknown}, why)
	assert.Equal(t, 2, calls)
}

func TestMalformedActionNames(t *testing.T) {
	for _, s := range []string{"", "   ", "DROP TABLE;", "execute playbook PB-EVIL", "rm -rf /", "isolate\nhost", string(make([]byte, 200))} {
		_, ok := NormaliseAction(s)
		assert.False(t, ok, "%q", s)
	}
	n, ok := NormaliseAction("  Isolate_Host ")
	assert.True(t, ok)
	assert.Equal(t, "isolate_host", n)
	e := newEnv(t)
	tier, why := e.r.EffectiveTier(bg, testCase("low"), act("DROP TABLE;", "", 0))
	assert.Equal(t, TierRequiresApproval, tier)
	assert.Equal(t, []string{"malformed_action"}, why)
}

// Checklist 43, 47.
func TestConstraintDefaults(t *testing.T) {
	var c Constraints
	assert.Equal(t, 0.85, c.minConfidence())
	assert.False(t, c.AutoCloseWithoutFPMatch, "FP match required")
	assert.False(t, c.AllowRoutingPolicyChanges)
	assert.False(t, c.AllowGuardrailChanges)
	assert.Empty(t, c.AllowedPlaybooks)
	assert.Equal(t, BlockedRoutingPolicyChange, checkConstraint(DefaultCatalogue()["modify_routing_policy"], Action{}, Case{}, c))
	assert.Equal(t, BlockedGuardrailChange, checkConstraint(DefaultCatalogue()["disable_guardrails"], Action{}, Case{}, c))
}

// Checklist 44, 45.
func TestValidatePlaybook(t *testing.T) {
	c := Constraints{AllowedPlaybooks: []string{"PB-001", "PB-002"}}
	assert.True(t, ValidatePlaybook("PB-001", c))
	assert.True(t, ValidatePlaybook("PB-002", c))
	assert.False(t, ValidatePlaybook("PB-999", Constraints{AllowedPlaybooks: []string{"PB-001"}}))
	assert.False(t, ValidatePlaybook("pb-001", c), "exact match")
	for _, id := range []string{"PB-001", "", "anything"} {
		assert.False(t, ValidatePlaybook(id, Constraints{}), id)
	}
}

// Checklist 46.
func TestValidateAutoClose(t *testing.T) {
	var c Constraints
	assert.True(t, ValidateAutoClose(0.90, true, c))
	assert.False(t, ValidateAutoClose(0.50, true, c))
	assert.False(t, ValidateAutoClose(0.90, false, c))
	assert.True(t, ValidateAutoClose(0.90, false, Constraints{AutoCloseWithoutFPMatch: true}))
	assert.True(t, ValidateAutoClose(0.85, true, c))
	assert.False(t, ValidateAutoClose(math.NaN(), true, c))
	assert.False(t, ValidateAutoClose(0.95, true, Constraints{MinAutoCloseConfidence: 0.99}))
}

// Checklist 48.
func TestInvalidConstraints(t *testing.T) {
	for _, m := range []float64{1.5, math.NaN(), -0.1, math.Inf(1)} {
		_, err := New(NewDryRunExecutor(), WithConstraints(Constraints{MinAutoCloseConfidence: m}))
		require.ErrorIs(t, err, ErrInvalidConstraints, "%v", m)
		var ce *ConstraintsError
		require.ErrorAs(t, err, &ce)
	}
}

// Checklist 49–53.
func TestZoneTable(t *testing.T) {
	tbl := DefaultZoneTable()
	assert.Len(t, tbl, 30)
	want := map[string]ZoneConsequence{
		"Zone0_PhysicalProcess": {ConsequenceSafetyLife, "CRITICAL"},
		"Zone1_EdgeInference":   {ConsequenceEquipment, "HIGH"},
		"Zone2_Operations":      {ConsequenceDowntime, "MEDIUM"},
		"Zone3_Enterprise":      {ConsequenceDataLoss, "LOW"},
		"Zone4_External":        {ConsequenceDataLoss, "LOW"},
	}
	for z, w := range want {
		assert.Equal(t, w, tbl[z], z) // 49, 50, 51
	}
	cl, sev := ConsequenceForZone("Zone0_PhysicalProcess")
	assert.Equal(t, ConsequenceSafetyLife, cl)
	assert.Equal(t, "CRITICAL", sev)
	for _, z := range []string{"", "Nowhere", "zone0_physicalprocess"} { // 52: exact match
		cl, sev := ConsequenceForZone(z)
		assert.Equal(t, ConsequenceDataLoss, cl, z)
		assert.Equal(t, "LOW", sev, z)
	}
	cl, sev = ConsequenceForZone("OT_ProcessNetwork") // 53
	assert.Equal(t, []string{"safety_life", "CRITICAL"}, []string{string(cl), sev})
	cl, sev = ConsequenceForZone("IT_UserWorkstations")
	assert.Equal(t, []string{"data_loss", "LOW"}, []string{string(cl), sev})
	// The same table as ctem's: one source of truth.
	for _, en := range zone.Entries() {
		assert.Equal(t, ZoneConsequence{ConsequenceClass(en.Consequence), en.Severity}, tbl[string(en.Zone)])
	}
}

func TestCustomZoneTable(t *testing.T) {
	tbl := DefaultZoneTable()
	tbl["Lab_Reactor"] = ZoneConsequence{Class: ConsequenceSafetyLife} // severity derived
	e := newEnv(t, WithZoneTable(tbl))
	c := testCase("low", act("block_ip", "r1", 0), act("temporary_block", "r1", 0))
	c.AssetZones = []AssetZone{{AssetID: "r1", Zone: "Lab_Reactor"}}
	tier, why := e.r.EffectiveTier(bg, c, c.Actions[1])
	assert.Equal(t, TierRequiresApproval, tier)
	assert.Contains(t, why, "zone_consequence:safety_life")
	a, err := e.r.Open(bg, c, nil)
	require.NoError(t, err)
	assert.Equal(t, SeverityCritical, a.Severity, "derived CRITICAL raises the gate")

	_, err = New(NewDryRunExecutor(), WithZoneTable(map[string]ZoneConsequence{"z": {Class: "meltdown"}}))
	require.ErrorIs(t, err, ErrInvalidConfig)
	_, err = New(NewDryRunExecutor(), WithZoneTable(map[string]ZoneConsequence{"z": {Class: ConsequenceDowntime, Severity: "SEVERE"}}))
	require.ErrorIs(t, err, ErrInvalidConfig)
}

func TestNewValidation(t *testing.T) {
	_, err := New(nil)
	require.ErrorIs(t, err, ErrNilExecutor)
	cases := map[string]Option{
		"clock":       WithClock(nil),
		"ids":         WithIDGenerator(nil),
		"roles":       WithApproverRoles("root", RoleAdmin),
		"roles-order": WithApproverRoles(RoleAdmin, RoleAnalyst),
		"escalations": WithMaxEscalations(-1),
		"cat-name":    WithCatalogue(map[string]ActionSpec{"bad name": {Risk: RiskObserve}}),
		"cat-floor":   WithCatalogue(map[string]ActionSpec{"x": {Floor: 3, Risk: RiskObserve}}),
		"cat-risk":    WithCatalogue(map[string]ActionSpec{"x": {Risk: "meh"}}),
		"cat-cons":    WithCatalogue(map[string]ActionSpec{"x": {Risk: RiskObserve, Constraint: "nope"}}),
		"cat-timeout": WithCatalogue(map[string]ActionSpec{"x": {Risk: RiskObserve, Timeout: -1}}),
	}
	for name, opt := range cases {
		_, err := New(NewDryRunExecutor(), opt)
		require.ErrorIs(t, err, ErrInvalidConfig, name)
		var ce *ConfigError
		require.ErrorAs(t, err, &ce, name)
	}
	// A nil option is ignored, not a panic.
	_, err = New(NewDryRunExecutor(), nil)
	require.NoError(t, err)
}

func TestCustomCatalogueNamesAreNormalised(t *testing.T) {
	cat := DefaultCatalogue()
	cat["Shutdown_Pump"] = ActionSpec{Floor: TierAutoConditional, Risk: RiskContainDisruptive}
	e := newEnv(t, WithCatalogue(cat))
	tier, why := e.r.EffectiveTier(bg, testCase("low"), act("shutdown_pump", "p1", 0))
	assert.Equal(t, TierAutoConditional, tier)
	assert.Equal(t, []string{ReasonCatalogueFloor}, why)
}
