package batch

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"
)

// SchedulerStats are the scheduler's counters (totals since construction)
// and current sizes.
type SchedulerStats struct {
	JobsSubmitted  int `json:"jobs_submitted"`
	SubmitFailures int `json:"submit_failures"`
	// TasksQueued counts tasks accepted by Enqueue/EnqueueMany.
	TasksQueued int `json:"tasks_queued"`
	SLABreaches int `json:"sla_breaches"`
	// TasksOverflowed counts tasks refused with ErrQueueFull.
	TasksOverflowed int `json:"tasks_overflowed"`
	// TasksRequeued counts tasks put back after a rejected or partial
	// submission.
	TasksRequeued int `json:"tasks_requeued"`
	// TasksRejected counts tasks refused for good by the content gate or for
	// size.
	TasksRejected int `json:"tasks_rejected"`
	// TasksDeadLettered counts tasks moved to the dead-letter list after
	// repeated permanent submission failures; DeadLetterDropped those that
	// did not fit in it.
	TasksDeadLettered int `json:"tasks_dead_lettered"`
	DeadLetterDropped int `json:"dead_letter_dropped"`

	Queued      int `json:"queued"`
	InFlight    int `json:"in_flight"`
	DeadLetters int `json:"dead_letters"`
	// ConsecutiveFailures and NextAttempt describe the current backoff.
	ConsecutiveFailures int       `json:"consecutive_failures"`
	NextAttempt         time.Time `json:"next_attempt,omitzero"`
}

// trackedJob is a submitted job and the scheduler's marks on it.
type trackedJob struct {
	job       Job
	collected bool // results handed out once
	busy      bool // a poll or collection is in progress outside the lock
}

func (t *trackedJob) finished() bool {
	return t.job.Status == JobFailed || t.job.Status == JobExpired || t.job.Status == JobCompleted && t.collected
}

// Scheduler accumulates tasks and submits them as one batch when the count
// or time trigger fires, then polls the batches it submitted and collects
// their results. It never loses a task to a rejected submission: tasks the
// provider or the spend guard refused go back to the front of the queue and
// automatic flushes back off exponentially; tasks of batches the provider
// keeps rejecting as invalid end on a dead-letter list. The queue is
// bounded; overflow is refused and counted. Safe for concurrent use;
// returned jobs are deep copies.
type Scheduler struct {
	client JobClient
	cfg    config // read-only after NewScheduler

	mu          sync.Mutex // guards every field below
	queue       []Task
	queued      map[string]struct{} // ids in queue
	inFlight    map[string]struct{} // ids taken by a Flush that has not returned
	attempts    map[string]int      // permanent submission failures per queued id
	lastFlush   time.Time
	nextAttempt time.Time
	failures    int
	jobs        []*trackedJob
	dead        []Task
	stats       SchedulerStats
}

// NewScheduler returns a Scheduler over client (a *Client, or a fake in
// tests).
func NewScheduler(client JobClient, opts ...Option) (*Scheduler, error) {
	cfg, err := buildConfig(compScheduler, opts)
	if err != nil {
		return nil, err
	}
	return newScheduler(client, cfg)
}

func newScheduler(client JobClient, cfg config) (*Scheduler, error) {
	if client == nil {
		return nil, &ConfigError{Option: "client", Reason: "nil JobClient"}
	}
	return &Scheduler{client: client, cfg: cfg, queued: map[string]struct{}{}, inFlight: map[string]struct{}{},
		attempts: map[string]int{}, lastFlush: cfg.now()}, nil
}

// CountThreshold is the queue length that triggers a flush.
func (s *Scheduler) CountThreshold() int { return s.cfg.countThreshold }

// TimeThreshold is the time since the last flush that triggers one.
func (s *Scheduler) TimeThreshold() time.Duration { return s.cfg.timeThreshold }

// PollInterval is Run's interval.
func (s *Scheduler) PollInterval() time.Duration { return s.cfg.pollInterval }

// QueueSize is the number of queued tasks.
func (s *Scheduler) QueueSize() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.queue)
}

