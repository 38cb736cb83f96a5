package batch

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Checklist 15 and 16.
func TestSchedulerDefaultsAndAccessors(t *testing.T) {
	clk := newClock()
	s := newTestScheduler(t, &fakeJobClient{}, clk)
	assert.Equal(t, 50, s.CountThreshold())
	assert.Equal(t, 6*time.Hour, s.TimeThreshold())
	assert.Equal(t, 0, s.QueueSize())
	assert.Empty(t, s.Submitted())
	assert.Equal(t, DefaultPollInterval, s.PollInterval())

	s = newTestScheduler(t, &fakeJobClient{}, clk, WithCountThreshold(10), WithTimeThreshold(2*time.Hour))
	assert.Equal(t, 10, s.CountThreshold())
	assert.Equal(t, 2*time.Hour, s.TimeThreshold())
}

// Checklist 17, 18, 19.
func TestEnqueueFlushDue(t *testing.T) {
	clk := newClock()
	s := newTestScheduler(t, &fakeJobClient{}, clk)
	due, err := s.Enqueue(task("a"))
	require.NoError(t, err)
	assert.False(t, due)
	assert.Equal(t, 1, s.QueueSize())

	s = newTestScheduler(t, &fakeJobClient{}, clk, WithCountThreshold(3))
	for i, id := range []string{"a", "b", "c"} {
		due, err := s.Enqueue(task(id))
		require.NoError(t, err)
		assert.Equal(t, i == 2, due)
	}
	assert.Equal(t, 3, s.QueueSize())

	s = newTestScheduler(t, &fakeJobClient{}, clk, WithCountThreshold(5))
	due, err = s.EnqueueMany([]Task{task("a"), task("b"), task("c"), task("d"), task("e")})
	require.NoError(t, err)
	assert.True(t, due)

	s = newTestScheduler(t, &fakeJobClient{}, clk, WithCountThreshold(10))
	due, err = s.EnqueueMany([]Task{task("a"), task("b"), task("c")})
	require.NoError(t, err)
	assert.False(t, due)
	assert.Equal(t, 3, s.QueueSize())
}

func TestEnqueueFillsDefaultsAndRejectsInvalid(t *testing.T) {
	clk := newClock()
	s := newTestScheduler(t, &fakeJobClient{}, clk)
	_, err := s.Enqueue(Task{Type: "x", UserContent: "u"})
	require.NoError(t, err)
	_, err = s.Enqueue(Task{Type: "x"})
	require.ErrorIs(t, err, ErrInvalidTask)
	_, err = s.EnqueueMany([]Task{task("ok"), {ID: "bad", Type: "x"}})
	require.ErrorIs(t, err, ErrInvalidTask)
	assert.Equal(t, 1, s.QueueSize(), "EnqueueMany is all-or-nothing")
	_, err = s.EnqueueMany([]Task{task("d"), task("d")})
	require.ErrorIs(t, err, ErrDuplicateTaskID)
	assert.Equal(t, 1, s.QueueSize())
}

func TestEnqueueRejectsTaskLargerThanABatch(t *testing.T) {
	s := newTestScheduler(t, &fakeJobClient{}, newClock(), WithMaxBatchBytes(2048))
	_, err := s.Enqueue(Task{ID: "big", Type: "x", UserContent: strings.Repeat("a", 4096)})
	require.ErrorIs(t, err, ErrInvalidTask)
	assert.Zero(t, s.QueueSize())
}

// Checklist 20–23.
func TestShouldFlush(t *testing.T) {
	clk := newClock()
	s := newTestScheduler(t, &fakeJobClient{}, clk, WithCountThreshold(2))
	assert.False(t, s.ShouldFlush(clk.Now()), "empty queue")
	_, _ = s.EnqueueMany([]Task{task("a"), task("b")})
	assert.True(t, s.ShouldFlush(clk.Now()), "count reached")

	s = newTestScheduler(t, &fakeJobClient{}, clk, WithTimeThreshold(time.Hour))
	_, _ = s.Enqueue(task("a"))
	assert.True(t, s.ShouldFlush(clk.Now().Add(2*time.Hour)))
	assert.True(t, s.ShouldFlushByTime(clk.Now().Add(2*time.Hour)))
	assert.False(t, s.ShouldFlushByTime(clk.Now().Add(30*time.Minute)))

	s = newTestScheduler(t, &fakeJobClient{}, clk)
	_, _ = s.Enqueue(task("a"))
	assert.False(t, s.ShouldFlush(clk.Now()), "6 h not passed")
}

