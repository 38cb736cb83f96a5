package batch

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func inv(id, tenant string, state map[string]any) ClosedInvestigation {
	b, _ := json.Marshal(state)
	return ClosedInvestigation{InvestigationID: id, AlertID: "alert-" + id, TenantID: tenant, GraphState: b,
		DecisionChain: []map[string]any{{"stage": "reasoning"}}, UpdatedAt: t0.Add(-time.Hour)}
}

func fpInv(id, tenant, title string) ClosedInvestigation {
	return inv(id, tenant, map[string]any{"classification": "false_positive", "alert_title": title,
		"entities": map[string]any{"ips": []string{"10.0.0.5"}}})
}

func tpInv(id, tenant string, techniques ...any) ClosedInvestigation {
	return inv(id, tenant, map[string]any{"classification": "true_positive", "atlas_techniques": techniques})
}

func newTestGenerator(t *testing.T, rows []ClosedInvestigation, opts ...Option) *Generator {
	t.Helper()
	g, err := NewGenerator(StaticInvestigations(rows), append([]Option{WithLogger(quiet)}, opts...)...)
	require.NoError(t, err)
	return g
}

// Checklist 59, 63.
func TestFPTasksOneGroup(t *testing.T) {
	g := newTestGenerator(t, []ClosedInvestigation{fpInv("inv-1", "t1", "Suspicious Login"),
		fpInv("inv-2", "t1", "Suspicious Login"), fpInv("inv-3", "t1", "Suspicious Login")})
	tasks, err := g.FPTasks(bg, t0)
	require.NoError(t, err)
	require.Len(t, tasks, 1)
	tk := tasks[0]
	assert.Equal(t, TaskFPPatternGeneration, tk.Type)
	assert.Equal(t, FPSystemPrompt, tk.SystemPrompt)
	assert.Equal(t, "t1", tk.TenantID)
	assert.Equal(t, []string{"inv-1", "inv-2", "inv-3"}, tk.Metadata[MetaSourceInvestigations])
	assert.Equal(t, "Suspicious Login", tk.Metadata[MetaAlertGroup])
	assert.Equal(t, string(TaskFPPatternGeneration), tk.Metadata[MetaTaskType])
	filled := tk.withDefaults(t0)
	require.NoError(t, filled.validate())
	var content struct {
		AlertGroup         string           `json:"alert_group"`
		InvestigationCount int              `json:"investigation_count"`
		Investigations     []map[string]any `json:"investigations"`
	}
	require.NoError(t, json.Unmarshal([]byte(tk.UserContent), &content))
	assert.Equal(t, "Suspicious Login", content.AlertGroup)
	assert.Equal(t, 3, content.InvestigationCount)
	require.Len(t, content.Investigations, 3)
	assert.Equal(t, "inv-1", content.Investigations[0]["investigation_id"])
	assert.Equal(t, map[string]any{"ips": []any{"10.0.0.5"}}, content.Investigations[0]["entities"])
	assert.True(t, strings.HasPrefix(tk.UserContent, `{"alert_group":"Suspicious Login","investigation_count":3,"investigations":[{"investigation_id":"inv-1","alert_id":"alert-inv-1","alert_title":"Suspicious Login","entities":`),
		"keys are in the spec's order")
}

// Checklist 60, 61, 62, 64.
func TestFPTaskGrouping(t *testing.T) {
	g := newTestGenerator(t, []ClosedInvestigation{fpInv("1", "t1", "A"), fpInv("2", "t1", "A")})
	tasks, _ := g.FPTasks(bg, t0)
	assert.Empty(t, tasks, "two are not enough")

	var rows []ClosedInvestigation
	for i := range 3 {
		rows = append(rows, fpInv(fmt.Sprintf("a%d", i), "t1", "Alert A"), fpInv(fmt.Sprintf("b%d", i), "t1", "Alert B"))
	}
	tasks, _ = newTestGenerator(t, rows).FPTasks(bg, t0)
	require.Len(t, tasks, 2)
	assert.Equal(t, "Alert A", tasks[0].Metadata[MetaAlertGroup], "first-seen order")

	tasks, _ = newTestGenerator(t, []ClosedInvestigation{tpInv("1", "t1", "T1"), tpInv("2", "t1", "T1"), tpInv("3", "t1", "T1")}).FPTasks(bg, t0)
	assert.Empty(t, tasks)
	tasks, err := newTestGenerator(t, nil).FPTasks(bg, t0)
	require.NoError(t, err)
	assert.Empty(t, tasks)
}

func TestFPGroupKeyIsFirst50Runes(t *testing.T) {
	long := strings.Repeat("é", 50)
	g := newTestGenerator(t, []ClosedInvestigation{fpInv("1", "t", long+"x"), fpInv("2", "t", long+"y"), fpInv("3", "t", long+"z")})
	tasks, _ := g.FPTasks(bg, t0)
	require.Len(t, tasks, 1)
	assert.Equal(t, long, tasks[0].Metadata[MetaAlertGroup])
	assert.Equal(t, "unknown", alertGroupKey(""))
}

