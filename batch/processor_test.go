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

func reasons(s Summary) []string {
	out := make([]string, len(s.Rejections))
	for i, r := range s.Rejections {
		out[i] = r.Reason
	}
	return out
}

// Checklist 75 and 76.
func TestProcessValidFPResult(t *testing.T) {
	store := NewMemoryCandidateStore()
	p := newTestProcessor(t, store)
	sum, err := p.ProcessJob(bg, jobWith([]Task{fpTask("t1", "tenant-a", "inv-1", "inv-2")}, okResult("t1", validFP)))
	require.NoError(t, err)
	assert.Equal(t, 1, sum.FPPatternsStored)
	assert.Zero(t, sum.Errors)
	cs := store.Candidates()
	require.Len(t, cs, 1)
	c := cs[0]
	_, status, _ := store.Get(c.PatternID)
	assert.Equal(t, StatusPendingReview, status)
	assert.Equal(t, []string{"inv-1", "inv-2"}, c.SourceInvestigations)
	assert.Equal(t, "Test Alert", c.AlertName)
	assert.Equal(t, "Test.*", c.AlertNameRegex)
	assert.Equal(t, []EntityPattern{{Type: "ip", ValueRegex: `^10\.0\.0\.5$`}}, c.EntityPatterns)
	assert.Equal(t, "low", c.Severity)
	assert.Equal(t, 0.92, c.Confidence)
	assert.Equal(t, "scanner", c.Reason)
	assert.Equal(t, "tenant-a", c.ScopeTenantID)
	assert.Equal(t, c.CreatedAt, c.UpdatedAt)
	assert.Equal(t, "job-1", c.JobID)
	assert.Equal(t, "t1", c.TaskID)
	assert.Equal(t, candidateFingerprint("tenant-a", "Test.*", c.EntityPatterns), c.PatternID)
}

// Checklist 77.
func TestProcessUnparsableFP(t *testing.T) {
	store := NewMemoryCandidateStore()
	sum, err := newTestProcessor(t, store).ProcessJob(bg, jobWith([]Task{fpTask("t1", "a")}, okResult("t1", "not json")))
	require.NoError(t, err)
	assert.Zero(t, sum.FPPatternsStored)
	assert.Equal(t, 1, sum.Errors)
	assert.Equal(t, []string{ReasonUnparsableJSON}, reasons(sum))
	assert.Empty(t, store.Candidates())
}

// Checklist 78 and 79.
func TestProcessPlaybookResult(t *testing.T) {
	pub := NewMemoryPublisher()
	drafts := NewMemoryDraftStore()
	p := newTestProcessor(t, NewMemoryCandidateStore(), WithPublisher(pub), WithDraftStore(drafts))
	sum, err := p.ProcessJob(bg, jobWith([]Task{pbTask("t1", "a", "T1110", "inv-1", "inv-2")}, okResult("t1", validPlaybook)))
	require.NoError(t, err)
	assert.Equal(t, 1, sum.PlaybooksPublished)
	msgs := pub.Messages(TopicPlaybookDrafts)
	require.Len(t, msgs, 1)
	ds := drafts.Drafts()
	require.Len(t, ds, 1)
	d := ds[0]
	assert.Equal(t, d.PlaybookID, msgs[0].Key)
	var m map[string]any
	require.NoError(t, json.Unmarshal(msgs[0].Value, &m))
	assert.ElementsMatch(t, []string{"playbook_id", "name", "description", "tactics", "techniques", "remediation_steps",
		"confidence", "source_investigations", "status", "created_at"}, keys(m))
	assert.Equal(t, "Brute Force Playbook", d.Name)
	assert.Equal(t, []string{"T1110"}, d.Techniques)
	assert.Equal(t, []string{"Lock account", "Reset password"}, d.RemediationSteps)
	assert.Equal(t, "draft", d.Status)
	assert.Equal(t, "a", d.TenantID)
	assert.Equal(t, []string{"inv-1", "inv-2"}, d.SourceInvestigations)

	sum, err = newTestProcessor(t, NewMemoryCandidateStore()).ProcessJob(bg, jobWith([]Task{pbTask("t1", "a", "T1110")}, okResult("t1", validPlaybook)))
	require.NoError(t, err)
	assert.Equal(t, 1, sum.PlaybooksPublished, "no publisher: still stored")
}

func keys(m map[string]any) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

