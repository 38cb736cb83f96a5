package router

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/socwarden/warden/taxonomy"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Checklist 9.
func TestDefaultCapabilities(t *testing.T) {
	c := DefaultCapabilities()
	assert.Equal(t, Capabilities{MaxContextTokens: 8192, LatencySLOSeconds: 30}, c)
}

// Checklist 10.
func TestCapabilitiesJSONRoundTrip(t *testing.T) {
	in := Capabilities{true, true, 12345, 7, true}
	b, err := json.Marshal(in)
	require.NoError(t, err)
	for _, k := range []string{"requires_tool_use", "requires_json_reliability", "max_context_tokens", "latency_slo_seconds", "requires_extended_thinking"} {
		assert.Contains(t, string(b), `"`+k+`"`)
	}
	var out Capabilities
	require.NoError(t, json.Unmarshal(b, &out))
	assert.Equal(t, in, out)
}

// Checklist 11.
func TestNewModelConfigDefaults(t *testing.T) {
	m := NewModelConfig(ProviderAnthropic, "m", 100000, 1.0, 5.0)
	assert.True(t, m.SupportsToolUse)
	assert.True(t, m.SupportsPromptCaching)
	assert.False(t, m.SupportsExtendedThinking)
	assert.False(t, m.BatchEligible)
}

// Checklist 12.
func TestModelConfigJSON(t *testing.T) {
	var m ModelConfig
	require.NoError(t, json.Unmarshal([]byte(`{"provider":"openai","model_id":"x","max_context_tokens":10}`), &m))
	assert.True(t, m.SupportsToolUse)
	assert.True(t, m.SupportsPromptCaching)

	in := ModelConfig{Provider: ProviderGroq, ModelID: "llama", MaxContextTokens: 8000, CostPerMTokInput: 0.1,
		CostPerMTokOutput: 0.2, CostPerMTokCacheRead: 0.01, CostPerMTokCacheWrite: 0.3,
		SupportsExtendedThinking: true, SupportsToolUse: false, SupportsPromptCaching: false, BatchEligible: true}
	b, err := json.Marshal(in)
	require.NoError(t, err)
	var out ModelConfig
	require.NoError(t, json.Unmarshal(b, &out))
	assert.Equal(t, in, out)
}

// Checklist 13-16.
func TestSatisfies(t *testing.T) {
	full := ModelConfig{MaxContextTokens: 200000, SupportsToolUse: true, SupportsExtendedThinking: true}
	assert.True(t, full.Satisfies(Capabilities{RequiresToolUse: true, RequiresExtendedThinking: true, MaxContextTokens: 100000}))

	noTools := ModelConfig{MaxContextTokens: 200000}
	assert.False(t, noTools.Satisfies(Capabilities{RequiresToolUse: true, MaxContextTokens: 1}))
	assert.False(t, noTools.Satisfies(Capabilities{RequiresExtendedThinking: true, MaxContextTokens: 1}))

	small := ModelConfig{MaxContextTokens: 4096, SupportsToolUse: true}
	assert.False(t, small.Satisfies(Capabilities{MaxContextTokens: 100000}))

	plain := ModelConfig{MaxContextTokens: 200000}
	assert.True(t, plain.Satisfies(DefaultCapabilities()))
}

// Checklist 17-21.
func TestDefaultPrimaries(t *testing.T) {
	m := DefaultModels()
	t0 := m[taxonomy.Tier0]
	assert.Contains(t, t0.ModelID, "haiku")
	assert.Equal(t, 0.80, t0.CostPerMTokInput)
	assert.Equal(t, 4.0, t0.CostPerMTokOutput)
	assert.False(t, t0.SupportsExtendedThinking)
	assert.False(t, t0.BatchEligible)

	t1 := m[taxonomy.Tier1]
	assert.Contains(t, t1.ModelID, "sonnet")
	assert.Equal(t, 3.0, t1.CostPerMTokInput)
	assert.Equal(t, 15.0, t1.CostPerMTokOutput)
	assert.True(t, t1.SupportsPromptCaching)

	t1p := m[taxonomy.Tier1Plus]
	assert.Contains(t, t1p.ModelID, "opus")
	assert.True(t, t1p.SupportsExtendedThinking)
	assert.Equal(t, 15.0, t1p.CostPerMTokInput)

	t2 := m[taxonomy.Tier2]
	assert.True(t, t2.BatchEligible)
	assert.Equal(t, 1.5, t2.CostPerMTokInput)

	require.Len(t, m, 4)
	for _, tier := range taxonomy.ModelTiers() {
		assert.Equal(t, 200000, m[tier].MaxContextTokens, tier)
	}
}

