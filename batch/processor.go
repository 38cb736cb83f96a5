package batch

import (
	"context"
	"encoding/json"
	"fmt"
	"time"
)

// maxMergedSources bounds a candidate's source investigations after merges.
const maxMergedSources = 100

// Processor turns a job's results into FP pattern candidates (into the
// CandidateStore, i.e. orchestrator/autonomy's pattern store) and playbook
// drafts, matching each result to its task by request id. It emits
// fp_pattern.created for each new candidate and playbook.generated for
// each new draft, and nothing else: review, approval and activation belong
// to orchestrator/autonomy. It writes nothing to the audit topic itself.
// Safe for concurrent use if its stores are.
type Processor struct {
	candidates CandidateStore
	drafts     DraftStore
	cfg        config // read-only after NewProcessor
	known      func(id string) bool
}

// NewProcessor returns a Processor storing candidates in candidates.
func NewProcessor(candidates CandidateStore, opts ...Option) (*Processor, error) {
	cfg, err := buildConfig(compProcessor, opts)
	if err != nil {
		return nil, err
	}
	return newProcessor(candidates, cfg)
}

func newProcessor(candidates CandidateStore, cfg config) (*Processor, error) {
	if candidates == nil {
		return nil, &ConfigError{Option: "candidates", Reason: "nil CandidateStore"}
	}
	p := &Processor{candidates: candidates, drafts: cfg.drafts, cfg: cfg, known: cfg.knownTechniques}
	if p.drafts == nil {
		p.drafts = NewMemoryDraftStore()
	}
	if p.known == nil {
		p.known = defaultKnownTechniques
	}
	return p, nil
}

// item is one result being processed, with its task.
type item struct {
	job     *Job
	task    *Task
	res     *ItemResult
	restore *restorer
	sum     *Summary
	shared  *Job // the deep copy handed to result handlers, made once per ProcessJob
}

func (it *item) reject(reason, detail string) {
	it.sum.Errors++
	it.sum.Rejections = append(it.sum.Rejections, Rejection{RequestID: it.res.RequestID, Reason: reason, Detail: detail})
}

// ProcessJob handles every result of job in order (spec §3.5): failed or
// invalid results, results without a task of that id and results of an
// unknown task type count as errors; FP answers become candidates and
// playbook answers drafts, each validated, de-duplicated by fingerprint
// across cycles and scoped to the task's tenant. One bad result or store
// failure never stops the others. It returns an error only when ctx ends
// (with the partial summary).
func (p *Processor) ProcessJob(ctx context.Context, job Job) (Summary, error) {
	sum := Summary{JobID: job.ID, Rejections: []Rejection{}}
	tasks := make(map[string]*Task, len(job.Tasks))
	for i := range job.Tasks {
		if _, dup := tasks[job.Tasks[i].ID]; !dup {
			tasks[job.Tasks[i].ID] = &job.Tasks[i]
		}
	}
	var shared *Job
	for i := range job.Results {
		if err := ctx.Err(); err != nil {
			p.logSummary(ctx, &job, &sum)
			return sum, err
		}
		it := &item{job: &job, res: &job.Results[i], sum: &sum}
		switch {
		case it.res.Status != ResultSuccess:
			it.reject(ReasonResultFailed, "provider reported an error")
			continue
		case !it.res.Valid:
			it.reject(ReasonResultInvalid, "validator rejected the content")
			continue
		}
		t, ok := tasks[it.res.RequestID]
		if !ok {
			it.reject(ReasonNoMatchingTask, "no task with this request id")
			continue
		}
		it.task = t
		it.restore = newRestorer(job.Redactions[t.ID])
		switch tt := t.effectiveType(); tt {
		case TaskFPPatternGeneration:
			p.processFP(ctx, it)
		case TaskPlaybookGeneration:
			p.processPlaybook(ctx, it)
		default:
			if h, ok := p.cfg.handlers[tt]; ok {
				if shared == nil {
					c := job.clone()
					shared = &c
				}
				it.shared = shared
				if err := p.callHandler(ctx, h, it); err != nil {
					it.reject(ReasonHandlerFailed, clip(err.Error(), 200))
					p.cfg.logger.WarnContext(ctx, "batch: result handler failed", "job_id", job.ID, "request_id", it.res.RequestID, "error", err)
				}
				continue
			}
			it.reject(ReasonUnknownTaskType, "no handler for task type "+clip(string(tt), 64))
			p.cfg.logger.WarnContext(ctx, "batch: unknown task type", "job_id", job.ID, "request_id", it.res.RequestID, "task_type", string(tt))
		}
	}
	p.logSummary(ctx, &job, &sum)
	return sum, nil
}