// Checklist 80, 81, 82.
func TestProcessErrorsAndMix(t *testing.T) {
	store := NewMemoryCandidateStore()
	p := newTestProcessor(t, store)
	failed := ItemResult{RequestID: "t1", Status: ResultError, ValidationErrors: []string{"x"}}
	sum, _ := p.ProcessJob(bg, jobWith([]Task{fpTask("t1", "a")}, failed))
	assert.Equal(t, 1, sum.Errors)
	assert.Equal(t, []string{ReasonResultFailed}, reasons(sum))
	assert.Empty(t, store.Candidates())

	sum, _ = p.ProcessJob(bg, jobWith([]Task{fpTask("t1", "a")}, okResult("other", validFP)))
	assert.Equal(t, 1, sum.Errors)
	assert.Equal(t, []string{ReasonNoMatchingTask}, reasons(sum))

	invalid := okResult("t1", validFP)
	invalid.Valid = false
	sum, _ = p.ProcessJob(bg, jobWith([]Task{fpTask("t1", "a")}, invalid))
	assert.Equal(t, []string{ReasonResultInvalid}, reasons(sum))

	sum, _ = newTestProcessor(t, NewMemoryCandidateStore()).ProcessJob(bg, jobWith(
		[]Task{fpTask("f", "a"), pbTask("p", "a", "T1110"), fpTask("e", "a")},
		okResult("f", validFP), okResult("p", validPlaybook), ItemResult{RequestID: "e", Status: ResultError}))
	assert.Equal(t, 1, sum.FPPatternsStored)
	assert.Equal(t, 1, sum.PlaybooksPublished)
	assert.Equal(t, 1, sum.Errors)
}

// Results are matched to tasks by request id, never by position.
func TestProcessMatchesByRequestID(t *testing.T) {
	store := NewMemoryCandidateStore()
	p := newTestProcessor(t, store)
	fpA := strings.Replace(validFP, "Test.*", "Alpha alert", 1)
	fpA = strings.Replace(fpA, `"Test Alert"`, `"Alpha alert"`, 1)
	tasks := []Task{fpTask("ta", "tenant-a"), pbTask("tb", "tenant-b", "T1110")}
	sum, err := p.ProcessJob(bg, jobWith(tasks, okResult("tb", validPlaybook), okResult("ta", fpA)))
	require.NoError(t, err)
	assert.Equal(t, 1, sum.FPPatternsStored)
	assert.Equal(t, 1, sum.PlaybooksPublished)
	assert.Equal(t, "tenant-a", store.Candidates()[0].ScopeTenantID)
}

// Checklist 87: the reference's raw AUDIT_TOPIC message is not reproduced.
func TestProcessWritesNothingToAuditTopic(t *testing.T) {
	pub := NewMemoryPublisher()
	p := newTestProcessor(t, NewMemoryCandidateStore(), WithPublisher(pub))
	_, err := p.ProcessJob(bg, jobWith([]Task{fpTask("f", "a"), pbTask("p", "a", "T1110")},
		okResult("f", validFP), okResult("p", validPlaybook)))
	require.NoError(t, err)
	for _, m := range pub.Messages("") {
		assert.NotEqual(t, "audit.events", m.Topic)
		assert.NotContains(t, string(m.Value), "batch_processing_complete")
	}
	assert.Len(t, pub.Messages(""), 1, "only the playbook draft")
}

// Checklist 88: dedup across cycles.
func TestFPDedupAcrossJobs(t *testing.T) {
	store := NewMemoryCandidateStore()
	p := newTestProcessor(t, store)
	s1, _ := p.ProcessJob(bg, jobWith([]Task{fpTask("t1", "a", "inv-1")}, okResult("t1", validFP)))
	j2 := jobWith([]Task{fpTask("t2", "a", "inv-2", "inv-1")}, okResult("t2", strings.Replace(validFP, "0.92", "0.95", 1)))
	j2.ID = "job-2"
	s2, _ := p.ProcessJob(bg, j2)
	assert.Equal(t, 1, s1.FPPatternsStored)
	assert.Zero(t, s2.FPPatternsStored)
	assert.Equal(t, 1, s2.Duplicates)
	cs := store.Candidates()
	require.Len(t, cs, 1)
	assert.Equal(t, []string{"inv-1", "inv-2"}, cs[0].SourceInvestigations, "pending candidate merged: ordered union")
	assert.Equal(t, 0.95, cs[0].Confidence)
	assert.Equal(t, "job-1", cs[0].JobID, "the first provenance stays")
}

