package response

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/socwarden/warden/taxonomy"
)

// Responder grades, gates, executes and rolls back response actions. It is
// the orchestrator's Responder, ActionPolicy and ApprovalGate. Safe for
// concurrent use.
type Responder struct {
	// Set by New and read-only afterwards.
	exec       Executor
	rollbacker Rollbacker // nil when the executor cannot roll back
	cfg        config
	zones      zoneTable
	approvals  ApprovalStore
	executions ExecutionStore
	log        *slog.Logger
	em         emitter

	inflightMu sync.Mutex
	// inflight maps an idempotency key to a channel closed when the
	// execution in progress in this process finishes; guarded by inflightMu.
	inflight map[string]chan struct{}

	// Striped locks serialise, within this process, the writers of one
	// investigation's gate creation, one approval record and one execution,
	// so that the store's compare-and-swap rarely loses and event order
	// matches the order of the store's writes.
	invLocks  stripes
	gateLocks stripes
	execLocks stripes
}

type stripes [64]sync.Mutex

func (s *stripes) of(key string) *sync.Mutex {
	h := fnv.New32a()
	_, _ = h.Write([]byte(key))
	return &s[h.Sum32()%uint32(len(s))]
}

// maxCASAttempts bounds the retries of a lost compare-and-swap. In-process
// writers are serialised by the striped locks, so a loss means another
// process wrote the record; each loss is someone else's progress.
const maxCASAttempts = 8

// Actor ids of the package's own events.
const (
	// ActorID is the actor_id of preparation, execution, playbook and
	// compensation events (actor_type agent).
	ActorID = "response-agent"
	// GateActorID is the actor_id of timeout and escalation events
	// (actor_type system).
	GateActorID = "approval-gate"
)

// New returns a Responder executing through exec.
func New(exec Executor, opts ...Option) (*Responder, error) {
	if exec == nil {
		return nil, ErrNilExecutor
	}
	cfg := config{
		now:            time.Now,
		newID:          newUUID,
		catalogue:      DefaultCatalogue(),
		baseRole:       DefaultBaseRole,
		escalatedRole:  DefaultEscalatedRole,
		maxEscalations: DefaultMaxEscalations,
		roleCheck:      true,
		execTimeout:    DefaultExecutionTimeout,
	}
	for _, o := range opts {
		if o != nil {
			o(&cfg)
		}
	}
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	if cfg.logger == nil {
		cfg.logger = slog.New(slog.DiscardHandler)
	}
	if cfg.approvals == nil {
		cfg.approvals = NewMemoryApprovals()
	}
	if cfg.executions == nil {
		cfg.executions = NewMemoryExecutions()
	}
	r := &Responder{
		exec:       exec,
		cfg:        cfg,
		zones:      zoneTable{custom: cfg.zoneTable},
		approvals:  cfg.approvals,
		executions: cfg.executions,
		log:        cfg.logger,
		em:         emitter{p: cfg.producer, log: cfg.logger},
		inflight:   map[string]chan struct{}{},
	}
	r.rollbacker, _ = exec.(Rollbacker)
	return r, nil
}

