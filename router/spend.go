package router

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"sync"
	"time"

	"github.com/socwarden/warden/audit"
	"github.com/socwarden/warden/taxonomy"
)

// Spend defaults.
const (
	DefaultMonthlyHardCapUSD   = 1000.0
	DefaultMonthlySoftLimitUSD = 500.0
	// DefaultMaxBreakdownKeys bounds each spend breakdown (by model, task
	// type, tenant).
	DefaultMaxBreakdownKeys = 1024
	// OverflowKey aggregates breakdown entries beyond the key bound.
	OverflowKey = "_other"
	// MaxCostUSD bounds a single cost, estimate or limit, so that no sum of
	// them can overflow the guard's integer micro-dollar arithmetic.
	MaxCostUSD = 1e9
)

// Values of constraints_applied in spend events.
const (
	ConstraintMonthlySoftLimit       = "spend.monthly_soft_limit"
	ConstraintMonthlyHardCap         = "spend.monthly_hard_cap"
	ConstraintTenantMonthlySoftLimit = "spend.tenant_monthly_soft_limit"
	ConstraintTenantMonthlyHardCap   = "spend.tenant_monthly_hard_cap"
)

// TenantLimit is one tenant's monthly limits, enforced in addition to the
// global ones. A zero field disables that limit.
type TenantLimit struct {
	HardCapUSD   float64 `json:"hard_cap_usd"`
	SoftLimitUSD float64 `json:"soft_limit_usd"`
}

func (l TenantLimit) zero() bool { return l.HardCapUSD == 0 && l.SoftLimitUSD == 0 }

// CostRecord is spend incurred without a reservation (for example a batch
// job billed after the fact). CostUSD must be finite, >= 0 and <= MaxCostUSD.
type CostRecord struct {
	CostUSD  float64 `json:"cost_usd"`
	ModelID  string  `json:"model_id"`
	TaskType string  `json:"task_type"`
	TenantID string  `json:"tenant_id"`
}

// SpendRequest asks to reserve the most a call can cost, before the call.
type SpendRequest struct {
	TenantID string
	TaskType string
	// Model is the routed model (Decision.Model): its price and id.
	Model ModelConfig
	// InputTokens is an upper estimate of the prompt's tokens.
	InputTokens int
	// MaxOutputTokens is the output budget sent to the provider.
	MaxOutputTokens int
	// EstimateUSD, when non-zero, is reserved instead of
	// Model.MaxCost(InputTokens, MaxOutputTokens) (and must be valid).
	EstimateUSD float64
}

// Estimate is the amount Reserve holds for r.
func (r SpendRequest) Estimate() float64 {
	if r.EstimateUSD != 0 || math.IsNaN(r.EstimateUSD) {
		return r.EstimateUSD
	}
	return r.Model.MaxCost(r.InputTokens, r.MaxOutputTokens)
}

// Reservation is budget held for one in-flight call. It is settled (with the
// real cost) or released exactly once; later calls with it are no-ops
// (Release) or ErrUnknownReservation (Settle).
type Reservation struct {
	ID          uint64  `json:"id"`
	TenantID    string  `json:"tenant_id"`
	ModelID     string  `json:"model_id"`
	TaskType    string  `json:"task_type"`
	EstimateUSD float64 `json:"estimate_usd"`
}

// Budget is the port through which a caller (the gateway) spends: reserve
// before the call, then settle with the real cost, or release if the call
// failed. [*SpendGuard] implements it. Because admission counts reservations,
// concurrent callers can never take settled spend above a hard cap as long as
// each call costs no more than its reservation. CheckBudget is an optional
// early refusal, before any expensive work; Reserve decides.
//
//	if err := budget.CheckBudget(ctx, tenant); err != nil { return err }
//	d, _ := router.Route(ctx, tc)
//	res, err := budget.Reserve(ctx, router.SpendRequest{TenantID: tenant, TaskType: tt,
//		Model: d.Model, InputTokens: n, MaxOutputTokens: d.MaxTokens})
//	if err != nil { return err } // *SpendLimitError; the guard audited the refusal
//	defer budget.Release(res)    // no-op once settled
//	resp, err := call(...)
//	if err != nil { return err }
//	_ = budget.Settle(ctx, res, d.Model.Cost(usage))
type Budget interface {
	CheckBudget(ctx context.Context, tenantID string) error
	Reserve(ctx context.Context, req SpendRequest) (Reservation, error)
	Settle(ctx context.Context, res Reservation, costUSD float64) error
	Release(res Reservation)
}

