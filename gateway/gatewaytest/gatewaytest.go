// Package gatewaytest provides test doubles for the gateway: a scripted LLM
// client that replays queued answers and records every request, and a fake
// clock whose Sleep advances time instead of waiting.
package gatewaytest

import (
	"context"
	"sync"
	"time"

	"github.com/socwarden/warden/gateway"
)

// FakeClock is a manual clock. Now and Sleep are safe for concurrent use.
type FakeClock struct {
	mu    sync.Mutex // guards now and slept
	now   time.Time
	slept []time.Duration
}

// NewFakeClock returns a clock reading start.
func NewFakeClock(start time.Time) *FakeClock { return &FakeClock{now: start} }

// Now returns the clock's time (for gateway.WithClock).
func (c *FakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Advance moves the clock forward by d.
func (c *FakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// Sleep advances the clock by d and returns at once, or returns ctx's error
// if ctx is already done (for gateway.WithSleeper).
func (c *FakeClock) Sleep(ctx context.Context, d time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.slept = append(c.slept, d)
	c.mu.Unlock()
	return nil
}

// Slept returns the durations passed to Sleep, in order.
func (c *FakeClock) Slept() []time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]time.Duration(nil), c.slept...)
}

// Step is one scripted answer: a response or an error.
type Step struct {
	Response gateway.LLMResponse
	Err      error
	// Latency advances the client's clock during the attempt.
	Latency time.Duration
}

// ScriptedClient returns its queued steps in order; when the queue is empty
// it repeats the last step (or returns an empty response if none was
// queued). It records every request. Safe for concurrent use.
type ScriptedClient struct {
	provider gateway.Provider
	clock    *FakeClock

	mu       sync.Mutex // guards steps, last, requests
	steps    []Step
	last     *Step
	requests []gateway.LLMRequest
}

var _ gateway.LLMClient = (*ScriptedClient)(nil)

// NewScriptedClient returns a client reporting provider. A non-nil clock is
// advanced by each step's Latency.
func NewScriptedClient(provider gateway.Provider, clock *FakeClock, steps ...Step) *ScriptedClient {
	return &ScriptedClient{provider: provider, clock: clock, steps: steps}
}

// Reply is a Step that answers text with model and usage.
func Reply(text, model string, in, out int) Step {
	return Step{Response: gateway.LLMResponse{Text: text, ModelID: model,
		Usage: gateway.Usage{InputTokens: in, OutputTokens: out}}}
}

// Fail is a Step that fails with err.
func Fail(err error) Step { return Step{Err: err} }

// Queue appends steps.
func (c *ScriptedClient) Queue(steps ...Step) {
	c.mu.Lock()
	c.steps = append(c.steps, steps...)
	c.mu.Unlock()
}

// Provider reports the configured provider.
func (c *ScriptedClient) Provider() gateway.Provider { return c.provider }

// Complete records req and plays the next step.
func (c *ScriptedClient) Complete(ctx context.Context, req gateway.LLMRequest) (gateway.LLMResponse, error) {
	c.mu.Lock()
	c.requests = append(c.requests, req)
	var st Step
	switch {
	case len(c.steps) > 0:
		st = c.steps[0]
		c.steps = c.steps[1:]
		c.last = &st
	case c.last != nil:
		st = *c.last
	}
	c.mu.Unlock()
	if c.clock != nil && st.Latency > 0 {
		c.clock.Advance(st.Latency)
	}
	if err := ctx.Err(); err != nil {
		return gateway.LLMResponse{}, err
	}
	return st.Response, st.Err
}

// Requests returns a copy of the recorded requests.
func (c *ScriptedClient) Requests() []gateway.LLMRequest {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]gateway.LLMRequest(nil), c.requests...)
}

// Calls is the number of recorded requests.
func (c *ScriptedClient) Calls() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.requests)
}
