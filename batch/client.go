package batch

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/socwarden/warden/audit"
	"github.com/socwarden/warden/router"
	"github.com/socwarden/warden/taxonomy"
)

// batchEnvelopeBytes is the JSON around the requests of a creation body.
const batchEnvelopeBytes = len(`{"requests":[]}`)

// Client submits tasks to a BatchAPI, polls the batch and collects its
// results. Every task's content passes the content gate and every task
// reserves its worst-case cost at batch prices on the spend guard before
// the batch is created: there is no path to the provider around either.
// A Client holds no mutable state and is safe for concurrent use; the jobs
// it is handed are owned by the caller.
type Client struct {
	api      BatchAPI
	gate     ContentGate
	spend    SpendReserver
	cfg      config // read-only after NewClient
	provider taxonomy.Provider
}

var _ JobClient = (*Client)(nil)

// NewClient returns a Client. api, gate and spend are required.
func NewClient(api BatchAPI, gate ContentGate, spend SpendReserver, opts ...Option) (*Client, error) {
	cfg, err := buildConfig(compClient, opts)
	if err != nil {
		return nil, err
	}
	return newClient(api, gate, spend, cfg)
}

func newClient(api BatchAPI, gate ContentGate, spend SpendReserver, cfg config) (*Client, error) {
	switch {
	case api == nil:
		return nil, &ConfigError{Option: "api", Reason: "nil BatchAPI"}
	case gate == nil:
		return nil, &ConfigError{Option: "gate", Reason: "nil ContentGate: no batch content may bypass the gate"}
	case spend == nil:
		return nil, &ConfigError{Option: "spend", Reason: "nil SpendReserver: no batch may bypass the spend guard"}
	}
	p := cfg.provider
	if p == "" {
		p = taxonomy.ProviderAnthropic
		if n, ok := api.(interface{ Provider() taxonomy.Provider }); ok && n.Provider() != "" {
			p = n.Provider()
		}
	}
	return &Client{api: api, gate: gate, spend: spend, cfg: cfg, provider: p}, nil
}

// PollInterval is the interval set with WithClientPollInterval.
func (c *Client) PollInterval() time.Duration { return c.cfg.clientPoll }

// model is the price list a task is reserved and charged at. Batch requests
// use no prompt caching, so input is priced at the plain batch input price.
func (c *Client) model(modelID string) router.ModelConfig {
	return router.ModelConfig{Provider: c.provider, ModelID: modelID,
		CostPerMTokInput: c.cfg.priceIn, CostPerMTokOutput: c.cfg.priceOut}
}

// promptTokenBound bounds a request's prompt tokens: a token is at least one
// byte, plus the per-message framing.
func promptTokenBound(system, user string) int { return len(system) + len(user) + 32 }