func TestSamePatternOtherTenantIsAnotherPattern(t *testing.T) {
	store := NewMemoryCandidateStore()
	p := newTestProcessor(t, store)
	sum, _ := p.ProcessJob(bg, jobWith([]Task{fpTask("t1", "a"), fpTask("t2", "b")}, okResult("t1", validFP), okResult("t2", validFP)))
	assert.Equal(t, 2, sum.FPPatternsStored)
	cs := store.Candidates()
	require.Len(t, cs, 2)
	assert.NotEqual(t, cs[0].PatternID, cs[1].PatternID)
	assert.Equal(t, "a", cs[0].ScopeTenantID)
	assert.Equal(t, "b", cs[1].ScopeTenantID)
}

// Checklist 89: a reviewed pattern is never reset to pending.
func TestApprovedPatternStaysApproved(t *testing.T) {
	store := NewMemoryCandidateStore()
	p := newTestProcessor(t, store)
	_, _ = p.ProcessJob(bg, jobWith([]Task{fpTask("t1", "a", "inv-1")}, okResult("t1", validFP)))
	id := store.Candidates()[0].PatternID
	require.True(t, store.SetStatus(id, "approved"))
	sum, _ := p.ProcessJob(bg, jobWith([]Task{fpTask("t2", "a", "inv-9")}, okResult("t2", strings.Replace(validFP, "0.92", "0.99", 1))))
	assert.Equal(t, 1, sum.Duplicates)
	c, status, _ := store.Get(id)
	assert.Equal(t, "approved", status)
	assert.Equal(t, 0.92, c.Confidence, "an approved pattern is left untouched")
	assert.Equal(t, []string{"inv-1"}, c.SourceInvestigations)
}

// Checklist 90.
func TestFPArrayOfCandidates(t *testing.T) {
	second := strings.Replace(validFP, `^10\\.0\\.0\\.5$`, `^10\\.0\\.0\\.6$`, 1)
	sum, _ := newTestProcessor(t, NewMemoryCandidateStore()).ProcessJob(bg,
		jobWith([]Task{fpTask("t1", "a")}, okResult("t1", "["+validFP+","+second+"]")))
	assert.Equal(t, 2, sum.FPPatternsStored)
	assert.Zero(t, sum.Errors)
}

func TestFPArrayLimits(t *testing.T) {
	p := newTestProcessor(t, NewMemoryCandidateStore())
	sum, _ := p.ProcessJob(bg, jobWith([]Task{fpTask("t1", "a")}, okResult("t1", "[]")))
	assert.Equal(t, []string{ReasonNoCandidates}, reasons(sum))
	many := "[" + strings.TrimSuffix(strings.Repeat(validFP+",", 51), ",") + "]"
	store := NewMemoryCandidateStore()
	sum, _ = newTestProcessor(t, store).ProcessJob(bg, jobWith([]Task{fpTask("t1", "a")}, okResult("t1", many)))
	assert.Equal(t, []string{ReasonTooManyCandidates}, reasons(sum))
	assert.Empty(t, store.Candidates(), "nothing stored")
}