func (p *Processor) logSummary(ctx context.Context, job *Job, sum *Summary) {
	p.cfg.logger.InfoContext(ctx, "batch: job processed", "job_id", job.ID, "task_count", len(job.Tasks),
		"success_count", job.SuccessCount, "error_count", job.ErrorCount, "fp_patterns_stored", sum.FPPatternsStored,
		"playbooks_published", sum.PlaybooksPublished, "errors", sum.Errors, "duplicates", sum.Duplicates)
}

func (p *Processor) callHandler(ctx context.Context, h ResultHandler, it *item) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("handler panicked: %v", r)
		}
	}()
	t := *it.task
	t.Metadata = cloneMetadata(t.Metadata)
	res := *it.res
	res.ValidationErrors = append([]string(nil), res.ValidationErrors...)
	return h(ctx, *it.shared, t, res)
}

// sourceInvestigations reads metadata source_investigations ([]string, or
// []any of strings after a JSON round trip), first MaxInvestigationsPerTask.
func sourceInvestigations(t *Task) []string {
	var out []string
	switch v := t.Metadata[MetaSourceInvestigations].(type) {
	case []string:
		for _, s := range v {
			if s != "" {
				out = append(out, s)
			}
		}
	case []any:
		for _, e := range v {
			if s, ok := e.(string); ok && s != "" {
				out = append(out, s)
			}
		}
	}
	if len(out) > MaxInvestigationsPerTask {
		out = out[:MaxInvestigationsPerTask]
	}
	if out == nil {
		out = []string{}
	}
	return out
}

func metaString(t *Task, key string) string {
	s, _ := t.Metadata[key].(string)
	return s
}

func (p *Processor) processFP(ctx context.Context, it *item) {
	items, isArray, reason := decodeAnswer(it.res.Content)
	switch {
	case reason != "":
		it.reject(reason, "answer is not JSON")
		return
	case isArray && len(items) == 0:
		it.reject(ReasonNoCandidates, "empty array")
		return
	case len(items) > MaxCandidatesPerAnswer:
		it.reject(ReasonTooManyCandidates, fmt.Sprintf("%d candidates, at most %d", len(items), MaxCandidatesPerAnswer))
		return
	}
	in := candidateInput{alertGroup: metaString(it.task, MetaAlertGroup), minConfidence: p.cfg.minConfidence, restore: it.restore}
	sources := sourceInvestigations(it.task)
	costCharged := false
	for i, raw := range items {
		c, rej := validateCandidate(raw, in)
		if rej != nil {
			it.reject(rej.reason, fmt.Sprintf("candidate %d: %s", i, rej.detail))
			continue
		}
		now := p.cfg.now()
		c.ScopeTenantID = it.task.TenantID
		c.SourceInvestigations = append([]string(nil), sources...)
		c.CreatedAt, c.UpdatedAt = now, now
		c.JobID, c.TaskID, c.ModelID = it.job.ID, it.task.ID, it.task.ModelID
		c.PatternID = candidateFingerprint(c.ScopeTenantID, c.AlertNameRegex, c.EntityPatterns)
		created, err := p.upsert(ctx, c)
		if err != nil {
			it.reject(ReasonStoreFailed, clip(err.Error(), 200))
			p.cfg.logger.ErrorContext(ctx, "batch: storing FP candidate failed", "job_id", it.job.ID, "pattern_id", c.PatternID, "error", err)
			continue
		}
		if !created {
			it.sum.Duplicates++
			continue
		}
		it.sum.FPPatternsStored++
		cost := 0.0
		if !costCharged {
			cost, costCharged = it.res.CostUSD, true
		}
		p.emitFPCreated(it, c, cost)
	}
}