// Submit validates the tasks, passes each through the content gate, reserves
// its spend, and creates one provider batch of every task that got through.
//
// No tasks → ErrEmptyBatch; more than the batch size → ErrBatchTooLarge; an
// invalid or duplicated task → ErrInvalidTask / ErrDuplicateTaskID; no job
// is created in these cases. Otherwise a job is returned: tasks refused by
// the gate for good are in Job.Rejected, tasks that could not go this time
// (spend refused, gate failure, batch bytes full) in Job.Deferred. When the
// provider rejects the creation the job is failed, keeps its tasks, holds no
// spend, and the error matches ErrSubmitFailed; so does a job of which no
// task could be sent.
func (c *Client) Submit(ctx context.Context, tasks []Task) (*Job, error) {
	if len(tasks) == 0 {
		return nil, ErrEmptyBatch
	}
	if len(tasks) > c.cfg.maxBatchSize {
		return nil, fmt.Errorf("%w: batch size %d exceeds maximum %d", ErrBatchTooLarge, len(tasks), c.cfg.maxBatchSize)
	}
	now := c.cfg.now()
	filled := make([]Task, len(tasks))
	seen := make(map[string]struct{}, len(tasks))
	for i, t := range tasks {
		t = t.withDefaults(now)
		if err := t.validate(); err != nil {
			return nil, err
		}
		if _, dup := seen[t.ID]; dup {
			return nil, fmt.Errorf("%w: %q appears twice in one submission", ErrDuplicateTaskID, t.ID)
		}
		seen[t.ID] = struct{}{}
		filled[i] = t
	}

	job := &Job{ID: newUUID(), Status: JobPending, CreatedAt: now, Provider: string(c.provider),
		Tasks: []Task{}, Results: []ItemResult{}}
	reqs := make([]Request, 0, len(filled))
	size := batchEnvelopeBytes
	var (
		full          bool
		spendBlocked  bool
		tenantBlocked map[string]bool
		deferCause    error
	)
	for i, t := range filled {
		if err := ctx.Err(); err != nil {
			job.Deferred = append(job.Deferred, filled[i:]...)
			return c.abandon(ctx, job, err)
		}
		if full || spendBlocked || tenantBlocked[t.TenantID] {
			job.Deferred = append(job.Deferred, t)
			continue
		}
		gr, err := c.screen(ctx, t)
		if err != nil {
			if errors.Is(err, ErrContentRejected) {
				job.Rejected = append(job.Rejected, Rejection{RequestID: t.ID, Reason: ReasonContentRejected, Detail: clip(err.Error(), 200)})
				c.cfg.logger.WarnContext(ctx, "batch: content gate rejected task", "task_id", t.ID, "tenant_id", t.TenantID, "error", err)
			} else {
				job.Deferred = append(job.Deferred, t)
				deferCause = err
				c.cfg.logger.WarnContext(ctx, "batch: content gate failed, task deferred", "task_id", t.ID, "error", err)
			}
			continue
		}
		req := Request{CustomID: t.ID, Params: Params{Model: t.ModelID, MaxTokens: t.MaxTokens,
			System: gr.SystemPrompt, Messages: []Message{{Role: "user", Content: gr.UserContent}}}}
		b, err := json.Marshal(req)
		if err != nil { // unreachable for strings and ints; never send what was not measured
			job.Rejected = append(job.Rejected, Rejection{RequestID: t.ID, Reason: ReasonRequestTooLarge, Detail: err.Error()})
			continue
		}
		n := len(b) + 1 // and a comma
		if batchEnvelopeBytes+n > c.cfg.maxBatchBytes {
			job.Rejected = append(job.Rejected, Rejection{RequestID: t.ID, Reason: ReasonRequestTooLarge,
				Detail: fmt.Sprintf("request of %d bytes exceeds the batch limit of %d", n, c.cfg.maxBatchBytes)})
			continue
		}
		if size+n > c.cfg.maxBatchBytes {
			full = true // keep queue order: nothing after this goes either
			job.Deferred = append(job.Deferred, t)
			continue
		}
		res, err := c.spend.Reserve(ctx, router.SpendRequest{TenantID: t.TenantID, TaskType: string(t.effectiveType()),
			Model: c.model(t.ModelID), InputTokens: promptTokenBound(gr.SystemPrompt, gr.UserContent), MaxOutputTokens: t.MaxTokens})
		if err != nil {
			if ctx.Err() != nil {
				job.Deferred = append(job.Deferred, filled[i:]...)
				return c.abandon(ctx, job, err)
			}
			var sl *router.SpendLimitError
			if errors.As(err, &sl) && sl.Scope == router.ScopeTenant {
				if tenantBlocked == nil {
					tenantBlocked = map[string]bool{}
				}
				tenantBlocked[t.TenantID] = true
			} else {
				spendBlocked = true
			}
			deferCause = err
			job.Deferred = append(job.Deferred, t)
			c.cfg.logger.WarnContext(ctx, "batch: spend refused, task deferred", "task_id", t.ID, "tenant_id", t.TenantID, "error", err)
			continue
		}
		size += n
		reqs = append(reqs, req)
		job.Tasks = append(job.Tasks, t)
		if len(gr.Redactions) > 0 {
			if job.Redactions == nil {
				job.Redactions = map[string]map[string]string{}
			}
			job.Redactions[t.ID] = cloneStrings(gr.Redactions)
		}
		if job.PromptHashes == nil {
			job.PromptHashes = map[string]string{}
			job.Reservations = map[string]router.Reservation{}
		}
		job.PromptHashes[t.ID] = audit.HashText(gr.SystemPrompt + "\x00" + gr.UserContent)
		job.Reservations[t.ID] = res
	}

	if len(reqs) == 0 {
		job.Status = JobFailed
		var err error
		switch {
		case len(job.Deferred) > 0 && deferCause != nil:
			err = fmt.Errorf("%w: no task could be sent: %w", ErrSubmitFailed, deferCause)
		case len(job.Deferred) > 0:
			err = fmt.Errorf("%w: no task could be sent", ErrSubmitFailed)
		default:
			err = fmt.Errorf("%w: all %d tasks were rejected", ErrSubmitFailed, len(filled))
		}
		job.LastError = err.Error()
		c.cfg.logger.WarnContext(ctx, "batch: nothing submitted", "job_id", job.ID,
			"deferred", len(job.Deferred), "rejected", len(job.Rejected), "error", err)
		return job, err
	}

	batchID, err := c.create(ctx, reqs)
	if err != nil {
		c.releaseAll(job)
		job.Status = JobFailed
		job.LastError = err.Error()
		c.cfg.logger.ErrorContext(ctx, "batch: submission failed", "job_id", job.ID, "tasks", len(reqs), "error", err)
		return job, fmt.Errorf("%w: %w", ErrSubmitFailed, err)
	}
	job.BatchAPIID = batchID
	job.Status = JobSubmitted
	job.SubmittedAt = c.cfg.now()
	c.cfg.logger.InfoContext(ctx, fmt.Sprintf("batch %s submitted with %d tasks (api_id=%s)", job.ID, len(reqs), batchID),
		"job_id", job.ID, "batch_api_id", batchID, "tasks", len(reqs), "deferred", len(job.Deferred), "rejected", len(job.Rejected))
	return job, nil
}

