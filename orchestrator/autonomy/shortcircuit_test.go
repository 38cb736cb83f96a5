package autonomy

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/socwarden/warden/entityparser"
	"github.com/socwarden/warden/orchestrator"
)

var (
	bg = context.Background()
	t0 = time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
)

func fixedNow() time.Time { return t0 }

func ent(v string) entityparser.Entity { return entityparser.Entity{PrimaryValue: v} }

// approved returns an active two-person-approved pattern of tenant t-001.
func approved(id, titleRegex string, eps ...EntityPattern) FPPattern {
	return FPPattern{PatternID: id, TenantID: "t-001", AlertNameRegex: titleRegex, EntityPatterns: eps,
		Status: StatusApproved, ApprovedBy1: "alice@org", ApprovedBy2: "bob@org", ExpiryDate: t0.Add(30 * 24 * time.Hour)}
}

func query(title string, mut ...func(*orchestrator.FPQuery)) orchestrator.FPQuery {
	ents := &entityparser.Entities{
		Accounts: []entityparser.Entity{ent("service-account-01")},
		IPs:      []entityparser.Entity{ent("10.0.1.50")},
	}
	q := orchestrator.FPQuery{TenantID: "t-001", Title: title, Entities: ents, RuleFamily: "brute_force", AssetClass: "server",
		DataSource: "sentinel", Severity: "medium", Techniques: []string{"T1078"}}
	for _, m := range mut {
		m(&q)
	}
	return q
}

func matcher(t *testing.T, ps []FPPattern, opts ...Option) (*FPShortCircuit, *MemoryFPPatterns) {
	t.Helper()
	store := NewMemoryFPPatterns()
	for _, p := range ps {
		require.NoError(t, store.Put(bg, p))
	}
	f, err := NewFPShortCircuit(store, append([]Option{WithClock(fixedNow)}, opts...)...)
	require.NoError(t, err)
	return f, store
}

func check(t *testing.T, f *FPShortCircuit, q orchestrator.FPQuery) orchestrator.FPMatch {
	t.Helper()
	m, err := f.CheckFP(bg, q)
	require.NoError(t, err)
	return m
}

var exchangeFP = approved("FP-001", `.*Exchange.*Unusual.*`, EntityPattern{Type: "account", ValueRegex: `.*service.*`})

// Checklist 114–117, 119, 121.
func TestFPShortCircuitBasics(t *testing.T) {
	f, _ := matcher(t, nil)
	assert.False(t, check(t, f, query("anything")).Matched)

	f, _ = matcher(t, []FPPattern{exchangeFP})
	m := check(t, f, query("Exchange Unusual Activity Detected"))
	assert.True(t, m.Matched)
	assert.Equal(t, "FP-001", m.PatternID)
	assert.GreaterOrEqual(t, m.Confidence, 0.90)
	assert.Equal(t, 1.0, m.Confidence)
	assert.GreaterOrEqual(t, m.Queries, 2)
	assert.Equal(t, 1, m.PatternsChecked)

	pending := exchangeFP
	pending.Status = StatusPendingReview
	f, _ = matcher(t, []FPPattern{pending})
	assert.False(t, check(t, f, query("Exchange Unusual Activity Detected")).Matched)

	nomatch := approved("FP-2", `^VPN`, EntityPattern{Type: "account", ValueRegex: `.*service.*`})
	f, _ = matcher(t, []FPPattern{nomatch})
	assert.False(t, check(t, f, query("Exchange Unusual Activity")).Matched, "0.5 never closes")

	var zero orchestrator.FPMatch
	assert.False(t, zero.Matched)
	assert.Empty(t, zero.PatternID)
	assert.Zero(t, zero.Confidence)
	x := orchestrator.FPMatch{Matched: true, PatternID: "FP-X", Confidence: 0.92}
	assert.Equal(t, "FP-X", x.PatternID)
	assert.Equal(t, 0.92, x.Confidence)
}

