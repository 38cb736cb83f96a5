package gatewaytest_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/socwarden/warden/gateway"
	"github.com/socwarden/warden/gateway/gatewaytest"
)

func TestFakeClock(t *testing.T) {
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	c := gatewaytest.NewFakeClock(start)
	assert.Equal(t, start, c.Now())
	c.Advance(time.Second)
	require.NoError(t, c.Sleep(context.Background(), 2*time.Second))
	assert.Equal(t, start.Add(3*time.Second), c.Now())
	assert.Equal(t, []time.Duration{2 * time.Second}, c.Slept())
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	require.ErrorIs(t, c.Sleep(ctx, time.Hour), context.Canceled)
	assert.Equal(t, start.Add(3*time.Second), c.Now(), "a cancelled sleep does not advance")
}

func TestScriptedClient(t *testing.T) {
	clock := gatewaytest.NewFakeClock(time.Unix(0, 0))
	boom := errors.New("boom")
	step := gatewaytest.Reply("a", "m", 1, 2)
	step.Latency = time.Second
	c := gatewaytest.NewScriptedClient(gateway.ProviderGroq, clock, step, gatewaytest.Fail(boom))
	assert.Equal(t, gateway.ProviderGroq, c.Provider())
	r, err := c.Complete(context.Background(), gateway.LLMRequest{Model: "x"})
	require.NoError(t, err)
	assert.Equal(t, "a", r.Text)
	assert.Equal(t, gateway.Usage{InputTokens: 1, OutputTokens: 2}, r.Usage)
	assert.Equal(t, time.Unix(1, 0), clock.Now())
	_, err = c.Complete(context.Background(), gateway.LLMRequest{Model: "y"})
	require.ErrorIs(t, err, boom)
	_, err = c.Complete(context.Background(), gateway.LLMRequest{Model: "z"})
	require.ErrorIs(t, err, boom, "the last step repeats")
	c.Queue(gatewaytest.Reply("b", "m", 0, 0))
	r, _ = c.Complete(context.Background(), gateway.LLMRequest{})
	assert.Equal(t, "b", r.Text)
	assert.Equal(t, 4, c.Calls())
	assert.Equal(t, "y", c.Requests()[1].Model)

	empty := gatewaytest.NewScriptedClient(gateway.ProviderLocal, nil)
	r, err = empty.Complete(context.Background(), gateway.LLMRequest{})
	require.NoError(t, err)
	assert.Equal(t, gateway.LLMResponse{}, r)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err = empty.Complete(ctx, gateway.LLMRequest{})
	require.ErrorIs(t, err, context.Canceled)
}

func TestScriptedClientConcurrent(t *testing.T) {
	c := gatewaytest.NewScriptedClient(gateway.ProviderLocal, gatewaytest.NewFakeClock(time.Unix(0, 0)), gatewaytest.Reply("x", "m", 1, 1))
	var wg sync.WaitGroup
	for i := 0; i < 50; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, _ = c.Complete(context.Background(), gateway.LLMRequest{})
			_ = c.Requests()
		}()
	}
	wg.Wait()
	assert.Equal(t, 50, c.Calls())
}

// Example drives a gateway with a scripted client on a fake clock: the
// first attempt gets a 503, the retry's backoff passes instantly.
func Example() {
	clock := gatewaytest.NewFakeClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	client := gatewaytest.NewScriptedClient(gateway.ProviderAnthropic, clock,
		gatewaytest.Fail(&gateway.ProviderError{StatusCode: 503}),
		gatewaytest.Reply("IP_SRC_001 is the source", "claude-sonnet-4-5-20250929", 10, 5))
	gw, _ := gateway.New(client, gateway.WithClock(clock.Now), gateway.WithSleeper(clock.Sleep))
	resp, _ := gw.Complete(context.Background(), gateway.Request{AgentID: "a", UserContent: "seen 10.0.0.7"})
	fmt.Println(resp.Content)
	fmt.Println("sent:", client.Requests()[0].Messages[0].Content[len("<evidence>\n"):])
	fmt.Println("backoff:", clock.Slept())
	// Output:
	// 10.0.0.7 is the source
	// sent: <alert_title></alert_title>
	// <alert_description>seen IP_SRC_001</alert_description>
	// <entities></entities>
	// </evidence>
	// backoff: [1s]
}