// Checklist 24, 25, 26.
func TestFlush(t *testing.T) {
	clk := newClock()
	fc := &fakeJobClient{}
	s := newTestScheduler(t, fc, clk)
	job, err := s.Flush(bg)
	require.NoError(t, err)
	assert.Nil(t, job)
	assert.Zero(t, fc.submits)

	_, _ = s.EnqueueMany([]Task{task("a"), task("b"), task("c")})
	job, err = s.Flush(bg)
	require.NoError(t, err)
	require.NotNil(t, job)
	assert.Equal(t, JobSubmitted, job.Status)
	assert.Equal(t, 0, s.QueueSize())
	assert.Equal(t, 1, fc.submits)
	assert.Len(t, s.Submitted(), 1)

	_, _ = s.Enqueue(task("d"))
	_, err = s.Flush(bg)
	require.NoError(t, err)
	assert.Len(t, s.Submitted(), 2)
	assert.Equal(t, 2, s.Stats().JobsSubmitted)
}

// Checklist 27, 28, 29.
func TestTick(t *testing.T) {
	clk := newClock()
	s := newTestScheduler(t, &fakeJobClient{}, clk, WithCountThreshold(2))
	_, _ = s.EnqueueMany([]Task{task("a"), task("b")})
	job, err := s.Tick(bg)
	require.NoError(t, err)
	require.NotNil(t, job)
	assert.Zero(t, s.QueueSize())

	s = newTestScheduler(t, &fakeJobClient{}, clk, WithTimeThreshold(time.Hour))
	_, _ = s.Enqueue(task("a"))
	clk.Advance(2 * time.Hour)
	job, err = s.Tick(bg)
	require.NoError(t, err)
	assert.NotNil(t, job)

	s = newTestScheduler(t, &fakeJobClient{}, clk, WithCountThreshold(100), WithTimeThreshold(24*time.Hour))
	_, _ = s.Enqueue(task("a"))
	job, err = s.Tick(bg)
	require.NoError(t, err)
	assert.Nil(t, job)
	assert.Equal(t, 1, s.QueueSize())
	s = newTestScheduler(t, &fakeJobClient{}, clk)
	job, err = s.Tick(bg)
	require.NoError(t, err)
	assert.Nil(t, job)
}

// The reference's quirk: after a long idle period the first task goes alone.
func TestTickAfterIdleFlushesFirstTaskAlone(t *testing.T) {
	clk := newClock()
	s := newTestScheduler(t, &fakeJobClient{}, clk)
	clk.Advance(7 * time.Hour)
	_, _ = s.Enqueue(task("a"))
	job, err := s.Tick(bg)
	require.NoError(t, err)
	require.NotNil(t, job)
	assert.Len(t, job.Tasks, 1)
}

// Checklist 30, 31, 32.
func TestPollActive(t *testing.T) {
	clk := newClock()
	fc := &fakeJobClient{pollTo: JobInProgress}
	s := newTestScheduler(t, fc, clk)
	_, _ = s.Enqueue(task("a"))
	_, err := s.Flush(bg)
	require.NoError(t, err)
	polled := s.PollActive(bg)
	require.Len(t, polled, 1)
	assert.Equal(t, JobInProgress, polled[0].Status)
	assert.Equal(t, 1, fc.polls)

	fc.pollTo = JobCompleted
	s.PollActive(bg)
	assert.Equal(t, 2, fc.polls)
	assert.Empty(t, s.PollActive(bg), "a completed job is not polled")
	assert.Equal(t, 2, fc.polls)

	fc2 := &fakeJobClient{pollErr: errBoom}
	s = newTestScheduler(t, fc2, clk)
	_, _ = s.Enqueue(task("a"))
	_, _ = s.Flush(bg)
	assert.NotPanics(t, func() { assert.Empty(t, s.PollActive(bg)) })
	assert.Equal(t, 1, fc2.polls)
}

