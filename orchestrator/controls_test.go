package orchestrator

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/socwarden/warden/audit"
	"github.com/socwarden/warden/taxonomy"
)

// brokenKillStore fails every call.
type brokenKillStore struct{ *MemoryKillSwitches }

func (*brokenKillStore) Get(context.Context, KillSwitchDimension, string) (KillSwitch, bool, error) {
	return KillSwitch{}, false, errors.New("redis down")
}

// Checklist 134–141, 144, 145 and the kill-switch part of 215.
func TestKillSwitches(t *testing.T) {
	store := NewMemoryKillSwitches()
	rec := &recProducer{}
	clk := newClock()
	k, err := NewKillSwitches(store, WithAuditProducer(rec), WithClock(clk.Now))
	require.NoError(t, err)
	analyst := Actor{Type: taxonomy.ActorHuman, ID: "analyst@org"}

	killed, err := k.IsKilled(ctxb, KillScope{TenantID: "t-001"})
	require.NoError(t, err)
	assert.False(t, killed)
	require.NoError(t, k.Activate(ctxb, DimensionTenant, "t-001", analyst, "incident"))
	got, ok, _ := store.Get(ctxb, DimensionTenant, "t-001")
	require.True(t, ok)
	assert.Equal(t, KillSwitch{Dimension: "tenant", Value: "t-001", ActivatedBy: "analyst@org", ActivatedAt: t0, Reason: "incident"}, got)
	assert.Equal(t, "kill_switch:tenant:t-001", KillSwitchKey(DimensionTenant, "t-001"))
	killed, _ = k.IsKilled(ctxb, KillScope{TenantID: "t-001"})
	assert.True(t, killed)

	act := rec.byType(taxonomy.KillSwitchActivated)
	require.Len(t, act, 1)
	assert.Equal(t, "t-001", act[0].TenantID)
	assert.Equal(t, "tenant", act[0].Context[KeyDimension])
	assert.Equal(t, "tenant:t-001", act[0].Outcome[audit.KeyActionTarget])
	assert.Equal(t, "inactive", act[0].Outcome[audit.KeyStateBefore])
	assert.Equal(t, "active", act[0].Outcome[audit.KeyStateAfter])
	assert.Equal(t, taxonomy.SeverityWarning, act[0].Severity)

	require.NoError(t, k.Deactivate(ctxb, DimensionTenant, "t-001", analyst, "resolved"))
	killed, _ = k.IsKilled(ctxb, KillScope{TenantID: "t-001"})
	assert.False(t, killed)
	require.NoError(t, k.Deactivate(ctxb, DimensionPattern, "never-set", analyst, "noop"))
	deact := rec.byType(taxonomy.KillSwitchDeactivated)
	require.Len(t, deact, 2)
	assert.Equal(t, "active", deact[0].Outcome[audit.KeyStateBefore])
	assert.Equal(t, "inactive", deact[1].Outcome[audit.KeyStateBefore], "nothing was active")
	assert.Equal(t, SystemTenant, deact[1].TenantID, "platform-wide switches use tenant system")

	// Per dimension.
	require.NoError(t, k.Activate(ctxb, DimensionTechnique, "T1078", analyst, "r"))
	require.NoError(t, k.Activate(ctxb, DimensionPattern, "pat-123", analyst, "r"))
	require.NoError(t, k.Activate(ctxb, DimensionDataSource, "sentinel", analyst, "r"))
	require.NoError(t, k.Activate(ctxb, DimensionRuleFamily, "brute_force", analyst, "r"))
	require.NoError(t, k.Activate(ctxb, DimensionSeverity, "Low", analyst, "r"))
	for scope, want := range map[string]struct {
		s    KillScope
		want bool
	}{
		"technique hit":  {KillScope{TechniqueIDs: []string{"T1059", "T1078"}}, true},
		"technique miss": {KillScope{TechniqueIDs: []string{"T1059"}}, false},
		"pattern hit":    {KillScope{PatternID: "pat-123"}, true},
		"pattern miss":   {KillScope{PatternID: "pat-999"}, false},
		"ds hit":         {KillScope{DataSource: "sentinel"}, true},
		"ds miss":        {KillScope{DataSource: "crowdstrike"}, false},
		"rf hit":         {KillScope{RuleFamily: "brute_force"}, true},
		"severity hit":   {KillScope{Severity: "low"}, true},
		"empty":          {KillScope{}, false},
	} {
		got, err := k.IsKilled(ctxb, want.s)
		require.NoError(t, err)
		assert.Equal(t, want.want, got, scope)
	}

	assert.ErrorIs(t, k.Activate(ctxb, "invalid_dim", "x", analyst, "r"), ErrInvalidDimension)
	assert.Contains(t, k.Activate(ctxb, "invalid_dim", "x", analyst, "r").Error(), "rule_family")
	assert.ErrorIs(t, k.Activate(ctxb, DimensionTenant, "  ", analyst, "r"), ErrEmptyValue)
	assert.ElementsMatch(t, []KillSwitchDimension{"tenant", "pattern", "technique", "datasource", "rule_family", "severity"}, KillSwitchDimensions())

	// Fail closed.
	kb, _ := NewKillSwitches(&brokenKillStore{NewMemoryKillSwitches()})
	killed, err = kb.IsKilled(ctxb, KillScope{TenantID: "t"})
	assert.True(t, killed)
	assert.Error(t, err)

	// No producer: same behaviour.
	k2, _ := NewKillSwitches(NewMemoryKillSwitches())
	require.NoError(t, k2.Activate(ctxb, DimensionTenant, "t-001", analyst, "x"))
	killed, _ = k2.IsKilled(ctxb, KillScope{TenantID: "t-001"})
	assert.True(t, killed)
}