func (c *config) validate() error {
	if c.now == nil {
		return &ConfigError{"WithClock", "nil clock"}
	}
	if c.newID == nil {
		return &ConfigError{"WithIDGenerator", "nil generator"}
	}
	if err := c.constraints.validate(); err != nil {
		return err
	}
	norm := make(map[string]ActionSpec, len(c.catalogue))
	for k, s := range c.catalogue {
		n, ok := NormaliseAction(k)
		if !ok {
			return &ConfigError{"WithCatalogue", fmt.Sprintf("malformed action name %q", k)}
		}
		if s.Floor < TierAuto || s.Floor > TierRequiresApproval {
			return &ConfigError{"WithCatalogue", fmt.Sprintf("%s: floor %d outside 0–2", n, s.Floor)}
		}
		if !s.Risk.Valid() {
			return &ConfigError{"WithCatalogue", fmt.Sprintf("%s: unknown risk class %q", n, s.Risk)}
		}
		if !s.Constraint.valid() {
			return &ConfigError{"WithCatalogue", fmt.Sprintf("%s: unknown constraint %q", n, s.Constraint)}
		}
		if s.Timeout < 0 {
			return &ConfigError{"WithCatalogue", n + ": negative timeout"}
		}
		s.Name = n
		norm[n] = s
	}
	c.catalogue = norm
	for z, e := range c.zoneTable {
		if !validClass(e.Class) {
			return &ConfigError{"WithZoneTable", fmt.Sprintf("zone %q: unknown class %q", z, e.Class)}
		}
		switch e.Severity {
		case "":
			e.Severity = defaultClassSeverity(e.Class)
		case "CRITICAL", "HIGH", "MEDIUM", "LOW":
		default:
			return &ConfigError{"WithZoneTable", fmt.Sprintf("zone %q: unknown severity %q", z, e.Severity)}
		}
		c.zoneTable[z] = e
	}
	if c.baseRole.Rank() == 0 || c.escalatedRole.Rank() == 0 {
		return &ConfigError{"WithApproverRoles", "roles must be analyst, senior_analyst or admin"}
	}
	if c.escalatedRole.Rank() < c.baseRole.Rank() {
		return &ConfigError{"WithApproverRoles", "the escalated role ranks below the base role"}
	}
	if c.maxEscalations < 0 {
		return &ConfigError{"WithMaxEscalations", "negative"}
	}
	return nil
}

func validClass(c ConsequenceClass) bool {
	switch c {
	case ConsequenceSafetyLife, ConsequenceEquipment, ConsequenceDowntime, ConsequenceDataLoss:
		return true
	}
	return false
}

func defaultClassSeverity(c ConsequenceClass) string {
	switch c {
	case ConsequenceSafetyLife:
		return "CRITICAL"
	case ConsequenceEquipment:
		return "HIGH"
	case ConsequenceDowntime:
		return "MEDIUM"
	}
	return "LOW"
}

// newUUID returns a random RFC 4122 version-4 UUID.
func newUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	var out [36]byte
	hex.Encode(out[0:8], b[0:4])
	out[8] = '-'
	hex.Encode(out[9:13], b[4:6])
	out[13] = '-'
	hex.Encode(out[14:18], b[6:8])
	out[18] = '-'
	hex.Encode(out[19:23], b[8:10])
	out[23] = '-'
	hex.Encode(out[24:], b[10:])
	return string(out[:])
}

func validateCase(c *Case) error {
	if strings.TrimSpace(c.InvestigationID) == "" {
		return caseErr("InvestigationID")
	}
	if strings.TrimSpace(c.TenantID) == "" {
		return caseErr("TenantID")
	}
	return nil
}

// Tier reasons (decision.constraints_applied of response.prepared and the
// reasons RequiresApproval returns).
const (
	ReasonDestructiveAction = "destructive_action"
	ReasonCatalogueFloor    = "catalogue_floor"
	ReasonLLMTier           = "llm_tier"
	ReasonZoneUnknown       = "zone_unknown"
	ReasonReviewRequired    = "review_required"
	reasonZonePrefix        = "zone_consequence:"
	reasonUnknownPrefix     = "unknown_action:"
)

// graded is one action with its effective tier and why.
type graded struct {
	action   Action
	name     string // normalised
	ok       bool   // well-formed
	spec     ActionSpec
	known    bool
	tier     Tier
	reasons  []string // why the tier is what it is (see tierReasons)
	zone     string
	class    ConsequenceClass
	zoneSev  string // lower-case severity of a resolved zone; "" if none
	identity actionIdentity
}

// actionIdentity is what makes two recommendations the same side effect.
type actionIdentity struct{ name, target, playbook string }

type zoneAnswer struct {
	zone string
	ok   bool
	err  error
}

// grader grades the actions of one call, resolving each target's zone once.
type grader struct {
	r     *Responder
	c     *Case
	cache map[string]zoneAnswer
}

func (r *Responder) newGrader(c *Case) *grader { return &grader{r: r, c: c} }