var _ Budget = (*SpendGuard)(nil)

// SpendStatus is the guard's global view of the current month.
type SpendStatus struct {
	Month            string  `json:"month"`
	MonthlyTotalUSD  float64 `json:"monthly_total_usd"`
	ReservedUSD      float64 `json:"reserved_usd"`
	SoftLimitUSD     float64 `json:"soft_limit_usd"`
	HardCapUSD       float64 `json:"hard_cap_usd"`
	CallCount        int64   `json:"call_count"`
	MonthCallCount   int64   `json:"month_call_count"`
	SoftLimitReached bool    `json:"soft_limit_reached"`
	// HardLimitReached: the month's settled spend reached the cap or a call
	// was refused this month.
	HardLimitReached bool               `json:"hard_limit_reached"`
	Rejections       int64              `json:"rejections"`
	Outstanding      int                `json:"outstanding_reservations"`
	ByModel          map[string]float64 `json:"by_model"`
}

// TenantSpend is one tenant's view of the current month (limits enforced
// for it, settled and reserved spend). Tenants without limits are not
// tracked and report zero spend.
type TenantSpend struct {
	TenantID         string  `json:"tenant_id"`
	Month            string  `json:"month"`
	MonthlyTotalUSD  float64 `json:"monthly_total_usd"`
	ReservedUSD      float64 `json:"reserved_usd"`
	SoftLimitUSD     float64 `json:"soft_limit_usd"`
	HardCapUSD       float64 `json:"hard_cap_usd"`
	SoftLimitReached bool    `json:"soft_limit_reached"`
	Rejections       int64   `json:"rejections"`
}

// micros is an amount in USD millionths; all guard arithmetic is integer so
// that concurrent small charges add up exactly.
type micros = int64

func toMicros(usd float64) micros { return micros(math.Round(usd * 1e6)) }
func toUSD(m micros) float64      { return float64(m) / 1e6 }

func validAmount(usd float64) bool {
	return !math.IsNaN(usd) && !math.IsInf(usd, 0) && usd >= 0 && usd <= MaxCostUSD
}

// satAdd adds without overflowing (amounts are never negative).
func satAdd(a, b micros) micros {
	if a > math.MaxInt64-b {
		return math.MaxInt64
	}
	return a + b
}

// window is the spend state of one scope (global or a tenant) in the current
// month. reserved is not per month: in-flight reservations carry over a
// rollover and settle into the month in which they complete.
type window struct {
	settled    micros
	reserved   micros
	calls      int64
	softFired  bool
	rejections int64
	hardLogged bool
}

func (w *window) roll() {
	w.settled, w.calls, w.softFired, w.rejections, w.hardLogged = 0, 0, false, 0, false
}

// refuses reports whether admitting est more would exceed capM: the cap is
// reached (committed >= cap) or committed + est would pass it.
func (w *window) refuses(capM, est micros) bool {
	committed := satAdd(w.settled, w.reserved)
	return committed >= capM || satAdd(committed, est) > capM
}

type limitMicros struct{ hard, soft micros }

type openReservation struct {
	tenant, model, task string
	est                 micros
}