func TestFileKillSwitchesSurviveRestart(t *testing.T) {
	dir := t.TempDir()
	s, err := OpenFileKillSwitches(dir)
	require.NoError(t, err)
	k, _ := NewKillSwitches(s)
	require.NoError(t, k.Activate(ctxb, DimensionRuleFamily, "phishing", Actor{ID: "a"}, "r"))
	require.NoError(t, s.Close())
	s2, err := OpenFileKillSwitches(dir)
	require.NoError(t, err)
	k2, _ := NewKillSwitches(s2)
	killed, err := k2.IsKilled(ctxb, KillScope{RuleFamily: "phishing"})
	require.NoError(t, err)
	assert.True(t, killed)
	require.NoError(t, k2.Deactivate(ctxb, DimensionRuleFamily, "phishing", Actor{ID: "a"}, "r"))
	killed, _ = k2.IsKilled(ctxb, KillScope{RuleFamily: "phishing"})
	assert.False(t, killed)
}

// Checklist 146–148, 153–157.
func TestShadowModeAndTenantConfig(t *testing.T) {
	configs := NewMemoryTenantConfigs()
	rec := &recProducer{}
	sm, err := NewShadowMode(configs, NewMemoryShadowLog(), WithAuditProducer(rec))
	require.NoError(t, err)
	on, err := sm.IsActive(ctxb, "new-tenant", "phishing")
	require.NoError(t, err)
	assert.True(t, on)

	def := DefaultTenantConfig("t")
	assert.True(t, def.ShadowMode)
	assert.False(t, def.GoLiveSignedOff)
	assert.Empty(t, def.ShadowRuleFamilies)

	require.NoError(t, configs.Set(ctxb, TenantConfig{TenantID: "live", ShadowMode: false, GoLiveSignedOff: true}))
	on, _ = sm.IsActive(ctxb, "live", "phishing")
	assert.False(t, on)
	require.NoError(t, configs.Set(ctxb, TenantConfig{TenantID: "fam", ShadowMode: true, ShadowRuleFamilies: []string{"phishing", "malware"}}))
	on, _ = sm.IsActive(ctxb, "fam", "phishing")
	assert.True(t, on)
	on, _ = sm.IsActive(ctxb, "fam", "brute_force")
	assert.False(t, on)

	c := DefaultTenantConfig("t")
	assert.ErrorIs(t, c.DisableShadow(), ErrGoLiveNotSignedOff)
	c.GoLiveSignedOff = true
	require.NoError(t, c.DisableShadow())
	assert.False(t, c.ShadowMode)

	in := TenantConfig{TenantID: "t", ShadowMode: true, ShadowRuleFamilies: []string{"a"}, GoLiveSignedOffBy: "ciso",
		ApprovalTimeoutOverrides: map[string]int{"critical": 300}}
	b, _ := json.Marshal(in)
	var out TenantConfig
	require.NoError(t, json.Unmarshal(b, &out))
	assert.Equal(t, in, out)
	var absent TenantConfig
	require.NoError(t, json.Unmarshal([]byte(`{"tenant_id":"x"}`), &absent))
	assert.True(t, absent.ShadowMode, "absent shadow_mode is true")

	got, _ := configs.Get(ctxb, "missing")
	assert.Equal(t, DefaultTenantConfig("missing"), got)
	assert.ErrorIs(t, configs.Set(ctxb, TenantConfig{TenantID: "bad", ShadowMode: false}), ErrGoLiveNotSignedOff)

	require.NoError(t, sm.GoLive(ctxb, "t-9", "ciso@org", "2026-03-01"))
	live, _ := configs.Get(ctxb, "t-9")
	assert.False(t, live.ShadowMode)
	assert.True(t, live.GoLiveSignedOff)
	assert.Equal(t, "ciso@org", live.GoLiveSignedOffBy)
	gl := rec.byType(taxonomy.ShadowGoLiveApproved)
	require.Len(t, gl, 1)
	assert.Equal(t, "live", gl[0].Outcome[audit.KeyStateAfter])
	assert.Equal(t, "ciso@org", gl[0].Outcome[audit.KeyApprovalReceivedFrom])

	overrides, err := sm.ApprovalTimeoutOverrides(ctxb, "t-9")
	require.NoError(t, err)
	assert.Empty(t, overrides)
}