// Checklist 91.
func TestFPCandidateRejections(t *testing.T) {
	cases := map[string]struct {
		answer string
		reason string
	}{
		"catch-all":        {`{"alert_name_regex": ".*", "confidence": 0.9}`, ReasonRegexMatchesEverything},
		"uncompilable":     {`{"alert_name_regex": "Test(", "confidence": 0.9}`, ReasonInvalidAlertNameRegex},
		"lookahead":        {`{"alert_name_regex": "Test(?=x)", "confidence": 0.9}`, ReasonInvalidAlertNameRegex},
		"low confidence":   {`{"alert_name_regex": "Test.*", "confidence": 0.5}`, ReasonConfidenceBelowMinimum},
		"confidence > 1":   {`{"alert_name_regex": "Test.*", "confidence": 1.2}`, ReasonInvalidConfidence},
		"no confidence":    {`{"alert_name_regex": "Test.*"}`, ReasonInvalidConfidence},
		"string conf":      {`{"alert_name_regex": "Test.*", "confidence": "0.9"}`, ReasonInvalidConfidence},
		"severity":         {`{"alert_name_regex": "Test.*", "confidence": 0.9, "severity": "urgent"}`, ReasonInvalidSeverity},
		"no entity value":  {`{"alert_name_regex": "Test.*", "confidence": 0.9, "entity_patterns": [{"type": "ip"}]}`, ReasonInvalidEntityPattern},
		"unknown entity":   {`{"alert_name_regex": "Test.*", "confidence": 0.9, "entity_patterns": [{"type": "registry", "value_regex": "^HKLM"}]}`, ReasonInvalidEntityPattern},
		"entity catch-all": {`{"alert_name_regex": "Test.*", "confidence": 0.9, "entity_patterns": [{"type": "host", "value_regex": ".*"}]}`, ReasonRegexMatchesEverything},
		"entity generic":   {`{"alert_name_regex": "Test.*", "confidence": 0.9, "entity_patterns": [{"type": "hash", "value_regex": "^[a-f0-9]{64}$"}]}`, ReasonRegexTooGeneric},
		"cidr everything":  {`{"alert_name_regex": "Test.*", "confidence": 0.9, "entity_patterns": [{"type": "ip", "value_cidr": "0.0.0.0/0"}]}`, ReasonRegexMatchesEverything},
		"cidr too broad":   {`{"alert_name_regex": "Test.*", "confidence": 0.9, "entity_patterns": [{"type": "ip", "value_cidr": "10.0.0.0/4"}]}`, ReasonInvalidEntityPattern},
		"cidr wrong type":  {`{"alert_name_regex": "Test.*", "confidence": 0.9, "entity_patterns": [{"type": "host", "value_cidr": "10.0.0.0/8"}]}`, ReasonInvalidEntityPattern},
		"bad cidr":         {`{"alert_name_regex": "Test.*", "confidence": 0.9, "entity_patterns": [{"type": "ip", "value_cidr": "10.0.0.0/33"}]}`, ReasonInvalidEntityPattern},
		"dot plus":         {`{"alert_name_regex": ".+", "confidence": 0.9}`, ReasonRegexTooGeneric},
		"word class":       {`{"alert_name_regex": "\\w+ \\w+", "confidence": 0.9}`, ReasonRegexTooGeneric},
		"alternation":      {`{"alert_name_regex": "Login failed|.+", "confidence": 0.9}`, ReasonRegexTooGeneric},
		"empty branch":     {`{"alert_name_regex": "Login failed|", "confidence": 0.9}`, ReasonRegexMatchesEverything},
		"name mismatch":    {`{"alert_name": "Other", "alert_name_regex": "Test.*", "confidence": 0.9}`, ReasonRegexNotMatchAlertName},
		"regex not string": {`{"alert_name_regex": 5, "confidence": 0.9}`, ReasonInvalidAlertNameRegex},
		"regex too long":   {`{"alert_name_regex": "` + strings.Repeat("a", 1025) + `", "confidence": 0.9}`, ReasonInvalidAlertNameRegex},
		"not an object":    {`["Test.*"]`, ReasonNotAnObject},
		"too many entities": {`{"alert_name_regex": "Test.*", "confidence": 0.9, "entity_patterns": [` +
			strings.TrimSuffix(strings.Repeat(`{"type":"ip","value_regex":"^10\\.1"},`, 21), ",") + `]}`, ReasonInvalidEntityPattern},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			store := NewMemoryCandidateStore()
			sum, err := newTestProcessor(t, store).ProcessJob(bg, jobWith([]Task{fpTask("t1", "a")}, okResult("t1", c.answer)))
			require.NoError(t, err)
			assert.Equal(t, []string{c.reason}, reasons(sum))
			assert.Equal(t, 1, sum.Errors)
			assert.Empty(t, store.Candidates())
		})
	}
}

func TestFPCandidateNormalisation(t *testing.T) {
	store := NewMemoryCandidateStore()
	answer := `{"alert_name_regex": "  Test.*  ", "confidence": 0.8, "severity": " HIGH ",
	  "entity_patterns": [{"type": "User", "value_regex": "^svc_backup$"}, {"type": "domain", "value_regex": "\\.corp\\.example$"},
	    {"type": "ip", "value_cidr": "10.1.2.3/16"}, {"type": "user", "value_regex": "^svc_backup$"}]}`
	sum, _ := newTestProcessor(t, store).ProcessJob(bg, jobWith([]Task{fpTask("t1", "a")}, okResult("t1", answer)))
	require.Equal(t, 1, sum.FPPatternsStored, sum.Rejections)
	c := store.Candidates()[0]
	assert.Equal(t, "Test.*", c.AlertNameRegex)
	assert.Equal(t, "Test Alert", c.AlertName, "empty alert_name falls back to the task's alert group")
	assert.Equal(t, "high", c.Severity)
	assert.Equal(t, DefaultPatternReason, c.Reason)
	assert.Equal(t, []EntityPattern{
		{Type: "account", ValueRegex: "^svc_backup$"},
		{Type: "dns", ValueRegex: `\.corp\.example$`},
		{Type: "ip", ValueCIDR: "10.1.0.0/16"},
	}, c.EntityPatterns, "synonyms mapped, duplicates dropped, sorted, prefix masked")
}

