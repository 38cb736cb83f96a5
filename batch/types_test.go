package batch

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Checklist 1 and 3.
func TestNewTaskDefaults(t *testing.T) {
	tk := NewTask(TaskFPPatternGeneration, "sys", "user")
	assert.Len(t, tk.ID, 36)
	assert.Equal(t, time.UTC, tk.CreatedAt.Location())
	assert.False(t, tk.CreatedAt.IsZero())
	assert.Equal(t, "claude-sonnet-4-5-20250929", tk.ModelID)
	assert.Equal(t, 16384, tk.MaxTokens)
	assert.NotNil(t, tk.Metadata)
	assert.NotEqual(t, tk.ID, NewTask(TaskFPPatternGeneration, "", "u").ID)
}

// Checklist 2.
func TestTaskExplicitFieldsKept(t *testing.T) {
	tk := Task{ID: "t-1", Type: TaskFPPatternGeneration, UserContent: "u", MaxTokens: 8192, Metadata: map[string]any{"key": "val"}}
	got := tk.withDefaults(t0)
	require.NoError(t, got.validate())
	assert.Equal(t, "t-1", got.ID)
	assert.Equal(t, TaskFPPatternGeneration, got.Type)
	assert.Equal(t, 8192, got.MaxTokens)
	assert.Equal(t, map[string]any{"key": "val"}, got.Metadata)
	assert.Equal(t, t0, got.CreatedAt)
}

func TestTaskValidation(t *testing.T) {
	cases := map[string]struct {
		task  Task
		field string
	}{
		"no type":          {Task{ID: "a", UserContent: "u"}, "task_type"},
		"no content":       {Task{ID: "a", Type: "x"}, "user_content"},
		"negative tokens":  {Task{ID: "a", Type: "x", UserContent: "u", MaxTokens: -1}, "max_tokens"},
		"bad id character": {Task{ID: "a b", Type: "x", UserContent: "u"}, "task_id"},
		"id too long":      {Task{ID: string(make([]byte, 65)), Type: "x", UserContent: "u"}, "task_id"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			tk := c.task.withDefaults(t0)
			err := tk.validate()
			require.ErrorIs(t, err, ErrInvalidTask)
			var ite *InvalidTaskError
			require.True(t, errors.As(err, &ite))
			assert.Equal(t, c.field, ite.Field)
			assert.False(t, retryable(err), "an invalid task is never worth resubmitting")
		})
	}
}

func TestTaskMetadataIsCopied(t *testing.T) {
	src := []string{"inv-1"}
	meta := map[string]any{MetaSourceInvestigations: src, "nested": map[string]any{"k": []any{"v"}}}
	tk := Task{ID: "a", Type: "x", UserContent: "u", Metadata: meta}.withDefaults(t0)
	src[0] = "changed"
	meta["nested"].(map[string]any)["k"].([]any)[0] = "changed"
	assert.Equal(t, []string{"inv-1"}, tk.Metadata[MetaSourceInvestigations])
	assert.Equal(t, []any{"v"}, tk.Metadata["nested"].(map[string]any)["k"])
}

// Checklist 4 and 5.
func TestNewJobAndTaskCount(t *testing.T) {
	j := NewJob()
	assert.Len(t, j.ID, 36)
	assert.Equal(t, time.UTC, j.CreatedAt.Location())
	assert.Equal(t, JobPending, j.Status)
	assert.Empty(t, j.Tasks)
	assert.Empty(t, j.Results)
	assert.Zero(t, j.ErrorCount)
	assert.Zero(t, j.SuccessCount)
	assert.Zero(t, j.TotalCostUSD)
	assert.Equal(t, 0, j.TaskCount())
	j.Tasks = []Task{task("a"), task("b")}
	assert.Equal(t, 2, j.TaskCount())
}

func TestJobJSONEmptyListsAreArrays(t *testing.T) {
	var j Job
	b, err := json.Marshal(j)
	require.NoError(t, err)
	var m map[string]any
	require.NoError(t, json.Unmarshal(b, &m))
	assert.Equal(t, []any{}, m["tasks"])
	assert.Equal(t, []any{}, m["results"])
	assert.NotContains(t, m, "submitted_at", "zero times are omitted")
	b, err = json.Marshal(Summary{})
	require.NoError(t, err)
	assert.Contains(t, string(b), `"rejections":[]`)
}