// abandon ends a submission cut short by its context: every task not yet
// created is deferred and no spend is held.
func (c *Client) abandon(ctx context.Context, job *Job, cause error) (*Job, error) {
	c.releaseAll(job)
	job.Deferred = append(job.Tasks, job.Deferred...)
	job.Tasks = []Task{}
	job.Redactions, job.PromptHashes = nil, nil
	job.Status = JobFailed
	job.LastError = cause.Error()
	c.cfg.logger.WarnContext(ctx, "batch: submission abandoned", "job_id", job.ID, "error", cause)
	return job, fmt.Errorf("%w: %w", ErrSubmitFailed, cause)
}

func (c *Client) screen(ctx context.Context, t Task) (res GateResult, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("batch: content gate panicked: %v", r)
		}
	}()
	return c.gate.Screen(ctx, GateRequest{TenantID: t.TenantID, TaskID: t.ID, TaskType: t.effectiveType(),
		SystemPrompt: t.SystemPrompt, UserContent: t.UserContent})
}

func (c *Client) create(ctx context.Context, reqs []Request) (id string, err error) {
	defer func() {
		if r := recover(); r != nil {
			id, err = "", fmt.Errorf("batch: provider Create panicked: %v", r)
		}
	}()
	id, err = c.api.Create(ctx, reqs)
	if err == nil && id == "" {
		err = errors.New("batch: provider returned an empty batch id")
	}
	return id, err
}

// releaseAll returns every reservation the job holds.
func (c *Client) releaseAll(job *Job) {
	for _, res := range job.Reservations {
		c.spend.Release(res)
	}
	job.Reservations = nil
}

// PollStatus updates job from the provider (spec §3.3). A job without a
// provider batch id or in a terminal status is left alone. A job running
// more than 24 h after submission is expired without asking the provider
// and the error is an *SLAExceededError. A provider failure leaves the job
// unchanged and matches ErrPollFailed. A job that ends failed or expired
// releases its spend.
func (c *Client) PollStatus(ctx context.Context, job *Job) error {
	if job == nil {
		return fmt.Errorf("%w: nil job", ErrInvalidArgument)
	}
	if job.BatchAPIID == "" || job.Status.Terminal() {
		return nil
	}
	now := c.cfg.now()
	if !job.SubmittedAt.IsZero() {
		if elapsed := now.Sub(job.SubmittedAt); elapsed > BatchSLA {
			job.Status = JobExpired
			err := &SLAExceededError{JobID: job.ID, Elapsed: elapsed}
			job.LastError = err.Error()
			c.releaseAll(job)
			c.cfg.logger.ErrorContext(ctx, "batch: SLA exceeded", "job_id", job.ID, "batch_api_id", job.BatchAPIID, "elapsed", elapsed)
			return err
		}
	}
	status, err := c.retrieve(ctx, job.BatchAPIID)
	if err != nil {
		c.cfg.logger.WarnContext(ctx, "batch: poll failed", "job_id", job.ID, "batch_api_id", job.BatchAPIID, "error", err)
		return fmt.Errorf("%w: job %s: %w", ErrPollFailed, job.ID, err)
	}
	switch status {
	case ProcessingEnded:
		job.Status = JobCompleted
		job.CompletedAt = now
	case ProcessingInProgress:
		job.Status = JobInProgress
	case ProcessingFailed:
		job.Status = JobFailed
		job.LastError = "provider reported the batch failed"
		c.releaseAll(job)
	}
	return nil
}

func (c *Client) retrieve(ctx context.Context, id string) (status string, err error) {
	defer func() {
		if r := recover(); r != nil {
			status, err = "", fmt.Errorf("batch: provider Retrieve panicked: %v", r)
		}
	}()
	return c.api.Retrieve(ctx, id)
}