func (p *Processor) upsert(ctx context.Context, c PatternCandidate) (created bool, err error) {
	defer func() {
		if r := recover(); r != nil {
			created, err = false, fmt.Errorf("candidate store panicked: %v", r)
		}
	}()
	return p.candidates.UpsertCandidate(ctx, c.clone())
}

func (p *Processor) saveDraft(ctx context.Context, d PlaybookDraft) (created bool, err error) {
	defer func() {
		if r := recover(); r != nil {
			created, err = false, fmt.Errorf("draft store panicked: %v", r)
		}
	}()
	return p.drafts.SaveDraft(ctx, d.clone())
}

func (p *Processor) publish(ctx context.Context, topic, key string, value []byte) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("publisher panicked: %v", r)
		}
	}()
	return p.cfg.publisher.Publish(ctx, topic, key, value)
}

// draftMessage is the value published to TopicPlaybookDrafts.
type draftMessage struct {
	PlaybookID           string    `json:"playbook_id"`
	Name                 string    `json:"name"`
	Description          string    `json:"description"`
	Tactics              []string  `json:"tactics"`
	Techniques           []string  `json:"techniques"`
	RemediationSteps     []string  `json:"remediation_steps"`
	Confidence           float64   `json:"confidence"`
	SourceInvestigations []string  `json:"source_investigations"`
	Status               string    `json:"status"`
	CreatedAt            time.Time `json:"created_at"`
}

func (p *Processor) processPlaybook(ctx context.Context, it *item) {
	items, isArray, reason := decodeAnswer(it.res.Content)
	switch {
	case reason != "":
		it.reject(reason, "answer is not JSON")
		return
	case isArray && len(items) == 0:
		it.reject(ReasonNotAnObject, "empty array")
		return
	case len(items) > MaxPlaybooksPerAnswer:
		it.reject(ReasonNotAnObject, fmt.Sprintf("%d playbooks, at most %d", len(items), MaxPlaybooksPerAnswer))
		return
	}
	primary := metaString(it.task, MetaPrimaryTechnique)
	sources := sourceInvestigations(it.task)
	costCharged := false
	for i, raw := range items {
		f, rej := validatePlaybook(raw, it.restore, p.known)
		if rej != nil {
			it.reject(rej.reason, fmt.Sprintf("playbook %d: %s", i, rej.detail))
			continue
		}
		d := PlaybookDraft{
			PlaybookID: playbookFingerprint(it.task.TenantID, primary, sources, it.task.ID, i),
			Name:       f.name, Description: f.description, Tactics: f.tactics, Techniques: f.techniques,
			RemediationSteps: f.steps, Confidence: f.confidence, SourceInvestigations: append([]string{}, sources...),
			Status: PlaybookStatusDraft, CreatedAt: p.cfg.now(), TenantID: it.task.TenantID, PrimaryTechnique: primary,
		}
		created, err := p.saveDraft(ctx, d)
		if err != nil {
			it.reject(ReasonStoreFailed, clip(err.Error(), 200))
			p.cfg.logger.ErrorContext(ctx, "batch: storing playbook draft failed", "job_id", it.job.ID, "playbook_id", d.PlaybookID, "error", err)
			continue
		}
		if !created {
			it.sum.Duplicates++
			continue
		}
		it.sum.PlaybooksPublished++
		published := false
		if p.cfg.publisher != nil {
			value, _ := json.Marshal(draftMessage{PlaybookID: d.PlaybookID, Name: d.Name, Description: d.Description,
				Tactics: d.Tactics, Techniques: d.Techniques, RemediationSteps: d.RemediationSteps, Confidence: d.Confidence,
				SourceInvestigations: d.SourceInvestigations, Status: d.Status, CreatedAt: d.CreatedAt})
			if err := p.publish(ctx, TopicPlaybookDrafts, d.PlaybookID, value); err != nil {
				p.cfg.logger.WarnContext(ctx, "batch: publishing playbook draft failed", "playbook_id", d.PlaybookID, "error", err)
			} else {
				published = true
			}
		}
		cost := 0.0
		if !costCharged {
			cost, costCharged = it.res.CostUSD, true
		}
		p.emitPlaybookGenerated(it, d, f, published, cost)
	}
}