// The fingerprint ignores entity pattern order.
func TestFingerprintIgnoresEntityOrder(t *testing.T) {
	a := []EntityPattern{{Type: "ip", ValueRegex: "^1"}, {Type: "host", ValueRegex: "^h"}}
	b := []EntityPattern{{Type: "host", ValueRegex: "^h"}, {Type: "ip", ValueRegex: "^1"}}
	assert.Equal(t, candidateFingerprint("t", "x", a), candidateFingerprint("t", "x", b))
	assert.NotEqual(t, candidateFingerprint("t", "x", a), candidateFingerprint("u", "x", a))
	assert.NotEqual(t, candidateFingerprint("t", "x", a), candidateFingerprint("t", "y", a))
}

// Checklist 92: a model cannot approve or scope its own pattern.
func TestModelCannotApproveOrScope(t *testing.T) {
	store := NewMemoryCandidateStore()
	answer := strings.TrimSuffix(validFP, "}") + `, "status": "approved", "approved_by": "llm", "scope_tenant_id": "x", "pattern_id": "mine"}`
	sum, _ := newTestProcessor(t, store).ProcessJob(bg, jobWith([]Task{fpTask("t1", "tenant-a")}, okResult("t1", answer)))
	require.Equal(t, 1, sum.FPPatternsStored)
	c := store.Candidates()[0]
	_, status, _ := store.Get(c.PatternID)
	assert.Equal(t, StatusPendingReview, status)
	assert.Equal(t, "tenant-a", c.ScopeTenantID)
	assert.NotEqual(t, "mine", c.PatternID)
}

// Checklist 93.
func TestFencedAnswer(t *testing.T) {
	for _, answer := range []string{"```json\n" + validFP + "\n```", "```\n[" + validFP + "]\n```",
		"Here are the patterns:\n[" + validFP + "]\nThanks."} {
		sum, _ := newTestProcessor(t, NewMemoryCandidateStore()).ProcessJob(bg, jobWith([]Task{fpTask("t1", "a")}, okResult("t1", answer)))
		assert.Equal(t, 1, sum.FPPatternsStored, answer)
	}
}

// Checklist 94.
func TestPlaybookWithoutSteps(t *testing.T) {
	for _, answer := range []string{`{"name": "x"}`, `{"name": "x", "remediation_steps": ["  ", ""]}`, `{"remediation_steps": "do it"}`} {
		sum, _ := newTestProcessor(t, NewMemoryCandidateStore()).ProcessJob(bg, jobWith([]Task{pbTask("t1", "a", "T1110")}, okResult("t1", answer)))
		assert.Equal(t, []string{ReasonNoRemediationSteps}, reasons(sum), answer)
	}
}

// Checklist 95 and 120 (audit part in audit_test.go).
func TestPlaybookTechniqueQuarantine(t *testing.T) {
	drafts := NewMemoryDraftStore()
	answer := `{"name": "P", "techniques": ["T1566", "aml.t0051", "T99", "LLM04", "T1566"], "remediation_steps": ["a"]}`
	sum, _ := newTestProcessor(t, NewMemoryCandidateStore(), WithDraftStore(drafts)).ProcessJob(bg,
		jobWith([]Task{pbTask("t1", "a", "T1566")}, okResult("t1", answer)))
	require.Equal(t, 1, sum.PlaybooksPublished)
	assert.Equal(t, []string{"T1566", "AML.T0051"}, drafts.Drafts()[0].Techniques)

	// Well-formed but not in the pinned MITRE table: quarantined by default.
	drafts = NewMemoryDraftStore()
	answer = `{"name": "P", "techniques": ["T1566", "T9999", "AML.T0044.001"], "remediation_steps": ["a"]}`
	_, _ = newTestProcessor(t, NewMemoryCandidateStore(), WithDraftStore(drafts)).ProcessJob(bg,
		jobWith([]Task{pbTask("t1", "a", "T1566")}, okResult("t1", answer)))
	assert.Equal(t, []string{"T1566"}, drafts.Drafts()[0].Techniques)

	drafts = NewMemoryDraftStore()
	_, _ = newTestProcessor(t, NewMemoryCandidateStore(), WithDraftStore(drafts), WithKnownTechniques(func(string) bool { return true })).ProcessJob(bg,
		jobWith([]Task{pbTask("t1", "a", "T1566")}, okResult("t1", answer)))
	assert.Equal(t, []string{"T1566", "T9999", "AML.T0044.001"}, drafts.Drafts()[0].Techniques)
}