func (c *Client) results(ctx context.Context, id string) (rs []RawResult, err error) {
	defer func() {
		if r := recover(); r != nil {
			rs, err = nil, fmt.Errorf("batch: provider Results panicked: %v", r)
		}
	}()
	return c.api.Results(ctx, id)
}

// RetrieveResults fetches a completed job's results (spec §3.3): content of
// succeeded requests (text blocks joined by "\n") checked by the validator,
// provider errors of the others, the cost of each item at batch prices, and
// the counts. Each item's spend reservation is settled with its real cost;
// tasks without a result release theirs. A job that is not completed is
// left alone; a provider failure marks the job failed and matches
// ErrRetrieveFailed.
func (c *Client) RetrieveResults(ctx context.Context, job *Job) error {
	if job == nil {
		return fmt.Errorf("%w: nil job", ErrInvalidArgument)
	}
	if job.Status != JobCompleted || job.BatchAPIID == "" {
		return nil
	}
	raw, err := c.results(ctx, job.BatchAPIID)
	if err != nil {
		job.Status = JobFailed
		job.LastError = err.Error()
		c.releaseAll(job)
		c.cfg.logger.ErrorContext(ctx, "batch: result retrieval failed", "job_id", job.ID, "batch_api_id", job.BatchAPIID, "error", err)
		return fmt.Errorf("%w: job %s: %w", ErrRetrieveFailed, job.ID, err)
	}
	taskOf := make(map[string]*Task, len(job.Tasks))
	for i := range job.Tasks {
		taskOf[job.Tasks[i].ID] = &job.Tasks[i]
	}
	results := make([]ItemResult, 0, len(raw))
	var success, failed int
	var total float64
	for _, r := range raw {
		item := ItemResult{RequestID: r.CustomID, InputTokens: max(r.InputTokens, 0), OutputTokens: max(r.OutputTokens, 0),
			ValidationErrors: []string{}}
		if r.Type == RawSucceeded {
			item.Content = strings.Join(r.TextBlocks, "\n")
			item.Valid = true
			if c.cfg.validator != nil && item.Content != "" {
				item.Valid, item.ValidationErrors = c.validate(item.Content)
			}
			item.Status = ResultSuccess
			success++
		} else {
			msg := r.ErrorMessage
			if msg == "" {
				msg = "unknown"
			}
			item.ValidationErrors = []string{msg}
			item.Status = ResultError
			failed++
			c.cfg.logger.WarnContext(ctx, "batch: request failed", "job_id", job.ID, "request_id", r.CustomID, "type", r.Type, "error", msg)
		}
		item.CostUSD = c.model("").Cost(router.Usage{InputTokens: item.InputTokens, OutputTokens: item.OutputTokens})
		total += item.CostUSD
		c.settle(ctx, job, r.CustomID, taskOf[r.CustomID], item.CostUSD)
		results = append(results, item)
	}
	c.releaseAll(job) // tasks that got no result never ran
	job.Results = results
	job.SuccessCount, job.ErrorCount = success, failed
	job.TotalCostUSD = math.Round(total*1e6) / 1e6
	return nil
}

// settle charges one item's cost to the reservation of its task, or records
// it when there is none (a result for an unknown request id, a duplicate,
// or a reservation the guard no longer knows after a restart).
func (c *Client) settle(ctx context.Context, job *Job, id string, t *Task, cost float64) {
	if res, ok := job.Reservations[id]; ok {
		delete(job.Reservations, id)
		err := c.spend.Settle(ctx, res, cost)
		if err == nil {
			return
		}
		if !errors.Is(err, router.ErrUnknownReservation) {
			c.cfg.logger.WarnContext(ctx, "batch: settling spend failed", "job_id", job.ID, "request_id", id, "error", err)
			return
		}
	}
	if cost <= 0 {
		return
	}
	rec := router.CostRecord{CostUSD: cost, TaskType: "batch"}
	if t != nil {
		rec.ModelID, rec.TaskType, rec.TenantID = t.ModelID, string(t.effectiveType()), t.TenantID
	}
	if err := c.spend.Record(ctx, rec); err != nil {
		c.cfg.logger.WarnContext(ctx, "batch: recording spend failed", "job_id", job.ID, "request_id", id, "error", err)
	}
}

func (c *Client) validate(content string) (valid bool, problems []string) {
	defer func() {
		if r := recover(); r != nil {
			valid, problems = false, []string{"validator panicked"}
		}
	}()
	valid, problems = c.cfg.validator(content)
	if problems == nil {
		problems = []string{}
	}
	return valid, problems
}

func cloneStrings(m map[string]string) map[string]string {
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// clip shortens s to at most n bytes on a rune boundary.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

func utf8RuneStart(b byte) bool { return b&0xC0 != 0x80 }
