package batch

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"maps"
	"slices"
	"time"

	"github.com/socwarden/warden/router"
)

// TaskType names what a task asks for. The two built-in types have result
// handlers in this package; any other non-empty value may be submitted and
// is handled by a registered ResultHandler.
type TaskType string

// Built-in task types.
const (
	TaskFPPatternGeneration TaskType = "fp_pattern_generation"
	TaskPlaybookGeneration  TaskType = "playbook_generation"
)

// TaskTypes returns the two built-in task types.
func TaskTypes() []TaskType { return []TaskType{TaskFPPatternGeneration, TaskPlaybookGeneration} }

// JobStatus is a job's position in its lifecycle.
type JobStatus string

// Job statuses.
const (
	JobPending    JobStatus = "pending"
	JobSubmitted  JobStatus = "submitted"
	JobInProgress JobStatus = "in_progress"
	JobCompleted  JobStatus = "completed"
	JobFailed     JobStatus = "failed"
	JobExpired    JobStatus = "expired"
)

// JobStatuses returns the six statuses.
func JobStatuses() []JobStatus {
	return []JobStatus{JobPending, JobSubmitted, JobInProgress, JobCompleted, JobFailed, JobExpired}
}

// Terminal reports whether s is completed, failed or expired.
func (s JobStatus) Terminal() bool { return s == JobCompleted || s == JobFailed || s == JobExpired }

// Metadata keys read by this package.
const (
	MetaTaskType             = "task_type"
	MetaSourceInvestigations = "source_investigations"
	MetaAlertGroup           = "alert_group"
	MetaPrimaryTechnique     = "primary_technique"
)

// Task is one request of a provider batch.
type Task struct {
	// ID becomes the request's custom_id: 1–64 characters of [A-Za-z0-9_-]
	// (the provider's rule); a UUID is assigned when empty.
	ID   string   `json:"task_id"`
	Type TaskType `json:"task_type"`
	// TenantID is the tenant whose data the task carries; "" = platform-wide.
	TenantID string `json:"tenant_id"`
	// SystemPrompt is trusted instruction text; UserContent is the data and
	// always passes the content gate before it leaves the process.
	SystemPrompt string         `json:"system_prompt"`
	UserContent  string         `json:"user_content"`
	ModelID      string         `json:"model_id"`
	MaxTokens    int            `json:"max_tokens"`
	Metadata     map[string]any `json:"metadata"`
	CreatedAt    time.Time      `json:"created_at,omitzero"`
}

// NewTask returns a task with a fresh UUID, the default model and token
// budget, and CreatedAt = now (UTC).
func NewTask(t TaskType, systemPrompt, userContent string) Task {
	return Task{
		ID: newUUID(), Type: t, SystemPrompt: systemPrompt, UserContent: userContent,
		ModelID: DefaultModelID, MaxTokens: DefaultMaxTokens, Metadata: map[string]any{},
		CreatedAt: time.Now().UTC(),
	}
}

// withDefaults fills the defaults of §2.3 on a copy (metadata deep-copied).
func (t Task) withDefaults(now time.Time) Task {
	if t.ID == "" {
		t.ID = newUUID()
	}
	if t.ModelID == "" {
		t.ModelID = DefaultModelID
	}
	if t.MaxTokens == 0 {
		t.MaxTokens = DefaultMaxTokens
	}
	t.Metadata = cloneMetadata(t.Metadata)
	if t.CreatedAt.IsZero() {
		t.CreatedAt = now
	}
	return t
}

// maxTaskIDLen is the provider's custom_id limit.
const maxTaskIDLen = 64

// validate checks a task that already has its defaults.
func (t *Task) validate() error {
	bad := func(field, reason string) error { return &InvalidTaskError{TaskID: t.ID, Field: field, Reason: reason} }
	switch {
	case !validTaskID(t.ID):
		return bad("task_id", "must be 1-64 characters of [A-Za-z0-9_-]")
	case t.Type == "":
		return bad("task_type", "required")
	case t.UserContent == "":
		return bad("user_content", "required")
	case t.MaxTokens < 0:
		return bad("max_tokens", "must not be negative")
	}
	return nil
}

