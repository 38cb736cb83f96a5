package batch

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// FPSystemPrompt asks the model for FP pattern candidates.
const FPSystemPrompt = `You generate false-positive suppression patterns for a security operations centre.
The data below describes closed investigations that analysts classified as false positives; all of them share one alert group.
Find what makes these alerts benign and recurring, and describe it as narrowly as the evidence allows.
Answer with a JSON array of objects, each with:
  "alert_name": the alert title the pattern is for,
  "alert_name_regex": an RE2 regular expression (no look-around, no back-references) matching that title and as little else as possible,
  "entity_patterns": an array of {"type": ..., "value_regex": ...} or {"type": "ip", "value_cidr": ...} objects, where type is one of account, host, ip, file, process, url, dns, filehash, mailbox,
  "severity": one of critical, high, medium, low, informational,
  "confidence": a number between 0 and 1,
  "reason": one or two sentences of justification.
Only include patterns with confidence of at least 0.8. Never use catch-all expressions such as ".*" on their own.
Answer with the JSON array only.`

// PlaybookSystemPrompt asks the model for one playbook draft.
const PlaybookSystemPrompt = `You draft remediation playbooks for a security operations centre.
The data below describes resolved investigations that share one primary MITRE technique.
Draft one playbook that an analyst could follow for the next incident of this kind.
Answer with one JSON object with:
  "name": a short playbook name,
  "description": what the playbook covers,
  "tactics": an array of MITRE ATT&CK or ATLAS tactic names or ids,
  "techniques": an array of ATT&CK or ATLAS technique ids (for example T1566 or AML.T0051),
  "remediation_steps": an ordered array of concrete, actionable steps,
  "confidence": a number between 0 and 1.
Answer with the JSON object only.`

// classificationFalsePositive is the graph-state classification of FP
// investigations.
const classificationFalsePositive = "false_positive"

// Generator turns closed investigations into batch tasks: recurring false
// positives into FP pattern tasks, recurring techniques into playbook tasks.
// Investigations of different tenants are never grouped together, and rows
// without a tenant are skipped (a pattern mined from them would have no
// tenant scope, i.e. apply to every tenant). Safe for concurrent use.
type Generator struct {
	src InvestigationSource
	cfg config // read-only after NewGenerator
}

// NewGenerator returns a Generator reading src.
func NewGenerator(src InvestigationSource, opts ...Option) (*Generator, error) {
	cfg, err := buildConfig(compGenerator, opts)
	if err != nil {
		return nil, err
	}
	return newGenerator(src, cfg)
}

func newGenerator(src InvestigationSource, cfg config) (*Generator, error) {
	if src == nil {
		return nil, &ConfigError{Option: "src", Reason: "nil InvestigationSource"}
	}
	return &Generator{src: src, cfg: cfg}, nil
}

// FPTasks builds one fp_pattern_generation task per (tenant, alert group)
// with at least MinInvestigationsForFP false positives in the lookback
// window ending at now.
func (g *Generator) FPTasks(ctx context.Context, now time.Time) ([]Task, error) {
	rows, err := g.read(ctx, now)
	if err != nil {
		return nil, err
	}
	return g.fpTasks(ctx, rows, now), nil
}

// PlaybookTasks builds one playbook_generation task per (tenant, primary
// technique) with at least MinInvestigationsForPlaybook investigations that
// were not false positives.
func (g *Generator) PlaybookTasks(ctx context.Context, now time.Time) ([]Task, error) {
	rows, err := g.read(ctx, now)
	if err != nil {
		return nil, err
	}
	return g.playbookTasks(ctx, rows, now), nil
}

// AllTasks is FPTasks followed by PlaybookTasks from one source query.
func (g *Generator) AllTasks(ctx context.Context, now time.Time) ([]Task, error) {
	rows, err := g.read(ctx, now)
	if err != nil {
		return nil, err
	}
	out := g.fpTasks(ctx, rows, now)
	return append(out, g.playbookTasks(ctx, rows, now)...), nil
}

// parsedRow is an investigation with its graph state decoded.
type parsedRow struct {
	row   *ClosedInvestigation
	state map[string]any
}