// SpendGuard is Warden's one LLM spend guard: monthly (UTC calendar month)
// hard cap and soft alert, globally and per tenant, with reservations so
// that concurrent calls cannot overshoot a cap.
//
// Admission (Reserve, CheckBudget) counts settled spend plus in-flight
// reservations; a cap is refused once reached (at exactly the cap too).
// Settled spend is recorded truthfully even when a call cost more than its
// reservation. spend.soft_limit is emitted once per month and scope when
// settled spend reaches the soft limit; spend.hard_limit is emitted for every
// refusal. Events use tenant "system" and name the requesting tenant in
// triggering_tenant_id.
//
// Memory is bounded: aggregates, not records; per-tenant windows only for
// tenants with limits (dropped at rollover when idle); breakdowns capped at
// the configured key bound; open reservations only while in flight.
//
// A SpendGuard is safe for concurrent use.
type SpendGuard struct {
	// Immutable after construction.
	hard, soft    micros
	tenantLimits  map[string]limitMicros
	defaultTenant limitMicros
	trackTenants  bool
	maxKeys       int
	now           func() time.Time
	emit          emitter
	logger        *slog.Logger

	// mu guards everything below.
	mu          sync.Mutex
	month       int // UTC year*12 + month-1 of the current window
	global      window
	tenants     map[string]*window
	open        map[uint64]openReservation
	nextID      uint64
	byModel     map[string]micros // all-time
	byTask      map[string]micros // all-time
	byTenant    map[string]micros // all-time
	calls       int64             // all-time
	monthStrKey int
	monthStr    string
}

// NewSpendGuard returns a guard with the default limits (hard cap 1000 USD,
// soft limit 500 USD, no tenant limits). Options: the common ones,
// [WithMonthlyHardCap], [WithMonthlySoftLimit], [WithTenantLimits],
// [WithDefaultTenantLimit], [WithMaxBreakdownKeys].
func NewSpendGuard(opts ...Option) (*SpendGuard, error) {
	c, err := buildConfig(forSpend, opts)
	if err != nil {
		return nil, err
	}
	if !validAmount(c.hardCapUSD) || c.hardCapUSD == 0 {
		return nil, configErr("WithMonthlyHardCap", "must be finite, > 0 and <= MaxCostUSD")
	}
	if !validAmount(c.softLimitUSD) {
		return nil, configErr("WithMonthlySoftLimit", "must be finite, >= 0 and <= MaxCostUSD")
	}
	if c.maxBreakdownKeys < 1 {
		return nil, configErr("WithMaxBreakdownKeys", "must be >= 1")
	}
	g := &SpendGuard{
		hard: toMicros(c.hardCapUSD), soft: toMicros(c.softLimitUSD),
		tenantLimits: map[string]limitMicros{}, maxKeys: c.maxBreakdownKeys,
		now: c.now, emit: emitter{c.producer, c.logger}, logger: c.logger,
		tenants: map[string]*window{}, open: map[uint64]openReservation{},
		byModel: map[string]micros{}, byTask: map[string]micros{}, byTenant: map[string]micros{},
	}
	toLimit := func(name string, l TenantLimit) (limitMicros, error) {
		if !validAmount(l.HardCapUSD) || !validAmount(l.SoftLimitUSD) {
			return limitMicros{}, configErr(name, "limits must be finite, >= 0 and <= MaxCostUSD")
		}
		return limitMicros{hard: toMicros(l.HardCapUSD), soft: toMicros(l.SoftLimitUSD)}, nil
	}
	if g.defaultTenant, err = toLimit("WithDefaultTenantLimit", c.defaultTenantLimit); err != nil {
		return nil, err
	}
	g.trackTenants = !c.defaultTenantLimit.zero()
	for t, l := range c.tenantLimits {
		lm, err := toLimit("WithTenantLimits["+quoteTrunc(t)+"]", l)
		if err != nil {
			return nil, err
		}
		g.tenantLimits[t] = lm
		g.trackTenants = g.trackTenants || !l.zero()
	}
	g.month = monthIndex(g.now())
	return g, nil
}

func monthIndex(t time.Time) int {
	t = t.UTC()
	return t.Year()*12 + int(t.Month()) - 1
}

