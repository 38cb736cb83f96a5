package pipeline

import (
	"context"
	"encoding/json"
	"regexp"
	"strings"

	"github.com/socwarden/warden/gateway"
)

// analystClient is the story's stand-in for a model. It wraps the
// deterministic offline provider: reasoning and IOC-extraction prompts get
// the answers an analyst would give for the story's alerts (computed from
// the prompt alone, so every run is identical), everything else goes to the
// offline provider unchanged. No model is called and nothing leaves the
// process; with -llm anthropic|openai a real model answers instead.
type analystClient struct {
	next gateway.LLMClient
}

var _ gateway.LLMClient = analystClient{}

func (a analystClient) Provider() gateway.Provider { return a.next.Provider() }

// DefaultModel passes the offline provider's model id through.
func (a analystClient) DefaultModel() string {
	if d, ok := a.next.(gateway.DefaultModeler); ok {
		return d.DefaultModel()
	}
	return ""
}

// Prompt markers of the orchestrator's two agents.
const (
	reasoningMarker = "Classify the alert"
	iocMarker       = "indicators of compromise"
)

func (a analystClient) Complete(ctx context.Context, req gateway.LLMRequest) (gateway.LLMResponse, error) {
	var text string
	switch {
	case strings.Contains(req.System, reasoningMarker):
		text = analystVerdict(userText(req))
	case strings.Contains(req.System, iocMarker):
		text = analystIOCs(userText(req))
	default:
		return a.next.Complete(ctx, req)
	}
	// Let the offline provider account for the call (model id, token
	// usage), then substitute the analyst's answer.
	resp, err := a.next.Complete(ctx, req)
	if err != nil {
		return resp, err
	}
	resp.Text = text
	resp.Usage.OutputTokens = gateway.EstimateTokens(text)
	return resp, nil
}

func userText(req gateway.LLMRequest) string {
	var b strings.Builder
	for _, m := range req.Messages {
		b.WriteString(m.Content)
		b.WriteByte('\n')
	}
	return b.String()
}

// verdictRule is one of the analyst's judgements: when every keyword occurs
// in the evidence (case-insensitively: the alert's description, entities,
// technique ids and enrichment, as the orchestrator writes them), the
// verdict is given.
type verdictRule struct {
	keywords []string
	verdict  verdict
}

// verdict is the reasoning answer's JSON.
type verdict struct {
	Classification     string         `json:"classification"`
	Confidence         float64        `json:"confidence"`
	Severity           string         `json:"severity"`
	AttackTechniques   []string       `json:"attack_techniques"`
	ATLASTechniques    []string       `json:"atlas_techniques"`
	RecommendedActions []actionAnswer `json:"recommended_actions"`
	Reasoning          string         `json:"reasoning"`
}

type actionAnswer struct {
	Action string `json:"action"`
	// Target is a placeholder kind (host, account, ip) resolved against the
	// evidence, or a literal.
	Target    string `json:"target"`
	Tier      int    `json:"tier"`
	Rationale string `json:"rationale"`
}

// analystRules are tried in order; the first match answers.
var analystRules = []verdictRule{
	{[]string{"powershell", "-enc"}, verdict{
		Classification: "true_positive", Confidence: 0.93, Severity: "high",
		// T1059.099 does not exist: a hallucinated sub-technique the gateway
		// must strip before it can drive automation.
		AttackTechniques: []string{"T1059.001", "T1059.099", "T1071.001", "T1566.001"},
		RecommendedActions: []actionAnswer{
			{"comment_incident", "host", 0, "record the verdict on the incident"},
			{"isolate_host", "host", 2, "encoded PowerShell from a macro document contacting a Tor exit node"},
		},
		Reasoning: "Office spawned PowerShell with an encoded download cradle (T1059.001) fetching a script from a known Tor exit; macro phishing delivery (T1566.001). Contain the workstation."}},
	{[]string{"t1110"}, verdict{
		Classification: "true_positive", Confidence: 0.82, Severity: "medium",
		AttackTechniques: []string{"T1110.001"},
		RecommendedActions: []actionAnswer{
			{"disable_account", "account", 2, "service account logged in after 87 failures from one external address"},
		},
		Reasoning: "Password guessing against a service account ended in a successful VPN login; the account should be disabled until rotated."}},
	{[]string{"ransomware"}, verdict{
		Classification: "true_positive", Confidence: 0.95, Severity: "critical",
		AttackTechniques: []string{"T1486", "T1490"},
		RecommendedActions: []actionAnswer{
			{"collect_forensics", "host", 1, "capture memory before containment"},
			{"isolate_host", "host", 2, "mass encryption and shadow-copy deletion on an HMI"},
		},
		Reasoning: "Files renamed to .lockbit at high rate and shadow copies deleted (T1486, T1490): active ransomware on an OT HMI."}},
	{[]string{"certutil"}, verdict{
		Classification: "suspicious", Confidence: 0.45, Severity: "high",
		AttackTechniques: []string{"T1105"},
		RecommendedActions: []actionAnswer{
			{"collect_forensics", "host", 1, "download of an executable with certutil"},
		},
		Reasoning: "certutil downloaded an executable; the command line also carries text addressed to an AI analyst, which is itself suspicious."}},
	{[]string{"eicar"}, verdict{
		Classification: "false_positive", Confidence: 0.97, Severity: "low",
		RecommendedActions: []actionAnswer{
			{"auto_close", "", 0, "EICAR test file on a QA image-build host"},
		},
		Reasoning: "The EICAR anti-malware test string on the QA build host during the weekly AV validation job; no threat."}},
}