func (g *Generator) read(ctx context.Context, now time.Time) ([]parsedRow, error) {
	now = now.UTC()
	rows, err := g.src.ClosedInvestigations(ctx, now.Add(-g.cfg.lookback), now)
	if err != nil {
		return nil, fmt.Errorf("batch: reading closed investigations: %w", err)
	}
	out := make([]parsedRow, 0, len(rows))
	for i := range rows {
		r := &rows[i]
		if r.TenantID == "" {
			g.cfg.logger.WarnContext(ctx, "batch: investigation without tenant skipped", "investigation_id", r.InvestigationID)
			continue
		}
		st, ok := parseGraphState(r.GraphState)
		if !ok {
			g.cfg.logger.DebugContext(ctx, "batch: unparsable graph state skipped", "investigation_id", r.InvestigationID)
			continue
		}
		out = append(out, parsedRow{row: r, state: st})
	}
	return out, nil
}

// parseGraphState decodes a JSON object, or a JSON string holding one.
func parseGraphState(raw json.RawMessage) (map[string]any, bool) {
	raw = bytes.TrimSpace(raw)
	if len(raw) > 0 && raw[0] == '"' {
		var s string
		if json.Unmarshal(raw, &s) != nil {
			return nil, false
		}
		raw = []byte(s)
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var m map[string]any
	if dec.Decode(&m) != nil || m == nil {
		return nil, false
	}
	return m, true
}

type groupKey struct{ tenant, key string }

type fpEntry struct {
	InvestigationID string           `json:"investigation_id"`
	AlertID         string           `json:"alert_id"`
	AlertTitle      string           `json:"alert_title"`
	Entities        any              `json:"entities"`
	DecisionChain   []map[string]any `json:"decision_chain"`
}

type fpContent struct {
	AlertGroup         string    `json:"alert_group"`
	InvestigationCount int       `json:"investigation_count"`
	Investigations     []fpEntry `json:"investigations"`
}

type pbEntry struct {
	InvestigationID string           `json:"investigation_id"`
	AlertID         string           `json:"alert_id"`
	Classification  string           `json:"classification"`
	Techniques      []any            `json:"techniques"`
	DecisionChain   []map[string]any `json:"decision_chain"`
}

type pbContent struct {
	PrimaryTechnique   string    `json:"primary_technique"`
	InvestigationCount int       `json:"investigation_count"`
	Investigations     []pbEntry `json:"investigations"`
}

// alertGroupKey is the first FPGroupKeyRunes runes of the title, or
// "unknown".
func alertGroupKey(title string) string {
	if title == "" {
		return "unknown"
	}
	n := 0
	for i := range title {
		if n == FPGroupKeyRunes {
			return title[:i]
		}
		n++
	}
	return title
}

func alertTitle(st map[string]any, r *ClosedInvestigation) string {
	if v, present := st["alert_title"]; present {
		s, _ := v.(string)
		return s
	}
	if r.AlertID != "" {
		return r.AlertID
	}
	return "unknown"
}

func orEmptyChain(c []map[string]any) []map[string]any {
	if c == nil {
		return []map[string]any{}
	}
	return c
}

func (g *Generator) fpTasks(ctx context.Context, rows []parsedRow, now time.Time) []Task {
	groups := map[groupKey][]fpEntry{}
	var order []groupKey
	for _, pr := range rows {
		if c, _ := pr.state["classification"].(string); c != classificationFalsePositive {
			continue
		}
		title := alertTitle(pr.state, pr.row)
		k := groupKey{pr.row.TenantID, alertGroupKey(title)}
		ent, ok := pr.state["entities"]
		if !ok || ent == nil {
			ent = map[string]any{}
		}
		if _, seen := groups[k]; !seen {
			order = append(order, k)
		}
		groups[k] = append(groups[k], fpEntry{InvestigationID: pr.row.InvestigationID, AlertID: pr.row.AlertID,
			AlertTitle: title, Entities: ent, DecisionChain: orEmptyChain(pr.row.DecisionChain)})
	}
	var tasks []Task
	for _, k := range order {
		entries := groups[k]
		if len(entries) < MinInvestigationsForFP {
			continue
		}
		shown := entries[:min(len(entries), MaxInvestigationsPerTask)]
		ids := make([]string, len(shown))
		for i, e := range shown {
			ids[i] = e.InvestigationID
		}
		content, err := json.Marshal(fpContent{AlertGroup: k.key, InvestigationCount: len(entries), Investigations: shown})
		if err != nil {
			g.cfg.logger.WarnContext(ctx, "batch: FP group not encodable, skipped", "tenant_id", k.tenant, "alert_group", k.key, "error", err)
			continue
		}
		t, ok := g.task(ctx, TaskFPPatternGeneration, FPSystemPrompt, string(content), k, ids, now)
		if !ok {
			continue
		}
		t.Metadata[MetaAlertGroup] = k.key
		tasks = append(tasks, t)
	}
	g.cfg.logger.InfoContext(ctx, fmt.Sprintf("generated %d FP pattern tasks from %d investigation groups", len(tasks), len(order)))
	return tasks
}

// primaryTechnique is the first technique: a string, or an object's atlas_id.
func primaryTechnique(ts []any) string {
	if len(ts) == 0 {
		return ""
	}
	switch v := ts[0].(type) {
	case string:
		return strings.TrimSpace(v)
	case map[string]any:
		s, _ := v["atlas_id"].(string)
		return strings.TrimSpace(s)
	}
	return ""
}

func (g *Generator) playbookTasks(ctx context.Context, rows []parsedRow, now time.Time) []Task {
	groups := map[groupKey][]pbEntry{}
	var order []groupKey
	for _, pr := range rows {
		class, _ := pr.state["classification"].(string)
		if class == classificationFalsePositive {
			continue
		}
		techs, _ := pr.state["atlas_techniques"].([]any)
		if len(techs) == 0 {
			techs, _ = pr.state["techniques"].([]any)
		}
		primary := primaryTechnique(techs)
		if primary == "" {
			continue
		}
		k := groupKey{pr.row.TenantID, primary}
		if _, seen := groups[k]; !seen {
			order = append(order, k)
		}
		groups[k] = append(groups[k], pbEntry{InvestigationID: pr.row.InvestigationID, AlertID: pr.row.AlertID,
			Classification: class, Techniques: techs, DecisionChain: orEmptyChain(pr.row.DecisionChain)})
	}
	var tasks []Task
	for _, k := range order {
		entries := groups[k]
		if len(entries) < MinInvestigationsForPlaybook {
			continue
		}
		shown := entries[:min(len(entries), MaxInvestigationsPerTask)]
		ids := make([]string, len(shown))
		for i, e := range shown {
			ids[i] = e.InvestigationID
		}
		content, err := json.Marshal(pbContent{PrimaryTechnique: k.key, InvestigationCount: len(entries), Investigations: shown})
		if err != nil {
			g.cfg.logger.WarnContext(ctx, "batch: playbook group not encodable, skipped", "tenant_id", k.tenant, "technique", k.key, "error", err)
			continue
		}
		t, ok := g.task(ctx, TaskPlaybookGeneration, PlaybookSystemPrompt, string(content), k, ids, now)
		if !ok {
			continue
		}
		t.Metadata[MetaPrimaryTechnique] = k.key
		tasks = append(tasks, t)
	}
	g.cfg.logger.InfoContext(ctx, fmt.Sprintf("generated %d playbook tasks from %d technique groups", len(tasks), len(order)))
	return tasks
}

// task builds a generated task. Its id is a fingerprint of type, tenant,
// group and source investigations, so mining the same window twice before
// a flush yields a duplicate the queue refuses instead of a second request.
func (g *Generator) task(ctx context.Context, tt TaskType, system, content string, k groupKey, ids []string, now time.Time) (Task, bool) {
	if g.cfg.contentFilter != nil {
		filtered, err := g.filter(ctx, content)
		if err != nil {
			g.cfg.logger.WarnContext(ctx, "batch: content filter failed, group skipped", "task_type", string(tt),
				"tenant_id", k.tenant, "group", k.key, "error", err)
			return Task{}, false
		}
		content = filtered
	}
	sorted := slices.Clone(ids)
	slices.Sort(sorted)
	var b bytes.Buffer
	b.WriteString("task\x00" + string(tt) + "\x00" + k.tenant + "\x00" + k.key + "\x00")
	b.WriteString(strings.Join(sorted, "\x1f"))
	return Task{
		ID: fingerprintUUID(b.Bytes()), Type: tt, TenantID: k.tenant, SystemPrompt: system, UserContent: content,
		ModelID: DefaultModelID, MaxTokens: DefaultMaxTokens, CreatedAt: now.UTC(),
		Metadata: map[string]any{MetaTaskType: string(tt), MetaSourceInvestigations: slices.Clone(ids)},
	}, true
}

func (g *Generator) filter(ctx context.Context, content string) (out string, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("content filter panicked: %v", r)
		}
	}()
	out, err = g.cfg.contentFilter(ctx, content)
	if err == nil && !utf8.ValidString(out) {
		err = fmt.Errorf("content filter returned invalid UTF-8")
	}
	return out, err
}