func TestPollActiveCountsSLABreach(t *testing.T) {
	fc := &fakeJobClient{pollErr: &SLAExceededError{JobID: "j", Elapsed: 25 * time.Hour}}
	s := newTestScheduler(t, fc, newClock())
	_, _ = s.Enqueue(task("a"))
	_, _ = s.Flush(bg)
	assert.Empty(t, s.PollActive(bg))
	assert.Equal(t, 1, s.Stats().SLABreaches)
}

// Checklist 33.
func TestCompleted(t *testing.T) {
	clk := newClock()
	fc := &fakeJobClient{pollTo: JobCompleted, results: []ItemResult{okResult("a", "{}")}}
	s := newTestScheduler(t, fc, clk)
	_, _ = s.Enqueue(task("a"))
	_, _ = s.Flush(bg)
	assert.Empty(t, s.Completed(), "still submitted")
	s.PollActive(bg)
	require.Len(t, s.Completed(), 1)
	got := s.CollectResults(bg)
	require.Len(t, got, 1)
	assert.Len(t, got[0].Results, 1)
	assert.Empty(t, s.Completed(), "a job with results is not completed-uncollected")
}

// Checklist 34.
func TestFlushTakesAtMostMaxBatchSize(t *testing.T) {
	fc := &fakeJobClient{}
	s := newTestScheduler(t, fc, newClock(), WithMaxQueuedTasks(20_000))
	ts := make([]Task, 10_050)
	for i := range ts {
		ts[i] = Task{ID: fmt.Sprintf("t%05d", i), Type: "x", UserContent: "u"}
	}
	_, err := s.EnqueueMany(ts)
	require.NoError(t, err)
	job, err := s.Flush(bg)
	require.NoError(t, err)
	assert.Len(t, job.Tasks, 10_000)
	assert.Equal(t, 50, s.QueueSize())
	job, err = s.Flush(bg)
	require.NoError(t, err)
	require.Len(t, job.Tasks, 50)
	for i, tk := range job.Tasks {
		assert.Equal(t, fmt.Sprintf("t%05d", 10_000+i), tk.ID, "remaining tasks keep their order")
	}
}

func TestFlushRespectsByteLimit(t *testing.T) {
	fc := &fakeJobClient{}
	s := newTestScheduler(t, fc, newClock(), WithMaxBatchBytes(4096))
	for i := range 5 {
		_, err := s.Enqueue(Task{ID: fmt.Sprintf("t%d", i), Type: "x", UserContent: strings.Repeat("a", 1200)})
		require.NoError(t, err)
	}
	job, err := s.Flush(bg)
	require.NoError(t, err)
	assert.Len(t, job.Tasks, 2, "two ~1.5 KB requests fit in 4 KiB, a third does not")
	assert.Equal(t, 3, s.QueueSize())
}