// monthLocked renders the current month as YYYY-MM (cached per month).
func (g *SpendGuard) monthLocked() string {
	if g.monthStr == "" || g.monthStrKey != g.month {
		g.monthStrKey, g.monthStr = g.month, fmt.Sprintf("%04d-%02d", g.month/12, g.month%12+1)
	}
	return g.monthStr
}

// rollLocked starts a new window when the clock entered a later month. A
// clock that moves backwards never reopens an earlier month.
func (g *SpendGuard) rollLocked() {
	m := monthIndex(g.now())
	if m <= g.month {
		return
	}
	g.month = m
	g.global.roll()
	for t, w := range g.tenants {
		if w.reserved == 0 {
			delete(g.tenants, t)
			continue
		}
		w.roll()
	}
}

func (g *SpendGuard) limitFor(tenant string) (limitMicros, bool) {
	if !g.trackTenants {
		return limitMicros{}, false
	}
	l, ok := g.tenantLimits[tenant]
	if !ok {
		l = g.defaultTenant
	}
	return l, l.hard != 0 || l.soft != 0
}

// tenantLocked returns tenant's window, creating it if the tenant has limits.
func (g *SpendGuard) tenantLocked(tenant string) (*window, limitMicros) {
	l, ok := g.limitFor(tenant)
	if !ok {
		return nil, l
	}
	w := g.tenants[tenant]
	if w == nil {
		w = &window{}
		g.tenants[tenant] = w
	}
	return w, l
}

// refusal describes a refused admission for its error and audit record.
type refusal struct {
	scope                 SpendScope
	tenant, model, task   string
	month                 string
	settled, reserved     micros
	requested, hard, soft micros
	logErr                bool
}

func (r *refusal) err() error {
	return &SpendLimitError{Scope: r.scope, TenantID: r.tenant, Month: r.month,
		MonthlyTotalUSD: toUSD(r.settled), ReservedUSD: toUSD(r.reserved),
		RequestedUSD: toUSD(r.requested), HardCapUSD: toUSD(r.hard)}
}

// admitLocked checks the global and tenant caps for est; on refusal it counts
// the rejection and describes it.
func (g *SpendGuard) admitLocked(tenant, model, task string, est micros) (*window, *refusal) {
	tw, tl := g.tenantLocked(tenant)
	var ref *refusal
	switch {
	case g.global.refuses(g.hard, est):
		ref = &refusal{scope: ScopeGlobal, settled: g.global.settled, reserved: g.global.reserved,
			hard: g.hard, soft: g.soft, logErr: !g.global.hardLogged}
		g.global.hardLogged = true
	case tw != nil && tl.hard != 0 && tw.refuses(tl.hard, est):
		ref = &refusal{scope: ScopeTenant, settled: tw.settled, reserved: tw.reserved,
			hard: tl.hard, soft: tl.soft, logErr: !tw.hardLogged}
		tw.hardLogged = true
		tw.rejections++
	default:
		return tw, nil
	}
	g.global.rejections++
	ref.tenant, ref.model, ref.task, ref.requested, ref.month = tenant, model, task, est, g.monthLocked()
	return tw, ref
}