// prepare fills defaults and validates t, including that one request fits
// in a batch.
func (s *Scheduler) prepare(t Task, now time.Time) (Task, error) {
	t = t.withDefaults(now)
	if err := t.validate(); err != nil {
		return t, err
	}
	if batchEnvelopeBytes+t.estimatedBytes() > s.cfg.maxBatchBytes {
		return t, &InvalidTaskError{TaskID: t.ID, Field: "user_content",
			Reason: fmt.Sprintf("request larger than the batch limit of %d bytes", s.cfg.maxBatchBytes)}
	}
	return t, nil
}

func (s *Scheduler) knownLocked(id string) bool {
	_, q := s.queued[id]
	_, f := s.inFlight[id]
	return q || f
}

// Enqueue fills t's defaults, validates it and appends it to the queue.
// flushDue reports whether the queue reached the count threshold. An id
// that is already queued (or being submitted) fails with
// ErrDuplicateTaskID, a full queue with ErrQueueFull (counted); the queue is
// then unchanged.
func (s *Scheduler) Enqueue(t Task) (flushDue bool, err error) {
	t, err = s.prepare(t, s.cfg.now())
	if err != nil {
		return false, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.knownLocked(t.ID) {
		return false, fmt.Errorf("%w: %q", ErrDuplicateTaskID, t.ID)
	}
	if len(s.queue) >= s.cfg.maxQueue {
		s.stats.TasksOverflowed++
		return false, fmt.Errorf("%w: %d tasks queued (limit %d)", ErrQueueFull, len(s.queue), s.cfg.maxQueue)
	}
	s.appendLocked(t)
	return len(s.queue) >= s.cfg.countThreshold, nil
}

// EnqueueMany validates every task first and then queues all of them, or
// none (invalid task, duplicate id, or not enough room: ErrQueueFull, all
// counted as overflow).
func (s *Scheduler) EnqueueMany(ts []Task) (flushDue bool, err error) {
	now := s.cfg.now()
	prepared := make([]Task, len(ts))
	ids := make(map[string]struct{}, len(ts))
	for i, t := range ts {
		if prepared[i], err = s.prepare(t, now); err != nil {
			return false, err
		}
		if _, dup := ids[prepared[i].ID]; dup {
			return false, fmt.Errorf("%w: %q appears twice", ErrDuplicateTaskID, prepared[i].ID)
		}
		ids[prepared[i].ID] = struct{}{}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for id := range ids {
		if s.knownLocked(id) {
			return false, fmt.Errorf("%w: %q", ErrDuplicateTaskID, id)
		}
	}
	if len(s.queue)+len(prepared) > s.cfg.maxQueue {
		s.stats.TasksOverflowed += len(prepared)
		return false, fmt.Errorf("%w: %d queued + %d new exceeds limit %d", ErrQueueFull, len(s.queue), len(prepared), s.cfg.maxQueue)
	}
	for _, t := range prepared {
		s.appendLocked(t)
	}
	return len(s.queue) >= s.cfg.countThreshold, nil
}

func (s *Scheduler) appendLocked(t Task) {
	s.queue = append(s.queue, t)
	s.queued[t.ID] = struct{}{}
	s.stats.TasksQueued++
}

// ShouldFlushByTime reports whether the time threshold has passed since the
// last flush (the queue is not looked at). After a long idle period it is
// already true, so the first task enqueued then is flushed alone at the next
// tick (kept from the reference).
func (s *Scheduler) ShouldFlushByTime(now time.Time) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return now.Sub(s.lastFlush) >= s.cfg.timeThreshold
}

// ShouldFlush reports whether an automatic flush is due at now: never for
// an empty queue, during a retry backoff, or outside the submit window;
// otherwise when the count threshold is reached or the time threshold
// passed.
func (s *Scheduler) ShouldFlush(now time.Time) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.shouldFlushLocked(now)
}