// Checklist 35, and the issue: a rejected submission loses no task.
func TestFailedSubmitRequeuesTasksAndBacksOff(t *testing.T) {
	clk := newClock()
	fc := &fakeJobClient{submitErr: errBoom}
	s := newTestScheduler(t, fc, clk, WithCountThreshold(2), WithRetryBackoff(time.Minute, 4*time.Minute))
	_, _ = s.EnqueueMany([]Task{task("a"), task("b")})
	_, _ = s.Enqueue(task("c"))

	job, err := s.Flush(bg)
	require.ErrorIs(t, err, ErrSubmitFailed)
	require.NotNil(t, job)
	assert.Equal(t, JobFailed, job.Status)
	assert.Len(t, job.Tasks, 3, "the failed job keeps its tasks")
	require.Len(t, s.Submitted(), 1)
	assert.Equal(t, JobFailed, s.Submitted()[0].Status)
	st := s.Stats()
	assert.Equal(t, 1, st.SubmitFailures)
	assert.Equal(t, 3, st.TasksRequeued)
	assert.Equal(t, 3, s.QueueSize(), "every task is back in the queue")
	assert.Equal(t, 1, st.ConsecutiveFailures)
	assert.Equal(t, clk.Now().Add(time.Minute), st.NextAttempt)

	// Backoff: no automatic flush before the next attempt, then doubling.
	job, err = s.Tick(bg)
	assert.Nil(t, job)
	require.NoError(t, err)
	clk.Advance(time.Minute)
	_, err = s.Tick(bg)
	require.ErrorIs(t, err, ErrSubmitFailed)
	assert.Equal(t, clk.Now().Add(2*time.Minute), s.Stats().NextAttempt)
	for range 3 {
		clk.Advance(time.Hour)
		_, _ = s.Tick(bg)
	}
	assert.Equal(t, clk.Now().Add(4*time.Minute), s.Stats().NextAttempt, "capped at max")

	// Recovery: the provider accepts, order is the original one, backoff resets.
	fc.mu.Lock()
	fc.submitErr = nil
	fc.mu.Unlock()
	clk.Advance(time.Hour)
	job, err = s.Tick(bg)
	require.NoError(t, err)
	require.NotNil(t, job)
	assert.Equal(t, []string{"a", "b", "c"}, ids(job.Tasks))
	assert.Zero(t, s.QueueSize())
	assert.Zero(t, s.Stats().ConsecutiveFailures)
	assert.True(t, s.Stats().NextAttempt.IsZero())
}

func ids(ts []Task) []string {
	out := make([]string, len(ts))
	for i, t := range ts {
		out[i] = t.ID
	}
	return out
}

// permanentErr is a provider error a retry cannot fix.
type permanentErr struct{}

func (permanentErr) Error() string   { return "invalid request" }
func (permanentErr) Retryable() bool { return false }

func TestPermanentFailuresDeadLetterAfterMaxAttempts(t *testing.T) {
	clk := newClock()
	fc := &fakeJobClient{submitErr: permanentErr{}}
	s := newTestScheduler(t, fc, clk, WithMaxSubmitAttempts(2))
	_, _ = s.EnqueueMany([]Task{task("a"), task("b")})
	_, err := s.Flush(bg)
	require.ErrorIs(t, err, ErrSubmitFailed)
	assert.Equal(t, 2, s.QueueSize())
	_, err = s.Flush(bg)
	require.Error(t, err)
	assert.Zero(t, s.QueueSize())
	st := s.Stats()
	assert.Equal(t, 2, st.TasksDeadLettered)
	assert.Equal(t, 2, st.DeadLetters)
	dead := s.TakeDeadLetters()
	assert.Equal(t, []string{"a", "b"}, ids(dead), "dead letters are kept, not lost")
	assert.Empty(t, s.TakeDeadLetters())
	_, err = s.EnqueueMany(dead)
	require.NoError(t, err, "a host may re-enqueue dead letters")
}

func TestRetryableFailuresNeverDeadLetter(t *testing.T) {
	clk := newClock()
	fc := &fakeJobClient{submitErr: errBoom}
	s := newTestScheduler(t, fc, clk, WithMaxSubmitAttempts(1))
	_, _ = s.Enqueue(task("a"))
	for range 5 {
		_, _ = s.Flush(bg)
	}
	assert.Equal(t, 1, s.QueueSize())
	assert.Zero(t, s.Stats().TasksDeadLettered)
}

func TestDeferredAndRejectedTasks(t *testing.T) {
	clk := newClock()
	fc := &fakeJobClient{onSubmit: func(ts []Task) (*Job, error) {
		// a is sent, b deferred (spend refused), c rejected by the gate;
		// d is in none of the lists: a client that forgets a task must not lose it.
		return &Job{ID: "j", BatchAPIID: "api", Status: JobSubmitted, Tasks: ts[:1], Deferred: ts[1:2],
			Rejected: []Rejection{{RequestID: ts[2].ID, Reason: ReasonContentRejected}}}, nil
	}}
	s := newTestScheduler(t, fc, clk)
	_, _ = s.EnqueueMany([]Task{task("a"), task("b"), task("c"), task("d")})
	_, _ = s.Flush(bg)
	assert.Equal(t, []string{"b", "d"}, ids(s.queueSnapshot()), "deferred task goes back before the rest")
	st := s.Stats()
	assert.Equal(t, 1, st.TasksRejected)
	assert.Equal(t, 2, st.TasksRequeued)
	assert.Equal(t, 1, st.ConsecutiveFailures, "a partial submission backs off too")
	_, err := s.Enqueue(task("c"))
	require.NoError(t, err, "a rejected task left the scheduler")
}

