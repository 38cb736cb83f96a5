package batch

import (
	"context"
	"encoding/json"
	"time"

	"github.com/socwarden/warden/router"
)

// Message is one message of a request.
type Message struct {
	Role    string `json:"role"`
	Content string `json:"content"`
}

// Params are a request's Messages API parameters.
type Params struct {
	Model     string    `json:"model"`
	MaxTokens int       `json:"max_tokens"`
	System    string    `json:"system,omitempty"`
	Messages  []Message `json:"messages"`
}

// Request is one request of a provider batch.
type Request struct {
	CustomID string `json:"custom_id"`
	Params   Params `json:"params"`
}

// Result types of RawResult.Type (the provider's words).
const (
	RawSucceeded = "succeeded"
	RawErrored   = "errored"
	RawCanceled  = "canceled"
	RawExpired   = "expired"
)

// Processing statuses a BatchAPI reports. "ended" means results are ready;
// any other value (e.g. "canceling") leaves the job as it is.
const (
	ProcessingInProgress = "in_progress"
	ProcessingEnded      = "ended"
	ProcessingFailed     = "failed"
)

// RawResult is one line of a provider's results, in the provider's terms.
type RawResult struct {
	CustomID     string   `json:"custom_id"`
	Type         string   `json:"type"`
	TextBlocks   []string `json:"text_blocks,omitempty"`
	ErrorMessage string   `json:"error_message,omitempty"`
	InputTokens  int      `json:"input_tokens"`
	OutputTokens int      `json:"output_tokens"`
}

// Usage is a request's token usage.
type Usage struct{ InputTokens, OutputTokens int }

// BatchAPI is a provider's message-batch API. Package anthropicbatch
// implements it over HTTP; NewMemoryBatchAPI in memory.
type BatchAPI interface {
	// Create submits the requests and returns the provider's batch id.
	Create(ctx context.Context, reqs []Request) (batchID string, err error)
	// Retrieve reports the batch's processing status.
	Retrieve(ctx context.Context, batchID string) (processingStatus string, err error)
	// Results returns one result per request, in any order.
	Results(ctx context.Context, batchID string) ([]RawResult, error)
}

// Validator checks a successful result's content.
type Validator func(content string) (valid bool, problems []string)

// GateRequest is one task's content on its way to the provider.
type GateRequest struct {
	TenantID     string
	TaskID       string
	TaskType     TaskType
	SystemPrompt string // trusted instructions
	UserContent  string // untrusted data
}

// GateResult is what may be sent instead.
type GateResult struct {
	SystemPrompt string
	UserContent  string
	// Redactions maps each placeholder in UserContent to the value it
	// replaced; the processor restores them in the model's answer.
	Redactions map[string]string
}

// ContentGate screens task content before any of it leaves the process:
// prompt-injection scan and PII redaction (GatewayGate uses the gateway's).
// An error matching ErrContentRejected refuses the task for good; any other
// error defers it to a later batch.
type ContentGate interface {
	Screen(ctx context.Context, req GateRequest) (GateResult, error)
}

// GateFunc adapts a function to ContentGate.
type GateFunc func(ctx context.Context, req GateRequest) (GateResult, error)

// Screen calls f.
func (f GateFunc) Screen(ctx context.Context, req GateRequest) (GateResult, error) {
	return f(ctx, req)
}

// SpendReserver is the spend guard the Client reserves batch spend on:
// router's *SpendGuard (Warden's one spend guard) implements it. Each task
// reserves its worst case at batch prices before the batch is created; the
// reservation is settled with the item's real cost when results arrive, or
// released if the task never ran.
type SpendReserver interface {
	Reserve(ctx context.Context, req router.SpendRequest) (router.Reservation, error)
	Settle(ctx context.Context, res router.Reservation, costUSD float64) error
	Release(res router.Reservation)
	// Record charges spend that has no open reservation (a result for an
	// unknown request, or a reservation lost in a restart).
	Record(ctx context.Context, rec router.CostRecord) error
}

var _ SpendReserver = (*router.SpendGuard)(nil)

// CandidateStore receives FP pattern candidates: NewAutonomyStore over
// orchestrator/autonomy's pattern store in production,
// NewMemoryCandidateStore in memory.
//
// UpsertCandidate stores c as pending_review when no pattern has its id
// (created = true). When the pattern exists and is still pending review the
// store merges: alert name and confidence take the new values, source
// investigations become the ordered union (at most 100), updated_at the
// new time; anything else stays. A pattern in any other status (approved,
// active, revoked, …) is left untouched, so a reviewed pattern is never
// reset to pending.
type CandidateStore interface {
	UpsertCandidate(ctx context.Context, c PatternCandidate) (created bool, err error)
}

// DraftStore keeps playbook drafts; SaveDraft returns created = false when
// a draft with that id exists (which is then left unchanged).
type DraftStore interface {
	SaveDraft(ctx context.Context, d PlaybookDraft) (created bool, err error)
}

// Publisher writes a message to a topic.
type Publisher interface {
	Publish(ctx context.Context, topic, key string, value []byte) error
}

// ResultHandler handles the results of a task type registered with
// WithResultHandler. Its error (or panic) counts one error in the summary.
// job is a copy of the processed job shared by the handler calls of one
// ProcessJob: read it, do not modify it.
type ResultHandler func(ctx context.Context, job Job, task Task, res ItemResult) error

// ClosedInvestigation is a closed investigation as the generator reads it.
type ClosedInvestigation struct {
	InvestigationID string `json:"investigation_id"`
	AlertID         string `json:"alert_id"`
	TenantID        string `json:"tenant_id"`
	// GraphState is a JSON object, or a JSON string holding one.
	GraphState    json.RawMessage  `json:"graphstate_json"`
	DecisionChain []map[string]any `json:"decision_chain"`
	UpdatedAt     time.Time        `json:"updated_at"`
}

// InvestigationSource lists closed investigations updated in [from, to).
type InvestigationSource interface {
	ClosedInvestigations(ctx context.Context, from, to time.Time) ([]ClosedInvestigation, error)
}

// JobClient is what the Scheduler needs from a Client.
type JobClient interface {
	Submit(ctx context.Context, tasks []Task) (*Job, error)
	PollStatus(ctx context.Context, job *Job) error
	RetrieveResults(ctx context.Context, job *Job) error
}