// Reserve holds req.Estimate() of budget for one call, or refuses with a
// *SpendLimitError (matching ErrSpendLimitExceeded) when the global or the
// tenant's cap is reached or would be passed; every refusal emits
// spend.hard_limit. An invalid estimate returns ErrInvalidCost, a done ctx
// its error; neither reserves anything.
func (g *SpendGuard) Reserve(ctx context.Context, req SpendRequest) (Reservation, error) {
	if err := ctx.Err(); err != nil {
		return Reservation{}, err
	}
	estUSD := req.Estimate()
	if !validAmount(estUSD) {
		return Reservation{}, fmt.Errorf("%w: estimate %v", ErrInvalidCost, estUSD)
	}
	est := toMicros(estUSD)
	g.mu.Lock()
	g.rollLocked()
	tw, ref := g.admitLocked(req.TenantID, req.Model.ModelID, req.TaskType, est)
	if ref != nil {
		g.mu.Unlock()
		g.refused(ctx, ref)
		return Reservation{}, ref.err()
	}
	g.nextID++
	id := g.nextID
	g.global.reserved = satAdd(g.global.reserved, est)
	if tw != nil {
		tw.reserved = satAdd(tw.reserved, est)
	}
	g.open[id] = openReservation{tenant: req.TenantID, model: req.Model.ModelID, task: req.TaskType, est: est}
	g.mu.Unlock()
	return Reservation{ID: id, TenantID: req.TenantID, ModelID: req.Model.ModelID, TaskType: req.TaskType,
		EstimateUSD: toUSD(est)}, nil
}

// closeLocked removes an open reservation and its hold.
func (g *SpendGuard) closeLocked(id uint64) (openReservation, bool) {
	r, ok := g.open[id]
	if !ok {
		return r, false
	}
	delete(g.open, id)
	g.global.reserved -= r.est
	if w := g.tenants[r.tenant]; w != nil {
		w.reserved -= r.est
	}
	return r, true
}

// Release returns res's hold without charging anything (the call failed or
// was never made). Releasing a settled or released reservation does nothing,
// so `defer guard.Release(res)` is safe.
func (g *SpendGuard) Release(res Reservation) {
	g.mu.Lock()
	g.closeLocked(res.ID)
	g.mu.Unlock()
}

// Settle charges the call's real cost and returns res's hold. The cost is
// charged to the month in which Settle runs and attributed to the model,
// task type and tenant of the reservation. A cost above the reservation is
// still charged in full (and logged). Settling an unknown, settled or
// released reservation returns ErrUnknownReservation and charges nothing;
// an invalid cost returns ErrInvalidCost and leaves the reservation open.
func (g *SpendGuard) Settle(ctx context.Context, res Reservation, costUSD float64) error {
	if !validAmount(costUSD) {
		return fmt.Errorf("%w: %v", ErrInvalidCost, costUSD)
	}
	cost := toMicros(costUSD)
	g.mu.Lock()
	g.rollLocked()
	r, ok := g.closeLocked(res.ID)
	if !ok {
		g.mu.Unlock()
		return fmt.Errorf("%w: id %d", ErrUnknownReservation, res.ID)
	}
	alerts := g.chargeLocked(cost, r.model, r.task, r.tenant)
	g.mu.Unlock()
	if cost > r.est {
		g.logger.WarnContext(ctx, "router: call cost more than its spend reservation",
			"reserved_usd", toUSD(r.est), "cost_usd", costUSD, "model", r.model, "tenant_id", r.tenant)
	}
	g.alert(ctx, alerts)
	return nil
}

// Record charges spend that had no reservation (it is never refused: the
// money is already spent). Soft-limit alerts fire as for Settle.
func (g *SpendGuard) Record(ctx context.Context, rec CostRecord) error {
	if !validAmount(rec.CostUSD) {
		return fmt.Errorf("%w: %v", ErrInvalidCost, rec.CostUSD)
	}
	g.mu.Lock()
	g.rollLocked()
	alerts := g.chargeLocked(toMicros(rec.CostUSD), rec.ModelID, rec.TaskType, rec.TenantID)
	g.mu.Unlock()
	g.alert(ctx, alerts)
	return nil
}

// CheckBudget refuses (like Reserve with a zero estimate) when the global
// cap or tenantID's cap is already reached; use it to fail fast before
// expensive work. Each refusal emits spend.hard_limit.
func (g *SpendGuard) CheckBudget(ctx context.Context, tenantID string) error {
	g.mu.Lock()
	g.rollLocked()
	_, ref := g.admitLocked(tenantID, "", "", 0)
	g.mu.Unlock()
	if ref != nil {
		g.refused(ctx, ref)
		return ref.err()
	}
	return nil
}

