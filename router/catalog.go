package router

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"strings"

	"github.com/socwarden/warden/taxonomy"
)

// ModelConfig describes one model: where it runs, how large its context
// window is, what it costs and what it can do.
//
// SupportsToolUse and SupportsPromptCaching default to true, which Go's zero
// value cannot express: [NewModelConfig] and JSON decoding (absent keys) apply
// the defaults, a bare struct literal leaves them false.
type ModelConfig struct {
	Provider         Provider `json:"provider"`
	ModelID          string   `json:"model_id"`
	MaxContextTokens int      `json:"max_context_tokens"`
	// Prices in USD per million tokens.
	CostPerMTokInput  float64 `json:"cost_per_mtok_input"`
	CostPerMTokOutput float64 `json:"cost_per_mtok_output"`
	// CostPerMTokCacheRead 0 means 0.10 × the input price.
	CostPerMTokCacheRead float64 `json:"cost_per_mtok_cache_read"`
	// CostPerMTokCacheWrite 0 means 1.25 × the input price.
	CostPerMTokCacheWrite    float64 `json:"cost_per_mtok_cache_write"`
	SupportsExtendedThinking bool    `json:"supports_extended_thinking"`
	SupportsToolUse          bool    `json:"supports_tool_use"`
	SupportsPromptCaching    bool    `json:"supports_prompt_caching"`
	BatchEligible            bool    `json:"batch_eligible"`
}

// NewModelConfig returns a model with tool use and prompt caching enabled and
// no extended thinking or batch eligibility.
func NewModelConfig(p Provider, modelID string, maxContext int, inPerMTok, outPerMTok float64) ModelConfig {
	return ModelConfig{
		Provider: p, ModelID: modelID, MaxContextTokens: maxContext,
		CostPerMTokInput: inPerMTok, CostPerMTokOutput: outPerMTok,
		SupportsToolUse: true, SupportsPromptCaching: true,
	}
}

// UnmarshalJSON decodes m starting from the defaults, so absent
// supports_tool_use and supports_prompt_caching keys mean true.
func (m *ModelConfig) UnmarshalJSON(b []byte) error {
	type plain ModelConfig
	v := plain{SupportsToolUse: true, SupportsPromptCaching: true}
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	*m = ModelConfig(v)
	return nil
}

// Satisfies reports whether m can serve a task with capabilities c: tool use
// and extended thinking when required, and a context window of at least
// c.MaxContextTokens. JSON reliability and latency are not checked.
func (m ModelConfig) Satisfies(c Capabilities) bool {
	switch {
	case c.RequiresToolUse && !m.SupportsToolUse:
		return false
	case c.RequiresExtendedThinking && !m.SupportsExtendedThinking:
		return false
	case c.MaxContextTokens > m.MaxContextTokens:
		return false
	}
	return true
}

// CacheReadPrice is the effective cache-read price per million tokens.
func (m ModelConfig) CacheReadPrice() float64 {
	if m.CostPerMTokCacheRead != 0 {
		return m.CostPerMTokCacheRead
	}
	return m.CostPerMTokInput * 10 / 100
}

// CacheWritePrice is the effective cache-write price per million tokens.
func (m ModelConfig) CacheWritePrice() float64 {
	if m.CostPerMTokCacheWrite != 0 {
		return m.CostPerMTokCacheWrite
	}
	return m.CostPerMTokInput * 125 / 100
}

// Usage is the token usage of one call. Negative counts count as 0.
type Usage struct {
	InputTokens      int `json:"input_tokens"`
	OutputTokens     int `json:"output_tokens"`
	CacheReadTokens  int `json:"cache_read_tokens"`
	CacheWriteTokens int `json:"cache_write_tokens"`
}

// Cost is the USD cost of u at m's prices, rounded to 6 decimal places (half
// away from zero).
func (m ModelConfig) Cost(u Usage) float64 {
	total := float64(nonNeg(u.InputTokens))*m.CostPerMTokInput +
		float64(nonNeg(u.OutputTokens))*m.CostPerMTokOutput +
		float64(nonNeg(u.CacheReadTokens))*m.CacheReadPrice() +
		float64(nonNeg(u.CacheWriteTokens))*m.CacheWritePrice()
	// total is in micro-dollars; rounding it to an integer rounds the USD
	// amount to 6 decimal places.
	return math.Round(total) / 1e6
}