// Checklist 118, 123.
func TestFPCIDR(t *testing.T) {
	f, _ := matcher(t, []FPPattern{approved("net", ".*", EntityPattern{Type: "ip", ValueCIDR: "10.0.0.0/8"})})
	assert.True(t, check(t, f, query("whatever")).Matched)
	assert.True(t, InCIDR("10.0.1.50", "10.0.0.0/8"))
	assert.False(t, InCIDR("10.0.1.50", "192.168.0.0/16"))
	assert.False(t, InCIDR("10.0.1.50", "not_a_cidr"))
	assert.False(t, InCIDR("not_an_ip", "10.0.0.0/8"))
	assert.True(t, InCIDR("10.0.1.50", "10.0.0.5/8"), "host bits allowed")
	assert.True(t, InCIDR("10.0.0.5", "10.0.0.5"), "bare address is /32")
	assert.False(t, InCIDR("::ffff:10.0.0.5", "10.0.0.0/8"), "IPv4-mapped IPv6 is not unmapped")
	assert.True(t, InCIDR("2001:db8::1", "2001:db8::/32"))
	assert.False(t, InCIDR("10.0.0.1", "::/0"))
}

// Checklist 120: applying a match (the graph does it through
// orchestrator.ApplyFPMatch).
func TestApplyFPMatch(t *testing.T) {
	inv := orchestrator.NewInvestigation("inv-1")
	e := orchestrator.ApplyFPMatch(inv, orchestrator.FPMatch{Matched: true, PatternID: "FP-001", Confidence: 0.95}, t0)
	assert.Equal(t, "false_positive", inv.Classification)
	assert.Equal(t, 0.95, inv.Confidence)
	require.Len(t, inv.DecisionChain, 1)
	assert.Equal(t, "fp_short_circuit", inv.DecisionChain[0].Agent)
	assert.Equal(t, "FP-001", inv.DecisionChain[0].PatternID)
	assert.Equal(t, e, inv.DecisionChain[0])
	assert.Equal(t, orchestrator.StateReceived, inv.State, "the graph performs the transition")
}

// Checklist 122, 133.
func TestRegexSemantics(t *testing.T) {
	assert.True(t, MatchRegex(".*test.*", "this is a test"))
	assert.False(t, MatchRegex("^exact$", "not exact"))
	assert.False(t, MatchRegex("[invalid", "x"))
	assert.True(t, MatchRegex("exchange", "EXCHANGE alert"), "case-insensitive, anchored at start")
	assert.False(t, MatchRegex("alert", "EXCHANGE alert"), "anchored at the start")
	assert.False(t, MatchRegex(`foo(?=bar)`, "foobar"), "look-ahead never matches")
	// A host store may hold a Python-only pattern the memory store would
	// reject: it never matches and never panics.
	f, err := NewFPShortCircuit(&listStore{ps: []FPPattern{{PatternID: "la", TenantID: "t-001", AlertNameRegex: `(?<=x)y`,
		Status: StatusActive, ApprovedBy1: "a", ApprovedBy2: "b"}}})
	require.NoError(t, err)
	assert.False(t, check(t, f, query("xy")).Matched)
}

// Checklist 124–126, 198.
func TestThresholds(t *testing.T) {
	assert.Equal(t, 0.90, DefaultThreshold)
	p := approved("p", `^Exchange`, EntityPattern{Type: "account", ValueRegex: "service"}, EntityPattern{Type: "account", ValueRegex: "service"},
		EntityPattern{Type: "account", ValueRegex: "service"}, EntityPattern{Type: "account", ValueRegex: "service"},
		EntityPattern{Type: "host", ValueRegex: "nomatch"})
	f, _ := matcher(t, []FPPattern{p})
	m := check(t, f, query("Exchange"))
	assert.True(t, m.Matched)
	assert.Equal(t, 0.90, m.Confidence, "4 of 5 + title = 0.90 exactly (checklist 129)")
	assert.Equal(t, 0.90, m.Threshold)

	adj := NewThresholdAdjuster(0.90, 0.95)
	f, _ = matcher(t, []FPPattern{p}, WithThreshold(adj))
	assert.True(t, check(t, f, query("Exchange")).Matched)
	adj.Update(DriftState{ThresholdExceeded: true})
	assert.Equal(t, 0.95, f.EffectiveThreshold(0))
	assert.False(t, check(t, f, query("Exchange")).Matched, "elevated adjuster: 0.90 < 0.95")

	low := thresholdFunc(0.5)
	f, _ = matcher(t, []FPPattern{p}, WithThreshold(low))
	assert.Equal(t, 0.90, f.EffectiveThreshold(0), "a source can only tighten")

	// The graph's degradation floor.
	f, _ = matcher(t, []FPPattern{p})
	assert.False(t, check(t, f, query("Exchange", func(q *orchestrator.FPQuery) { q.MinThreshold = 0.95 })).Matched)
}