func (g *grader) resolve(ctx context.Context, target string) zoneAnswer {
	if target == "" {
		return zoneAnswer{}
	}
	if ans, ok := g.cache[target]; ok {
		return ans
	}
	var ans zoneAnswer
	if zr := g.r.cfg.zoneResolver; zr != nil {
		ans.zone, ans.ok, ans.err = safeZoneOf(ctx, zr, g.c.TenantID, target)
		if ans.err != nil {
			g.r.log.Warn("response: zone resolution failed; treating the target as the worst case",
				"tenant_id", g.c.TenantID, "target", target, "error", ans.err)
		}
	} else {
		for _, az := range g.c.AssetZones {
			if az.AssetID == target {
				ans.zone, ans.ok = az.Zone, true
				break
			}
		}
	}
	if g.cache == nil {
		g.cache = map[string]zoneAnswer{}
	}
	g.cache[target] = ans
	return ans
}

func safeZoneOf(ctx context.Context, zr ZoneResolver, tenant, target string) (z string, ok bool, err error) {
	defer func() {
		if p := recover(); p != nil {
			z, ok, err = "", false, fmt.Errorf("zone resolver panic: %v", p)
		}
	}()
	return zr.ZoneOf(ctx, tenant, target)
}

func (g *grader) grade(ctx context.Context, a Action) graded {
	name, ok := NormaliseAction(a.Action)
	out := graded{action: a, name: name, ok: ok,
		identity: actionIdentity{name: name, target: a.Target, playbook: a.PlaybookID}}
	if !ok {
		return out
	}
	spec, known := g.r.cfg.catalogue[name]
	if !known {
		spec = unknownSpec(name)
	}
	out.spec, out.known = spec, known
	llm := clampTier(a.Tier)
	tier := max(llm, spec.Floor)

	var zoneFloor Tier
	var zoneReason string
	ans := g.resolve(ctx, a.Target)
	switch {
	case ans.err != nil:
		if spec.Risk.zoneSensitive() {
			zoneFloor, zoneReason = TierRequiresApproval, ReasonZoneUnknown
		}
	case ans.ok:
		zc := g.r.zones.lookup(ans.zone)
		out.zone, out.class, out.zoneSev = ans.zone, zc.Class, strings.ToLower(zc.Severity)
		if spec.Risk.zoneSensitive() {
			if f := zc.Class.tierFloor(); f > 0 {
				zoneFloor, zoneReason = f, reasonZonePrefix+string(zc.Class)
			}
		}
	}
	tier = max(tier, zoneFloor)
	out.tier = tier

	// Reasons name every source that demands the effective tier when it is
	// a gated tier, or the catalogue raise below that.
	if tier >= TierRequiresApproval {
		if llm >= TierRequiresApproval {
			out.reasons = append(out.reasons, ReasonLLMTier)
		}
		if !known {
			out.reasons = append(out.reasons, reasonUnknownPrefix+name)
		} else if spec.Floor >= TierRequiresApproval {
			out.reasons = append(out.reasons, ReasonCatalogueFloor)
		}
	} else if spec.Floor > llm {
		out.reasons = append(out.reasons, ReasonCatalogueFloor)
	}
	if zoneReason != "" {
		out.reasons = append(out.reasons, zoneReason)
	}
	return out
}

// EffectiveTier returns the tier a recommended action runs at and why:
// max(model tier, catalogue floor, zone floor). Unknown and malformed names
// are tier 2.
func (r *Responder) EffectiveTier(ctx context.Context, c Case, a Action) (Tier, []string) {
	g := r.newGrader(&c).grade(ctx, a)
	if !g.ok {
		return TierRequiresApproval, []string{"malformed_action"}
	}
	return g.tier, g.reasons
}

