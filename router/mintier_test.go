package router

import (
	"sync"
	"testing"

	"github.com/socwarden/warden/taxonomy"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Issue 6: the caller's requested minimum tier raises the tier by
// capability, after every other rule, and never lowers it.
func TestMinTierFloor(t *testing.T) {
	r := newRouter(t)

	d := route(t, r, TaskContext{TaskType: TaskIOCExtraction, MinTier: taxonomy.Tier1})
	assert.Equal(t, taxonomy.Tier1, d.Tier)
	assert.Equal(t, ModelSonnet, d.Model.ModelID)
	assert.Equal(t, 8192, d.MaxTokens, "the raised tier's parameters")
	assert.Equal(t, "base=tier_0; requested_min_tier→tier_1", d.Reason)

	d = route(t, r, TaskContext{TaskType: TaskInvestigation, MinTier: taxonomy.Tier0})
	assert.Equal(t, taxonomy.Tier1, d.Tier, "a floor never lowers")
	assert.Equal(t, "base=tier_1", d.Reason, "a floor that raises nothing leaves no tag")

	d = route(t, r, TaskContext{TaskType: TaskInvestigation, MinTier: "tier_1+"})
	assert.Equal(t, taxonomy.Tier1Plus, d.Tier, `"tier_1+" is accepted`)
	assert.Equal(t, ModelOpus, d.Model.ModelID)
	assert.True(t, d.UseExtendedThinking, "extended thinking as for any tier_1_plus route")
	assert.Equal(t, 16384, d.MaxTokens)

	d = route(t, r, TaskContext{TaskType: TaskInvestigation, TimeBudgetSeconds: 1, MinTier: taxonomy.Tier1})
	assert.Equal(t, taxonomy.Tier1, d.Tier, "the floor is applied after the time budget")
	assert.Equal(t, "base=tier_1; time_budget<3s→tier_0; requested_min_tier→tier_1", d.Reason)

	d = route(t, r, TaskContext{TaskType: TaskPlaybookGeneration, MinTier: taxonomy.Tier1})
	assert.Equal(t, taxonomy.Tier1, d.Tier, "tier_2 ranks with tier_0 and is raised")

	d = route(t, r, TaskContext{TaskType: TaskIOCExtraction, ContextTokens: 150000, MinTier: taxonomy.Tier1})
	assert.Equal(t, taxonomy.Tier1, d.Tier)
	assert.Equal(t, "base=tier_0; context>100k→tier_1", d.Reason, "the context rule got there first")
}

// The context-window and extended-thinking rules apply to a floored tier
// as to any other: a 130k prompt never keeps a 128k fallback, and a
// failover to a model without extended thinking turns it off.
func TestMinTierContextAndThinkingRules(t *testing.T) {
	d := route(t, newRouter(t), TaskContext{TaskType: TaskIOCExtraction, ContextTokens: 130000, MinTier: taxonomy.Tier1Plus})
	assert.Equal(t, taxonomy.Tier1Plus, d.Tier)
	assert.Empty(t, d.Fallbacks, "gpt-4o has 128k context")
	assert.True(t, d.UseExtendedThinking)

	h := fakeHealth{down: map[Provider]bool{ProviderAnthropic: true}}
	d = route(t, newRouter(t, WithHealth(h)), TaskContext{TaskType: TaskIOCExtraction, MinTier: taxonomy.Tier1Plus})
	assert.Equal(t, taxonomy.Tier1Plus, d.Tier, "failover never changes the tier")
	assert.Equal(t, ModelGPT4o, d.Model.ModelID)
	assert.True(t, d.IsFallback)
	assert.False(t, d.UseExtendedThinking, "the fallback cannot honour it")

	d = route(t, newRouter(t, WithHealth(h)), TaskContext{TaskType: TaskIOCExtraction, ContextTokens: 130000, MinTier: taxonomy.Tier1Plus})
	assert.Equal(t, ModelOpus, d.Model.ModelID, "130k tokens never go to a 128k fallback")
	assert.False(t, d.IsFallback)
}

func TestMinTierNormalized(t *testing.T) {
	n, err := TaskContext{TaskType: TaskInvestigation, MinTier: "tier_1+"}.Normalized()
	require.NoError(t, err)
	assert.Equal(t, taxonomy.Tier1Plus, n.MinTier)
	n, err = TaskContext{TaskType: TaskInvestigation}.Normalized()
	require.NoError(t, err)
	assert.Empty(t, n.MinTier, "no floor unless asked")
}

func escalationRouter(t *testing.T, threshold float64, perHour int, opts ...Option) (*Router, *EscalationManager) {
	t.Helper()
	p := DefaultEscalationPolicy()
	p.ConfidenceThreshold, p.MaxEscalationsPerHour = threshold, perHour
	m, err := NewEscalationManager(p, WithClock(at(1000).Now))
	require.NoError(t, err)
	return newRouter(t, append(opts, WithEscalationManager(m))...), m
}

// Issue 6: an escalation asked for with a floor is admitted and counted by
// the router's manager, once, whether or not the 0.6 rule would also have
// made it.
func TestMinTierEscalationCountedOnce(t *testing.T) {
	r, m := escalationRouter(t, 0.8, 10)
	esc := TaskContext{TaskType: TaskInvestigation, AlertSeverity: "critical", PreviousConfidence: conf(0.7), MinTier: taxonomy.Tier1Plus}

	// 0.7 is above the rule's 0.6 but below the policy's 0.8.
	d := route(t, r, esc)
	assert.Equal(t, taxonomy.Tier1Plus, d.Tier)
	assert.True(t, d.UseExtendedThinking)
	assert.Equal(t, "base=tier_1; requested_escalation→tier_1_plus", d.Reason)
	assert.Equal(t, 1, m.EscalationsThisHour())

	// Both the rule and the floor ask: still one escalation.
	both := esc
	both.PreviousConfidence = conf(0.3)
	d = route(t, r, both)
	assert.Equal(t, taxonomy.Tier1Plus, d.Tier)
	assert.Equal(t, "base=tier_1; low_confidence_escalation→tier_1_plus", d.Reason)
	assert.Equal(t, 2, m.EscalationsThisHour(), "counted once, not once per rule")

	// The rule alone, as before.
	rule := both
	rule.MinTier = ""
	assert.Equal(t, taxonomy.Tier1Plus, route(t, r, rule).Tier)
	assert.Equal(t, 3, m.EscalationsThisHour())

	// A floor without a previous confidence is not an escalation.
	plain := TaskContext{TaskType: TaskInvestigation, AlertSeverity: "critical", MinTier: taxonomy.Tier1Plus}
	assert.Equal(t, taxonomy.Tier1Plus, route(t, r, plain).Tier)
	// A floor below the escalation tier does not escalate either.
	low := esc
	low.MinTier = taxonomy.Tier1
	assert.Equal(t, taxonomy.Tier1, route(t, r, low).Tier)
	assert.Equal(t, 3, m.EscalationsThisHour(), "neither was counted")
}

// The manager's refusal is final: a floor never routes around the budget
// or the policy, and a refused escalation is not counted.
func TestMinTierEscalationRefused(t *testing.T) {
	r, m := escalationRouter(t, 0.8, 1)
	esc := TaskContext{TaskType: TaskInvestigation, AlertSeverity: "high", PreviousConfidence: conf(0.7), MinTier: taxonomy.Tier1Plus}
	assert.Equal(t, taxonomy.Tier1Plus, route(t, r, esc).Tier)

	d := route(t, r, esc)
	assert.Equal(t, taxonomy.Tier1, d.Tier, "budget spent: the floor is dropped")
	assert.False(t, d.UseExtendedThinking)
	assert.Equal(t, "base=tier_1; requested_escalation_refused", d.Reason)
	assert.Equal(t, 1, m.EscalationsThisHour())

	r, m = escalationRouter(t, 0.8, 10)
	for name, tc := range map[string]TaskContext{
		"confidence at the policy threshold": {TaskType: TaskInvestigation, AlertSeverity: "critical", PreviousConfidence: conf(0.8), MinTier: taxonomy.Tier1Plus},
		"severity not in the policy":         {TaskType: TaskInvestigation, AlertSeverity: "medium", PreviousConfidence: conf(0.2), MinTier: taxonomy.Tier1Plus},
	} {
		d := route(t, r, tc)
		assert.Equal(t, taxonomy.Tier1, d.Tier, name)
		assert.Contains(t, d.Reason, tagEscalationRefused, name)
	}
	assert.Zero(t, m.EscalationsThisHour())

	// Without a manager there is no budget: the floor is honoured.
	d = route(t, newRouter(t), TaskContext{TaskType: TaskInvestigation, AlertSeverity: "medium", PreviousConfidence: conf(0.9), MinTier: taxonomy.Tier1Plus})
	assert.Equal(t, taxonomy.Tier1Plus, d.Tier)
	assert.Contains(t, d.Reason, tagRequestedEscalation)
}

// Many concurrent floor escalations against a budget of n: exactly n reach
// tier_1_plus and exactly n are counted.
func TestMinTierEscalationConcurrentBudget(t *testing.T) {
	const budget, workers, each = 7, 32, 20
	r, m := escalationRouter(t, 0.8, budget)
	esc := TaskContext{TaskType: TaskInvestigation, AlertSeverity: "critical", PreviousConfidence: conf(0.7), MinTier: taxonomy.Tier1Plus}
	var (
		wg        sync.WaitGroup
		mu        sync.Mutex
		escalated int
	)
	for range workers {
		wg.Go(func() {
			for range each {
				d, err := r.Route(bg, esc)
				if err != nil {
					t.Error(err)
					return
				}
				if d.Tier == taxonomy.Tier1Plus {
					mu.Lock()
					escalated++
					mu.Unlock()
				}
			}
		})
	}
	wg.Wait()
	assert.Equal(t, budget, escalated)
	assert.Equal(t, budget, m.EscalationsThisHour())
}

// Issue 6: routing.tier_selected records the requested floor.
func TestAuditRequestedMinTier(t *testing.T) {
	rec := &recorder{}
	r, _ := escalationRouter(t, 0.8, 10, WithAuditProducer(rec))
	d := route(t, r, TaskContext{TaskType: TaskInvestigation, AlertSeverity: "critical", PreviousConfidence: conf(0.7), MinTier: "tier_1+"})
	sel := rec.byType(taxonomy.RoutingTierSelected)
	require.Len(t, sel, 1)
	e := sel[0]
	assert.Equal(t, "tier_1_plus", e.Context[KeyRequestedMinTier], "written canonically")
	assert.Equal(t, "tier_1_plus", e.Context["llm_model_tier"])
	assert.Equal(t, 0.7, e.Context["previous_confidence"])
	assert.Equal(t, []string{tagRequestedEscalation}, e.Decision["constraints_applied"])
	assert.Equal(t, d.Reason, e.Decision["reasoning_summary"])

	rec.reset()
	route(t, r, TaskContext{TaskType: TaskIOCExtraction, MinTier: taxonomy.Tier1})
	e = rec.byType(taxonomy.RoutingTierSelected)[0]
	assert.Equal(t, "tier_1", e.Context[KeyRequestedMinTier])
	assert.Equal(t, []string{"requested_min_tier→tier_1"}, e.Decision["constraints_applied"])

	rec.reset()
	route(t, r, TaskContext{TaskType: TaskIOCExtraction})
	assert.NotContains(t, rec.byType(taxonomy.RoutingTierSelected)[0].Context, KeyRequestedMinTier, "absent when not asked")
}