type thresholdFunc float64

func (t thresholdFunc) Threshold() float64 { return float64(t) }

// Checklist 125, 130, 131, 180, and the two-person rule at match time.
func TestStatusExpiryAndFloors(t *testing.T) {
	q := query("Exchange Unusual Activity")
	for name, mut := range map[string]func(*FPPattern){
		"shadow":      func(p *FPPattern) { p.Status = StatusShadow },
		"deprecated":  func(p *FPPattern) { p.Status = StatusDeprecated },
		"expired":     func(p *FPPattern) { p.Status = StatusExpired },
		"revoked":     func(p *FPPattern) { p.Status = StatusRevoked },
		"past expiry": func(p *FPPattern) { p.ExpiryDate = t0.Add(-time.Second) },
		"expiry now":  func(p *FPPattern) { p.ExpiryDate = t0 },
		"min conf": func(p *FPPattern) {
			p.MinConfidence = 0.99
			p.EntityPatterns[0].ValueRegex = "nomatch"
			p.EntityPatterns = append(p.EntityPatterns, EntityPattern{Type: "account", ValueRegex: ".*"})
		},
		"one approver": func(p *FPPattern) { p.ApprovedBy2 = "" },
		"same person":  func(p *FPPattern) { p.ApprovedBy2 = " ALICE@org " },
		"other tenant": func(p *FPPattern) { p.TenantID = "t-002" },
	} {
		p := exchangeFP
		p.EntityPatterns = append([]EntityPattern(nil), p.EntityPatterns...)
		mut(&p)
		store := &listStore{ps: []FPPattern{p}}
		f, err := NewFPShortCircuit(store, WithClock(fixedNow))
		require.NoError(t, err)
		assert.False(t, check(t, f, q).Matched, name)
	}
	active := exchangeFP
	active.Status = StatusActive
	f, _ := matcher(t, []FPPattern{active})
	assert.True(t, check(t, f, q).Matched)
	noExpiry := exchangeFP
	noExpiry.ExpiryDate = time.Time{}
	f, _ = matcher(t, []FPPattern{noExpiry})
	assert.True(t, check(t, f, q).Matched)
	// min_confidence 0.99 on a pattern scoring 0.95 (title + 9 of 10).
	var eps []EntityPattern
	for range 9 {
		eps = append(eps, EntityPattern{Type: "account", ValueRegex: "service"})
	}
	eps = append(eps, EntityPattern{Type: "host", ValueRegex: "nomatch"})
	p95 := approved("p95", "^Exchange", eps...)
	assert.InDelta(t, 0.95, f.Score(p95, q.Title, q.Entities), 1e-12)
	f, _ = matcher(t, []FPPattern{p95})
	assert.True(t, check(t, f, q).Matched)
	p95.MinConfidence = 0.99
	f, _ = matcher(t, []FPPattern{p95})
	assert.False(t, check(t, f, q).Matched)
}

// listStore returns its patterns for any tenant (a misbehaving host store).
type listStore struct {
	ps  []FPPattern
	err error
}

func (s *listStore) List(context.Context, string) ([]FPPattern, error) { return s.ps, s.err }
func (s *listStore) Get(context.Context, string, string) (FPPattern, bool, error) {
	return FPPattern{}, false, nil
}
func (s *listStore) Put(context.Context, FPPattern) error { return nil }

