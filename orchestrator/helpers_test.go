package orchestrator

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/socwarden/warden/audit"
	"github.com/socwarden/warden/entityparser"
	"github.com/socwarden/warden/taxonomy"
)

var t0 = time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)

// clock is a settable test clock.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func newClock() *clock { return &clock{now: t0} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// seqIDs returns a generator of "inv-1", "inv-2", ….
func seqIDs(prefix string) func() string {
	var n atomic.Int64
	return func() string { return fmt.Sprintf("%s-%d", prefix, n.Add(1)) }
}

// recProducer records the events a service passed to Emit.
type recProducer struct {
	mu    sync.Mutex
	evs   []audit.Event
	panic bool
}

func (p *recProducer) Emit(e audit.Event) (string, bool) {
	if p.panic {
		panic("audit producer down")
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.evs = append(p.evs, e)
	return e.AuditID, true
}

func (p *recProducer) all() []audit.Event {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]audit.Event(nil), p.evs...)
}

func (p *recProducer) byType(t taxonomy.EventType) []audit.Event {
	var out []audit.Event
	for _, e := range p.all() {
		if e.Type == t {
			out = append(out, e)
		}
	}
	return out
}

func (p *recProducer) forInv(id string) []audit.Event {
	var out []audit.Event
	for _, e := range p.all() {
		if e.InvestigationID == id {
			out = append(out, e)
		}
	}
	return out
}

// seq renders events as a compact sequence: state changes as "from>to",
// everything else by type.
func seq(evs []audit.Event) []string {
	out := make([]string, 0, len(evs))
	for _, e := range evs {
		if e.Type == taxonomy.InvestigationStateChanged {
			out = append(out, fmt.Sprint(e.Outcome[audit.KeyStateBefore], ">", e.Outcome[audit.KeyStateAfter]))
			continue
		}
		out = append(out, string(e.Type))
	}
	return out
}

func entity(t entityparser.EntityType, v string) entityparser.Entity {
	return entityparser.Entity{Type: t, PrimaryValue: v, Properties: map[string]any{}, Confidence: 1}
}

// testAlert is a phishing alert of tenant t-001 with an account, a host and
// an IP.
func testAlert() Alert {
	var a Alert
	a.AlertID, a.TenantID, a.Title, a.Severity = "alert-1", "t-001", "Suspicious login", "high"
	a.Description, a.Source, a.RuleFamily = "Login from a new country", "sentinel", "impossible_travel"
	a.Techniques = []string{"T1078"}
	a.Entities.Accounts = []entityparser.Entity{entity(entityparser.Account, "jsmith@example.com")}
	a.Entities.Hosts = []entityparser.Entity{entity(entityparser.Host, "web-01")}
	a.Entities.IPs = []entityparser.Entity{entity(entityparser.IP, "10.0.0.1")}
	return a
}

// verdictNode is a reasoner that sets a fixed verdict.
func verdictNode(class string, conf float64, sev string, acts ...Action) Node {
	return NodeFunc(func(_ context.Context, inv *Investigation) error {
		inv.Classification, inv.Confidence = class, conf
		if sev != "" {
			inv.Severity = sev
		}
		inv.RecommendedActions = append([]Action(nil), acts...)
		inv.DecisionChain = append(inv.DecisionChain, DecisionEntry{Step: "reasoning", Agent: AgentReasoning,
			Action: "classified", Reasoning: "scripted"})
		return nil
	})
}

// countResponder counts Respond calls and records one executed result per
// recommended action.
type countResponder struct {
	calls atomic.Int64
	err   error
	block chan struct{} // when set, Respond waits for it
}