func TestJobCloneIsDeep(t *testing.T) {
	j := Job{Tasks: []Task{{ID: "a", Metadata: map[string]any{"k": []string{"v"}}}},
		Results:    []ItemResult{{RequestID: "a", ValidationErrors: []string{"x"}}},
		Redactions: map[string]map[string]string{"a": {"USER_001": "alice"}}}
	c := j.clone()
	c.Tasks[0].Metadata["k"].([]string)[0] = "changed"
	c.Results[0].ValidationErrors[0] = "changed"
	c.Redactions["a"]["USER_001"] = "changed"
	assert.Equal(t, []string{"v"}, j.Tasks[0].Metadata["k"])
	assert.Equal(t, "x", j.Results[0].ValidationErrors[0])
	assert.Equal(t, "alice", j.Redactions["a"]["USER_001"])
}

// Checklist 6.
func TestJobStatuses(t *testing.T) {
	got := make([]string, 0, 6)
	for _, s := range JobStatuses() {
		got = append(got, string(s))
	}
	assert.Equal(t, []string{"pending", "submitted", "in_progress", "completed", "failed", "expired"}, got)
	assert.True(t, JobCompleted.Terminal())
	assert.True(t, JobFailed.Terminal())
	assert.True(t, JobExpired.Terminal())
	assert.False(t, JobSubmitted.Terminal())
}

// Checklist 7.
func TestTaskTypes(t *testing.T) {
	assert.Equal(t, []TaskType{"fp_pattern_generation", "playbook_generation"}, TaskTypes())
}

// Checklist 8–11 describe the spec's FPPattern type, which DESIGN §3 moves
// to orchestrator/autonomy; batch only has the candidate it proposes. This
// covers what batch's candidate keeps.
func TestPatternCandidateFieldsKept(t *testing.T) {
	c := PatternCandidate{PatternID: "fp-1", AlertName: "Test Alert", AlertNameRegex: "Test.*",
		EntityPatterns: []EntityPattern{{Type: "ip", ValueRegex: `^10\.`}}, Severity: "low", Confidence: 0.95}
	b, err := json.Marshal(c)
	require.NoError(t, err)
	var back PatternCandidate
	require.NoError(t, json.Unmarshal(b, &back))
	assert.Equal(t, c, back)
	assert.NotContains(t, string(b), "value_cidr", "an empty CIDR is omitted")
	assert.NotContains(t, string(b), `"status"`, "a candidate carries no approval state")
}

// Checklist 12 and 13.
func TestNewPlaybookDraft(t *testing.T) {
	d := NewPlaybookDraft()
	assert.Len(t, d.PlaybookID, 36)
	assert.Equal(t, "draft", d.Status)
	assert.Empty(t, d.Tactics)
	assert.Empty(t, d.Techniques)
	assert.Empty(t, d.RemediationSteps)
	assert.Empty(t, d.SourceInvestigations)
	d.Name, d.RemediationSteps, d.Confidence = "Phishing Response", []string{"a", "b"}, 0.88
	c := d.clone()
	assert.Equal(t, "Phishing Response", c.Name)
	assert.Equal(t, []string{"a", "b"}, c.RemediationSteps)
	assert.Equal(t, 0.88, c.Confidence)
}

// Checklist 14.
func TestConstants(t *testing.T) {
	assert.Equal(t, 10_000, MaxBatchSize)
	assert.Equal(t, 24*time.Hour, BatchSLA)
	assert.Equal(t, 50, DefaultCountThreshold)
	assert.Equal(t, 6*time.Hour, DefaultTimeThreshold)
	assert.Equal(t, 300*time.Second, DefaultPollInterval)
	assert.Equal(t, 0.8, DefaultMinPatternConfidence)
}

func TestFingerprintUUIDShape(t *testing.T) {
	id := fingerprintUUID([]byte("x"))
	assert.Regexp(t, `^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`, id)
	assert.Equal(t, id, fingerprintUUID([]byte("x")))
	assert.NotEqual(t, id, fingerprintUUID([]byte("y")))
	assert.Regexp(t, `^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`, newUUID())
}

