package batch

import (
	"context"
	"errors"
	"sync"
)

// Service is the whole batch pipeline: closed investigations → tasks
// (Mine) → queued and submitted through the content gate and the spend
// guard → polled → results matched to tasks by request id → FP pattern
// candidates in the autonomy pattern store and playbook drafts (Cycle,
// Run). Safe for concurrent use.
type Service struct {
	client    *Client
	scheduler *Scheduler
	processor *Processor
	generator *Generator // nil without WithInvestigationSource
	cfg       config     // read-only after New

	mu    sync.Mutex // guards stats
	stats ServiceStats
}

// ServiceStats totals the processed results.
type ServiceStats struct {
	JobsProcessed      int `json:"jobs_processed"`
	FPPatternsStored   int `json:"fp_patterns_stored"`
	PlaybooksPublished int `json:"playbooks_published"`
	Duplicates         int `json:"duplicates"`
	Errors             int `json:"errors"`
}

// New wires a Service. api is the provider, gate the content gate every
// task passes (GatewayGate in production), spend the spend guard every
// batch reserves on (router's *SpendGuard), candidates the autonomy pattern
// store's candidate port. All four are required.
func New(api BatchAPI, gate ContentGate, spend SpendReserver, candidates CandidateStore, opts ...Option) (*Service, error) {
	cfg, err := buildConfig(compService, opts)
	if err != nil {
		return nil, err
	}
	c, err := newClient(api, gate, spend, cfg)
	if err != nil {
		return nil, err
	}
	s, err := newScheduler(c, cfg)
	if err != nil {
		return nil, err
	}
	p, err := newProcessor(candidates, cfg)
	if err != nil {
		return nil, err
	}
	svc := &Service{client: c, scheduler: s, processor: p, cfg: cfg}
	if cfg.source != nil {
		if svc.generator, err = newGenerator(cfg.source, cfg); err != nil {
			return nil, err
		}
	}
	return svc, nil
}

// Client returns the service's client.
func (s *Service) Client() *Client { return s.client }

// Scheduler returns the service's scheduler (queue, jobs, stats).
func (s *Service) Scheduler() *Scheduler { return s.scheduler }

// Processor returns the service's processor.
func (s *Service) Processor() *Processor { return s.processor }

// Enqueue queues a host task (see Scheduler.Enqueue).
func (s *Service) Enqueue(t Task) (flushDue bool, err error) { return s.scheduler.Enqueue(t) }

// MineReport says what Mine did.
type MineReport struct {
	Generated  int `json:"generated"`
	Enqueued   int `json:"enqueued"`
	Duplicates int `json:"duplicates"` // already queued or in flight
	Overflowed int `json:"overflowed"` // refused by the full queue
	Invalid    int `json:"invalid"`
}

// Mine generates FP pattern and playbook tasks from the closed
// investigations of the lookback window and queues them. A task already
// queued (same group and sources) is skipped; a full queue refuses the
// rest (counted).
func (s *Service) Mine(ctx context.Context) (MineReport, error) {
	if s.generator == nil {
		return MineReport{}, &ConfigError{Option: "WithInvestigationSource", Reason: "Mine needs an investigation source"}
	}
	tasks, err := s.generator.AllTasks(ctx, s.cfg.now())
	if err != nil {
		return MineReport{}, err
	}
	r := MineReport{Generated: len(tasks)}
	for _, t := range tasks {
		_, err := s.scheduler.Enqueue(t)
		switch {
		case err == nil:
			r.Enqueued++
		case errors.Is(err, ErrDuplicateTaskID):
			r.Duplicates++
		case errors.Is(err, ErrQueueFull):
			r.Overflowed++
		default:
			r.Invalid++
			s.cfg.logger.WarnContext(ctx, "batch: generated task invalid", "task_id", t.ID, "error", err)
		}
	}
	return r, nil
}

// CycleReport says what one Cycle did.
type CycleReport struct {
	// Flushed is the job submitted by this cycle's tick, if any; FlushError
	// its submission error (the tasks concerned were requeued).
	Flushed    *Job      `json:"flushed,omitempty"`
	FlushError string    `json:"flush_error,omitempty"`
	Polled     int       `json:"polled"`
	Summaries  []Summary `json:"summaries"`
}

// Cycle runs one scheduler iteration — tick (flush when due), poll active
// batches, collect finished ones — and processes every collected job. It
// returns an error only when ctx ends.
func (s *Service) Cycle(ctx context.Context) (CycleReport, error) {
	var r CycleReport
	job, err := s.scheduler.Tick(ctx)
	r.Flushed = job
	if err != nil {
		r.FlushError = err.Error()
	}
	r.Polled = len(s.scheduler.PollActive(ctx))
	for _, j := range s.scheduler.CollectResults(ctx) {
		sum, err := s.Process(ctx, j)
		r.Summaries = append(r.Summaries, sum)
		if err != nil {
			return r, err
		}
	}
	return r, ctx.Err()
}

// Process runs the processor on one collected job and adds it to the
// totals.
func (s *Service) Process(ctx context.Context, j Job) (Summary, error) {
	sum, err := s.processor.ProcessJob(ctx, j)
	s.mu.Lock()
	s.stats.JobsProcessed++
	s.stats.FPPatternsStored += sum.FPPatternsStored
	s.stats.PlaybooksPublished += sum.PlaybooksPublished
	s.stats.Duplicates += sum.Duplicates
	s.stats.Errors += sum.Errors
	s.mu.Unlock()
	return sum, err
}

// Run repeats Cycle's work every poll interval until ctx ends (see
// Scheduler.Run) and returns ctx.Err().
func (s *Service) Run(ctx context.Context) error {
	return s.scheduler.Run(ctx, func(ctx context.Context, j Job) {
		if _, err := s.Process(ctx, j); err != nil {
			s.cfg.logger.WarnContext(ctx, "batch: processing interrupted", "job_id", j.ID, "error", err)
		}
	})
}

// Stats returns the processing totals.
func (s *Service) Stats() ServiceStats {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stats
}