func (s *Scheduler) shouldFlushLocked(now time.Time) bool {
	switch {
	case len(s.queue) == 0:
		return false
	case now.Before(s.nextAttempt):
		return false
	case !s.cfg.window.contains(now):
		return false
	case len(s.queue) >= s.cfg.countThreshold:
		return true
	}
	return now.Sub(s.lastFlush) >= s.cfg.timeThreshold
}

// Tick flushes when ShouldFlush(now) holds; otherwise it returns (nil, nil).
func (s *Scheduler) Tick(ctx context.Context) (*Job, error) {
	if !s.ShouldFlush(s.cfg.now()) {
		return nil, nil
	}
	return s.Flush(ctx)
}

// takeLocked removes the head of the queue that fits in one batch.
func (s *Scheduler) takeLocked() []Task {
	n, size := 0, batchEnvelopeBytes
	for n < len(s.queue) && n < s.cfg.maxBatchSize {
		b := s.queue[n].estimatedBytes()
		if n > 0 && size+b > s.cfg.maxBatchBytes {
			break
		}
		size += b
		n++
	}
	taken := slices.Clone(s.queue[:n])
	s.queue = slices.Clone(s.queue[n:]) // do not pin the old backing array
	for _, t := range taken {
		delete(s.queued, t.ID)
		s.inFlight[t.ID] = struct{}{}
	}
	return taken
}

// Flush submits the head of the queue (at most the batch size and byte
// limit; the rest stays queued in order) regardless of thresholds, backoff
// and window. An empty queue returns (nil, nil). The returned job is tracked
// whatever its status. Tasks the submission did not place — provider
// rejection, spend refusal, gate failure — go back to the front of the
// queue in their original order and later automatic flushes back off; the
// error then matches ErrSubmitFailed.
func (s *Scheduler) Flush(ctx context.Context) (*Job, error) {
	s.mu.Lock()
	if len(s.queue) == 0 {
		s.mu.Unlock()
		return nil, nil
	}
	taken := s.takeLocked()
	s.lastFlush = s.cfg.now()
	s.mu.Unlock()

	job, err := s.submit(ctx, taken)

	s.mu.Lock()
	requeued, dead := s.settleLocked(taken, job, err)
	var out *Job
	if job != nil {
		if job.Status == JobSubmitted {
			s.stats.JobsSubmitted++
		}
		s.jobs = append(s.jobs, &trackedJob{job: job.clone()})
		s.pruneLocked()
		c := job.clone()
		out = &c
	}
	if err != nil {
		s.stats.SubmitFailures++
	}
	s.mu.Unlock()

	if job != nil {
		s.cfg.logger.InfoContext(ctx, fmt.Sprintf("flushed %d tasks → batch %s (status=%s)", len(taken), job.ID, job.Status),
			"job_id", job.ID, "sent", len(job.Tasks), "requeued", requeued, "rejected", len(job.Rejected), "dead_lettered", dead)
	} else {
		s.cfg.logger.WarnContext(ctx, fmt.Sprintf("flush of %d tasks failed, requeued", len(taken)), "error", err)
	}
	return out, err
}

// submit calls the client, turning a panic into a retryable failure.
func (s *Scheduler) submit(ctx context.Context, tasks []Task) (job *Job, err error) {
	defer func() {
		if r := recover(); r != nil {
			job, err = nil, fmt.Errorf("%w: client panicked: %v", ErrSubmitFailed, r)
		}
	}()
	return s.client.Submit(ctx, tasks)
}