// softAlert describes a soft-limit crossing for its audit record.
type softAlert struct {
	scope                   SpendScope
	month                   string
	total, soft, hard, cost micros
	model, task, tenant     string
}

type softAlerts struct {
	n  int
	as [2]softAlert
}

func (g *SpendGuard) addKeyLocked(m map[string]micros, key string, v micros) {
	if _, ok := m[key]; !ok && len(m) >= g.maxKeys {
		key = OverflowKey
	}
	m[key] = satAdd(m[key], v)
}

func (g *SpendGuard) chargeLocked(cost micros, model, task, tenant string) softAlerts {
	var out softAlerts
	g.global.settled = satAdd(g.global.settled, cost)
	g.global.calls++
	g.calls++
	g.addKeyLocked(g.byModel, model, cost)
	g.addKeyLocked(g.byTask, task, cost)
	g.addKeyLocked(g.byTenant, tenant, cost)
	if g.soft > 0 && !g.global.softFired && g.global.settled >= g.soft {
		g.global.softFired = true
		out.as[out.n] = softAlert{scope: ScopeGlobal, total: g.global.settled, soft: g.soft, hard: g.hard}
		out.n++
	}
	if w, l := g.tenantLocked(tenant); w != nil {
		w.settled = satAdd(w.settled, cost)
		w.calls++
		if l.soft > 0 && !w.softFired && w.settled >= l.soft {
			w.softFired = true
			out.as[out.n] = softAlert{scope: ScopeTenant, total: w.settled, soft: l.soft, hard: l.hard}
			out.n++
		}
	}
	for i := range out.n {
		a := &out.as[i]
		a.month, a.cost, a.model, a.task, a.tenant = g.monthLocked(), cost, model, task, tenant
	}
	return out
}

func (g *SpendGuard) alert(ctx context.Context, alerts softAlerts) {
	for i := range alerts.n {
		a := alerts.as[i]
		g.logger.WarnContext(ctx, "router: monthly spend reached the soft limit",
			"scope", string(a.scope), "tenant_id", a.tenant, "month", a.month,
			"monthly_total_usd", toUSD(a.total), "soft_limit_usd", toUSD(a.soft))
		if !g.emit.enabled() {
			continue
		}
		constraint := ConstraintMonthlySoftLimit
		if a.scope == ScopeTenant {
			constraint = ConstraintTenantMonthlySoftLimit
		}
		ev := systemEvent(taxonomy.SpendSoftLimit, taxonomy.SeverityWarning)
		ev.Context = audit.Fields{
			"month":                a.month,
			"spend_scope":          string(a.scope),
			"monthly_total_usd":    toUSD(a.total),
			"soft_limit_usd":       toUSD(a.soft),
			"hard_cap_usd":         toUSD(a.hard),
			"cost_usd":             toUSD(a.cost),
			audit.KeyLLMModelID:    a.model,
			"task_type":            a.task,
			"triggering_tenant_id": a.tenant,
		}
		ev.Decision = audit.Fields{audit.KeyConstraintsApplied: []string{constraint}}
		g.emit.emit(ev)
	}
}