// Checklist 22.
func TestDefaultFallbacks(t *testing.T) {
	f, m := DefaultFallbacks(), DefaultModels()
	require.Len(t, f, 4)
	assert.NotNil(t, f[taxonomy.Tier2])
	assert.Empty(t, f[taxonomy.Tier2])
	for tier, fbs := range f {
		for _, fb := range fbs {
			assert.NotEqual(t, m[tier].Provider, fb.Provider, tier)
		}
	}
	assert.False(t, f[taxonomy.Tier1Plus][0].SupportsExtendedThinking)
	assert.Equal(t, 128000, f[taxonomy.Tier1][0].MaxContextTokens)
}

// Checklist 23 (parametrised over the four tiers).
func TestFallbacksSatisfyTierTasks(t *testing.T) {
	f := DefaultFallbacks()
	for _, tier := range taxonomy.ModelTiers() {
		t.Run(string(tier), func(t *testing.T) {
			for _, task := range tasksOfTier(tier) {
				caps, _ := TaskCapabilities(task)
				for _, fb := range f[tier] {
					assert.True(t, fb.Satisfies(caps), "%s for %s", fb.ModelID, task)
				}
			}
		})
	}
}

// Checklist 24.
func TestDefaultTierParams(t *testing.T) {
	p := DefaultTierParams()
	require.Len(t, p, 4)
	assert.Equal(t, TierParams{2048, 0.1}, p[taxonomy.Tier0])
	assert.Equal(t, TierParams{8192, 0.2}, p[taxonomy.Tier1])
	assert.Equal(t, 16384, p[taxonomy.Tier1Plus].MaxTokens)
	assert.Equal(t, 0.3, p[taxonomy.Tier2].Temperature)
}

// Checklist 25: cost with derived cache prices.
func TestCost(t *testing.T) {
	sonnet := DefaultModels()[taxonomy.Tier1]
	u := Usage{InputTokens: 1000000, OutputTokens: 1000000, CacheReadTokens: 1000000, CacheWriteTokens: 1000000}
	assert.Equal(t, 22.05, sonnet.Cost(u))
	haiku := DefaultModels()[taxonomy.Tier0]
	assert.Equal(t, 0.08, haiku.CacheReadPrice())
	assert.Equal(t, 1.00, haiku.CacheWritePrice())
	assert.Equal(t, 0.30, sonnet.CacheReadPrice())
	assert.Equal(t, 3.75, sonnet.CacheWritePrice())

	assert.Equal(t, 0.0045, sonnet.Cost(Usage{InputTokens: 500, OutputTokens: 200}))
	assert.Equal(t, 0.0, sonnet.Cost(Usage{InputTokens: -5, OutputTokens: -1}), "negative counts are 0")
	explicit := sonnet
	explicit.CostPerMTokCacheRead = 1
	assert.Equal(t, 1.0, explicit.Cost(Usage{CacheReadTokens: 1000000}))
}

// MaxCost is an upper bound of Cost for any usage within the budget.
func TestMaxCostBoundsCost(t *testing.T) {
	for _, m := range DefaultModels() {
		max := m.MaxCost(10000, 2000)
		for _, u := range []Usage{
			{InputTokens: 10000, OutputTokens: 2000},
			{CacheWriteTokens: 10000, OutputTokens: 2000},
			{InputTokens: 4000, CacheReadTokens: 6000, OutputTokens: 2000},
		} {
			assert.LessOrEqual(t, m.Cost(u), max, m.ModelID)
		}
	}
	sonnet := DefaultModels()[taxonomy.Tier1]
	assert.Equal(t, 0.0675, sonnet.MaxCost(10000, 2000), "input at the 3.75 cache-write price + output")
}

