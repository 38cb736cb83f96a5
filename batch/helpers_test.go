package batch

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/socwarden/warden/audit"
	"github.com/socwarden/warden/router"
	"github.com/socwarden/warden/taxonomy"
)

var bg = context.Background()

// t0 is the instant every test clock starts at.
var t0 = time.Date(2025, 6, 15, 12, 0, 0, 0, time.UTC)

var quiet = slog.New(slog.DiscardHandler)

type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *fakeClock { return &fakeClock{t: t0} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// Sleep advances the clock instead of waiting.
func (c *fakeClock) Sleep(ctx context.Context, d time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	c.Advance(d)
	return nil
}

// recorder is an audit.Producer that keeps every event.
type recorder struct {
	mu     sync.Mutex
	events []audit.Event
	panics bool
}

func (r *recorder) Emit(e audit.Event) (string, bool) {
	if r.panics {
		panic("producer exploded")
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, e)
	return "id", true
}

func (r *recorder) all() []audit.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]audit.Event(nil), r.events...)
}

func (r *recorder) ofType(t taxonomy.EventType) []audit.Event {
	var out []audit.Event
	for _, e := range r.all() {
		if e.Type == t {
			out = append(out, e)
		}
	}
	return out
}

// passGate lets content through unchanged and counts calls.
type passGate struct {
	mu    sync.Mutex
	calls int
	seen  []GateRequest
}

func (g *passGate) Screen(_ context.Context, r GateRequest) (GateResult, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.calls++
	g.seen = append(g.seen, r)
	return GateResult{SystemPrompt: r.SystemPrompt, UserContent: r.UserContent}, nil
}

// fakeSpend is a SpendReserver that records every call and refuses on
// request.
type fakeSpend struct {
	mu           sync.Mutex
	next         uint64
	open         map[uint64]router.Reservation
	reserved     []router.SpendRequest
	settled      map[uint64]float64
	released     []uint64
	recorded     []router.CostRecord
	refuseTenant map[string]bool
	refuseAll    bool
}

func newSpend() *fakeSpend {
	return &fakeSpend{open: map[uint64]router.Reservation{}, settled: map[uint64]float64{}, refuseTenant: map[string]bool{}}
}

func (s *fakeSpend) Reserve(_ context.Context, req router.SpendRequest) (router.Reservation, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.reserved = append(s.reserved, req)
	if s.refuseAll {
		return router.Reservation{}, &router.SpendLimitError{Scope: router.ScopeGlobal, HardCapUSD: 1}
	}
	if s.refuseTenant[req.TenantID] {
		return router.Reservation{}, &router.SpendLimitError{Scope: router.ScopeTenant, TenantID: req.TenantID, HardCapUSD: 1}
	}
	s.next++
	r := router.Reservation{ID: s.next, TenantID: req.TenantID, ModelID: req.Model.ModelID, TaskType: req.TaskType,
		EstimateUSD: req.Estimate()}
	s.open[r.ID] = r
	return r, nil
}

func (s *fakeSpend) Settle(_ context.Context, res router.Reservation, cost float64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.open[res.ID]; !ok {
		return router.ErrUnknownReservation
	}
	delete(s.open, res.ID)
	s.settled[res.ID] = cost
	return nil
}

func (s *fakeSpend) Release(res router.Reservation) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.open[res.ID]; ok {
		delete(s.open, res.ID)
		s.released = append(s.released, res.ID)
	}
}

func (s *fakeSpend) Record(_ context.Context, rec router.CostRecord) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.recorded = append(s.recorded, rec)
	return nil
}

func (s *fakeSpend) openCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.open)
}

// fakeAPI is a scriptable BatchAPI.
type fakeAPI struct {
	mu            sync.Mutex
	createErr     error
	createErrs    int // fail this many creates, then succeed
	status        string
	statusErr     error
	results       []RawResult
	resultsErr    error
	creates       int
	retrieves     int
	resultsCalls  int
	lastReqs      []Request
	respondFromID func(id string) RawResult // results built from the last requests when set
}

func (a *fakeAPI) Create(_ context.Context, reqs []Request) (string, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.creates++
	if a.createErr != nil && (a.createErrs == 0 || a.creates <= a.createErrs) {
		return "", a.createErr
	}
	a.lastReqs = append([]Request(nil), reqs...)
	return fmt.Sprintf("batch-%d", a.creates), nil
}

func (a *fakeAPI) Retrieve(context.Context, string) (string, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.retrieves++
	if a.statusErr != nil {
		return "", a.statusErr
	}
	if a.status == "" {
		return ProcessingEnded, nil
	}
	return a.status, nil
}

func (a *fakeAPI) Results(context.Context, string) ([]RawResult, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.resultsCalls++
	if a.resultsErr != nil {
		return nil, a.resultsErr
	}
	if a.respondFromID != nil {
		out := make([]RawResult, 0, len(a.lastReqs))
		for i := len(a.lastReqs) - 1; i >= 0; i-- { // reversed: order must not matter
			out = append(out, a.respondFromID(a.lastReqs[i].CustomID))
		}
		return out, nil
	}
	return append([]RawResult(nil), a.results...), nil
}