// RequiresApproval is the orchestrator's ActionPolicy: true iff any
// well-formed recommended action has an effective tier of 2. The reasons are
// destructive_action plus every zone and unknown-action reason, in first
// occurrence order.
func (r *Responder) RequiresApproval(ctx context.Context, c Case) (bool, []string, error) {
	if err := validateCase(&c); err != nil {
		return false, nil, err
	}
	if err := ctx.Err(); err != nil {
		return false, nil, err
	}
	gr := r.newGrader(&c)
	gs := make([]graded, 0, len(c.Actions))
	for _, a := range c.Actions {
		gs = append(gs, gr.grade(ctx, a))
	}
	reasons := approvalReasons(gs)
	return len(reasons) > 0, reasons, nil
}

// approvalReasons returns destructive_action plus every zone and
// unknown-action reason of the gated actions (first occurrence order), or
// nil when no action is gated.
func approvalReasons(gs []graded) []string {
	var reasons []string
	for _, g := range gs {
		if !g.ok || g.tier < TierRequiresApproval {
			continue
		}
		if reasons == nil {
			reasons = []string{ReasonDestructiveAction}
		}
		for _, why := range g.reasons {
			if (why == ReasonZoneUnknown || strings.HasPrefix(why, reasonZonePrefix) ||
				strings.HasPrefix(why, reasonUnknownPrefix)) && !slices.Contains(reasons, why) {
				reasons = append(reasons, why)
			}
		}
	}
	return reasons
}

// Respond is the orchestrator's Responder: it selects playbooks, then
// handles each recommended action in order — malformed ones are skipped,
// ones already executed (in c.Results or this call) are skipped silently,
// gated ones run only if the case's granted approval covers them, executor
// constraints are applied after the gate, and the rest execute through the
// Executor under their idempotency keys.
//
// It returns ErrNotResponding (a *GateError) when the case's approval is
// awaiting, denied or timed out; ctx.Err() when cancelled (the partial report
// is returned; nothing executed is repeated by a later call); and store
// errors. Blocked and failed actions are results, not errors.
func (r *Responder) Respond(ctx context.Context, c Case) (Report, error) {
	if err := validateCase(&c); err != nil {
		return Report{}, err
	}
	if err := ctx.Err(); err != nil {
		return Report{}, err
	}
	gate, hasGate, err := r.gateOf(ctx, &c)
	if err != nil {
		return Report{}, err
	}
	authorised := map[actionIdentity]bool{}
	if hasGate {
		if gate.State != StateGranted {
			return Report{}, &GateError{ApprovalID: gate.ApprovalID, State: gate.State}
		}
		for _, p := range gate.PendingActions {
			n, _ := NormaliseAction(p.Action)
			authorised[actionIdentity{n, p.Target, p.PlaybookID}] = true
		}
	}

	var rep Report
	if r.cfg.playbooks != nil {
		rep.Playbooks, rep.QueriesExecuted = r.selectPlaybooks(ctx, &c), 1
	}

	done := map[actionIdentity]bool{}
	for _, res := range c.Results {
		if res.Status == ActionExecuted {
			n, _ := NormaliseAction(res.Action)
			done[actionIdentity{n, res.Target, ""}] = true
		}
	}
	isDone := func(id actionIdentity) bool {
		return done[id] || done[actionIdentity{id.name, id.target, ""}]
	}

	gr := r.newGrader(&c)
	seen := map[actionIdentity]bool{}
	var executedHere []int // indexes into rep.Results of executions this call made
	for i, a := range c.Actions {
		if err := ctx.Err(); err != nil {
			return rep, err
		}
		g := gr.grade(ctx, a)
		if !g.ok {
			r.log.Warn("response: skipping malformed action", "investigation_id", c.InvestigationID, "action", a.Action)
			rep.Results = append(rep.Results, ActionResult{Action: a.Action, Target: a.Target, Tier: clampTier(a.Tier),
				Status: ActionSkipped, Timestamp: r.cfg.now(), Error: "malformed action"})
			continue
		}
		if isDone(g.identity) || seen[g.identity] {
			continue
		}
		seen[g.identity] = true

		var approvalID, approvedBy string
		if g.tier >= TierRequiresApproval {
			if !authorised[g.identity] {
				rep.Results = append(rep.Results, r.block(&c, g, BlockedApprovalRequired, ""))
				continue
			}
			approvalID, approvedBy = gate.ApprovalID, gate.DecidedBy
		}
		if bt := checkConstraint(g.spec, a, c, r.cfg.constraints); bt != "" {
			rep.Results = append(rep.Results, r.block(&c, g, bt, approvalID))
			continue
		}
		res, fresh, err := r.execute(ctx, &c, g, approvalID, approvedBy)
		if err != nil {
			return rep, err
		}
		rep.Results = append(rep.Results, res)
		if !fresh {
			continue
		}
		if res.Status == ActionExecuted {
			executedHere = append(executedHere, len(rep.Results)-1)
		}
		if res.Status == ActionFailed && r.cfg.rollbackOnFail {
			r.compensate(ctx, &rep, executedHere, g.name)
			for _, rest := range c.Actions[i+1:] {
				rep.Results = append(rep.Results, ActionResult{Action: rest.Action, Target: rest.Target,
					Tier: clampTier(rest.Tier), Status: ActionSkipped, Timestamp: r.cfg.now(),
					Error: "aborted after failure of " + g.name})
			}
			break
		}
	}
	return rep, nil
}