// settleLocked puts back every taken task the submission did not place or
// reject, in queue order, and adjusts the backoff. It returns how many
// tasks were requeued and dead-lettered.
func (s *Scheduler) settleLocked(taken []Task, job *Job, err error) (requeued, deadLettered int) {
	for _, t := range taken {
		delete(s.inFlight, t.ID)
	}
	// Every taken task the provider did not accept and the client did not
	// reject for good comes back — deferred tasks, the tasks of a batch that
	// was never created, and any task a client forgot to account for.
	placed := map[string]bool{}
	permanent := err != nil && !retryable(err)
	if job != nil {
		if job.BatchAPIID != "" {
			permanent = false
			for _, t := range job.Tasks {
				placed[t.ID] = true
				delete(s.attempts, t.ID)
			}
		}
		for _, r := range job.Rejected {
			placed[r.RequestID] = true
			delete(s.attempts, r.RequestID)
		}
		s.stats.TasksRejected += len(job.Rejected)
	}
	back := make(map[string]bool, len(taken))
	for _, t := range taken {
		if !placed[t.ID] {
			back[t.ID] = true
		}
	}
	var front []Task
	for _, t := range taken {
		if !back[t.ID] {
			continue
		}
		if permanent {
			s.attempts[t.ID]++
			if s.attempts[t.ID] >= s.cfg.maxSubmitAttempts {
				delete(s.attempts, t.ID)
				s.deadLetterLocked(t)
				deadLettered++
				continue
			}
		}
		front = append(front, t)
	}
	if len(front) > 0 {
		s.queue = append(front, s.queue...)
		for _, t := range front {
			s.queued[t.ID] = struct{}{}
		}
		s.stats.TasksRequeued += len(front)
	}
	if len(front) > 0 || deadLettered > 0 {
		s.failures++
		s.nextAttempt = s.cfg.now().Add(s.backoffLocked())
	} else {
		s.failures = 0
		s.nextAttempt = time.Time{}
	}
	return len(front), deadLettered
}

// backoffLocked is first × 2^(failures−1), capped at max.
func (s *Scheduler) backoffLocked() time.Duration {
	d := s.cfg.backoffFirst
	for i := 1; i < s.failures && d < s.cfg.backoffMax; i++ {
		d *= 2
	}
	return min(d, s.cfg.backoffMax)
}

func (s *Scheduler) deadLetterLocked(t Task) {
	if len(s.dead) >= s.cfg.maxQueue {
		s.stats.DeadLetterDropped++
		s.cfg.logger.Error("batch: dead-letter list full, task dropped", "task_id", t.ID, "tenant_id", t.TenantID)
		return
	}
	s.dead = append(s.dead, t)
	s.stats.TasksDeadLettered++
	s.cfg.logger.Error("batch: task dead-lettered after repeated permanent submission failures", "task_id", t.ID, "tenant_id", t.TenantID)
}

// TakeDeadLetters removes and returns the tasks that repeatedly failed
// permanently; a host may fix and re-enqueue them.
func (s *Scheduler) TakeDeadLetters() []Task {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := s.dead
	s.dead = nil
	return out
}

// pruneLocked drops the oldest finished jobs beyond the history bound.
func (s *Scheduler) pruneLocked() {
	finished := 0
	for _, t := range s.jobs {
		if t.finished() && !t.busy {
			finished++
		}
	}
	if finished <= s.cfg.jobHistory {
		return
	}
	drop := finished - s.cfg.jobHistory
	kept := s.jobs[:0]
	for _, t := range s.jobs {
		if drop > 0 && t.finished() && !t.busy {
			drop--
			continue
		}
		kept = append(kept, t)
	}
	clear(s.jobs[len(kept):])
	s.jobs = kept
}

// claimLocked marks the jobs selected by pick busy and returns copies.
func (s *Scheduler) claim(pick func(*trackedJob) bool) ([]*trackedJob, []Job) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var ts []*trackedJob
	var js []Job
	for _, t := range s.jobs {
		if !t.busy && pick(t) {
			t.busy = true
			ts = append(ts, t)
			js = append(js, t.job.clone())
		}
	}
	return ts, js
}

// PollActive polls every submitted or in-progress job and returns those
// polled without error, updated. A poll error is logged and the job left
// out; an SLA breach (the job is now expired) is counted. Terminal jobs are
// not polled.
func (s *Scheduler) PollActive(ctx context.Context) []Job {
	ts, js := s.claim(func(t *trackedJob) bool {
		return t.job.Status == JobSubmitted || t.job.Status == JobInProgress
	})
	var out []Job
	for i := range js {
		err := s.poll(ctx, &js[i])
		s.mu.Lock()
		ts[i].job = js[i].clone()
		ts[i].busy = false
		if errors.Is(err, ErrSLAExceeded) {
			s.stats.SLABreaches++
		}
		s.mu.Unlock()
		if err != nil {
			s.cfg.logger.WarnContext(ctx, "batch: poll failed", "job_id", js[i].ID, "error", err)
			continue
		}
		out = append(out, js[i])
	}
	s.mu.Lock()
	s.pruneLocked()
	s.mu.Unlock()
	return out
}