func (r *countResponder) Respond(ctx context.Context, inv *Investigation) error {
	r.calls.Add(1)
	if r.block != nil {
		select {
		case <-r.block:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	if r.err != nil {
		return r.err
	}
	for _, a := range inv.RecommendedActions {
		inv.ActionResults = append(inv.ActionResults, ActionResult{Action: a.Action, Target: a.Target, Tier: a.Tier,
			Status: "executed", Timestamp: t0})
	}
	return nil
}

// fakeGate is a scripted ApprovalGate.
type fakeGate struct {
	mu       sync.Mutex
	opens    [][]string
	openErr  error
	openOut  ApprovalOutcome
	resolve  func(d HumanDecision) (ApprovalOutcome, error)
	expired  []ExpiredApproval
	resolves int
}

func (g *fakeGate) Open(_ context.Context, inv *Investigation, reasons []string) (ApprovalOutcome, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.opens = append(g.opens, reasons)
	if g.openErr != nil {
		return "", g.openErr
	}
	inv.ApprovalID = "appr-" + inv.InvestigationID
	if g.openOut != "" {
		return g.openOut, nil
	}
	return OutcomePending, nil
}

func (g *fakeGate) Resolve(_ context.Context, _ *Investigation, d HumanDecision) (ApprovalOutcome, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.resolves++
	if g.resolve != nil {
		return g.resolve(d)
	}
	switch d.Verdict {
	case VerdictApprove:
		return OutcomeGranted, nil
	case VerdictDeny:
		return OutcomeDenied, nil
	}
	return OutcomeTimedOutClosed, nil
}

func (g *fakeGate) Expire(context.Context, time.Time) ([]ExpiredApproval, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	out := g.expired
	g.expired = nil
	return out, nil
}

// failingRepo fails Save when fail returns true for the investigation about
// to be saved.
type failingRepo struct {
	*MemoryRepository
	fail  func(inv *Investigation) bool
	saves atomic.Int64
}

var errDisk = errors.New("disk full")

func (r *failingRepo) Save(ctx context.Context, inv *Investigation) error {
	r.saves.Add(1)
	if r.fail != nil && r.fail(inv) {
		return errDisk
	}
	return r.MemoryRepository.Save(ctx, inv)
}

// fixture is a graph with memory stores, a recording producer and a
// scripted reasoner.
type fixture struct {
	repo      *MemoryRepository
	rec       *recProducer
	clk       *clock
	responder *countResponder
	g         *Graph
}

func newFixture(t testing.TB, agents Agents, opts ...Option) *fixture {
	t.Helper()
	f := &fixture{repo: NewMemoryRepository(), rec: &recProducer{}, clk: newClock(), responder: &countResponder{}}
	if agents.Reasoner == nil {
		agents.Reasoner = verdictNode(ClassificationTruePositive, 0.85, "", Action{Action: "monitor", Target: "web-01"})
	}
	if agents.Responder == nil {
		agents.Responder = f.responder
	}
	base := []Option{WithAuditProducer(f.rec), WithClock(f.clk.Now), WithIDGenerator(seqIDs("inv"))}
	g, err := New(f.repo, agents, append(base, opts...)...)
	require.NoError(t, err)
	f.g = g
	return f
}

// chainActions lists the decision chain as agent/action pairs.
func chainActions(inv *Investigation) []string {
	out := make([]string, 0, len(inv.DecisionChain))
	for _, e := range inv.DecisionChain {
		out = append(out, e.Agent+"/"+e.Action)
	}
	return out
}

func hasEntry(inv *Investigation, agent, action string) bool {
	for _, e := range inv.DecisionChain {
		if e.Agent == agent && e.Action == action {
			return true
		}
	}
	return false
}

func countEntries(inv *Investigation, pred func(DecisionEntry) bool) int {
	n := 0
	for _, e := range inv.DecisionChain {
		if pred(e) {
			n++
		}
	}
	return n
}

// fixedFP is an FPChecker with a fixed answer.
type fixedFP struct {
	m     FPMatch
	err   error
	calls atomic.Int64
}

func (f *fixedFP) CheckFP(context.Context, FPQuery) (FPMatch, error) {
	f.calls.Add(1)
	return f.m, f.err
}

// countingLLM counts calls per agent and answers from a function.
type countingLLM struct {
	calls atomic.Int64
	f     func(req LLMRequest) (LLMResponse, error)
}

func (c *countingLLM) Complete(_ context.Context, req LLMRequest) (LLMResponse, error) {
	c.calls.Add(1)
	return c.f(req)
}

func joinSeq(s []string) string { return strings.Join(s, " ") }

// dedupe drops events whose audit id was already seen, as a chain consumer
// does with the at-least-once re-emission of a resumed checkpoint.
func dedupe(evs []audit.Event) []audit.Event {
	seen := map[string]bool{}
	var out []audit.Event
	for _, e := range evs {
		if e.AuditID != "" {
			if seen[e.AuditID] {
				continue
			}
			seen[e.AuditID] = true
		}
		out = append(out, e)
	}
	return out
}