// gateOf finds the approval record that authorises the case: the one its
// ApprovalID names (if it belongs to the case), else the investigation's
// latest.
func (r *Responder) gateOf(ctx context.Context, c *Case) (Approval, bool, error) {
	if c.ApprovalID != "" {
		a, ok, err := r.approvals.Get(ctx, c.ApprovalID)
		if err != nil {
			return Approval{}, false, fmt.Errorf("response: approval store: %w", err)
		}
		if ok && a.InvestigationID == c.InvestigationID && a.TenantID == c.TenantID {
			return a, true, nil
		}
	}
	a, ok, err := r.approvals.Latest(ctx, c.InvestigationID)
	if err != nil {
		return Approval{}, false, fmt.Errorf("response: approval store: %w", err)
	}
	if ok && a.TenantID != c.TenantID {
		return Approval{}, false, nil
	}
	return a, ok, nil
}

func (r *Responder) selectPlaybooks(ctx context.Context, c *Case) (out []Playbook) {
	defer func() {
		if p := recover(); p != nil {
			r.log.Warn("response: playbook store panicked", "investigation_id", c.InvestigationID, "panic", p)
			out = nil
		}
	}()
	pb, err := r.cfg.playbooks.Select(ctx, PlaybookQuery{TenantID: c.TenantID, Severity: c.Severity,
		Tactics: c.Tactics, Techniques: c.Techniques, Limit: PlaybookLimit})
	if err != nil {
		r.log.Warn("response: playbook selection failed; continuing without suggestions",
			"investigation_id", c.InvestigationID, "error", err)
		return nil
	}
	if len(pb) > 0 {
		r.em.playbookSelected(c, pb)
	}
	return pb
}

func (r *Responder) block(c *Case, g graded, bt BlockedType, approvalID string) ActionResult {
	res := ActionResult{Action: g.name, Target: g.action.Target, Tier: g.tier, Status: ActionBlocked,
		ConstraintBlockedType: bt, ApprovalID: approvalID, Timestamp: r.cfg.now()}
	r.em.blocked(c, g, bt, approvalID)
	return res
}

// idempotencyKey names the side effect of one action: the same case, action
// identity and authorising approval always give the same key.
func idempotencyKey(c *Case, id actionIdentity, approvalID string) string {
	h := sha256.New()
	for _, s := range [...]string{"warden-response-v1", c.TenantID, c.InvestigationID, id.name, id.target, id.playbook, approvalID} {
		h.Write([]byte(s))
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil))
}

