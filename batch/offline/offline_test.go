package offline_test

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/socwarden/warden/batch"
	"github.com/socwarden/warden/batch/offline"
	"github.com/socwarden/warden/taxonomy"
)

func request(id, user string) batch.Request {
	return batch.Request{CustomID: id, Params: batch.Params{Model: "m", MaxTokens: 10, Messages: []batch.Message{{Role: "user", Content: user}}}}
}

func TestFPAnswer(t *testing.T) {
	user := `<evidence>
{"alert_group":"Nessus scan","investigation_count":2,"investigations":[
 {"alert_title":"Nessus scan from a&lt;b","entities":{"ips":["IP_SRC_001"],"hosts":["h1","h2"],"note":"x"}},
 {"alert_title":"Nessus scan from a&lt;b","entities":{"ips":["IP_SRC_001"],"hosts":["h2"]}}]}
</evidence>`
	text, u, err := offline.Respond(context.Background(), request("a", user))
	require.NoError(t, err)
	var got []map[string]any
	require.NoError(t, json.Unmarshal([]byte(text), &got))
	require.Len(t, got, 1)
	assert.Equal(t, "Nessus scan from a<b", got[0]["alert_name"], "evidence escaping is undone")
	assert.Equal(t, "^Nessus scan", got[0]["alert_name_regex"])
	assert.Equal(t, []any{
		map[string]any{"type": "hosts", "value_regex": "^h2$"},
		map[string]any{"type": "ips", "value_regex": "^IP_SRC_001$"},
	}, got[0]["entity_patterns"], "only values every investigation shares, of known types")
	assert.Equal(t, offline.PatternConfidence, got[0]["confidence"])
	assert.Positive(t, u.InputTokens)
	assert.Positive(t, u.OutputTokens)

	again, _, _ := offline.Respond(context.Background(), request("a", user))
	assert.Equal(t, text, again, "deterministic")
}

func TestPlaybookAndOtherAnswers(t *testing.T) {
	text, _, err := offline.Respond(context.Background(), request("p", `{"primary_technique":"T1110","investigation_count":2}`))
	require.NoError(t, err)
	var pb map[string]any
	require.NoError(t, json.Unmarshal([]byte(text), &pb))
	assert.Equal(t, "Response playbook for T1110", pb["name"])
	assert.Equal(t, []any{"T1110"}, pb["techniques"])
	assert.Len(t, pb["remediation_steps"], 4)

	text, _, err = offline.Respond(context.Background(), request("o", "free text"))
	require.NoError(t, err)
	assert.JSONEq(t, `{"status":"acknowledged"}`, text)
}

func TestAPI(t *testing.T) {
	api := offline.New()
	assert.Equal(t, taxonomy.ProviderLocal, api.Provider())
	id, err := api.Create(context.Background(), []batch.Request{request("a", `{"primary_technique":"T1110"}`)})
	require.NoError(t, err)
	st, err := api.Retrieve(context.Background(), id)
	require.NoError(t, err)
	assert.Equal(t, batch.ProcessingEnded, st)
	rs, err := api.Results(context.Background(), id)
	require.NoError(t, err)
	require.Len(t, rs, 1)
	assert.Equal(t, batch.RawSucceeded, rs[0].Type)
}
