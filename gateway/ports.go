package gateway

import (
	"context"

	"github.com/socwarden/warden/audit/evidence"
	"github.com/socwarden/warden/router"
)

// LLMClient performs exactly one attempt of a call; the gateway owns retries.
// Clients return *ProviderError for HTTP-level failures, wrap ErrTransport
// around connection-level failures and ErrMalformedResponse around answers
// they cannot parse.
type LLMClient interface {
	Provider() Provider
	Complete(ctx context.Context, req LLMRequest) (LLMResponse, error)
}

// DefaultModeler is implemented by clients that know which model they call
// when LLMRequest.Model is empty; the gateway uses it to price the spend
// reservation and the audit record of such calls.
type DefaultModeler interface {
	DefaultModel() string
}

// SpendGuard is the spend port: reserve the worst-case cost before the call,
// settle the real cost after it, release the reservation when the call
// failed. *router.SpendGuard implements it; its refusals
// (*router.SpendLimitError, matching router.ErrSpendLimitExceeded) are
// returned from Complete unchanged, and it emits the spend.* events itself.
type SpendGuard interface {
	Reserve(ctx context.Context, req router.SpendRequest) (router.Reservation, error)
	Settle(ctx context.Context, res router.Reservation, costUSD float64) error
	Release(res router.Reservation)
}

// Router picks the model of a call. *router.Router implements it.
type Router interface {
	Route(ctx context.Context, tc router.TaskContext) (router.Decision, error)
}

// HealthReporter receives each attempt's provider verdict.
// *router.HealthRegistry implements it.
type HealthReporter interface {
	RecordSuccess(p Provider)
	RecordFailure(p Provider)
}

// ProbeReleaser is the optional part of a HealthReporter that gives back a
// half-open probe admission (router.Decision.HealthProbe) when the admitted
// call ends without a health verdict (not made, or failed for a reason that
// says nothing about the provider). *router.HealthRegistry implements it.
type ProbeReleaser interface {
	ReleaseProbe(p Provider)
}

// Judge is an optional second-opinion injection classifier (usually a cheap
// model). It can escalate the regex verdict, never de-escalate it.
type Judge func(ctx context.Context, system, prompt string) (string, error)

// TechniqueCatalog is the allow-list of technique ids output may carry.
type TechniqueCatalog interface {
	Contains(id string) bool
	Len() int
	Versions() (attack, atlas string)
}

// EvidenceKind names what an evidence object holds. It is audit/evidence's
// Type, so the port and the store share one vocabulary.
type EvidenceKind = evidence.Type

// The evidence kinds the gateway stores.
const (
	EvidenceLLMPrompt   EvidenceKind = evidence.LLMPrompt
	EvidenceLLMResponse EvidenceKind = evidence.LLMResponse
)

// EvidenceRef locates a stored evidence object: the lower-case hex SHA-256
// of the content and its URI. It is audit/evidence's Ref.
type EvidenceRef = evidence.Ref

// EvidenceStore keeps full prompts and responses out of audit records: the
// record carries only their URIs (evidence_refs) and hashes. The content
// stored is pseudonymised (no real PII values). A failing store never fails
// a call (the error is logged and the record carries no ref).
//
// *evidence.Store (package audit/evidence) implements it, so a host passes
// its evidence store as is: WithEvidenceStore(store).
type EvidenceStore interface {
	Put(ctx context.Context, tenantID, auditID string, kind EvidenceKind, content []byte) (EvidenceRef, error)
}

var _ EvidenceStore = (*evidence.Store)(nil)

// EvidenceFunc adapts a function to EvidenceStore (for example a store that
// also indexes what it keeps, or a test double).
type EvidenceFunc func(ctx context.Context, tenantID, auditID string, kind EvidenceKind, content []byte) (EvidenceRef, error)

// Put calls f.
func (f EvidenceFunc) Put(ctx context.Context, tenantID, auditID string, kind EvidenceKind, content []byte) (EvidenceRef, error) {
	return f(ctx, tenantID, auditID, kind, content)
}

// Compile-time checks that router's components satisfy the ports.
var (
	_ SpendGuard     = (*router.SpendGuard)(nil)
	_ Router         = (*router.Router)(nil)
	_ HealthReporter = (*router.HealthRegistry)(nil)
	_ ProbeReleaser  = (*router.HealthRegistry)(nil)
)