func (s *Scheduler) poll(ctx context.Context, j *Job) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%w: client panicked: %v", ErrPollFailed, r)
		}
	}()
	return s.client.PollStatus(ctx, j)
}

func (s *Scheduler) retrieve(ctx context.Context, j *Job) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%w: client panicked: %v", ErrRetrieveFailed, r)
		}
	}()
	return s.client.RetrieveResults(ctx, j)
}

func completedUncollected(t *trackedJob) bool {
	return t.job.Status == JobCompleted && !t.collected && len(t.job.Results) == 0
}

// Completed returns the completed jobs whose results have not been
// collected yet.
func (s *Scheduler) Completed() []Job {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Job
	for _, t := range s.jobs {
		if !t.busy && completedUncollected(t) {
			out = append(out, t.job.clone())
		}
	}
	return out
}

// CollectResults retrieves the results of every completed, uncollected job
// and returns the jobs that got them (each exactly once, even with zero
// results). A job whose retrieval failed is not returned.
func (s *Scheduler) CollectResults(ctx context.Context) []Job {
	ts, js := s.claim(completedUncollected)
	var out []Job
	for i := range js {
		err := s.retrieve(ctx, &js[i])
		s.mu.Lock()
		ts[i].job = js[i].clone()
		ts[i].busy = false
		if err == nil {
			ts[i].collected = true
		}
		s.mu.Unlock()
		if err != nil {
			s.cfg.logger.WarnContext(ctx, "batch: collecting results failed", "job_id", js[i].ID, "error", err)
			continue
		}
		out = append(out, js[i])
	}
	s.mu.Lock()
	s.pruneLocked()
	s.mu.Unlock()
	return out
}

// Submitted returns copies of the tracked jobs, oldest first.
func (s *Scheduler) Submitted() []Job {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Job, len(s.jobs))
	for i, t := range s.jobs {
		out[i] = t.job.clone()
	}
	return out
}

// Stats returns the counters and current sizes.
func (s *Scheduler) Stats() SchedulerStats {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.stats
	st.Queued, st.InFlight, st.DeadLetters = len(s.queue), len(s.inFlight), len(s.dead)
	st.ConsecutiveFailures, st.NextAttempt = s.failures, s.nextAttempt
	return st
}

// Run ticks, polls, collects and hands each collected job to handle, first
// at once and then every poll interval (waiting with the injected sleeper),
// until ctx ends; it returns ctx.Err(). A panicking handle is logged and
// does not stop the loop.
func (s *Scheduler) Run(ctx context.Context, handle func(context.Context, Job)) error {
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		s.Iterate(ctx, handle)
		if err := s.cfg.sleep(ctx, s.cfg.pollInterval); err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return err
		}
	}
}

// Iterate is one iteration of Run: Tick, PollActive, CollectResults and
// handle for each collected job. It returns the jobs it collected.
func (s *Scheduler) Iterate(ctx context.Context, handle func(context.Context, Job)) []Job {
	if _, err := s.Tick(ctx); err != nil {
		s.cfg.logger.WarnContext(ctx, "batch: tick failed", "error", err)
	}
	s.PollActive(ctx)
	collected := s.CollectResults(ctx)
	for _, j := range collected {
		if handle != nil {
			s.callHandle(ctx, handle, j)
		}
	}
	return collected
}

func (s *Scheduler) callHandle(ctx context.Context, handle func(context.Context, Job), j Job) {
	defer func() {
		if r := recover(); r != nil {
			s.cfg.logger.ErrorContext(ctx, "batch: job handler panicked", "job_id", j.ID, "panic", fmt.Sprint(r))
		}
	}()
	handle(ctx, j)
}