type brokenConfigs struct{ *MemoryTenantConfigs }

func (*brokenConfigs) Get(context.Context, string) (TenantConfig, error) {
	return TenantConfig{}, errors.New("db down")
}

func TestShadowFailsSafe(t *testing.T) {
	sm, _ := NewShadowMode(&brokenConfigs{NewMemoryTenantConfigs()}, NewMemoryShadowLog())
	on, err := sm.IsActive(ctxb, "t", "rf")
	assert.True(t, on)
	assert.Error(t, err)
}

// Checklist 149–151.
func TestShadowLogAndAgreement(t *testing.T) {
	log := NewMemoryShadowLog()
	rec := &recProducer{}
	clk := newClock()
	sm, _ := NewShadowMode(NewMemoryTenantConfigs(), log, WithAuditProducer(rec), WithClock(clk.Now))
	rate, err := sm.AgreementRate(ctxb, "t-001", "phishing", 0)
	require.NoError(t, err)
	assert.Zero(t, rate)

	require.NoError(t, sm.RecordShadowDecision(ctxb, "t-001", "phishing", "false_positive", 0.92, "inv-1"))
	entries, _ := log.Entries(ctxb, "t-001", "phishing")
	require.Len(t, entries, 1)
	assert.Equal(t, ShadowEntry{Type: "shadow", ShadowDecision: "false_positive", ShadowConfidence: 0.92, InvestigationID: "inv-1",
		TS: float64(t0.Unix())}, entries[0])
	ev := rec.byType(taxonomy.ShadowDecisionLogged)
	require.Len(t, ev, 1)
	assert.Equal(t, "false_positive", ev[0].Decision[audit.KeyClassification])
	assert.Equal(t, "rule_family=phishing", ev[0].Decision[audit.KeyReasoningSummary])
	assert.Equal(t, []string{"shadow_mode"}, ev[0].Decision[audit.KeyConstraintsApplied])

	require.NoError(t, sm.RecordAnalystDecision(ctxb, "t-001", "phishing", "true_positive", "inv-1"))
	entries, _ = log.Entries(ctxb, "t-001", "phishing")
	assert.Equal(t, "true_positive", entries[1].AnalystDecision)
	assert.Equal(t, "analyst", entries[1].Type)

	log2 := NewMemoryShadowLog()
	sm2, _ := NewShadowMode(NewMemoryTenantConfigs(), log2, WithClock(clk.Now))
	require.NoError(t, sm2.RecordShadowDecision(ctxb, "t", "rf", "fp", 0.9, "inv-1"))
	require.NoError(t, sm2.RecordAnalystDecision(ctxb, "t", "rf", "fp", "inv-1"))
	require.NoError(t, sm2.RecordShadowDecision(ctxb, "t", "rf", "fp", 0.9, "inv-2"))
	require.NoError(t, sm2.RecordAnalystDecision(ctxb, "t", "rf", "tp", "inv-2"))
	rate, _ = sm2.AgreementRate(ctxb, "t", "rf", 14)
	assert.Equal(t, 0.5, rate)
	clk.Add(15 * 24 * time.Hour)
	rate, _ = sm2.AgreementRate(ctxb, "t", "rf", 14)
	assert.Zero(t, rate, "entries older than the window are ignored")
}

