package offline_test

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/socwarden/warden/gateway"
	"github.com/socwarden/warden/gateway/provider/offline"
)

func TestDeterministicText(t *testing.T) {
	c, err := offline.New()
	require.NoError(t, err)
	req := gateway.LLMRequest{System: "s", Messages: []gateway.Message{{Role: "user",
		Content: "<evidence>IP_SRC_001 talked to HOST_002 as USER_001; IP_SRC_001 again; T1059.001 seen</evidence>"}}}
	a, err := c.Complete(context.Background(), req)
	require.NoError(t, err)
	b, _ := c.Complete(context.Background(), req)
	assert.Equal(t, a, b, "deterministic")
	assert.Contains(t, a.Text, offline.Notice)
	assert.Contains(t, a.Text, "Entities: IP_SRC_001, HOST_002, USER_001.")
	assert.Contains(t, a.Text, "Techniques: T1059.001.")
	assert.Equal(t, offline.ModelID, a.ModelID)
	assert.Positive(t, a.Usage.InputTokens)
	assert.Positive(t, a.Usage.OutputTokens)
	assert.Equal(t, gateway.ProviderLocal, c.Provider())
	assert.Equal(t, offline.ModelID, c.DefaultModel())
}

func TestSchemaFilled(t *testing.T) {
	c, err := offline.New(offline.WithProvider(gateway.ProviderAnthropic), offline.WithModelID("stand-in"))
	require.NoError(t, err)
	schema := json.RawMessage(`{"type":"object","required":["verdict","confidence","extra"],"properties":{
"verdict":{"type":"string"},"confidence":{"type":"number"},"iocs":{"type":"array"},"escalate":{"type":"boolean"},"n":{"type":"integer"}}}`)
	resp, err := c.Complete(context.Background(), gateway.LLMRequest{OutputSchema: schema})
	require.NoError(t, err)
	var v map[string]any
	require.NoError(t, json.Unmarshal([]byte(resp.Text), &v))
	assert.Equal(t, 0.5, v["confidence"])
	assert.Equal(t, []any{}, v["iocs"])
	assert.Equal(t, false, v["escalate"])
	assert.Contains(t, v["verdict"], offline.Notice)
	assert.Contains(t, v, "extra")
	assert.True(t, gateway.ValidateOutput(resp.Text, nil, schema).Valid)
	assert.Equal(t, "stand-in", resp.ModelID)
	assert.Equal(t, gateway.ProviderAnthropic, c.Provider())
}

func TestOptionsAndContext(t *testing.T) {
	_, err := offline.New(offline.WithProvider(""))
	require.Error(t, err)
	_, err = offline.New(offline.WithModelID(" "))
	require.Error(t, err)
	c, _ := offline.New()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err = c.Complete(ctx, gateway.LLMRequest{})
	require.ErrorIs(t, err, context.Canceled)
}

// Example runs a call through the gateway with the offline provider: the
// model never sees the real address, the answer gets it back.
func Example() {
	client, _ := offline.New()
	gw, _ := gateway.New(client)
	resp, _ := gw.Complete(context.Background(), gateway.Request{
		AgentID: "triage-agent", UserContent: "Beaconing from 10.20.30.40 (T1071.001)",
	})
	fmt.Println("model saw:", resp.RawOutput)
	fmt.Println("agent got:", resp.Content)
	// Output:
	// model saw: [offline provider: no model was called] Evidence reviewed (150 bytes). Entities: IP_SRC_001. Techniques: T1071.001.
	// agent got: [offline provider: no model was called] Evidence reviewed (150 bytes). Entities: 10.20.30.40. Techniques: T1071.001.
}
