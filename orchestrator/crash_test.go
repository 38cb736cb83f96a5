package orchestrator

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"runtime"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/socwarden/warden/audit"
	"github.com/socwarden/warden/response"
	"github.com/socwarden/warden/taxonomy"
)

// The crash tests kill the "process" at every step of a run and restart it
// from its files. A step is any durable or externally visible action: a
// checkpoint save (before and after), an LLM call (before and after), an
// executor call (before and after) and every audit emission (after). The
// kill is runtime.Goexit on the goroutine driving the graph: nothing after
// that point runs except deferred unlocks, exactly like a process that died
// there. The world outside the process — the audit trail and the systems
// the executor acts on — survives; everything in memory is rebuilt from the
// files.

// crashPoint counts steps and kills the driving goroutine at step `at`.
type crashPoint struct {
	mu    sync.Mutex
	steps int
	at    int // 0: never
	fired bool
}

func (c *crashPoint) step(name string) {
	c.mu.Lock()
	c.steps++
	kill := c.at > 0 && c.steps == c.at && !c.fired
	if kill {
		c.fired = true
	}
	c.mu.Unlock()
	if kill {
		runtime.Goexit()
	}
}

// world is what survives a crash: the audit trail and the executor's target
// systems (which dedupe on the idempotency key, as the Executor contract
// asks).
type world struct {
	mu      sync.Mutex
	events  []audit.Event
	effects map[string]int // idempotency key → times the effect happened
	calls   int
}

func newWorld() *world { return &world{effects: map[string]int{}} }

type worldProducer struct {
	w  *world
	cp *crashPoint
}

func (p *worldProducer) Emit(e audit.Event) (string, bool) {
	p.w.mu.Lock()
	p.w.events = append(p.w.events, e)
	p.w.mu.Unlock()
	p.cp.step("emitted " + string(e.Type))
	return e.AuditID, true
}

type worldExecutor struct {
	w  *world
	cp *crashPoint
}

func (x *worldExecutor) Execute(_ context.Context, req response.ExecutionRequest) (response.ExecutionResult, error) {
	x.cp.step("before execute " + req.Action)
	x.w.mu.Lock()
	x.w.calls++
	if x.w.effects[req.IdempotencyKey] == 0 {
		x.w.effects[req.IdempotencyKey] = 1
	}
	x.w.mu.Unlock()
	x.cp.step("after execute " + req.Action)
	return response.ExecutionResult{Detail: "done", Reversible: true}, nil
}

type hookedRepo struct {
	Repository
	cp *crashPoint
}

func (r *hookedRepo) Save(ctx context.Context, inv *Investigation) error {
	r.cp.step("before save " + string(inv.State))
	err := r.Repository.Save(ctx, inv)
	r.cp.step("after save " + string(inv.State))
	return err
}

type hookedLLM struct {
	LLM
	cp *crashPoint
}

func (l *hookedLLM) Complete(ctx context.Context, req LLMRequest) (LLMResponse, error) {
	l.cp.step("before llm " + req.AgentID)
	resp, err := l.LLM.Complete(ctx, req)
	l.cp.step("after llm " + req.AgentID)
	return resp, err
}

// process is one incarnation of the system over the files in dir.
type process struct {
	g     *Graph
	repo  *FileRepository
	apprs *response.FileApprovals
	execs *response.FileExecutions
}

func (p *process) close() {
	_ = p.repo.Close()
	_ = p.apprs.Close()
	_ = p.execs.Close()
}

type scenario struct {
	name     string
	reasoner string // the reasoning model's answer
	fp       bool   // an FP short-circuit that matches
}

func startProcess(t *testing.T, dir string, w *world, cp *crashPoint, sc scenario) *process {
	t.Helper()
	repo, err := OpenFileRepository(filepath.Join(dir, "investigations"))
	require.NoError(t, err)
	apprs, err := response.OpenFileApprovals(filepath.Join(dir, "approvals.jsonl"))
	require.NoError(t, err)
	execs, err := response.OpenFileExecutions(filepath.Join(dir, "executions.jsonl"))
	require.NoError(t, err)
	prod := &worldProducer{w: w, cp: cp}
	clk := newClock()
	resp, err := response.New(&worldExecutor{w: w, cp: cp}, response.WithApprovalStore(apprs), response.WithExecutionStore(execs),
		response.WithAuditProducer(prod), response.WithClock(clk.Now))
	require.NoError(t, err)
	adapter, err := NewResponseAdapter(resp)
	require.NoError(t, err)
	llm := &hookedLLM{LLM: NewStaticLLM(map[string][]LLMResponse{
		AgentIOCExtractor: {{Content: `{"iocs":[{"type":"ip","value":"10.0.0.1"}]}`, CostUSD: 0.001}},
		AgentReasoning:    {{Content: sc.reasoner, CostUSD: 0.02}},
	}), cp: cp}
	ioc, _ := NewIOCExtractor(llm, NewMemoryIOCCache())
	rsn, _ := NewReasoner(llm)
	enr, _ := NewContextEnricher(NewMemoryIOCCache(), NewMemoryUEBA(), nil)
	opts := []Option{WithAuditProducer(prod), WithClock(clk.Now), WithIDGenerator(func() string { return "inv-1" }),
		WithApprovalGate(adapter), WithActionPolicy(adapter)}
	if sc.fp {
		opts = append(opts, WithFPShortCircuit(&fixedFP{m: FPMatch{Matched: true, PatternID: "fp-1", Confidence: 0.97, Threshold: 0.9, Queries: 2}}))
	}
	g, err := New(&hookedRepo{Repository: repo, cp: cp}, Agents{IOCExtractor: ioc, ContextEnricher: enr, Reasoner: rsn, Responder: adapter}, opts...)
	require.NoError(t, err)
	return &process{g: g, repo: repo, apprs: apprs, execs: execs}
}