// Checklist 127, 128, 170.
func TestScope(t *testing.T) {
	scoped := exchangeFP
	scoped.ScopeRuleFamily = "impossible_travel"
	f, _ := matcher(t, []FPPattern{scoped})
	assert.False(t, check(t, f, query("Exchange Unusual")).Matched)
	scoped.ScopeRuleFamily = "brute_force"
	f, _ = matcher(t, []FPPattern{scoped})
	assert.True(t, check(t, f, query("Exchange Unusual")).Matched)

	ta := exchangeFP
	ta.ScopeTenantID = "tenant-A"
	f, _ = matcher(t, []FPPattern{ta})
	assert.False(t, check(t, f, query("Exchange Unusual", func(q *orchestrator.FPQuery) { q.TenantID = "tenant-B" })).Matched)
	ta.TenantID = "tenant-A"
	store := NewMemoryFPPatterns()
	require.NoError(t, store.Put(bg, ta))
	unscoped := exchangeFP
	unscoped.TenantID = "tenant-B"
	require.NoError(t, store.Put(bg, unscoped))
	f, _ = NewFPShortCircuit(store, WithClock(fixedNow))
	assert.True(t, check(t, f, query("Exchange Unusual", func(q *orchestrator.FPQuery) { q.TenantID = "tenant-A" })).Matched)
	assert.True(t, check(t, f, query("Exchange Unusual", func(q *orchestrator.FPQuery) { q.TenantID = "tenant-B" })).Matched)

	asset := exchangeFP
	asset.ScopeAssetClass = "workstation"
	f, _ = matcher(t, []FPPattern{asset})
	assert.False(t, check(t, f, query("Exchange Unusual")).Matched)

	assert.True(t, MatchesScope(FPPattern{}, "brute_force", "t-001", "server"))
	assert.True(t, MatchesScope(FPPattern{ScopeRuleFamily: "brute_force", ScopeTenantID: "t-001"}, "brute_force", "t-001", "server"))
	assert.False(t, MatchesScope(FPPattern{ScopeTenantID: "t-002"}, "brute_force", "t-001", "server"))
	assert.False(t, MatchesScope(FPPattern{ScopeRuleFamily: "x"}, "brute_force", "t-001", "server"))
	assert.False(t, MatchesScope(FPPattern{ScopeAssetClass: "x"}, "brute_force", "t-001", "server"))
}

// Checklist 132.
func TestEntityKeyMapping(t *testing.T) {
	ents := &entityparser.Entities{DNSRecords: []entityparser.Entity{ent("evil.example")},
		FileHashes: []entityparser.Entity{ent("d41d8cd98f00b204e9800998ecf8427e")}, Mailboxes: []entityparser.Entity{ent("ceo@x")},
		Other: []entityparser.Entity{ent("other-val")}}
	for typ, want := range map[string]string{"dns": "evil.example", "filehash": "d41d8cd98f00b204e9800998ecf8427e",
		"mailbox": "ceo@x", "weird": "other-val"} {
		got := EntitiesOfType(ents, typ)
		require.Len(t, got, 1, typ)
		assert.Equal(t, want, got[0].PrimaryValue)
	}
	dns := approved("dns", "^Beacon", EntityPattern{Type: "dns", ValueRegex: `evil\.`})
	f, _ := matcher(t, []FPPattern{dns})
	q := query("Beacon detected", func(q *orchestrator.FPQuery) { q.Entities = ents })
	assert.True(t, check(t, f, q).Matched)
	hash := approved("hash", "^Beacon", EntityPattern{Type: "filehash", ValueRegex: `d41d8`})
	f, _ = matcher(t, []FPPattern{hash})
	assert.True(t, check(t, f, q).Matched)
}

type killStub struct {
	mu     sync.Mutex
	killed map[string]bool
	err    error
}

func (k *killStub) IsKilled(_ context.Context, s orchestrator.KillScope) (bool, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.err != nil {
		return true, k.err
	}
	return k.killed["tenant:"+s.TenantID] || k.killed["pattern:"+s.PatternID], nil
}

