// Package offline is a deterministic batch provider for examples and tests:
// it answers FP pattern and playbook tasks from their own content, without
// any model, so a whole batch cycle can run offline with reproducible
// results.
//
// For an FP task it proposes one candidate: the alert group as an anchored,
// quoted alert-name regex plus an exact-value entity pattern for every
// entity value all investigations of the group share. For a playbook task
// it drafts a fixed response playbook for the primary technique. Any other
// task gets a short JSON acknowledgement.
package offline

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/socwarden/warden/batch"
	"github.com/socwarden/warden/taxonomy"
)

// Confidence of every offline answer.
const (
	PatternConfidence  = 0.9
	PlaybookConfidence = 0.85
)

// maxEntityPatterns bounds the entity patterns of one offline candidate.
const maxEntityPatterns = 5

// API is a batch.BatchAPI answering with Respond. It reports the "local"
// provider.
type API struct{ *batch.MemoryBatchAPI }

// New returns an offline API.
func New() *API { return &API{batch.NewMemoryBatchAPI(Respond)} }

// Provider is taxonomy.ProviderLocal: nothing leaves the process.
func (*API) Provider() taxonomy.Provider { return taxonomy.ProviderLocal }

// Respond answers one request deterministically. Token usage is estimated
// as one token per four bytes.
func Respond(_ context.Context, r batch.Request) (string, batch.Usage, error) {
	var user string
	for _, m := range r.Params.Messages {
		if m.Role == "user" {
			user = m.Content
		}
	}
	data := unwrapEvidence(user)
	var doc map[string]json.RawMessage
	_ = json.Unmarshal([]byte(data), &doc)
	var text string
	switch {
	case doc["alert_group"] != nil:
		text = fpAnswer(doc)
	case doc["primary_technique"] != nil:
		text = playbookAnswer(doc)
	default:
		text = `{"status":"acknowledged"}`
	}
	u := batch.Usage{InputTokens: (len(r.Params.System) + len(user) + 3) / 4, OutputTokens: (len(text) + 3) / 4}
	return text, u, nil
}

// unwrapEvidence undoes the gateway's <evidence> block and escaping.
func unwrapEvidence(s string) string {
	t := strings.TrimSpace(s)
	if !strings.HasPrefix(t, "<evidence>") || !strings.HasSuffix(t, "</evidence>") {
		return s
	}
	t = strings.TrimSuffix(strings.TrimPrefix(t, "<evidence>"), "</evidence>")
	return strings.NewReplacer("&lt;", "<", "&gt;", ">", "&amp;", "&").Replace(strings.TrimSpace(t))
}

type fpInvestigation struct {
	AlertTitle string         `json:"alert_title"`
	Entities   map[string]any `json:"entities"`
}

func fpAnswer(doc map[string]json.RawMessage) string {
	var group string
	_ = json.Unmarshal(doc["alert_group"], &group)
	var invs []fpInvestigation
	_ = json.Unmarshal(doc["investigations"], &invs)
	name := group
	if len(invs) > 0 && strings.HasPrefix(invs[0].AlertTitle, group) {
		name = invs[0].AlertTitle
	}
	type ep struct {
		Type       string `json:"type"`
		ValueRegex string `json:"value_regex"`
	}
	var eps []ep
	for _, kv := range sharedEntities(invs) {
		if len(eps) == maxEntityPatterns {
			break
		}
		eps = append(eps, ep{Type: kv[0], ValueRegex: "^" + regexp.QuoteMeta(kv[1]) + "$"})
	}
	if eps == nil {
		eps = []ep{}
	}
	out, _ := json.Marshal([]any{map[string]any{
		"alert_name": name, "alert_name_regex": "^" + regexp.QuoteMeta(group), "entity_patterns": eps,
		"severity": "low", "confidence": PatternConfidence,
		"reason": fmt.Sprintf("Alert group closed as false positive in %d investigations with the same entities.", len(invs)),
	}})
	return string(out)
}

// sharedEntities returns (type, value) pairs present in every
// investigation, sorted, for entity types the batch vocabulary knows.
func sharedEntities(invs []fpInvestigation) [][2]string {
	if len(invs) == 0 {
		return nil
	}
	count := map[[2]string]int{}
	for _, inv := range invs {
		seen := map[[2]string]bool{}
		for k, v := range inv.Entities {
			if _, ok := batch.CanonicalEntityType(k); !ok {
				continue
			}
			for _, s := range entityValues(v) {
				p := [2]string{k, s}
				if !seen[p] {
					seen[p] = true
					count[p]++
				}
			}
		}
	}
	var out [][2]string
	for p, n := range count {
		if n == len(invs) && len(p[1]) >= 2 {
			out = append(out, p)
		}
	}
	slices.SortFunc(out, func(a, b [2]string) int {
		if c := strings.Compare(a[0], b[0]); c != 0 {
			return c
		}
		return strings.Compare(a[1], b[1])
	})
	return out
}

// entityValues reads a string, a list of strings, or objects with a value
// or primary_value.
func entityValues(v any) []string {
	switch x := v.(type) {
	case string:
		return []string{x}
	case []any:
		var out []string
		for _, e := range x {
			out = append(out, entityValues(e)...)
		}
		return out
	case map[string]any:
		for _, k := range []string{"primary_value", "value"} {
			if s, ok := x[k].(string); ok {
				return []string{s}
			}
		}
	}
	return nil
}

func playbookAnswer(doc map[string]json.RawMessage) string {
	var tech string
	_ = json.Unmarshal(doc["primary_technique"], &tech)
	var count int
	_ = json.Unmarshal(doc["investigation_count"], &count)
	out, _ := json.Marshal(map[string]any{
		"name":        "Response playbook for " + tech,
		"description": fmt.Sprintf("Drafted offline from %d resolved investigations whose primary technique is %s.", count, tech),
		"tactics":     []string{},
		"techniques":  []string{tech},
		"remediation_steps": []string{
			"Confirm the detection and scope the affected assets and accounts.",
			"Contain: isolate affected hosts or revoke the affected credentials.",
			"Eradicate the root cause and remove any persistence.",
			"Recover services and monitor for recurrence of " + tech + ".",
		},
		"confidence": PlaybookConfidence,
	})
	return string(out)
}