func TestPlaybookFieldRules(t *testing.T) {
	drafts := NewMemoryDraftStore()
	answer := fmt.Sprintf(`{"description": %q, "tactics": ["Initial Access", " ", "TA0006", 5], "remediation_steps": ["  step one  ", "step two"], "confidence": 0.7}`,
		strings.Repeat("d", 5000))
	sum, _ := newTestProcessor(t, NewMemoryCandidateStore(), WithDraftStore(drafts)).ProcessJob(bg,
		jobWith([]Task{pbTask("t1", "a", "T1110")}, okResult("t1", answer)))
	require.Equal(t, 1, sum.PlaybooksPublished)
	d := drafts.Drafts()[0]
	assert.Equal(t, DefaultPlaybookName, d.Name)
	assert.Len(t, d.Description, 4000)
	assert.Equal(t, []string{"Initial Access", "TA0006"}, d.Tactics)
	assert.Equal(t, []string{"step one", "step two"}, d.RemediationSteps)
	assert.Equal(t, 0.7, d.Confidence)

	sum, _ = newTestProcessor(t, NewMemoryCandidateStore()).ProcessJob(bg,
		jobWith([]Task{pbTask("t1", "a", "T1110")}, okResult("t1", `{"remediation_steps": ["a"], "confidence": 3}`)))
	assert.Equal(t, []string{ReasonInvalidConfidence}, reasons(sum))
	sum, _ = newTestProcessor(t, NewMemoryCandidateStore()).ProcessJob(bg,
		jobWith([]Task{pbTask("t1", "a", "T1110")}, okResult("t1", `"just text"`)))
	assert.Equal(t, []string{ReasonNotAnObject}, reasons(sum))
}

// Checklist 96.
func TestPlaybookDedupAcrossJobs(t *testing.T) {
	p := newTestProcessor(t, NewMemoryCandidateStore())
	s1, _ := p.ProcessJob(bg, jobWith([]Task{pbTask("t1", "a", "T1110", "inv-2", "inv-1")}, okResult("t1", validPlaybook)))
	s2, _ := p.ProcessJob(bg, jobWith([]Task{pbTask("t2", "a", "T1110", "inv-1", "inv-2")}, okResult("t2", validPlaybook)))
	assert.Equal(t, 1, s1.PlaybooksPublished)
	assert.Zero(t, s2.PlaybooksPublished)
	assert.Equal(t, 1, s2.Duplicates)
	s3, _ := p.ProcessJob(bg, jobWith([]Task{pbTask("t3", "b", "T1110", "inv-1", "inv-2")}, okResult("t3", validPlaybook)))
	assert.Equal(t, 1, s3.PlaybooksPublished, "another tenant's draft is its own")

	// A host task without technique or sources is keyed by its task id.
	host := Task{ID: "h1", Type: TaskPlaybookGeneration, UserContent: "x"}
	s4, _ := p.ProcessJob(bg, jobWith([]Task{host}, okResult("h1", validPlaybook)))
	s5, _ := p.ProcessJob(bg, jobWith([]Task{host}, okResult("h1", validPlaybook)))
	assert.Equal(t, 1, s4.PlaybooksPublished)
	assert.Equal(t, 1, s5.Duplicates)
}

func TestPlaybookArrayAnswer(t *testing.T) {
	drafts := NewMemoryDraftStore()
	sum, _ := newTestProcessor(t, NewMemoryCandidateStore(), WithDraftStore(drafts)).ProcessJob(bg,
		jobWith([]Task{pbTask("t1", "a", "T1110", "i")}, okResult("t1", "["+validPlaybook+","+validPlaybook+"]")))
	assert.Equal(t, 2, sum.PlaybooksPublished)
	ds := drafts.Drafts()
	require.Len(t, ds, 2)
	assert.Equal(t, playbookFingerprint("a", "T1110", []string{"i"}, "t1", 0), ds[0].PlaybookID)
	assert.NotEqual(t, ds[0].PlaybookID, ds[1].PlaybookID)
}