// MaxCost is the most a call to m can cost with at most inputTokens prompt
// tokens and maxOutputTokens output tokens: input is priced at the higher of
// the input and cache-write prices (a prompt may be written to the cache), and
// the result is rounded up to the next micro-dollar. It is the estimate a
// caller reserves with [SpendGuard.Reserve].
func (m ModelConfig) MaxCost(inputTokens, maxOutputTokens int) float64 {
	in := m.CostPerMTokInput
	if m.SupportsPromptCaching {
		in = max(in, m.CacheWritePrice())
	}
	total := float64(nonNeg(inputTokens))*in + float64(nonNeg(maxOutputTokens))*m.CostPerMTokOutput
	return math.Ceil(total) / 1e6
}

func nonNeg(n int) int { return max(n, 0) }

func (m ModelConfig) validate(where string) error {
	switch {
	case strings.TrimSpace(string(m.Provider)) == "":
		return configErr(where, "provider is empty")
	case strings.TrimSpace(m.ModelID) == "":
		return configErr(where, "model_id is empty")
	case m.MaxContextTokens <= 0:
		return configErr(where, "max_context_tokens must be > 0")
	}
	for _, p := range [...]struct {
		name string
		v    float64
	}{
		{"cost_per_mtok_input", m.CostPerMTokInput},
		{"cost_per_mtok_output", m.CostPerMTokOutput},
		{"cost_per_mtok_cache_read", m.CostPerMTokCacheRead},
		{"cost_per_mtok_cache_write", m.CostPerMTokCacheWrite},
	} {
		if math.IsNaN(p.v) || math.IsInf(p.v, 0) || p.v < 0 || p.v > maxPricePerMTok {
			return configErr(where, p.name+" must be finite, >= 0 and <= 1e6")
		}
	}
	return nil
}

// maxPricePerMTok bounds prices so that no realistic token count can overflow
// a cost.
const maxPricePerMTok = 1e6

// TierParams are the generation parameters of a tier.
type TierParams struct {
	MaxTokens   int     `json:"max_tokens"`
	Temperature float64 `json:"temperature"`
}

// Catalog is the data the router routes over: the primary model of each
// tier, the ordered fallbacks of each tier (the failover order), and the
// generation parameters of each tier. Hosts replace prices, context windows
// and models by passing their own catalogue to [WithCatalog], for example one
// read from configuration with [DecodeCatalog].
type Catalog struct {
	Models     map[taxonomy.ModelTier]ModelConfig   `json:"models"`
	Fallbacks  map[taxonomy.ModelTier][]ModelConfig `json:"fallbacks"`
	TierParams map[taxonomy.ModelTier]TierParams    `json:"tier_params"`
}

// Default catalogue model ids.
const (
	ModelHaiku     = "claude-haiku-4-5-20251001"
	ModelSonnet    = "claude-sonnet-4-5-20250929"
	ModelOpus      = "claude-opus-4-6"
	ModelGPT4o     = "gpt-4o"
	ModelGPT4oMini = "gpt-4o-mini"
	claudeContext  = 200000
	openAIContext  = 128000
)

// DefaultModels returns a fresh copy of the default primary model per tier.
func DefaultModels() map[taxonomy.ModelTier]ModelConfig {
	opus := NewModelConfig(ProviderAnthropic, ModelOpus, claudeContext, 15.00, 75.00)
	opus.SupportsExtendedThinking = true
	batch := NewModelConfig(ProviderAnthropic, ModelSonnet, claudeContext, 1.50, 7.50)
	batch.BatchEligible = true
	return map[taxonomy.ModelTier]ModelConfig{
		taxonomy.Tier0:     NewModelConfig(ProviderAnthropic, ModelHaiku, claudeContext, 0.80, 4.00),
		taxonomy.Tier1:     NewModelConfig(ProviderAnthropic, ModelSonnet, claudeContext, 3.00, 15.00),
		taxonomy.Tier1Plus: opus,
		taxonomy.Tier2:     batch,
	}
}

// DefaultFallbacks returns a fresh copy of the default ordered fallbacks per
// tier; tier_2 has none (batch work waits for its provider).
func DefaultFallbacks() map[taxonomy.ModelTier][]ModelConfig {
	return map[taxonomy.ModelTier][]ModelConfig{
		taxonomy.Tier0:     {NewModelConfig(ProviderOpenAI, ModelGPT4oMini, openAIContext, 0.15, 0.60)},
		taxonomy.Tier1:     {NewModelConfig(ProviderOpenAI, ModelGPT4o, openAIContext, 2.50, 10.00)},
		taxonomy.Tier1Plus: {NewModelConfig(ProviderOpenAI, ModelGPT4o, openAIContext, 2.50, 10.00)},
		taxonomy.Tier2:     {},
	}
}