func TestFPTitleFallsBackToAlertID(t *testing.T) {
	mk := func(id string) ClosedInvestigation {
		r := inv(id, "t", map[string]any{"classification": "false_positive"})
		r.AlertID = "same-alert"
		return r
	}
	tasks, _ := newTestGenerator(t, []ClosedInvestigation{mk("1"), mk("2"), mk("3")}).FPTasks(bg, t0)
	require.Len(t, tasks, 1)
	assert.Equal(t, "same-alert", tasks[0].Metadata[MetaAlertGroup])
	assert.Contains(t, tasks[0].UserContent, `"entities":{}`, "absent entities become {}")
}

// Checklist 65.
func TestGraphStateAsJSONString(t *testing.T) {
	var rows []ClosedInvestigation
	for i := range 3 {
		r := fpInv(fmt.Sprint(i), "t", "A")
		s, _ := json.Marshal(string(r.GraphState))
		r.GraphState = s
		rows = append(rows, r)
	}
	rows = append(rows, ClosedInvestigation{InvestigationID: "bad", TenantID: "t", GraphState: json.RawMessage(`not json`), UpdatedAt: t0.Add(-time.Hour)})
	tasks, err := newTestGenerator(t, rows).FPTasks(bg, t0)
	require.NoError(t, err)
	assert.Len(t, tasks, 1)
}

// Checklist 66, 67.
func TestPlaybookTasks(t *testing.T) {
	g := newTestGenerator(t, []ClosedInvestigation{tpInv("1", "t", "AML.T0020"), tpInv("2", "t", "AML.T0020")})
	tasks, err := g.PlaybookTasks(bg, t0)
	require.NoError(t, err)
	require.Len(t, tasks, 1)
	assert.Equal(t, TaskPlaybookGeneration, tasks[0].Type)
	assert.Equal(t, PlaybookSystemPrompt, tasks[0].SystemPrompt)
	assert.Equal(t, "AML.T0020", tasks[0].Metadata[MetaPrimaryTechnique])
	assert.True(t, strings.HasPrefix(tasks[0].UserContent, `{"primary_technique":"AML.T0020","investigation_count":2,"investigations":[{"investigation_id":"1","alert_id":"alert-1","classification":"true_positive","techniques":["AML.T0020"]`))

	tasks, _ = newTestGenerator(t, []ClosedInvestigation{fpInv("1", "t", "A"), fpInv("2", "t", "A"), fpInv("3", "t", "A")}).PlaybookTasks(bg, t0)
	assert.Empty(t, tasks)
}

// Checklist 68, 69.
func TestPlaybookGrouping(t *testing.T) {
	g := newTestGenerator(t, []ClosedInvestigation{tpInv("1", "t", "AML.T0020"), tpInv("2", "t", "AML.T0020"),
		tpInv("3", "t", map[string]any{"atlas_id": "AML.T0015"}), tpInv("4", "t", "AML.T0015")})
	tasks, _ := g.PlaybookTasks(bg, t0)
	assert.Len(t, tasks, 2)

	tasks, _ = newTestGenerator(t, []ClosedInvestigation{tpInv("1", "t"), tpInv("2", "t")}).PlaybookTasks(bg, t0)
	assert.Empty(t, tasks)
	tasks, _ = newTestGenerator(t, []ClosedInvestigation{tpInv("1", "t", "AML.T0099")}).PlaybookTasks(bg, t0)
	assert.Empty(t, tasks)

	fallback := inv("5", "t", map[string]any{"techniques": []any{"T1110"}})
	tasks, _ = newTestGenerator(t, []ClosedInvestigation{fallback, inv("6", "t", map[string]any{"techniques": []any{"T1110"}})}).PlaybookTasks(bg, t0)
	require.Len(t, tasks, 1, "techniques is used when atlas_techniques is empty; no classification counts as not FP")
	tasks, _ = newTestGenerator(t, []ClosedInvestigation{tpInv("7", "t", map[string]any{"atlas_id": ""}), tpInv("8", "t", map[string]any{})}).PlaybookTasks(bg, t0)
	assert.Empty(t, tasks, "an empty primary technique is skipped")
}

// Checklist 70.
func TestAllTasks(t *testing.T) {
	rows := []ClosedInvestigation{fpInv("1", "t", "A"), fpInv("2", "t", "A"), fpInv("3", "t", "A"),
		tpInv("4", "t", "AML.T0020"), tpInv("5", "t", "AML.T0020")}
	src := &countingSource{rows: rows}
	g, err := NewGenerator(src, WithLogger(quiet))
	require.NoError(t, err)
	tasks, err := g.AllTasks(bg, t0)
	require.NoError(t, err)
	require.Len(t, tasks, 2)
	assert.Equal(t, TaskFPPatternGeneration, tasks[0].Type)
	assert.Equal(t, TaskPlaybookGeneration, tasks[1].Type)
	assert.Equal(t, 1, src.calls, "one source query")
	assert.Equal(t, t0.Add(-DefaultLookback), src.from)
	assert.Equal(t, t0, src.to)

	tasks, err = newTestGenerator(t, nil).AllTasks(bg, t0)
	require.NoError(t, err)
	assert.Empty(t, tasks)
}