// Checklist 97.
func TestResultHandler(t *testing.T) {
	var calls []string
	h := func(_ context.Context, j Job, tk Task, r ItemResult) error {
		calls = append(calls, j.ID+"/"+tk.ID+"/"+r.Content)
		return nil
	}
	host := Task{ID: "r1", Type: "agent_red_team", UserContent: "x"}
	p := newTestProcessor(t, NewMemoryCandidateStore(), WithResultHandler("agent_red_team", h))
	sum, _ := p.ProcessJob(bg, jobWith([]Task{host}, okResult("r1", "report")))
	assert.Equal(t, []string{"job-1/r1/report"}, calls)
	assert.Zero(t, sum.Errors)

	sum, _ = newTestProcessor(t, NewMemoryCandidateStore()).ProcessJob(bg, jobWith([]Task{host}, okResult("r1", "report")))
	assert.Equal(t, []string{ReasonUnknownTaskType}, reasons(sum))

	failing := func(context.Context, Job, Task, ItemResult) error { return errBoom }
	sum, _ = newTestProcessor(t, NewMemoryCandidateStore(), WithResultHandler("agent_red_team", failing)).ProcessJob(bg, jobWith([]Task{host}, okResult("r1", "x")))
	assert.Equal(t, []string{ReasonHandlerFailed}, reasons(sum))
	panicking := func(context.Context, Job, Task, ItemResult) error { panic("bug") }
	sum, _ = newTestProcessor(t, NewMemoryCandidateStore(), WithResultHandler("agent_red_team", panicking)).ProcessJob(bg, jobWith([]Task{host}, okResult("r1", "x")))
	assert.Equal(t, []string{ReasonHandlerFailed}, reasons(sum))
}

func TestMetadataTaskTypeOverridesType(t *testing.T) {
	tk := Task{ID: "t1", Type: "other", UserContent: "x", Metadata: map[string]any{MetaTaskType: "fp_pattern_generation", MetaAlertGroup: "Test Alert"}}
	sum, _ := newTestProcessor(t, NewMemoryCandidateStore()).ProcessJob(bg, jobWith([]Task{tk}, okResult("t1", validFP)))
	assert.Equal(t, 1, sum.FPPatternsStored)
}

type failingStore struct{ panics bool }

func (f failingStore) UpsertCandidate(context.Context, PatternCandidate) (bool, error) {
	if f.panics {
		panic("store bug")
	}
	return false, errBoom
}

type failingDrafts struct{}

func (failingDrafts) SaveDraft(context.Context, PlaybookDraft) (bool, error) { return false, errBoom }

type failingPublisher struct{}

func (failingPublisher) Publish(context.Context, string, string, []byte) error { return errBoom }

func TestStoreFailuresCountAndContinue(t *testing.T) {
	for _, st := range []CandidateStore{failingStore{}, failingStore{panics: true}} {
		sum, err := newTestProcessor(t, st).ProcessJob(bg, jobWith([]Task{fpTask("t1", "a"), pbTask("t2", "a", "T1110")},
			okResult("t1", validFP), okResult("t2", validPlaybook)))
		require.NoError(t, err)
		assert.Equal(t, []string{ReasonStoreFailed}, reasons(sum))
		assert.Equal(t, 1, sum.PlaybooksPublished, "the next item is still processed")
	}
	sum, _ := newTestProcessor(t, NewMemoryCandidateStore(), WithDraftStore(failingDrafts{})).ProcessJob(bg,
		jobWith([]Task{pbTask("t2", "a", "T1110")}, okResult("t2", validPlaybook)))
	assert.Equal(t, []string{ReasonStoreFailed}, reasons(sum))
	sum, _ = newTestProcessor(t, NewMemoryCandidateStore(), WithPublisher(failingPublisher{})).ProcessJob(bg,
		jobWith([]Task{pbTask("t2", "a", "T1110")}, okResult("t2", validPlaybook)))
	assert.Equal(t, 1, sum.PlaybooksPublished, "a publish failure does not change the counts")
	assert.Zero(t, sum.Errors)
}