func (a *fakeAPI) counts() (creates, retrieves, results int) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.creates, a.retrieves, a.resultsCalls
}

// fakeJobClient drives scheduler tests without a Client.
type fakeJobClient struct {
	mu        sync.Mutex
	submitErr error
	submits   int
	polls     int
	retrieves int
	pollErr   error
	pollTo    JobStatus
	results   []ItemResult
	submitted [][]Task
	onSubmit  func(tasks []Task) (*Job, error)
}

func (f *fakeJobClient) Submit(_ context.Context, tasks []Task) (*Job, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.submits++
	f.submitted = append(f.submitted, cloneTasks(tasks))
	if f.onSubmit != nil {
		return f.onSubmit(tasks)
	}
	j := &Job{ID: newUUID(), Tasks: cloneTasks(tasks), Results: []ItemResult{}, CreatedAt: t0}
	if f.submitErr != nil {
		j.Status = JobFailed
		j.LastError = f.submitErr.Error()
		return j, fmt.Errorf("%w: %w", ErrSubmitFailed, f.submitErr)
	}
	j.Status, j.BatchAPIID, j.SubmittedAt = JobSubmitted, "api-"+j.ID[:8], t0
	return j, nil
}

func (f *fakeJobClient) PollStatus(_ context.Context, j *Job) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.polls++
	if f.pollErr != nil {
		return f.pollErr
	}
	if f.pollTo != "" {
		j.Status = f.pollTo
	}
	return nil
}

func (f *fakeJobClient) RetrieveResults(_ context.Context, j *Job) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.retrieves++
	j.Results = append([]ItemResult(nil), f.results...)
	return nil
}

func (f *fakeJobClient) submittedTasks() [][]Task {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([][]Task(nil), f.submitted...)
}

func task(id string) Task {
	return Task{ID: id, Type: TaskFPPatternGeneration, UserContent: "content of " + id}
}

func newTestScheduler(t *testing.T, c JobClient, clk *fakeClock, opts ...Option) *Scheduler {
	t.Helper()
	s, err := NewScheduler(c, append([]Option{WithClock(clk.Now), WithLogger(quiet), WithSleeper(clk.Sleep)}, opts...)...)
	require.NoError(t, err)
	return s
}

func newTestClient(t *testing.T, api BatchAPI, clk *fakeClock, spend SpendReserver, opts ...Option) *Client {
	t.Helper()
	if spend == nil {
		spend = newSpend()
	}
	c, err := NewClient(api, &passGate{}, spend, append([]Option{WithClock(clk.Now), WithLogger(quiet)}, opts...)...)
	require.NoError(t, err)
	return c
}

func newTestProcessor(t *testing.T, store CandidateStore, opts ...Option) *Processor {
	t.Helper()
	p, err := NewProcessor(store, append([]Option{WithClock(newClock().Now), WithLogger(quiet)}, opts...)...)
	require.NoError(t, err)
	return p
}

// fpTask is an FP task as the generator builds it.
func fpTask(id, tenant string, sources ...string) Task {
	return Task{ID: id, Type: TaskFPPatternGeneration, TenantID: tenant, UserContent: "x", ModelID: DefaultModelID,
		Metadata: map[string]any{MetaTaskType: string(TaskFPPatternGeneration), MetaSourceInvestigations: sources,
			MetaAlertGroup: "Test Alert"}}
}

func pbTask(id, tenant, primary string, sources ...string) Task {
	return Task{ID: id, Type: TaskPlaybookGeneration, TenantID: tenant, UserContent: "x", ModelID: DefaultModelID,
		Metadata: map[string]any{MetaTaskType: string(TaskPlaybookGeneration), MetaSourceInvestigations: sources,
			MetaPrimaryTechnique: primary}}
}

func okResult(id, content string) ItemResult {
	return ItemResult{RequestID: id, Content: content, Valid: true, Status: ResultSuccess, ValidationErrors: []string{},
		InputTokens: 1000, OutputTokens: 200, CostUSD: 0.003}
}

// validFP is a valid FP answer for alert "Test Alert".
const validFP = `{"alert_name": "Test Alert", "alert_name_regex": "Test.*", "entity_patterns": [{"type": "ip", "value_regex": "^10\\.0\\.0\\.5$"}], "severity": "low", "confidence": 0.92, "reason": "scanner"}`

const validPlaybook = `{"name": "Brute Force Playbook", "description": "Handle brute force", "tactics": ["Credential Access"], "techniques": ["T1110"], "remediation_steps": ["Lock account", "Reset password"], "confidence": 0.88}`

func jobWith(tasks []Task, results ...ItemResult) Job {
	return Job{ID: "job-1", BatchAPIID: "api-1", Status: JobCompleted, Tasks: tasks, Results: results}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	require.NoError(t, err)
	return string(b)
}

var errBoom = errors.New("boom")