// operate is the host: it starts the alert if it has no investigation yet,
// approves a paused one as a senior analyst and continues anything
// unfinished, until the investigation is terminal. It reports false when
// the process was killed.
func operate(p *process) (alive bool) {
	done := make(chan bool, 1)
	go func() {
		finished := false
		defer func() { done <- finished }()
		for range 20 {
			inv, err := p.repo.Load(ctxb, "inv-1")
			if errors.Is(err, ErrNotFound) {
				if _, err := p.g.Run(ctxb, testAlert()); err != nil {
					panic(err)
				}
				continue
			}
			if err != nil {
				panic(err)
			}
			switch {
			case inv.State == StateAwaitingHuman:
				_, err = p.g.Resume(ctxb, "inv-1", HumanDecision{Verdict: VerdictApprove, Approver: "alice",
					Role: response.RoleSeniorAnalyst, Channel: taxonomy.ChannelSlack})
			default:
				_, err = p.g.Continue(ctxb, "inv-1")
			}
			if errors.Is(err, ErrTerminal) {
				finished = true
				return
			}
			if err != nil && !errors.Is(err, ErrAwaitingHuman) {
				panic(err)
			}
		}
		panic("no progress")
	}()
	return <-done
}

// outcome is what a run must reproduce.
type outcome struct {
	state      State
	class      string
	confidence float64
	llmCalls   int
	chain      []string
	results    []string
	trail      []string
	effects    map[string]int
	executed   int
}

func outcomeOf(t *testing.T, dir string, w *world, sc scenario) outcome {
	t.Helper()
	p := startProcess(t, dir, w, &crashPoint{}, sc)
	defer p.close()
	inv, err := p.repo.Load(ctxb, "inv-1")
	require.NoError(t, err)
	o := outcome{state: inv.State, class: inv.Classification, confidence: inv.Confidence, llmCalls: inv.LLMCalls,
		chain: chainActions(inv), effects: map[string]int{}}
	for _, r := range inv.ActionResults {
		o.results = append(o.results, r.Action+":"+string(r.Status))
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, e := range dedupe(w.events) {
		o.trail = append(o.trail, seq([]audit.Event{e})[0])
		if e.Type == taxonomy.ResponseExecuted {
			o.executed++
		}
	}
	for k, v := range w.effects {
		o.effects[k] = v
	}
	return o
}

func TestCrashAtEveryStepResumesIdentically(t *testing.T) {
	scenarios := []scenario{
		{name: "auto response", reasoner: `{"classification":"true_positive","confidence":0.9,"severity":"high",
			"recommended_actions":[{"action":"monitor","target":"web-01","tier":0},{"action":"comment_incident","target":"alert-1","tier":0}]}`},
		{name: "escalate with approval", reasoner: `{"classification":"true_positive","confidence":0.9,"severity":"critical",
			"recommended_actions":[{"action":"isolate_host","target":"web-01","tier":0},{"action":"monitor","target":"web-01","tier":0}]}`},
		{name: "fp short-circuit", fp: true, reasoner: `{}`},
	}
	for _, sc := range scenarios {
		t.Run(sc.name, func(t *testing.T) {
			// The uninterrupted run, counting its steps.
			refDir, refWorld, counter := t.TempDir(), newWorld(), &crashPoint{}
			p := startProcess(t, refDir, refWorld, counter, sc)
			require.True(t, operate(p))
			p.close()
			want := outcomeOf(t, refDir, refWorld, sc)
			require.Equal(t, StateClosed, want.state)
			steps := counter.steps
			require.Greater(t, steps, 5)
			if !sc.fp {
				require.NotZero(t, want.executed)
			}

			crashes := 0
			for at := 1; at <= steps; at++ {
				dir, w := t.TempDir(), newWorld()
				cp := &crashPoint{at: at}
				p := startProcess(t, dir, w, cp, sc)
				alive := operate(p)
				p.close()
				require.False(t, alive && cp.fired, "step %d", at)
				if !alive {
					crashes++
					p = startProcess(t, dir, w, &crashPoint{}, sc) // restart
					require.True(t, operate(p), "step %d: the restarted process finishes", at)
					p.close()
				}
				got := outcomeOf(t, dir, w, sc)
				msg := fmt.Sprintf("crash at step %d of %d", at, steps)
				assert.Equal(t, want.state, got.state, msg)
				assert.Equal(t, want.class, got.class, msg)
				assert.Equal(t, want.confidence, got.confidence, msg)
				assert.Equal(t, want.llmCalls, got.llmCalls, msg)
				assert.Equal(t, want.chain, got.chain, msg)
				assert.Equal(t, want.results, got.results, msg)
				assert.Equal(t, want.trail, got.trail, msg)
				assert.Equal(t, want.executed, got.executed, msg+": no duplicate response.executed")
				assert.Equal(t, len(want.effects), len(got.effects), msg)
				for k, v := range got.effects {
					assert.Equal(t, 1, v, msg+": effect "+k+" happened once")
				}
			}
			assert.Equal(t, steps, crashes, "every step was a kill point")
			t.Logf("%s: killed and resumed at each of %d steps; trail %v", sc.name, steps, want.trail)
		})
	}
}
