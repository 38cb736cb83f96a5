package response

import (
	"context"
	"log/slog"
	"time"

	"github.com/socwarden/warden/audit"
)

// Defaults the options override.
const (
	// DefaultExecutionTimeout bounds one Execute or Rollback call.
	DefaultExecutionTimeout = 30 * time.Second
	// DefaultMaxEscalations is how many times a critical/high timeout
	// re-routes an approval before leaving it open.
	DefaultMaxEscalations = 1
	// DefaultBaseRole is the role an approval requires before escalation.
	DefaultBaseRole = RoleSeniorAnalyst
	// DefaultEscalatedRole is the role it requires after a re-route.
	DefaultEscalatedRole = RoleAdmin
)

// Option configures New.
type Option func(*config)

// config is filled by the options and read once by New; the Responder keeps
// its own copy and never writes it afterwards.
type config struct {
	producer         audit.Producer
	logger           *slog.Logger
	now              func() time.Time
	newID            func() string
	constraints      Constraints
	catalogue        map[string]ActionSpec
	zoneTable        map[string]ZoneConsequence
	zoneResolver     ZoneResolver
	playbooks        PlaybookStore
	approvals        ApprovalStore
	executions       ExecutionStore
	timeouts         map[string]int
	timeoutOverrides TimeoutOverrides
	baseRole         Role
	escalatedRole    Role
	assigner         func(ctx context.Context, a Approval) string
	maxEscalations   int
	roleCheck        bool
	execTimeout      time.Duration
	rollbackOnFail   bool
	approver         Approver
}

// WithAuditProducer sets the producer every event goes through. The default
// is none: no events, identical behaviour.
func WithAuditProducer(p audit.Producer) Option { return func(c *config) { c.producer = p } }

// WithLogger sets the logger for store, port and emission problems. The
// default discards.
func WithLogger(l *slog.Logger) Option { return func(c *config) { c.logger = l } }

// WithClock sets the clock used for every timestamp, deadline and latency.
// This overrides the default of time.Now.
func WithClock(now func() time.Time) Option { return func(c *config) { c.now = now } }

// WithIDGenerator sets the generator of approval and execution ids. This
// overrides the default of random UUIDv4s.
func WithIDGenerator(f func() string) Option { return func(c *config) { c.newID = f } }

// WithConstraints sets the executor constraints. This overrides the zero
// Constraints (the safe defaults).
func WithConstraints(cons Constraints) Option { return func(c *config) { c.constraints = cons } }

// WithCatalogue replaces the action catalogue; keys are normalised action
// names. Start from DefaultCatalogue() to extend it. This overrides the
// default of DefaultCatalogue().
func WithCatalogue(specs map[string]ActionSpec) Option {
	return func(c *config) { c.catalogue = cloneCatalogue(specs) }
}

// WithZoneTable replaces the zone table. Start from DefaultZoneTable() to
// extend it. This overrides the default of the shared internal/zone table.
func WithZoneTable(t map[string]ZoneConsequence) Option {
	return func(c *config) {
		c.zoneTable = make(map[string]ZoneConsequence, len(t))
		for k, v := range t {
			c.zoneTable[k] = v
		}
	}
}

// WithZoneResolver sets the resolver of target zones. The default is none:
// the case's AssetZones are used.
func WithZoneResolver(z ZoneResolver) Option { return func(c *config) { c.zoneResolver = z } }

// WithPlaybooks sets the playbook store Respond queries. The default is
// none: no playbook selection.
func WithPlaybooks(s PlaybookStore) Option { return func(c *config) { c.playbooks = s } }

// WithApprovalStore sets the approval store, e.g. OpenFileApprovals for a
// restart-proof gate. This overrides the default of NewMemoryApprovals().
func WithApprovalStore(s ApprovalStore) Option { return func(c *config) { c.approvals = s } }

// WithExecutionStore sets the execution store, e.g. OpenFileExecutions for
// restart-proof idempotency. This overrides the default of
// NewMemoryExecutions().
func WithExecutionStore(s ExecutionStore) Option { return func(c *config) { c.executions = s } }

// WithTimeouts sets a fixed table of approval windows (severity → hours).
// This overrides the default of DefaultTimeoutHours() for the severities it
// names; a TimeoutOverrides port, when set and working, takes precedence.
func WithTimeouts(hoursBySeverity map[string]int) Option {
	return func(c *config) {
		c.timeouts = make(map[string]int, len(hoursBySeverity))
		for k, v := range hoursBySeverity {
			c.timeouts[normSeverity(k)] = v
		}
	}
}

// WithTimeoutOverrides sets the per-tenant approval-window port. The default
// is none.
func WithTimeoutOverrides(t TimeoutOverrides) Option {
	return func(c *config) { c.timeoutOverrides = t }
}

// WithApproverRoles sets the role an approval requires before and after
// escalation. This overrides the defaults of senior_analyst and admin.
func WithApproverRoles(base, escalated Role) Option {
	return func(c *config) { c.baseRole, c.escalatedRole = base, escalated }
}

// WithAssigner names a specific reviewer for an approval (stored in
// AssignedTo); it is called when the gate opens and again on a re-route,
// while the approval is locked, so it must not call back into the
// Responder. The default is none: approvals go to a role.
func WithAssigner(f func(ctx context.Context, a Approval) string) Option {
	return func(c *config) { c.assigner = f }
}

// WithMaxEscalations sets how many timeout re-routes a critical/high
// approval gets (n ≥ 0). This overrides the default of 1.
func WithMaxEscalations(n int) Option { return func(c *config) { c.maxEscalations = n } }

// WithoutRoleCheck lets any approver decide any approval, for hosts that
// authorise reviewers themselves. The default checks roles.
func WithoutRoleCheck() Option { return func(c *config) { c.roleCheck = false } }

// WithExecutionTimeout bounds each Execute and Rollback call (an action's
// ActionSpec.Timeout takes precedence); d ≤ 0 means no bound. This overrides
// the default of 30 s.
func WithExecutionTimeout(d time.Duration) Option { return func(c *config) { c.execTimeout = d } }

// WithRollbackOnFailure makes a failed execution roll back, in reverse
// order, every action the same Respond call executed, and skip the rest.
// The default is off: later actions still run.
func WithRollbackOnFailure(on bool) Option { return func(c *config) { c.rollbackOnFail = on } }

// WithApprover sets the reviewer port called when a gate opens or is
// re-routed (see Approver and AutoGrantBelow). The default is none: gates
// wait for Resolve or Decide.
func WithApprover(a Approver) Option { return func(c *config) { c.approver = a } }