// execute runs one action under its idempotency key. fresh is false when the
// result replays an execution recorded earlier (no executor call, no event).
func (r *Responder) execute(ctx context.Context, c *Case, g graded, approvalID, approvedBy string) (ActionResult, bool, error) {
	key := idempotencyKey(c, g.identity, approvalID)
	release, err := r.claim(ctx, key)
	if err != nil {
		return ActionResult{}, false, err
	}
	defer release()

	prev, found, err := r.executions.ByKey(ctx, key)
	if err != nil {
		return ActionResult{}, false, fmt.Errorf("response: execution store: %w", err)
	}
	if found && prev.Status != ExecutionRunning {
		return resultOf(prev, true), false, nil
	}
	now := r.cfg.now()
	var e Execution
	if found {
		// A running record nobody in this process owns was interrupted by a
		// crash: its outcome is unknown, so it is re-sent under the same key
		// for the executor to dedupe.
		e = prev
		e.Attempts++
		e.StartedAt = now
		if err := r.executions.Update(ctx, e, prev.Version); err != nil {
			return ActionResult{}, false, fmt.Errorf("response: execution store: %w", err)
		}
		e.Version = prev.Version + 1
	} else {
		e = Execution{ExecutionID: r.cfg.newID(), IdempotencyKey: key, InvestigationID: c.InvestigationID,
			TenantID: c.TenantID, AlertID: c.AlertID, Action: g.name, Target: g.action.Target,
			PlaybookID: g.action.PlaybookID, Tier: g.tier, Status: ExecutionRunning, Attempts: 1,
			StartedAt: now, ApprovalID: approvalID, ApprovedBy: approvedBy}
		if err := r.executions.Create(ctx, e); err != nil {
			return ActionResult{}, false, fmt.Errorf("response: execution store: %w", err)
		}
	}

	req := ExecutionRequest{ExecutionID: e.ExecutionID, IdempotencyKey: key, InvestigationID: c.InvestigationID,
		TenantID: c.TenantID, AlertID: c.AlertID, Action: g.name, Target: g.action.Target, Tier: g.tier,
		PlaybookID: g.action.PlaybookID, Rationale: g.action.Rationale, RiskClass: g.spec.Risk, Zone: g.zone,
		Consequence: g.class, ApprovalID: approvalID, ApprovedBy: approvedBy}
	res, execErr := r.callExecutor(ctx, g.spec, req)
	if execErr != nil && ctx.Err() != nil {
		// The caller gave up mid-execution: the outcome is unknown, so the
		// record stays running and a later call re-sends the same key.
		return ActionResult{}, false, ctx.Err()
	}
	finished := r.cfg.now()
	e.FinishedAt = finished
	e.DurationMS = finished.Sub(e.StartedAt).Milliseconds()
	if execErr == nil {
		e.Status = ExecutionSucceeded
		e.Reversible = res.Reversible && g.spec.Reversible
		e.Detail, e.RollbackData = res.Detail, res.RollbackData
	} else {
		e.Status = ExecutionFailed
		e.Error = execErr.Error()
	}
	// The side effect happened (or failed) whatever the caller does now:
	// record it even if ctx is cancelled from here on.
	if err := r.executions.Update(context.WithoutCancel(ctx), e, e.Version); err != nil {
		return ActionResult{}, false, fmt.Errorf("response: execution store: %w", err)
	}
	e.Version++
	r.em.executed(c, g, e)
	return resultOf(e, false), true, nil
}

// claim makes this goroutine the only one in the process executing key; a
// concurrent caller waits for it to finish and then sees its record.
func (r *Responder) claim(ctx context.Context, key string) (release func(), err error) {
	for {
		r.inflightMu.Lock()
		ch, busy := r.inflight[key]
		if !busy {
			ch = make(chan struct{})
			r.inflight[key] = ch
			r.inflightMu.Unlock()
			return func() {
				r.inflightMu.Lock()
				delete(r.inflight, key)
				r.inflightMu.Unlock()
				close(ch)
			}, nil
		}
		r.inflightMu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

func (r *Responder) timeoutFor(spec ActionSpec) time.Duration {
	if spec.Timeout > 0 {
		return spec.Timeout
	}
	return r.cfg.execTimeout
}

func (r *Responder) callExecutor(ctx context.Context, spec ActionSpec, req ExecutionRequest) (res ExecutionResult, err error) {
	if d := r.timeoutFor(spec); d > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, d)
		defer cancel()
	}
	defer func() {
		if p := recover(); p != nil {
			res, err = ExecutionResult{}, fmt.Errorf("executor panic: %v", p)
		}
	}()
	return r.exec.Execute(ctx, req)
}