func TestFileShadowLogAndConfigsSurviveRestart(t *testing.T) {
	dir := t.TempDir()
	l, err := OpenFileShadowLog(dir)
	require.NoError(t, err)
	require.NoError(t, l.Append(ctxb, "t", "rf", ShadowEntry{Type: "shadow", ShadowDecision: "fp", InvestigationID: "i"}))
	require.NoError(t, l.Close())
	l2, err := OpenFileShadowLog(dir)
	require.NoError(t, err)
	es, _ := l2.Entries(ctxb, "t", "rf")
	require.Len(t, es, 1)
	assert.Equal(t, "fp", es[0].ShadowDecision)

	cdir := t.TempDir()
	c, err := OpenFileTenantConfigs(cdir)
	require.NoError(t, err)
	require.NoError(t, c.Set(ctxb, TenantConfig{TenantID: "t", GoLiveSignedOff: true, ShadowRuleFamilies: []string{"a"}}))
	assert.ErrorIs(t, c.Set(ctxb, TenantConfig{TenantID: "u"}), ErrGoLiveNotSignedOff)
	c2, err := OpenFileTenantConfigs(cdir)
	require.NoError(t, err)
	got, _ := c2.Get(ctxb, "t")
	assert.False(t, got.ShadowMode)
	def, _ := c2.Get(ctxb, "other")
	assert.True(t, def.ShadowMode)
}

// Checklist 152.
func TestGoLiveCriteria(t *testing.T) {
	c := DefaultGoLiveCriteria()
	assert.Equal(t, GoLiveCriteria{0.95, 14, 0, 0.98}, c)
	ok, msgs := c.Check(0.96, 0, 0.99)
	assert.True(t, ok)
	assert.Empty(t, msgs)
	_, msgs = c.Check(0.90, 0, 0.99)
	require.Len(t, msgs, 1)
	assert.Contains(t, msgs[0], "agreement_rate")
	_, msgs = c.Check(0.96, 1, 0.99)
	assert.Contains(t, msgs[0], "missed_critical_tps")
	_, msgs = c.Check(0.96, 0, 0.95)
	assert.Contains(t, msgs[0], "fp_precision")
	ok, msgs = c.Check(0.80, 2, 0.90)
	assert.False(t, ok)
	assert.Equal(t, []string{"agreement_rate 0.800 < 0.95", "missed_critical_tps 2 > 0", "fp_precision 0.900 < 0.98"}, msgs)
}

// Checklist 158–163.
func TestRolePermissions(t *testing.T) {
	assert.True(t, CheckPermission(RoleIOCExtractor, "query_data"))
	assert.False(t, CheckPermission(RoleIOCExtractor, "execute_playbook"))
	assert.True(t, CheckPermission(RoleReasoningAgent, "analyse"))
	assert.True(t, CheckPermission(RoleReasoningAgent, "comment_incident"))
	assert.True(t, CheckPermission(RoleResponseAgent, "execute_playbook"))
	assert.True(t, CheckPermission(RoleContextEnricher, "query_graph"))
	assert.False(t, CheckPermission("unknown_role", "query_data"))
	assert.NoError(t, EnforcePermission(RoleResponseAgent, "execute_playbook"))
	err := EnforcePermission(RoleIOCExtractor, "execute_playbook")
	assert.ErrorIs(t, err, ErrPermissionDenied)
	assert.Contains(t, err.Error(), "ioc_extractor")
	assert.Contains(t, err.Error(), "execute_playbook")
	for _, r := range AgentRoles() {
		assert.True(t, CheckPermission(r, "call_llm"), r)
	}
	m := RolePermissions()
	m[RoleIOCExtractor] = append(m[RoleIOCExtractor], "execute_playbook")
	assert.False(t, CheckPermission(RoleIOCExtractor, "execute_playbook"), "the matrix is a copy")
}