func TestEntityVocabulary(t *testing.T) {
	for in, want := range map[string]string{"user": "account", " Domain ": "dns", "HASH": "filehash", "ips": "ip",
		"host": "host", "mailbox": "mailbox", "process": "process", "url": "url", "file": "file"} {
		got, ok := CanonicalEntityType(in)
		assert.True(t, ok, in)
		assert.Equal(t, want, got, in)
	}
	for _, bad := range []string{"", "registry", "cve", "user_agent"} {
		_, ok := CanonicalEntityType(bad)
		assert.False(t, ok, bad)
	}
	assert.Len(t, EntityTypes(), 9)
	for _, e := range EntityTypes() {
		got, ok := CanonicalEntityType(e)
		assert.True(t, ok)
		assert.Equal(t, e, got)
	}
}

func TestOptionsRejectedWhereNotRead(t *testing.T) {
	_, err := NewScheduler(&fakeJobClient{}, WithLookback(time.Hour))
	require.ErrorIs(t, err, ErrInvalidConfig)
	var ce *ConfigError
	require.True(t, errors.As(err, &ce))
	assert.Equal(t, "WithLookback", ce.Option)

	_, err = NewProcessor(NewMemoryCandidateStore(), WithCountThreshold(0))
	require.ErrorIs(t, err, ErrInvalidConfig)

	for name, opt := range map[string]Option{
		"count":    WithCountThreshold(0),
		"time":     WithTimeThreshold(0),
		"poll":     WithPollInterval(-1),
		"queue":    WithMaxQueuedTasks(0),
		"backoff":  WithRetryBackoff(time.Hour, time.Minute),
		"attempts": WithMaxSubmitAttempts(0),
		"window":   WithSubmitWindow(time.Hour, time.Hour),
		"history":  WithJobHistory(0),
		"size":     WithMaxBatchSize(10_001),
		"bytes":    WithMaxBatchBytes(10),
		"clock":    WithClock(nil),
		"logger":   WithLogger(nil),
		"sleeper":  WithSleeper(nil),
	} {
		_, err := NewScheduler(&fakeJobClient{}, opt)
		assert.ErrorIs(t, err, ErrInvalidConfig, name)
	}
	_, err = NewScheduler(nil)
	assert.ErrorIs(t, err, ErrInvalidConfig)
	_, err = NewClient(&fakeAPI{}, &passGate{}, newSpend(), WithPricing(-1, 1))
	assert.ErrorIs(t, err, ErrInvalidConfig)
	_, err = NewProcessor(NewMemoryCandidateStore(), WithResultHandler(TaskFPPatternGeneration, func(context.Context, Job, Task, ItemResult) error { return nil }))
	assert.ErrorIs(t, err, ErrInvalidConfig, "a built-in type cannot be re-registered")
	_, err = NewProcessor(NewMemoryCandidateStore(), WithMinPatternConfidence(1.5))
	assert.ErrorIs(t, err, ErrInvalidConfig)
}

func TestClientRequiresGateAndSpendGuard(t *testing.T) {
	_, err := NewClient(&fakeAPI{}, nil, newSpend())
	require.ErrorIs(t, err, ErrInvalidConfig)
	assert.Contains(t, err.Error(), "bypass the gate")
	_, err = NewClient(&fakeAPI{}, &passGate{}, nil)
	require.ErrorIs(t, err, ErrInvalidConfig)
	assert.Contains(t, err.Error(), "spend guard")
	_, err = NewClient(nil, &passGate{}, newSpend())
	require.ErrorIs(t, err, ErrInvalidConfig)
	_, err = New(&fakeAPI{}, &passGate{}, newSpend(), nil)
	require.ErrorIs(t, err, ErrInvalidConfig)
}

func TestSubmitWindow(t *testing.T) {
	w := &submitWindow{from: 22 * time.Hour, to: 6 * time.Hour}
	at := func(h int) time.Time { return time.Date(2025, 1, 1, h, 30, 0, 0, time.UTC) }
	assert.True(t, w.contains(at(23)))
	assert.True(t, w.contains(at(2)))
	assert.False(t, w.contains(at(12)))
	w = &submitWindow{from: 1 * time.Hour, to: 3 * time.Hour}
	assert.True(t, w.contains(at(2)))
	assert.False(t, w.contains(at(3)))
	assert.False(t, w.contains(at(0)))
	var none *submitWindow
	assert.True(t, none.contains(at(12)))
}