func TestProcessStopsOnCancelledContext(t *testing.T) {
	ctx, cancel := context.WithCancel(bg)
	cancel()
	sum, err := newTestProcessor(t, NewMemoryCandidateStore()).ProcessJob(ctx, jobWith([]Task{fpTask("t1", "a")}, okResult("t1", validFP)))
	require.ErrorIs(t, err, context.Canceled)
	assert.Zero(t, sum.FPPatternsStored)
}

// Pseudonymised values are restored in the answer: verbatim in text,
// regex-quoted in patterns, and patterns over pseudonyms are refused.
func TestRedactionsRestoredInAnswer(t *testing.T) {
	store := NewMemoryCandidateStore()
	j := jobWith([]Task{fpTask("t1", "a")}, okResult("t1",
		`{"alert_name": "Logon from HOST_001", "alert_name_regex": "^Logon from HOST_001", "confidence": 0.9,
		  "entity_patterns": [{"type": "user", "value_regex": "^USER_001$"}, {"type": "ip", "value_cidr": "IP_SRC_001/32"}],
		  "reason": "USER_001 runs backups"}`))
	j.Redactions = map[string]map[string]string{"t1": {"HOST_001": "ws-01.corp", "USER_001": "svc.backup", "IP_SRC_001": "10.0.0.5"}}
	sum, _ := newTestProcessor(t, store).ProcessJob(bg, j)
	require.Equal(t, 1, sum.FPPatternsStored, sum.Rejections)
	c := store.Candidates()[0]
	assert.Equal(t, "Logon from ws-01.corp", c.AlertName)
	assert.Equal(t, `^Logon from ws-01\.corp`, c.AlertNameRegex)
	assert.Equal(t, []EntityPattern{{Type: "account", ValueRegex: `^svc\.backup$`}, {Type: "ip", ValueCIDR: "10.0.0.5/32"}}, c.EntityPatterns)
	assert.Equal(t, "svc.backup runs backups", c.Reason)

	j.Results[0] = okResult("t1", `{"alert_name_regex": "^Logon from HOST_\\d+", "confidence": 0.9}`)
	sum, _ = newTestProcessor(t, NewMemoryCandidateStore()).ProcessJob(bg, j)
	assert.Equal(t, []string{ReasonRegexReferencesRedacted}, reasons(sum))
	j.Results[0] = okResult("t1", `{"alert_name_regex": "^Logon", "confidence": 0.9, "entity_patterns": [{"type": "user", "value_regex": "^user_0+1$"}]}`)
	sum, _ = newTestProcessor(t, NewMemoryCandidateStore()).ProcessJob(bg, j)
	assert.Equal(t, []string{ReasonRegexReferencesRedacted}, reasons(sum))
}

func TestRestorerLongestPlaceholderFirst(t *testing.T) {
	r := newRestorer(map[string]string{"USER_001": "a", "USER_0010": "b"})
	assert.Equal(t, "b a", r.restoreText("USER_0010 USER_001"))
	assert.Equal(t, `x\.y`, newRestorer(map[string]string{"HOST_001": "x.y"}).restoreRegex("HOST_001"))
	assert.Nil(t, newRestorer(nil))
	assert.Equal(t, "HOST_001", (*restorer)(nil).restoreText("HOST_001"))
}

func TestMemoryCandidateStoreMergeCapsSources(t *testing.T) {
	s := NewMemoryCandidateStore()
	c := PatternCandidate{PatternID: "p", UpdatedAt: t0}
	for i := range 60 {
		c.SourceInvestigations = append(c.SourceInvestigations, fmt.Sprintf("a%d", i))
	}
	created, err := s.UpsertCandidate(bg, c)
	require.NoError(t, err)
	require.True(t, created)
	next := PatternCandidate{PatternID: "p", UpdatedAt: t0.Add(time.Hour), AlertName: "new"}
	for i := range 60 {
		next.SourceInvestigations = append(next.SourceInvestigations, fmt.Sprintf("b%d", i))
	}
	created, _ = s.UpsertCandidate(bg, next)
	assert.False(t, created)
	got, _, _ := s.Get("p")
	assert.Len(t, got.SourceInvestigations, 100)
	assert.Equal(t, "a0", got.SourceInvestigations[0])
	assert.Equal(t, "new", got.AlertName)
	assert.Equal(t, t0.Add(time.Hour), got.UpdatedAt)
	_, err = s.UpsertCandidate(bg, PatternCandidate{})
	require.ErrorIs(t, err, ErrInvalidArgument)
}
