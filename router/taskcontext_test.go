package router

import (
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/socwarden/warden/taxonomy"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Checklist 27.
func TestNormalizedDefaults(t *testing.T) {
	n, err := TaskContext{TaskType: TaskIOCExtraction}.Normalized()
	require.NoError(t, err)
	assert.Equal(t, 0, n.ContextTokens)
	assert.Equal(t, 30, n.TimeBudgetSeconds)
	assert.Equal(t, "medium", n.AlertSeverity)
	assert.Equal(t, "standard", n.TenantTier)
	assert.False(t, n.RequiresReasoning)
	assert.Nil(t, n.PreviousConfidence)
}

// Checklist 28.
func TestNormalizedKeepsFields(t *testing.T) {
	in := TaskContext{TaskType: TaskInvestigation, ContextTokens: 150000, TimeBudgetSeconds: 60,
		AlertSeverity: "critical", TenantTier: "premium", RequiresReasoning: true, PreviousConfidence: conf(0.4),
		MinTier: taxonomy.Tier1Plus, TenantID: "t1", InvestigationID: "inv-1", AlertID: "a-1"}
	n, err := in.Normalized()
	require.NoError(t, err)
	assert.Equal(t, in, n)
}

// Checklist 29, 30.
func TestDecisionDefaults(t *testing.T) {
	d := NewDecision(taxonomy.Tier0, DefaultModels()[taxonomy.Tier0], 2048, 0.1)
	assert.False(t, d.UseExtendedThinking)
	assert.True(t, d.UsePromptCaching)
	assert.Equal(t, "", d.Reason)
	assert.Equal(t, taxonomy.DegradationFullCapability, d.DegradationLevel)
	b, err := d.MarshalJSON()
	require.NoError(t, err)
	assert.Contains(t, string(b), `"fallback_configs":[]`)
	assert.Contains(t, string(Must(Decision{}.MarshalJSON())), `"fallback_configs":[]`)

	d.UseExtendedThinking, d.Reason = true, "escalation"
	assert.True(t, d.UseExtendedThinking)
	assert.Equal(t, "escalation", d.Reason)
}

func Must(b []byte, err error) []byte {
	if err != nil {
		panic(err)
	}
	return b
}

// Checklist 31: invalid inputs name the field, return a typed error, and
// emit nothing.
func TestRouteInvalidTaskContext(t *testing.T) {
	rec := &recorder{}
	r, err := New(WithAuditProducer(rec))
	require.NoError(t, err)
	cases := map[string]TaskContext{
		"task_type":           {TaskType: "  "},
		"context_tokens":      {TaskType: TaskInvestigation, ContextTokens: -1},
		"time_budget_seconds": {TaskType: TaskInvestigation, TimeBudgetSeconds: -1},
		"previous_confidence": {TaskType: TaskInvestigation, PreviousConfidence: conf(1.5)},
		"alert_severity":      {TaskType: TaskInvestigation, AlertSeverity: "urgent"},
		"min_tier":            {TaskType: TaskInvestigation, MinTier: "tier_9"},
	}
	// Batch ranks with tier_0 by capability: as a floor it would be a no-op.
	cases["min_tier/batch"] = TaskContext{TaskType: TaskInvestigation, MinTier: taxonomy.Tier2}
	cases["previous_confidence/nan"] = TaskContext{TaskType: TaskInvestigation, PreviousConfidence: conf(math.NaN())}
	cases["previous_confidence/neg"] = TaskContext{TaskType: TaskInvestigation, PreviousConfidence: conf(-0.1)}
	cases["task_type/long"] = TaskContext{TaskType: TaskType(strings.Repeat("x", MaxTaskTypeBytes+1))}
	cases["task_type/utf8"] = TaskContext{TaskType: "bad\xff"}
	for name, tc := range cases {
		_, err := r.Route(bg, tc)
		require.ErrorIs(t, err, ErrInvalidTaskContext, name)
		var ie *InvalidTaskContextError
		require.True(t, errors.As(err, &ie), name)
		field, _, _ := strings.Cut(name, "/")
		assert.Equal(t, field, ie.Field, name)
		assert.Contains(t, err.Error(), field)
	}
	assert.Empty(t, rec.all(), "validation failures emit nothing")
}

// Checklist 32: severity is trimmed and case-insensitive.
func TestSeverityCaseInsensitive(t *testing.T) {
	r, _ := New()
	d, err := r.Route(bg, TaskContext{TaskType: TaskIOCExtraction, AlertSeverity: "Critical ", RequiresReasoning: true})
	require.NoError(t, err)
	assert.Equal(t, taxonomy.Tier1, d.Tier)
	n, err := TaskContext{TaskType: " x ", AlertSeverity: " INFORMATIONAL"}.Normalized()
	require.NoError(t, err)
	assert.Equal(t, "informational", n.AlertSeverity)
	assert.Equal(t, TaskType("x"), n.TaskType)
}

// FuzzTaskContext: Route never panics and returns either a decision with a
// known tier and a model of that tier's catalogue, or ErrInvalidTaskContext.
func FuzzTaskContext(f *testing.F) {
	f.Add("investigation", 150000, 2, "Critical", true, 0.3, true)
	f.Add("", -1, -1, "urgent", false, math.NaN(), true)
	f.Add("ioc_extraction", 100000, 3, "high", true, 0.6, false)
	r, _ := New(WithHealth(fakeHealth{down: map[Provider]bool{ProviderAnthropic: true}}))
	f.Fuzz(func(t *testing.T, task string, ctxTokens, budget int, sev string, reasoning bool, c float64, hasConf bool) {
		tc := TaskContext{TaskType: TaskType(task), ContextTokens: ctxTokens, TimeBudgetSeconds: budget,
			AlertSeverity: sev, RequiresReasoning: reasoning}
		if hasConf {
			tc.PreviousConfidence = &c
		}
		d, err := r.Route(bg, tc)
		if err != nil {
			if !errors.Is(err, ErrInvalidTaskContext) {
				t.Fatalf("unexpected error %v", err)
			}
			return
		}
		if !d.Tier.Known() || d.ID == "" || d.Reason == "" {
			t.Fatalf("bad decision %+v", d)
		}
		if d.IsFallback && d.Model.MaxContextTokens < ctxTokens {
			t.Fatalf("fallback %s cannot hold %d tokens", d.Model.ModelID, ctxTokens)
		}
	})
}
