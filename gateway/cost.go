package gateway

import (
	"math"

	"github.com/socwarden/warden/router"
)

// ModelPrice is a model's price in USD per token.
type ModelPrice struct {
	Input      float64 `json:"input"`
	Output     float64 `json:"output"`
	CacheRead  float64 `json:"cache_read"`
	CacheWrite float64 `json:"cache_write"`
}

// DefaultPricing returns a fresh copy of the price table for calls without a
// routing decision (the router's catalogue prices the routed ones).
func DefaultPricing() map[string]ModelPrice {
	return map[string]ModelPrice{
		router.ModelSonnet: {Input: 3.0 / 1e6, Output: 15.0 / 1e6, CacheRead: 0.30 / 1e6, CacheWrite: 3.75 / 1e6},
		router.ModelHaiku:  {Input: 0.80 / 1e6, Output: 4.0 / 1e6, CacheRead: 0.08 / 1e6, CacheWrite: 1.0 / 1e6},
	}
}

// ComputeCost is u at p, rounded to 6 decimal places. Negative counts count
// as 0.
func ComputeCost(u Usage, p ModelPrice) float64 {
	x := float64(max(u.InputTokens, 0))*p.Input + float64(max(u.OutputTokens, 0))*p.Output +
		float64(max(u.CacheReadTokens, 0))*p.CacheRead + float64(max(u.CacheWriteTokens, 0))*p.CacheWrite
	return math.Round(x*1e6) / 1e6
}

// modelConfigFor turns a price-table entry into the router's model shape so
// that the spend guard can price the reservation of an unrouted call.
func modelConfigFor(p Provider, modelID string, price ModelPrice) router.ModelConfig {
	m := router.NewModelConfig(p, modelID, math.MaxInt32, price.Input*1e6, price.Output*1e6)
	m.CostPerMTokCacheRead = price.CacheRead * 1e6
	m.CostPerMTokCacheWrite = price.CacheWrite * 1e6
	return m
}

func toRouterUsage(u Usage) router.Usage {
	return router.Usage{InputTokens: u.InputTokens, OutputTokens: u.OutputTokens,
		CacheReadTokens: u.CacheReadTokens, CacheWriteTokens: u.CacheWriteTokens}
}

// Token estimates. Providers count tokens with their own tokenizers, which
// the gateway does not ship; these bound or approximate the count from the
// UTF-8 length.
const (
	// bytesPerTokenEstimate is a conservative average for English prose,
	// JSON and log text (real tokenizers average about 4).
	bytesPerTokenEstimate = 3
	// messageOverheadTokens covers role markers and formatting tokens a
	// provider adds around each message.
	messageOverheadTokens = 16
)

// EstimateTokens approximates the token count of text (⌈bytes/3⌉), for
// routing decisions that depend on the prompt's size.
func EstimateTokens(text string) int {
	return (len(text) + bytesPerTokenEstimate - 1) / bytesPerTokenEstimate
}

// UpperBoundTokens bounds the token count of text from above: every token
// of a byte-level BPE tokenizer covers at least one byte, plus a per-message
// allowance. The spend reservation uses it so that a call can never cost
// more than it reserved.
func UpperBoundTokens(text string) int { return len(text) + messageOverheadTokens }