func (g *SpendGuard) refused(ctx context.Context, r *refusal) {
	level := slog.LevelDebug
	if r.logErr {
		level = slog.LevelError
	}
	g.logger.Log(ctx, level, "router: LLM call refused by the monthly spend hard cap",
		"scope", string(r.scope), "tenant_id", r.tenant, "month", r.month,
		"monthly_total_usd", toUSD(r.settled), "reserved_usd", toUSD(r.reserved),
		"requested_usd", toUSD(r.requested), "hard_cap_usd", toUSD(r.hard))
	if !g.emit.enabled() {
		return
	}
	constraint, who := ConstraintMonthlyHardCap, "monthly spend"
	if r.scope == ScopeTenant {
		constraint, who = ConstraintTenantMonthlyHardCap, "tenant "+quoteTrunc(r.tenant)+" monthly spend"
	}
	ev := systemEvent(taxonomy.SpendHardLimit, taxonomy.SeverityCritical)
	ev.Context = audit.Fields{
		"month":                r.month,
		"spend_scope":          string(r.scope),
		"monthly_total_usd":    toUSD(r.settled),
		"reserved_usd":         toUSD(r.reserved),
		"requested_usd":        toUSD(r.requested),
		"hard_cap_usd":         toUSD(r.hard),
		"soft_limit_usd":       toUSD(r.soft),
		audit.KeyLLMModelID:    r.model,
		"task_type":            r.task,
		"triggering_tenant_id": r.tenant,
	}
	ev.Decision = audit.Fields{
		audit.KeyDecisionType:       string(taxonomy.DecisionReject),
		audit.KeyConstraintsApplied: []string{constraint},
		audit.KeyReasoningSummary: fmt.Sprintf("%s $%s + $%s reserved + $%s requested reaches or passes hard cap $%s; "+
			"LLM calls are blocked until the month rolls over or the cap is raised",
			who, usd2(toUSD(r.settled)), usd2(toUSD(r.reserved)), usd2(toUSD(r.requested)), usd2(toUSD(r.hard))),
	}
	ev.Outcome = audit.Fields{audit.KeyOutcomeStatus: string(taxonomy.OutcomeBlockedByGuardrail)}
	g.emit.emit(ev)
}

// MonthlyTotal is the settled spend of the current month.
func (g *SpendGuard) MonthlyTotal() float64 {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.rollLocked()
	return toUSD(g.global.settled)
}

func copyUSD(m map[string]micros) map[string]float64 {
	out := make(map[string]float64, len(m))
	for k, v := range m {
		out[k] = toUSD(v)
	}
	return out
}

// TotalByModel returns all-time settled spend by model id.
func (g *SpendGuard) TotalByModel() map[string]float64 {
	g.mu.Lock()
	defer g.mu.Unlock()
	return copyUSD(g.byModel)
}

// TotalByTaskType returns all-time settled spend by task type.
func (g *SpendGuard) TotalByTaskType() map[string]float64 {
	g.mu.Lock()
	defer g.mu.Unlock()
	return copyUSD(g.byTask)
}

// TotalByTenant returns all-time settled spend by tenant.
func (g *SpendGuard) TotalByTenant() map[string]float64 {
	g.mu.Lock()
	defer g.mu.Unlock()
	return copyUSD(g.byTenant)
}

// CallCount is the all-time number of charged calls.
func (g *SpendGuard) CallCount() int64 {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.calls
}

// Status returns the global view of the current month.
func (g *SpendGuard) Status() SpendStatus {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.rollLocked()
	return SpendStatus{
		Month: g.monthLocked(), MonthlyTotalUSD: toUSD(g.global.settled), ReservedUSD: toUSD(g.global.reserved),
		SoftLimitUSD: toUSD(g.soft), HardCapUSD: toUSD(g.hard),
		CallCount: g.calls, MonthCallCount: g.global.calls,
		SoftLimitReached: g.global.softFired,
		HardLimitReached: g.global.settled >= g.hard || g.global.rejections > 0,
		Rejections:       g.global.rejections, Outstanding: len(g.open), ByModel: copyUSD(g.byModel),
	}
}

// TenantStatus returns tenantID's view of the current month.
func (g *SpendGuard) TenantStatus(tenantID string) TenantSpend {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.rollLocked()
	out := TenantSpend{TenantID: tenantID, Month: g.monthLocked()}
	l, _ := g.limitFor(tenantID)
	out.HardCapUSD, out.SoftLimitUSD = toUSD(l.hard), toUSD(l.soft)
	if w := g.tenants[tenantID]; w != nil {
		out.MonthlyTotalUSD, out.ReservedUSD = toUSD(w.settled), toUSD(w.reserved)
		out.SoftLimitReached, out.Rejections = w.softFired, w.rejections
	}
	return out
}