// Checklist 142, 143 (with the real KillSwitches).
func TestKillSwitchesBlockFP(t *testing.T) {
	ks, err := orchestrator.NewKillSwitches(orchestrator.NewMemoryKillSwitches())
	require.NoError(t, err)
	f, _ := matcher(t, []FPPattern{exchangeFP}, WithKillSwitches(ks))
	q := query("Exchange Unusual Activity")
	assert.True(t, check(t, f, q).Matched)
	require.NoError(t, ks.Activate(bg, orchestrator.DimensionTenant, "t-001", orchestrator.Actor{ID: "a"}, "incident"))
	m := check(t, f, q)
	assert.False(t, m.Matched)
	assert.Zero(t, m.Queries, "a killed tenant lists no pattern")
	require.NoError(t, ks.Deactivate(bg, orchestrator.DimensionTenant, "t-001", orchestrator.Actor{ID: "a"}, "ok"))
	f2, _ := matcher(t, []FPPattern{exchangeFP})
	assert.True(t, check(t, f2, q).Matched, "without kill switches")

	blocked := exchangeFP
	blocked.PatternID = "blocked-pat"
	allowed := exchangeFP
	allowed.PatternID = "zallowed-pat"
	f, _ = matcher(t, []FPPattern{blocked, allowed}, WithKillSwitches(ks))
	require.NoError(t, ks.Activate(bg, orchestrator.DimensionPattern, "blocked-pat", orchestrator.Actor{ID: "a"}, "r"))
	assert.Equal(t, "zallowed-pat", check(t, f, q).PatternID)

	for _, dim := range []struct {
		d orchestrator.KillSwitchDimension
		v string
	}{{orchestrator.DimensionTechnique, "T1078"}, {orchestrator.DimensionDataSource, "sentinel"},
		{orchestrator.DimensionRuleFamily, "brute_force"}, {orchestrator.DimensionSeverity, "medium"}} {
		ks2, _ := orchestrator.NewKillSwitches(orchestrator.NewMemoryKillSwitches())
		require.NoError(t, ks2.Activate(bg, dim.d, dim.v, orchestrator.Actor{ID: "a"}, "r"))
		f, _ := matcher(t, []FPPattern{exchangeFP}, WithKillSwitches(ks2))
		assert.False(t, check(t, f, q).Matched, dim.d)
	}

	// An unreadable kill switch fails closed.
	f, _ = matcher(t, []FPPattern{exchangeFP}, WithKillSwitches(&killStub{err: errors.New("redis down")}))
	assert.False(t, check(t, f, q).Matched)
}

func TestFPStoreErrorIsNoMatch(t *testing.T) {
	f, err := NewFPShortCircuit(&listStore{err: errors.New("down")})
	require.NoError(t, err)
	m, err := f.CheckFP(bg, query("x"))
	assert.Error(t, err)
	assert.False(t, m.Matched)
	_, err = NewFPShortCircuit(nil)
	assert.ErrorIs(t, err, ErrInvalidConfig)
}

// Checklist 36: the real short-circuit in the graph makes no LLM call.
func TestGraphFPShortCircuitNoLLMCall(t *testing.T) {
	llmCalls := 0
	llm := orchestrator.LLMFunc(func(context.Context, orchestrator.LLMRequest) (orchestrator.LLMResponse, error) {
		llmCalls++
		return orchestrator.LLMResponse{Content: `{"classification":"true_positive","confidence":0.9}`}, nil
	})
	f, _ := matcher(t, []FPPattern{exchangeFP})
	ioc, _ := orchestrator.NewIOCExtractor(llm, nil)
	rsn, _ := orchestrator.NewReasoner(llm)
	g, err := orchestrator.New(orchestrator.NewMemoryRepository(), orchestrator.Agents{IOCExtractor: ioc, Reasoner: rsn,
		Responder: orchestrator.ResponderFunc(func(context.Context, *orchestrator.Investigation) error { return nil })},
		orchestrator.WithFPShortCircuit(f), orchestrator.WithClock(fixedNow))
	require.NoError(t, err)
	var a orchestrator.Alert
	a.TenantID, a.Title, a.RuleFamily = "t-001", "Exchange Unusual Activity Alert", "brute_force"
	a.Entities.Accounts = []entityparser.Entity{ent("service-account-01")}
	inv, err := g.Run(bg, a)
	require.NoError(t, err)
	assert.Equal(t, orchestrator.StateClosed, inv.State)
	assert.Equal(t, "false_positive", inv.Classification)
	assert.Zero(t, inv.LLMCalls)
	assert.Zero(t, llmCalls, "zero gateway calls")

	// The same alert for another tenant is investigated (tenant scope).
	a.TenantID = "t-002"
	inv, err = g.Run(bg, a)
	require.NoError(t, err)
	assert.NotEqual(t, "false_positive", inv.Classification)
	assert.Equal(t, 2, llmCalls)
}