// DefaultTierParams returns a fresh copy of the default generation parameters
// per tier.
func DefaultTierParams() map[taxonomy.ModelTier]TierParams {
	return map[taxonomy.ModelTier]TierParams{
		taxonomy.Tier0:     {MaxTokens: 2048, Temperature: 0.1},
		taxonomy.Tier1:     {MaxTokens: 8192, Temperature: 0.2},
		taxonomy.Tier1Plus: {MaxTokens: 16384, Temperature: 0.2},
		taxonomy.Tier2:     {MaxTokens: 16384, Temperature: 0.3},
	}
}

// DefaultCatalog returns a fresh copy of the default catalogue.
func DefaultCatalog() Catalog {
	return Catalog{Models: DefaultModels(), Fallbacks: DefaultFallbacks(), TierParams: DefaultTierParams()}
}

// Clone returns a deep copy of c.
func (c Catalog) Clone() Catalog {
	out := Catalog{}
	if c.Models != nil {
		out.Models = make(map[taxonomy.ModelTier]ModelConfig, len(c.Models))
		for k, v := range c.Models {
			out.Models[k] = v
		}
	}
	if c.Fallbacks != nil {
		out.Fallbacks = make(map[taxonomy.ModelTier][]ModelConfig, len(c.Fallbacks))
		for k, v := range c.Fallbacks {
			out.Fallbacks[k] = append([]ModelConfig{}, v...)
		}
	}
	if c.TierParams != nil {
		out.TierParams = make(map[taxonomy.ModelTier]TierParams, len(c.TierParams))
		for k, v := range c.TierParams {
			out.TierParams[k] = v
		}
	}
	return out
}

// Validate checks c: a primary for each of the four tiers; only known tiers
// as keys; every model with a provider, a model id, a positive context window
// and finite non-negative prices; no fallback on its tier primary's provider
// (failover would never pick it); tier parameters, when given, with
// max_tokens > 0 and a temperature in [0, 2]. A missing tier parameter entry
// means that tier's default.
func (c Catalog) Validate() error {
	for t, m := range c.Models {
		if !t.Known() {
			return configErr(fmt.Sprintf("models[%q]", string(t)), "unknown tier")
		}
		if err := m.validate("models[" + string(t) + "]"); err != nil {
			return err
		}
	}
	for _, t := range taxonomy.ModelTiers() {
		if _, ok := c.Models[t]; !ok {
			return configErr("models["+string(t)+"]", "missing primary model")
		}
	}
	for t, fbs := range c.Fallbacks {
		if !t.Known() {
			return configErr(fmt.Sprintf("fallbacks[%q]", string(t)), "unknown tier")
		}
		for i, m := range fbs {
			where := fmt.Sprintf("fallbacks[%s][%d]", t, i)
			if err := m.validate(where); err != nil {
				return err
			}
			if m.Provider == c.Models[t].Provider {
				return configErr(where, "uses the primary's provider "+string(m.Provider)+"; failover would never pick it")
			}
		}
	}
	for t, p := range c.TierParams {
		if !t.Known() {
			return configErr(fmt.Sprintf("tier_params[%q]", string(t)), "unknown tier")
		}
		if p.MaxTokens <= 0 {
			return configErr("tier_params["+string(t)+"]", "max_tokens must be > 0")
		}
		if math.IsNaN(p.Temperature) || p.Temperature < 0 || p.Temperature > 2 {
			return configErr("tier_params["+string(t)+"]", "temperature must be in [0, 2]")
		}
	}
	return nil
}

// DecodeCatalog reads a JSON catalogue ({"models": {...}, "fallbacks":
// {...}, "tier_params": {...}}), rejecting unknown keys, fills absent tier
// parameters with the defaults and validates the result. Tier keys accept
// the input alias "tier_1+".
func DecodeCatalog(r io.Reader) (Catalog, error) {
	var c Catalog
	dec := json.NewDecoder(r)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		return Catalog{}, &ConfigError{Option: "catalog", Reason: "decode: " + err.Error()}
	}
	if dec.More() {
		return Catalog{}, configErr("catalog", "trailing data after the JSON object")
	}
	if c.TierParams == nil {
		c.TierParams = map[taxonomy.ModelTier]TierParams{}
	}
	for t, p := range DefaultTierParams() {
		if _, ok := c.TierParams[t]; !ok {
			c.TierParams[t] = p
		}
	}
	if err := c.Validate(); err != nil {
		return Catalog{}, err
	}
	return c, nil
}