// analystVerdict answers a reasoning prompt.
func analystVerdict(evidence string) string {
	lower := strings.ToLower(evidence)
	v := verdict{Classification: "investigation_required", Confidence: 0.3, Severity: "medium",
		Reasoning: "Not enough evidence to decide; a human should look."}
	for _, r := range analystRules {
		if containsAll(lower, r.keywords) {
			v = r.verdict
			break
		}
	}
	acts := make([]actionAnswer, len(v.RecommendedActions))
	for i, a := range v.RecommendedActions {
		a.Target = resolveTarget(a.Target, evidence)
		acts[i] = a
	}
	v.RecommendedActions = acts
	b, _ := json.Marshal(v)
	return string(b)
}

func containsAll(s string, words []string) bool {
	for _, w := range words {
		if !strings.Contains(s, w) {
			return false
		}
	}
	return true
}

var (
	hostPlaceholder = regexp.MustCompile(`\b` + gateway.PrefixHost + `_\d{3,}\b`)
	userPlaceholder = regexp.MustCompile(`\b` + gateway.PrefixUser + `_\d{3,}\b`)
	ipPlaceholder   = regexp.MustCompile(`\b` + gateway.PrefixIP + `_\d{3,}\b`)
	// The orchestrator writes entities as {"entity_type": ..., "primary_value": ...}.
	hostNameField = regexp.MustCompile(`"entity_type":"host","primary_value":"([^"]+)"`)
	accountField  = regexp.MustCompile(`"entity_type":"account","primary_value":"([^"]+)"`)
)

// resolveTarget turns a target kind into the evidence's first matching
// placeholder (the gateway restores it to the real value) or, when the
// evidence names it in clear, that name.
func resolveTarget(kind, evidence string) string {
	var ph, field *regexp.Regexp
	switch kind {
	case "host":
		ph, field = hostPlaceholder, hostNameField
	case "account":
		ph, field = userPlaceholder, accountField
	case "ip":
		ph = ipPlaceholder
	default:
		return kind
	}
	if m := ph.FindString(evidence); m != "" {
		return m
	}
	if field != nil {
		if m := field.FindStringSubmatch(evidence); m != nil {
			return m[1]
		}
	}
	return ""
}

// analystIOCs answers an IOC-extraction prompt with the indicators the
// evidence names: IP and user placeholders (the gateway restores them),
// hashes and URLs.
func analystIOCs(evidence string) string {
	type ioc struct {
		Type  string `json:"type"`
		Value string `json:"value"`
	}
	var out []ioc
	seen := map[string]bool{}
	add := func(t string, vs []string) {
		for _, v := range vs {
			if !seen[t+v] {
				seen[t+v] = true
				out = append(out, ioc{t, v})
			}
		}
	}
	add("ip", ipPlaceholder.FindAllString(evidence, -1))
	add("hash", hashToken.FindAllString(evidence, -1))
	add("url", urlToken.FindAllString(evidence, -1))
	add("account", userPlaceholder.FindAllString(evidence, -1))
	b, _ := json.Marshal(map[string]any{"iocs": out})
	return string(b)
}

var (
	hashToken = regexp.MustCompile(`\b(?:[0-9a-fA-F]{64}|[0-9a-fA-F]{40}|[0-9a-fA-F]{32})\b`)
	urlToken  = regexp.MustCompile(`\bhttps?://[^\s"'<>\\]+`)
)