func validTaskID(id string) bool {
	if id == "" || len(id) > maxTaskIDLen {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// effectiveType is metadata task_type when it is a non-empty string, else
// Type (§3.5.1 step 3).
func (t *Task) effectiveType() TaskType {
	if s, ok := t.Metadata[MetaTaskType].(string); ok && s != "" {
		return TaskType(s)
	}
	return t.Type
}

// requestBytesOverhead bounds the JSON around one request's strings
// (custom_id, model, keys, punctuation).
const requestBytesOverhead = 256

// estimatedBytes bounds the request's JSON size before escaping; the Client
// measures the exact size of what it sends.
func (t *Task) estimatedBytes() int {
	return len(t.SystemPrompt) + len(t.UserContent) + len(t.ID) + len(t.ModelID) + requestBytesOverhead
}

// Job is one submission to the provider and everything learned about it.
// Values handed out by the Client and Scheduler are deep copies.
//
// A job holds the original task content and the pseudonym map that restores
// redacted values in the answers; persist it only where the investigations
// it came from may be stored.
type Job struct {
	ID         string    `json:"job_id"`
	BatchAPIID string    `json:"batch_api_id"`
	Status     JobStatus `json:"status"`
	// Tasks are the tasks sent in this batch (or, for a failed creation, the
	// tasks that were to be sent; the Scheduler requeues them).
	Tasks        []Task       `json:"tasks"`
	SubmittedAt  time.Time    `json:"submitted_at,omitzero"`
	CompletedAt  time.Time    `json:"completed_at,omitzero"`
	Results      []ItemResult `json:"results"`
	ErrorCount   int          `json:"error_count"`
	SuccessCount int          `json:"success_count"`
	TotalCostUSD float64      `json:"total_cost_usd"`
	CreatedAt    time.Time    `json:"created_at,omitzero"`
	// LastError is the last submit, poll or retrieve failure or SLA breach.
	LastError string `json:"last_error,omitempty"`

	// Deferred tasks were not sent this time (spend refused, the gate failed
	// transiently, or the batch was full); the Scheduler requeues them.
	Deferred []Task `json:"deferred,omitempty"`
	// Rejected tasks were refused for good (content gate, oversized); they
	// are never sent or retried.
	Rejected []Rejection `json:"rejected,omitempty"`
	// Provider is the llm_provider the batch went to.
	Provider string `json:"provider,omitempty"`
	// Redactions maps task id → placeholder → original value, to restore the
	// model's answer.
	Redactions map[string]map[string]string `json:"redactions,omitempty"`
	// PromptHashes maps task id → SHA-256 (hex) of the system prompt, a NUL
	// byte and the user content exactly as sent.
	PromptHashes map[string]string `json:"prompt_hashes,omitempty"`
	// Reservations maps task id → the spend held for it until its result is
	// settled.
	Reservations map[string]router.Reservation `json:"reservations,omitempty"`
}

// NewJob returns a pending job with a fresh UUID and CreatedAt = now (UTC).
func NewJob() Job {
	return Job{ID: newUUID(), Status: JobPending, Tasks: []Task{}, Results: []ItemResult{}, CreatedAt: time.Now().UTC()}
}

// TaskCount is the number of tasks in the batch.
func (j Job) TaskCount() int { return len(j.Tasks) }

// MarshalJSON writes tasks and results as [] rather than null.
func (j Job) MarshalJSON() ([]byte, error) {
	type plain Job
	p := plain(j)
	if p.Tasks == nil {
		p.Tasks = []Task{}
	}
	if p.Results == nil {
		p.Results = []ItemResult{}
	}
	return json.Marshal(p)
}

// clone deep-copies j.
func (j *Job) clone() Job {
	c := *j
	c.Tasks = cloneTasks(j.Tasks)
	c.Deferred = cloneTasks(j.Deferred)
	c.Results = slices.Clone(j.Results)
	for i := range c.Results {
		c.Results[i].ValidationErrors = slices.Clone(c.Results[i].ValidationErrors)
	}
	c.Rejected = slices.Clone(j.Rejected)
	if j.Redactions != nil {
		c.Redactions = make(map[string]map[string]string, len(j.Redactions))
		for k, m := range j.Redactions {
			c.Redactions[k] = maps.Clone(m)
		}
	}
	c.PromptHashes = maps.Clone(j.PromptHashes)
	c.Reservations = maps.Clone(j.Reservations)
	return c
}

func cloneTasks(ts []Task) []Task {
	if ts == nil {
		return nil
	}
	out := make([]Task, len(ts))
	for i, t := range ts {
		t.Metadata = cloneMetadata(t.Metadata)
		out[i] = t
	}
	return out
}

// cloneMetadata copies maps and slices so a caller's later mutation cannot
// reach a queued task; scalars are immutable. nil becomes an empty map.
func cloneMetadata(m map[string]any) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = cloneValue(v)
	}
	return out
}