func TestPatternValidateAndCandidate(t *testing.T) {
	_, err := NewCandidate(FPPattern{TenantID: "t"}, t0)
	assert.ErrorIs(t, err, ErrInvalidPattern)
	for name, p := range map[string]FPPattern{
		"no tenant":    {PatternID: "p"},
		"bad status":   {PatternID: "p", TenantID: "t", Status: "live"},
		"bad type":     {PatternID: "p", TenantID: "t", EntityPatterns: []EntityPattern{{Type: "user", ValueRegex: "x"}}},
		"no condition": {PatternID: "p", TenantID: "t", EntityPatterns: []EntityPattern{{Type: "account"}}},
		"bad regex":    {PatternID: "p", TenantID: "t", AlertNameRegex: "[x"},
		"bad cidr":     {PatternID: "p", TenantID: "t", EntityPatterns: []EntityPattern{{Type: "ip", ValueCIDR: "10.0.0.0/99"}}},
		"bad floor":    {PatternID: "p", TenantID: "t", MinConfidence: 1.5},
	} {
		assert.ErrorIs(t, p.Validate(), ErrInvalidPattern, name)
	}
	forged := exchangeFP
	forged.Status = StatusActive
	c, err := NewCandidate(forged, t0)
	require.NoError(t, err)
	assert.Equal(t, StatusPendingReview, c.Status)
	assert.Empty(t, c.ApprovedBy1)
	assert.Empty(t, c.ApprovedBy2)
	assert.True(t, c.ExpiryDate.IsZero())
	assert.Equal(t, t0, c.CreatedAt)
	assert.Equal(t, []string{"account", "host", "ip", "file", "process", "url", "dns", "filehash", "mailbox"}, EntityTypes())
	assert.Len(t, Statuses(), 7)
}

func TestPatternJSON(t *testing.T) {
	var p FPPattern
	require.NoError(t, p.UnmarshalJSON([]byte(`{"pattern_id":"p","tenant_id":"t","status":"approved","expiry_date":"2026-06-01T00:00:00",
		"approval_date":"2026-03-01","created_at":"2026-03-01T10:00:00+02:00","revoked_at":null}`)))
	assert.Equal(t, time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC), p.ExpiryDate)
	assert.Equal(t, time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC), p.ApprovalDate)
	assert.Equal(t, time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC), p.CreatedAt)
	assert.Error(t, p.UnmarshalJSON([]byte(`{"pattern_id":"p","expiry_date":"next tuesday"}`)), "an unreadable expiry is an error, not 'no expiry'")
	assert.Error(t, p.UnmarshalJSON([]byte(`{"pattern_id":"p","expiry_date":5}`)))
}

func TestFileFPPatternsSurviveRestart(t *testing.T) {
	dir := t.TempDir()
	s, err := OpenFileFPPatterns(dir)
	require.NoError(t, err)
	require.NoError(t, s.Put(bg, exchangeFP))
	other := exchangeFP
	other.PatternID, other.TenantID = "FP-000", "t-002"
	require.NoError(t, s.Put(bg, other))
	assert.ErrorIs(t, s.Put(bg, FPPattern{PatternID: "x"}), ErrInvalidPattern)
	require.NoError(t, s.Close())
	s2, err := OpenFileFPPatterns(dir)
	require.NoError(t, err)
	list, err := s2.List(bg, "t-001")
	require.NoError(t, err)
	require.Len(t, list, 1)
	assert.Equal(t, exchangeFP.ExpiryDate, list[0].ExpiryDate)
	assert.Equal(t, exchangeFP.EntityPatterns, list[0].EntityPatterns)
	got, ok, err := s2.Get(bg, "t-002", "FP-000")
	require.NoError(t, err)
	require.True(t, ok)
	assert.Equal(t, "t-002", got.TenantID)
}

// Concurrency: many goroutines matching while patterns change.
func TestFPShortCircuitConcurrent(t *testing.T) {
	adj := NewThresholdAdjuster(0.9, 0.95)
	f, store := matcher(t, []FPPattern{exchangeFP}, WithThreshold(adj))
	var wg sync.WaitGroup
	for i := range 64 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range 12 {
				switch (i + j) % 4 {
				case 0:
					p := exchangeFP
					p.PatternID = fmt.Sprintf("p-%d-%d", i, j)
					_ = store.Put(bg, p)
				case 1:
					adj.Update(DriftState{ThresholdExceeded: j%2 == 0})
				default:
					m, err := f.CheckFP(bg, query("Exchange Unusual"))
					if err != nil || !m.Matched {
						t.Errorf("lost match: %v %v", m, err)
						return
					}
				}
			}
		}()
	}
	wg.Wait()
}