// Checklist 26 and catalogue validation.
func TestCatalogValidation(t *testing.T) {
	cat := DefaultCatalog()
	delete(cat.Models, taxonomy.Tier2)
	_, err := New(WithCatalog(cat))
	require.ErrorIs(t, err, ErrInvalidConfig)
	assert.Contains(t, err.Error(), "tier_2")

	bad := []func(c *Catalog){
		func(c *Catalog) { m := c.Models[taxonomy.Tier0]; m.ModelID = " "; c.Models[taxonomy.Tier0] = m },
		func(c *Catalog) { m := c.Models[taxonomy.Tier0]; m.MaxContextTokens = 0; c.Models[taxonomy.Tier0] = m },
		func(c *Catalog) {
			m := c.Models[taxonomy.Tier0]
			m.CostPerMTokInput = math.NaN()
			c.Models[taxonomy.Tier0] = m
		},
		func(c *Catalog) {
			m := c.Models[taxonomy.Tier0]
			m.CostPerMTokOutput = -1
			c.Models[taxonomy.Tier0] = m
		},
		func(c *Catalog) { c.Models["tier_9"] = c.Models[taxonomy.Tier0] },
		func(c *Catalog) { c.Fallbacks["tier_9"] = nil },
		func(c *Catalog) { c.Fallbacks[taxonomy.Tier0] = []ModelConfig{c.Models[taxonomy.Tier1]} },
		func(c *Catalog) { c.Fallbacks[taxonomy.Tier0] = []ModelConfig{{Provider: ProviderGroq, ModelID: "x"}} },
		func(c *Catalog) { c.TierParams[taxonomy.Tier0] = TierParams{MaxTokens: 0} },
		func(c *Catalog) { c.TierParams[taxonomy.Tier0] = TierParams{MaxTokens: 1, Temperature: 3} },
	}
	for i, mutate := range bad {
		c := DefaultCatalog()
		mutate(&c)
		_, err := New(WithCatalog(c))
		var ce *ConfigError
		assert.True(t, errors.As(err, &ce), "case %d: %v", i, err)
	}

	// A missing fallback tier means no fallbacks; missing params mean defaults.
	c := DefaultCatalog()
	delete(c.Fallbacks, taxonomy.Tier0)
	delete(c.TierParams, taxonomy.Tier0)
	r, err := New(WithCatalog(c))
	require.NoError(t, err)
	d, err := r.Route(bg, TaskContext{TaskType: TaskIOCExtraction})
	require.NoError(t, err)
	assert.Empty(t, d.Fallbacks)
	assert.Equal(t, 2048, d.MaxTokens)
}

// The catalogue is copied: mutating the caller's maps later changes nothing.
func TestCatalogIsCopied(t *testing.T) {
	c := DefaultCatalog()
	r, err := New(WithCatalog(c))
	require.NoError(t, err)
	c.Models[taxonomy.Tier0] = NewModelConfig(ProviderLocal, "changed", 10, 0, 0)
	c.Fallbacks[taxonomy.Tier0][0].ModelID = "changed"
	d, err := r.Route(bg, TaskContext{TaskType: TaskIOCExtraction})
	require.NoError(t, err)
	assert.Equal(t, ModelHaiku, d.Model.ModelID)
	assert.Equal(t, []string{ModelGPT4oMini}, d.FallbackModelIDs())
	got := r.Catalog()
	got.Models[taxonomy.Tier0] = ModelConfig{}
	assert.Equal(t, ModelHaiku, r.Catalog().Models[taxonomy.Tier0].ModelID)
}