func (s *Scheduler) queueSnapshot() []Task {
	s.mu.Lock()
	defer s.mu.Unlock()
	return cloneTasks(s.queue)
}

// Issue: bounded queue with counted overflow.
func TestQueueBoundCountsOverflow(t *testing.T) {
	s := newTestScheduler(t, &fakeJobClient{}, newClock(), WithMaxQueuedTasks(2))
	_, _ = s.EnqueueMany([]Task{task("a"), task("b")})
	_, err := s.Enqueue(task("c"))
	require.ErrorIs(t, err, ErrQueueFull)
	_, err = s.EnqueueMany([]Task{task("d"), task("e")})
	require.ErrorIs(t, err, ErrQueueFull)
	assert.Equal(t, 3, s.Stats().TasksOverflowed)
	assert.Equal(t, 2, s.QueueSize())
	assert.Equal(t, 2, s.Stats().TasksQueued)
}

func TestRequeueMayExceedBound(t *testing.T) {
	block := make(chan struct{})
	entered := make(chan struct{})
	fc := &fakeJobClient{}
	fc.onSubmit = func(ts []Task) (*Job, error) {
		close(entered)
		<-block
		return &Job{ID: "j", Status: JobFailed, Tasks: ts}, fmt.Errorf("%w: down", ErrSubmitFailed)
	}
	s := newTestScheduler(t, &unlockedClient{fc}, newClock(), WithMaxQueuedTasks(2))
	_, _ = s.EnqueueMany([]Task{task("a"), task("b")})
	done := make(chan struct{})
	go func() { _, _ = s.Flush(bg); close(done) }()
	<-entered
	_, _ = s.EnqueueMany([]Task{task("c"), task("d")}) // refills while a and b are in flight
	_, err := s.Enqueue(task("a"))
	require.ErrorIs(t, err, ErrDuplicateTaskID, "an in-flight id is still known")
	close(block)
	<-done
	assert.Equal(t, 4, s.QueueSize(), "tasks of a rejected submission are never dropped")
	assert.Equal(t, []string{"a", "b", "c", "d"}, ids(s.queueSnapshot()))
}

// unlockedClient calls onSubmit without holding the fake's lock, so the
// test can block inside Submit.
type unlockedClient struct{ *fakeJobClient }

func (u *unlockedClient) Submit(_ context.Context, ts []Task) (*Job, error) { return u.onSubmit(ts) }

func TestSubmitWindowGatesTick(t *testing.T) {
	clk := newClock() // 12:00 UTC
	s := newTestScheduler(t, &fakeJobClient{}, clk, WithCountThreshold(1), WithSubmitWindow(22*time.Hour, 6*time.Hour))
	_, _ = s.Enqueue(task("a"))
	job, err := s.Tick(bg)
	require.NoError(t, err)
	assert.Nil(t, job, "outside the window")
	clk.Advance(11 * time.Hour) // 23:00
	job, err = s.Tick(bg)
	require.NoError(t, err)
	assert.NotNil(t, job)
	_, _ = s.Enqueue(task("b"))
	clk.Advance(8 * time.Hour) // 07:00
	job, _ = s.Flush(bg)
	assert.NotNil(t, job, "an explicit Flush ignores the window")
}

// Checklist 36.
func TestCollectResultsAsksProviderOnce(t *testing.T) {
	fc := &fakeJobClient{pollTo: JobCompleted}
	s := newTestScheduler(t, fc, newClock())
	_, _ = s.Enqueue(task("a"))
	_, _ = s.Flush(bg)
	s.PollActive(bg)
	got := s.CollectResults(bg)
	require.Len(t, got, 1)
	assert.Empty(t, got[0].Results)
	assert.Empty(t, s.CollectResults(bg))
	assert.Equal(t, 1, fc.retrieves)
}