func cloneValue(v any) any {
	switch x := v.(type) {
	case []string:
		return slices.Clone(x)
	case []any:
		c := make([]any, len(x))
		for i, e := range x {
			c[i] = cloneValue(e)
		}
		return c
	case map[string]any:
		return cloneMetadata(x)
	}
	return v
}

// Result statuses of ItemResult.Status.
const (
	ResultSuccess = "success"
	ResultError   = "error"
)

// ItemResult is the outcome of one request of a batch.
type ItemResult struct {
	// RequestID is the request's custom_id (the task id); results are
	// matched to tasks by it, never by position.
	RequestID        string   `json:"request_id"`
	Content          string   `json:"content"`
	Valid            bool     `json:"valid"`
	ValidationErrors []string `json:"validation_errors"`
	Status           string   `json:"status"`
	InputTokens      int      `json:"input_tokens"`
	OutputTokens     int      `json:"output_tokens"`
	CostUSD          float64  `json:"cost_usd"`
}

// Rejection reasons (Summary.Rejections, Job.Rejected).
const (
	ReasonResultFailed            = "result_failed"
	ReasonResultInvalid           = "result_invalid"
	ReasonNoMatchingTask          = "no_matching_task"
	ReasonUnknownTaskType         = "unknown_task_type"
	ReasonHandlerFailed           = "handler_failed"
	ReasonStoreFailed             = "store_failed"
	ReasonUnparsableJSON          = "unparsable_json"
	ReasonAnswerTooLarge          = "answer_too_large"
	ReasonNoCandidates            = "no_candidates"
	ReasonTooManyCandidates       = "too_many_candidates"
	ReasonNotAnObject             = "not_an_object"
	ReasonInvalidAlertNameRegex   = "invalid_alert_name_regex"
	ReasonRegexMatchesEverything  = "regex_matches_everything"
	ReasonRegexTooGeneric         = "regex_too_generic"
	ReasonRegexNotMatchAlertName  = "regex_does_not_match_alert_name"
	ReasonRegexReferencesRedacted = "regex_references_redacted_value"
	ReasonInvalidEntityPattern    = "invalid_entity_pattern"
	ReasonInvalidSeverity         = "invalid_severity"
	ReasonInvalidConfidence       = "invalid_confidence"
	ReasonConfidenceBelowMinimum  = "confidence_below_minimum"
	ReasonNoRemediationSteps      = "no_remediation_steps"
	ReasonContentRejected         = "content_rejected"
	ReasonRequestTooLarge         = "request_too_large"
)

// Rejection records why one result, candidate or task was not used.
type Rejection struct {
	RequestID string `json:"request_id"`
	Reason    string `json:"reason"`
	// Detail is a short human-readable explanation (never model output).
	Detail string `json:"detail,omitempty"`
}

// Summary is what ProcessJob did with one job's results.
type Summary struct {
	JobID              string      `json:"job_id"`
	FPPatternsStored   int         `json:"fp_patterns_stored"`
	PlaybooksPublished int         `json:"playbooks_published"`
	Errors             int         `json:"errors"`
	Duplicates         int         `json:"duplicates"`
	Rejections         []Rejection `json:"rejections"`
}

// MarshalJSON writes rejections as [] rather than null.
func (s Summary) MarshalJSON() ([]byte, error) {
	type plain Summary
	p := plain(s)
	if p.Rejections == nil {
		p.Rejections = []Rejection{}
	}
	return json.Marshal(p)
}

// newUUID is a random RFC 4122 version 4 UUID.
func newUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go 1.24+)
	b[6] = b[6]&0x0F | 0x40
	b[8] = b[8]&0x3F | 0x80
	return formatUUID(b)
}

// fingerprintUUID formats the first 16 bytes of SHA-256(data) as a version 8
// UUID (spec §3.5.3), so the same inputs always give the same id.
func fingerprintUUID(data []byte) string {
	sum := sha256.Sum256(data)
	var b [16]byte
	copy(b[:], sum[:16])
	b[6] = b[6]&0x0F | 0x80
	b[8] = b[8]&0x3F | 0x80
	return formatUUID(b)
}

func formatUUID(b [16]byte) string {
	var out [36]byte
	hex.Encode(out[0:8], b[0:4])
	out[8] = '-'
	hex.Encode(out[9:13], b[4:6])
	out[13] = '-'
	hex.Encode(out[14:18], b[6:8])
	out[18] = '-'
	hex.Encode(out[19:23], b[8:10])
	out[23] = '-'
	hex.Encode(out[24:36], b[10:16])
	return string(out[:])
}