const sampleCatalog = `{
  "models": {
    "tier_0": {"provider": "local", "model_id": "llama-3.1-8b", "max_context_tokens": 128000,
               "cost_per_mtok_input": 0, "cost_per_mtok_output": 0, "supports_prompt_caching": false},
    "tier_1": {"provider": "anthropic", "model_id": "claude-sonnet-4-5-20250929", "max_context_tokens": 200000,
               "cost_per_mtok_input": 3, "cost_per_mtok_output": 15},
    "tier_1+": {"provider": "anthropic", "model_id": "claude-opus-4-6", "max_context_tokens": 200000,
               "cost_per_mtok_input": 15, "cost_per_mtok_output": 75, "supports_extended_thinking": true},
    "tier_2": {"provider": "anthropic", "model_id": "claude-sonnet-4-5-20250929", "max_context_tokens": 200000,
               "cost_per_mtok_input": 1.5, "cost_per_mtok_output": 7.5, "batch_eligible": true}
  },
  "fallbacks": {"tier_1": [{"provider": "openai", "model_id": "gpt-4o", "max_context_tokens": 128000,
                            "cost_per_mtok_input": 2.5, "cost_per_mtok_output": 10}]},
  "tier_params": {"tier_0": {"max_tokens": 1024, "temperature": 0}}
}`

// A host-supplied catalogue: tier_1+ accepted, defaults for absent params.
func TestDecodeCatalog(t *testing.T) {
	c, err := DecodeCatalog(strings.NewReader(sampleCatalog))
	require.NoError(t, err)
	assert.Equal(t, "claude-opus-4-6", c.Models[taxonomy.Tier1Plus].ModelID)
	assert.True(t, c.Models[taxonomy.Tier1].SupportsToolUse, "absent flag defaults to true")
	assert.False(t, c.Models[taxonomy.Tier0].SupportsPromptCaching)
	assert.Equal(t, TierParams{1024, 0}, c.TierParams[taxonomy.Tier0])
	assert.Equal(t, DefaultTierParams()[taxonomy.Tier1], c.TierParams[taxonomy.Tier1])

	r, err := New(WithCatalog(c))
	require.NoError(t, err)
	d, err := r.Route(bg, TaskContext{TaskType: TaskIOCExtraction})
	require.NoError(t, err)
	assert.Equal(t, "llama-3.1-8b", d.Model.ModelID)
	assert.False(t, d.UsePromptCaching)
	assert.Equal(t, 1024, d.MaxTokens)

	for _, in := range []string{
		``, `[]`, `{"models": {}}`, `{"unknown": 1}`, sampleCatalog + `{}`,
		`{"models": {"tier_7": {}}}`,
	} {
		_, err := DecodeCatalog(strings.NewReader(in))
		assert.ErrorIs(t, err, ErrInvalidConfig, in)
	}
}

// Round trip: the default catalogue encodes and decodes to itself.
func TestCatalogRoundTrip(t *testing.T) {
	b, err := json.Marshal(DefaultCatalog())
	require.NoError(t, err)
	c, err := DecodeCatalog(bytes.NewReader(b))
	require.NoError(t, err)
	assert.Equal(t, DefaultCatalog(), c)
}

// FuzzDecodeCatalog: any input either fails with a ConfigError or yields a
// catalogue New accepts; nothing panics.
func FuzzDecodeCatalog(f *testing.F) {
	f.Add([]byte(sampleCatalog))
	b, _ := json.Marshal(DefaultCatalog())
	f.Add(b)
	f.Add([]byte(`{"models":{"tier_1+":{}}}`))
	f.Add([]byte(`{"models":{"tier_0":{"max_context_tokens":-1}}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := DecodeCatalog(bytes.NewReader(data))
		if err != nil {
			var ce *ConfigError
			if !errors.As(err, &ce) {
				t.Fatalf("error %v is not a *ConfigError", err)
			}
			return
		}
		r, err := New(WithCatalog(c))
		if err != nil {
			t.Fatalf("decoded catalogue rejected by New: %v", err)
		}
		if _, err := r.Route(bg, TaskContext{TaskType: TaskInvestigation, ContextTokens: 150000}); err != nil {
			t.Fatalf("route: %v", err)
		}
	})
}
