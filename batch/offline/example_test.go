package offline_test

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/socwarden/warden/batch"
	"github.com/socwarden/warden/batch/offline"
)

// Respond answers an FP pattern task from its own evidence: the alert group
// becomes an anchored alert-name regex, and the entity values every
// investigation shares become exact-value patterns (h1 is only in one, so it
// is left out).
func Example() {
	evidence := `{"alert_group":"Nessus scan","investigation_count":2,"investigations":[
		{"alert_title":"Nessus scan detected","entities":{"ips":["10.20.0.5"],"hosts":["scanner-1","h1"]}},
		{"alert_title":"Nessus scan detected","entities":{"ips":["10.20.0.5"],"hosts":["scanner-1"]}}]}`
	req := batch.Request{CustomID: "fp-1", Params: batch.Params{Model: "local", MaxTokens: 1024,
		Messages: []batch.Message{{Role: "user", Content: evidence}}}}

	text, _, err := offline.Respond(context.Background(), req)
	if err != nil {
		fmt.Println(err)
		return
	}
	var candidates []struct {
		AlertName      string  `json:"alert_name"`
		AlertNameRegex string  `json:"alert_name_regex"`
		Confidence     float64 `json:"confidence"`
		EntityPatterns []struct {
			Type       string `json:"type"`
			ValueRegex string `json:"value_regex"`
		} `json:"entity_patterns"`
	}
	if err := json.Unmarshal([]byte(text), &candidates); err != nil {
		fmt.Println(err)
		return
	}
	c := candidates[0]
	fmt.Println(c.AlertName, "|", c.AlertNameRegex, "|", c.Confidence)
	for _, p := range c.EntityPatterns {
		fmt.Println(p.Type, p.ValueRegex)
	}
	// Output:
	// Nessus scan detected | ^Nessus scan | 0.9
	// hosts ^scanner-1$
	// ips ^10\.20\.0\.5$
}

// New is a batch.BatchAPI that answers a whole batch at once, so the
// create, poll and collect steps of a provider batch run without a model or
// a network.
func ExampleNew() {
	ctx := context.Background()
	var api batch.BatchAPI = offline.New()
	id, err := api.Create(ctx, []batch.Request{
		{CustomID: "pb-1", Params: batch.Params{Model: "local", MaxTokens: 1024,
			Messages: []batch.Message{{Role: "user", Content: `{"primary_technique":"T1110","investigation_count":2}`}}}},
		{CustomID: "other-1", Params: batch.Params{Model: "local", MaxTokens: 1024,
			Messages: []batch.Message{{Role: "user", Content: "summarise this week's threat landscape"}}}},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	status, _ := api.Retrieve(ctx, id)
	fmt.Println(id, status)
	results, _ := api.Results(ctx, id)
	for _, r := range results {
		var answer struct {
			Name             string   `json:"name"`
			RemediationSteps []string `json:"remediation_steps"`
			Status           string   `json:"status"`
		}
		_ = json.Unmarshal([]byte(r.TextBlocks[0]), &answer)
		fmt.Printf("%s %s name=%q steps=%d status=%q\n", r.CustomID, r.Type, answer.Name, len(answer.RemediationSteps), answer.Status)
	}
	// Output:
	// membatch_1 ended
	// pb-1 succeeded name="Response playbook for T1110" steps=4 status=""
	// other-1 succeeded name="" steps=0 status="acknowledged"
}