// Checklist 37.
func TestEnqueueDuplicateID(t *testing.T) {
	s := newTestScheduler(t, &fakeJobClient{}, newClock())
	_, _ = s.Enqueue(task("a"))
	_, err := s.Enqueue(task("a"))
	require.ErrorIs(t, err, ErrDuplicateTaskID)
	assert.Equal(t, 1, s.QueueSize())
}

func TestJobHistoryIsBounded(t *testing.T) {
	fc := &fakeJobClient{submitErr: errBoom}
	s := newTestScheduler(t, fc, newClock(), WithJobHistory(3))
	_, _ = s.Enqueue(task("a"))
	for range 10 {
		_, _ = s.Flush(bg)
	}
	assert.Len(t, s.Submitted(), 3)
}

func TestRunLoopsUntilContextEnds(t *testing.T) {
	clk := newClock()
	fc := &fakeJobClient{pollTo: JobCompleted, results: []ItemResult{okResult("a", "{}")}}
	ctx, cancel := context.WithCancel(bg)
	iterations := 0
	sleeper := func(ctx context.Context, d time.Duration) error {
		assert.Equal(t, 10*time.Second, d)
		iterations++
		if iterations == 3 {
			cancel()
		}
		return clk.Sleep(ctx, d)
	}
	s := newTestScheduler(t, fc, clk, WithCountThreshold(1), WithPollInterval(10*time.Second), WithSleeper(sleeper))
	_, _ = s.Enqueue(task("a"))
	var handled []Job
	err := s.Run(ctx, func(_ context.Context, j Job) {
		handled = append(handled, j)
		panic("handler panics are contained")
	})
	require.ErrorIs(t, err, context.Canceled)
	require.Len(t, handled, 1, "flushed, polled and collected in the first iteration")
	assert.Len(t, handled[0].Results, 1)
	assert.Equal(t, 3, iterations)
}

// Checklist 38: 50 goroutines enqueue 100 tasks each while another ticks;
// every task is submitted exactly once.
func TestSchedulerConcurrencyStress(t *testing.T) {
	clk := newClock()
	var failNext sync.Mutex
	n := 0
	fc := &fakeJobClient{}
	fc.onSubmit = func(ts []Task) (*Job, error) {
		failNext.Lock()
		n++
		fail := n%3 == 0 // every third submission is rejected: its tasks must come back
		failNext.Unlock()
		j := &Job{ID: newUUID(), Tasks: cloneTasks(ts)}
		if fail {
			j.Status = JobFailed
			return j, fmt.Errorf("%w: flaky", ErrSubmitFailed)
		}
		j.Status, j.BatchAPIID = JobSubmitted, "api"
		return j, nil
	}
	s := newTestScheduler(t, fc, clk, WithCountThreshold(37), WithMaxBatchSize(100), WithRetryBackoff(time.Nanosecond, time.Nanosecond),
		WithJobHistory(10_000))
	var wg sync.WaitGroup
	for g := range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 100 {
				_, err := s.Enqueue(Task{ID: fmt.Sprintf("g%02d-%03d", g, i), Type: "x", UserContent: "u"})
				assert.NoError(t, err)
			}
		}()
	}
	stop := make(chan struct{})
	ticked := make(chan struct{})
	go func() {
		defer close(ticked)
		for {
			select {
			case <-stop:
				return
			default:
				clk.Advance(time.Millisecond)
				_, _ = s.Tick(bg)
				s.PollActive(bg)
			}
		}
	}()
	wg.Wait()
	close(stop)
	<-ticked
	for s.QueueSize() > 0 {
		_, _ = s.Flush(bg)
	}
	seen := map[string]int{}
	for _, j := range s.Submitted() {
		if j.Status == JobSubmitted {
			for _, tk := range j.Tasks {
				seen[tk.ID]++
			}
		}
	}
	assert.Len(t, seen, 5000)
	for id, c := range seen {
		if c != 1 {
			t.Errorf("task %s submitted %d times", id, c)
		}
	}
	st := s.Stats()
	assert.Equal(t, 5000, st.TasksQueued)
	assert.Zero(t, st.InFlight)
	assert.Positive(t, st.TasksRequeued)
}