type countingSource struct {
	rows     []ClosedInvestigation
	calls    int
	from, to time.Time
	err      error
}

func (c *countingSource) ClosedInvestigations(_ context.Context, from, to time.Time) ([]ClosedInvestigation, error) {
	c.calls++
	c.from, c.to = from, to
	return c.rows, c.err
}

func TestGeneratorSourceError(t *testing.T) {
	g, err := NewGenerator(&countingSource{err: errBoom}, WithLogger(quiet))
	require.NoError(t, err)
	_, err = g.AllTasks(bg, t0)
	require.ErrorIs(t, err, errBoom)
	_, err = NewGenerator(nil)
	require.ErrorIs(t, err, ErrInvalidConfig)
}

func TestLookbackWindow(t *testing.T) {
	old := fpInv("old", "t", "A")
	old.UpdatedAt = t0.Add(-48 * time.Hour)
	rows := []ClosedInvestigation{old, fpInv("1", "t", "A"), fpInv("2", "t", "A")}
	tasks, _ := newTestGenerator(t, rows, WithLookback(24*time.Hour)).FPTasks(bg, t0)
	assert.Empty(t, tasks, "the old investigation is outside the window")
	tasks, _ = newTestGenerator(t, rows).FPTasks(bg, t0)
	assert.Len(t, tasks, 1)
}

// Checklist 71.
func TestGeneratorConstants(t *testing.T) {
	assert.Equal(t, 3, MinInvestigationsForFP)
	assert.Equal(t, 2, MinInvestigationsForPlaybook)
	assert.Greater(t, len(FPSystemPrompt), 50)
	assert.Greater(t, len(PlaybookSystemPrompt), 50)
	assert.Contains(t, FPSystemPrompt, "JSON array")
	assert.Contains(t, PlaybookSystemPrompt, "JSON object")
}

// Checklist 72: tenants are never mixed.
func TestFPTasksKeepTenantsApart(t *testing.T) {
	rows := []ClosedInvestigation{fpInv("a1", "A", "Same"), fpInv("b1", "B", "Same"), fpInv("a2", "A", "Same"),
		fpInv("b2", "B", "Same"), fpInv("a3", "A", "Same"), fpInv("x", "", "Same")}
	tasks, _ := newTestGenerator(t, rows).FPTasks(bg, t0)
	require.Len(t, tasks, 1)
	assert.Equal(t, "A", tasks[0].TenantID)
	assert.Equal(t, []string{"a1", "a2", "a3"}, tasks[0].Metadata[MetaSourceInvestigations])
	assert.NotContains(t, tasks[0].UserContent, `"b1"`)
}

// Checklist 73.
func TestFPTaskCapsInvestigations(t *testing.T) {
	var rows []ClosedInvestigation
	for i := range 25 {
		rows = append(rows, fpInv(fmt.Sprintf("inv-%02d", i), "t", "A"))
	}
	tasks, _ := newTestGenerator(t, rows).FPTasks(bg, t0)
	require.Len(t, tasks, 1)
	var content fpContent
	require.NoError(t, json.Unmarshal([]byte(tasks[0].UserContent), &content))
	assert.Equal(t, 25, content.InvestigationCount)
	assert.Len(t, content.Investigations, 20)
	assert.Len(t, tasks[0].Metadata[MetaSourceInvestigations], 20)
}

// Checklist 74.
func TestContentFilterErrorSkipsGroup(t *testing.T) {
	var rows []ClosedInvestigation
	for i := range 3 {
		rows = append(rows, fpInv(fmt.Sprintf("a%d", i), "t", "Alert A"), fpInv(fmt.Sprintf("b%d", i), "t", "Alert B"))
	}
	filter := func(_ context.Context, s string) (string, error) {
		if strings.Contains(s, "Alert A") {
			return "", errBoom
		}
		return strings.ToUpper(s), nil
	}
	tasks, _ := newTestGenerator(t, rows, WithContentFilter(filter)).FPTasks(bg, t0)
	require.Len(t, tasks, 1)
	assert.Equal(t, "Alert B", tasks[0].Metadata[MetaAlertGroup])
	assert.True(t, strings.HasPrefix(tasks[0].UserContent, `{"ALERT_GROUP"`), "the filtered content is used")
}

func TestGeneratedTaskIDsAreStable(t *testing.T) {
	rows := []ClosedInvestigation{fpInv("1", "t", "A"), fpInv("2", "t", "A"), fpInv("3", "t", "A")}
	a, _ := newTestGenerator(t, rows).FPTasks(bg, t0)
	b, _ := newTestGenerator(t, rows).FPTasks(bg, t0.Add(time.Minute))
	assert.Equal(t, a[0].ID, b[0].ID, "same group and sources → same id, so re-mining before a flush is a duplicate")
	rows = append(rows, fpInv("4", "t", "A"))
	c, _ := newTestGenerator(t, rows).FPTasks(bg, t0)
	assert.NotEqual(t, a[0].ID, c[0].ID, "a new investigation makes a new task")
}