func resultOf(e Execution, replayed bool) ActionResult {
	res := ActionResult{Action: e.Action, Target: e.Target, Tier: e.Tier, ExecutionID: e.ExecutionID,
		ApprovalID: e.ApprovalID, ApprovedBy: e.ApprovedBy, Replayed: replayed, Timestamp: e.FinishedAt, Error: e.Error}
	switch e.Status {
	case ExecutionSucceeded:
		res.Status = ActionExecuted
	case ExecutionRolledBack:
		res.Status = ActionRolledBack
	default:
		res.Status = ActionFailed
	}
	return res
}

// compensate rolls back, newest first, the executions this Respond call made.
func (r *Responder) compensate(ctx context.Context, rep *Report, executed []int, failed string) {
	by := Actor{Type: taxonomy.ActorAgent, ID: ActorID}
	for i := len(executed) - 1; i >= 0; i-- {
		res := &rep.Results[executed[i]]
		err := r.Rollback(ctx, res.ExecutionID, by, "compensation: "+failed+" failed")
		switch {
		case err == nil:
			res.Status = ActionRolledBack
		case errors.Is(err, ErrNotReversible):
			r.log.Info("response: compensation skipped an irreversible action",
				"execution_id", res.ExecutionID, "action", res.Action)
		default:
			r.log.Warn("response: compensation failed", "execution_id", res.ExecutionID, "error", err)
		}
	}
}

// Rollback undoes a succeeded, reversible execution through the executor's
// Rollbacker. It returns ErrExecutionNotFound, ErrNotRollbackable (not
// succeeded, or already rolled back), ErrNotReversible, or the rollbacker's
// error (the execution is then unchanged and a failed response.rolled_back is
// emitted). by.Type defaults to human.
func (r *Responder) Rollback(ctx context.Context, executionID string, by Actor, reason string) error {
	if strings.TrimSpace(by.ID) == "" {
		return ErrActorRequired
	}
	if by.Type == "" {
		by.Type = taxonomy.ActorHuman
	}
	mu := r.execLocks.of(executionID)
	mu.Lock()
	defer mu.Unlock()
	e, ok, err := r.executions.Get(ctx, executionID)
	if err != nil {
		return fmt.Errorf("response: execution store: %w", err)
	}
	if !ok {
		return ErrExecutionNotFound
	}
	if e.Status != ExecutionSucceeded {
		return fmt.Errorf("%w: execution %s is %s", ErrNotRollbackable, executionID, e.Status)
	}
	if !e.Reversible || r.rollbacker == nil {
		return fmt.Errorf("%w: %s", ErrNotReversible, e.Action)
	}
	spec, known := r.cfg.catalogue[e.Action]
	if !known {
		spec = unknownSpec(e.Action)
	}
	if rbErr := r.callRollbacker(ctx, spec, e); rbErr != nil {
		r.em.rolledBack(e, by, reason, rbErr)
		return fmt.Errorf("response: rollback of %s: %w", executionID, rbErr)
	}
	next := e
	next.Status = ExecutionRolledBack
	next.RolledBackAt = r.cfg.now()
	next.RolledBackBy = by.ID
	next.RollbackReason = reason
	if err := r.executions.Update(context.WithoutCancel(ctx), next, e.Version); err != nil {
		return fmt.Errorf("response: execution store: %w", err)
	}
	r.em.rolledBack(next, by, reason, nil)
	return nil
}

func (r *Responder) callRollbacker(ctx context.Context, spec ActionSpec, e Execution) (err error) {
	if d := r.timeoutFor(spec); d > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, d)
		defer cancel()
	}
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("rollbacker panic: %v", p)
		}
	}()
	return r.rollbacker.Rollback(ctx, e)
}

// Executions returns the execution records of an investigation, in creation
// order.
func (r *Responder) Executions(ctx context.Context, investigationID string) ([]Execution, error) {
	return r.executions.ListByInvestigation(ctx, investigationID)
}