// Degradation (DESIGN §3) through the port.
func TestDegradationLevels(t *testing.T) {
	level := func(l taxonomy.DegradationLevel, err error) Option {
		return WithDegradation(DegradationFunc(func(context.Context, string) (taxonomy.DegradationLevel, error) { return l, err }))
	}
	llm := &countingLLM{f: func(req LLMRequest) (LLMResponse, error) {
		return LLMResponse{Content: `{"classification":"false_positive","confidence":0.92,"recommended_actions":[{"action":"auto_close"}]}`}, nil
	}}
	agents := func() Agents {
		ioc, _ := NewIOCExtractor(llm, nil)
		rsn, _ := NewReasoner(llm)
		return Agents{IOCExtractor: ioc, Reasoner: rsn}
	}
	fp := func(c float64) Option {
		return WithFPShortCircuit(&fixedFP{m: FPMatch{Matched: true, PatternID: "p", Confidence: c}})
	}

	t.Run("deterministic_only: FP match recorded, no LLM, human decides", func(t *testing.T) {
		llm.calls.Store(0)
		f := newFixture(t, agents(), level(taxonomy.DegradationDeterministicOnly, nil), fp(1.0))
		inv, err := f.g.Run(ctxb, testAlert())
		require.NoError(t, err)
		assert.Zero(t, llm.calls.Load())
		assert.Equal(t, StateAwaitingHuman, inv.State)
		assert.Contains(t, inv.EscalationReasons, ReasonDegradedMode)
		assert.True(t, hasEntry(inv, "orchestrator", "fp_match_not_applied"))
		assert.True(t, hasEntry(inv, "orchestrator", "reasoning_skipped"))
		assert.Empty(t, f.rec.byType(taxonomy.AlertClassified))
		for _, e := range f.rec.all() {
			assert.Equal(t, "deterministic_only", e.Context[audit.KeyDegradationLevel])
		}
	})
	t.Run("unreadable level counts as deterministic_only", func(t *testing.T) {
		llm.calls.Store(0)
		f := newFixture(t, agents(), level("", errors.New("router unreachable")))
		inv, _ := f.g.Run(ctxb, testAlert())
		assert.Zero(t, llm.calls.Load())
		assert.Equal(t, StateAwaitingHuman, inv.State)
		f = newFixture(t, agents(), level("bogus", nil))
		inv, _ = f.g.Run(ctxb, testAlert())
		assert.Equal(t, StateAwaitingHuman, inv.State)
	})
	t.Run("secondary_active: FP needs 0.95", func(t *testing.T) {
		f := newFixture(t, agents(), level(taxonomy.DegradationSecondaryActive, nil), fp(0.92))
		inv, _ := f.g.Run(ctxb, testAlert())
		assert.NotEqual(t, StateClosed, inv.State, "0.92 < 0.95: no FP close")
		assert.Contains(t, inv.EscalationReasons, ReasonDegradedAutoCloseThreshold, "auto_close at 0.92 needs a human")
		f = newFixture(t, agents(), level(taxonomy.DegradationSecondaryActive, nil), fp(0.96))
		inv, _ = f.g.Run(ctxb, testAlert())
		assert.Equal(t, StateClosed, inv.State)
		assert.Equal(t, ClassificationFalsePositive, inv.Classification)
	})
	t.Run("full alias and full capability change nothing", func(t *testing.T) {
		f := newFixture(t, agents(), level("full", nil), fp(0.92))
		inv, _ := f.g.Run(ctxb, testAlert())
		assert.Equal(t, StateClosed, inv.State)
	})
}
