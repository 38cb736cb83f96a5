package evidence

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"strconv"
	"strings"
	"time"

	"github.com/socwarden/warden/audit"
	"github.com/socwarden/warden/audit/canonical"
	"github.com/socwarden/warden/audit/chain"
)

// DefaultGeneratedBy is the package's generated_by.
const DefaultGeneratedBy = "warden-audit v1.0"

// Feedback is one analyst verdict found in an investigation's records.
type Feedback struct {
	Timestamp string `json:"timestamp"`
	Analyst   string `json:"analyst"`
	Correct   any    `json:"correct"` // bool, or nil when not given
	Rating    any    `json:"rating"`  // integer, or nil when not given
	Comment   string `json:"comment"`
}

// Package is the evidence package of one investigation, with the
// reference's JSON keys. Its JSON form is canonical, and PackageHash is the
// SHA-256 of that form without package_hash.
type Package struct {
	PackageID               string             `json:"package_id"`
	InvestigationID         string             `json:"investigation_id"`
	TenantID                string             `json:"tenant_id"`
	GeneratedAt             string             `json:"generated_at"`
	GeneratedBy             string             `json:"generated_by"`
	SourceAlert             canonical.Object   `json:"source_alert"`
	RawAlertPayload         canonical.Object   `json:"raw_alert_payload"`
	Events                  []canonical.Object `json:"events"`
	StateTransitions        []canonical.Object `json:"state_transitions"`
	RetrievalContext        []canonical.Object `json:"retrieval_context"`
	LLMInteractions         []canonical.Object `json:"llm_interactions"`
	FinalClassification     string             `json:"final_classification"`
	FinalConfidence         float64            `json:"final_confidence"`
	FinalSeverity           string             `json:"final_severity"`
	ReasoningChain          []string           `json:"reasoning_chain"`
	TechniquesMapped        []string           `json:"techniques_mapped"`
	ActionsRecommended      []string           `json:"actions_recommended"`
	ActionsExecuted         []canonical.Object `json:"actions_executed"`
	ActionsPending          []canonical.Object `json:"actions_pending"`
	Approvals               []canonical.Object `json:"approvals"`
	AnalystFeedback         []Feedback         `json:"analyst_feedback"`
	ChainVerified           bool               `json:"chain_verified"`
	ChainVerificationErrors []string           `json:"chain_verification_errors"`
	PackageHash             string             `json:"package_hash"`
}

func objects(list []canonical.Object) []any {
	out := make([]any, len(list))
	for i, o := range list {
		out[i] = o
	}
	return out
}

func strs(list []string) []any {
	out := make([]any, len(list))
	for i, s := range list {
		out[i] = s
	}
	return out
}

// object is the package in the value model of audit/canonical.
func (p *Package) object() canonical.Object {
	fb := make([]any, len(p.AnalystFeedback))
	for i, f := range p.AnalystFeedback {
		fb[i] = canonical.Object{"timestamp": f.Timestamp, "analyst": f.Analyst, "correct": f.Correct,
			"rating": f.Rating, "comment": f.Comment}
	}
	orEmpty := func(o canonical.Object) canonical.Object {
		if o == nil {
			return canonical.Object{}
		}
		return o
	}
	return canonical.Object{
		"package_id": p.PackageID, "investigation_id": p.InvestigationID, "tenant_id": p.TenantID,
		"generated_at": p.GeneratedAt, "generated_by": p.GeneratedBy,
		"source_alert": orEmpty(p.SourceAlert), "raw_alert_payload": orEmpty(p.RawAlertPayload),
		"events": objects(p.Events), "state_transitions": objects(p.StateTransitions),
		"retrieval_context": objects(p.RetrievalContext), "llm_interactions": objects(p.LLMInteractions),
		"final_classification": p.FinalClassification, "final_confidence": p.FinalConfidence,
		"final_severity": p.FinalSeverity, "reasoning_chain": strs(p.ReasoningChain),
		"techniques_mapped": strs(p.TechniquesMapped), "actions_recommended": strs(p.ActionsRecommended),
		"actions_executed": objects(p.ActionsExecuted), "actions_pending": objects(p.ActionsPending),
		"approvals": objects(p.Approvals), "analyst_feedback": fb,
		"chain_verified": p.ChainVerified, "chain_verification_errors": strs(p.ChainVerificationErrors),
		"package_hash": p.PackageHash,
	}
}

// ComputeHash returns the SHA-256 of the package's canonical form without
// package_hash.
func (p *Package) ComputeHash() (string, error) {
	obj := p.object()
	delete(obj, "package_hash")
	b, err := canonical.Marshal(obj)
	if err != nil {
		return "", fmt.Errorf("evidence: hashing package: %w", err)
	}
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:]), nil
}

// MarshalJSON writes the canonical form, so that the bytes delivered
// re-hash to package_hash.
func (p *Package) MarshalJSON() ([]byte, error) { return canonical.Marshal(p.object()) }

// PackageBuilder builds evidence packages from a chain.Store.
type PackageBuilder struct {
	store chain.Store
	cfg   packageConfig
}

type packageConfig struct {
	clock       func() time.Time
	newID       func(time.Time) string
	generatedBy string
	evidence    *Store
	verifyOpts  []chain.VerifyOption
	logger      *slog.Logger
	errs        []error
}

// PackageOption configures a PackageBuilder.
type PackageOption func(*packageConfig)

// WithPackageClock sets the clock for generated_at and the package id. This
// overrides the default of time.Now.
func WithPackageClock(now func() time.Time) PackageOption {
	return func(c *packageConfig) {
		if now == nil {
			c.errs = append(c.errs, fmt.Errorf("%w: nil clock", ErrInvalidConfig))
			return
		}
		c.clock = now
	}
}

// WithPackageIDFunc sets how package ids are made. This overrides the
// default of audit.NewIDAt (a UUIDv7).
func WithPackageIDFunc(f func(time.Time) string) PackageOption {
	return func(c *packageConfig) {
		if f == nil {
			c.errs = append(c.errs, fmt.Errorf("%w: nil id function", ErrInvalidConfig))
			return
		}
		c.newID = f
	}
}

// WithGeneratedBy sets generated_by. This overrides the default of
// "warden-audit v1.0".
func WithGeneratedBy(s string) PackageOption { return func(c *packageConfig) { c.generatedBy = s } }

// WithEvidence sets the evidence store that Build(includeRaw=true) fetches
// raw evidence from. By default none, and includeRaw attaches nothing.
func WithEvidence(s *Store) PackageOption { return func(c *packageConfig) { c.evidence = s } }

// WithVerifyOptions passes options (e.g. chain.WithPublicKeys for the
// store's checkpoints) to the chain verification.
func WithVerifyOptions(opts ...chain.VerifyOption) PackageOption {
	return func(c *packageConfig) { c.verifyOpts = append(c.verifyOpts, opts...) }
}

// WithPackageLogger sets the logger for skipped raw evidence. This
// overrides the default of slog.Default().
func WithPackageLogger(l *slog.Logger) PackageOption {
	return func(c *packageConfig) {
		if l != nil {
			c.logger = l
		}
	}
}

// NewPackageBuilder returns a builder over store.
func NewPackageBuilder(store chain.Store, opts ...PackageOption) (*PackageBuilder, error) {
	cfg := packageConfig{clock: time.Now, newID: audit.NewIDAt, generatedBy: DefaultGeneratedBy, logger: slog.Default()}
	for _, o := range opts {
		if o != nil {
			o(&cfg)
		}
	}
	if store == nil {
		cfg.errs = append(cfg.errs, fmt.Errorf("%w: nil chain store", ErrInvalidConfig))
	}
	if err := errors.Join(cfg.errs...); err != nil {
		return nil, err
	}
	return &PackageBuilder{store: store, cfg: cfg}, nil
}

func str(o canonical.Object, k string) string { s, _ := o[k].(string); return s }

func sub(o canonical.Object, k string) canonical.Object { m, _ := o[k].(canonical.Object); return m }

func seqOf(o canonical.Object) (int64, bool) {
	n, ok := o[chain.KeySequenceNumber].(json.Number)
	if !ok {
		return 0, false
	}
	v, err := strconv.ParseInt(string(n), 10, 64)
	return v, err == nil
}

// appendUnique appends the strings of list (a JSON array) not yet in out.
func appendUnique(out []string, seen map[string]bool, list any) []string {
	arr, _ := list.([]any)
	for _, v := range arr {
		if s, ok := v.(string); ok && !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}

// Build assembles the evidence package of one investigation. Errors are
// store failures; an investigation with no records yields an empty package
// with chain_verified true.
func (b *PackageBuilder) Build(ctx context.Context, tenantID, investigationID string, includeRaw bool) (*Package, error) {
	events, err := b.store.ByInvestigation(ctx, tenantID, investigationID)
	if err != nil {
		return nil, fmt.Errorf("evidence: loading records: %w", err)
	}
	now := b.cfg.clock()
	p := &Package{
		PackageID: b.cfg.newID(now), InvestigationID: investigationID, TenantID: tenantID,
		GeneratedAt: audit.FormatTimestamp(now), GeneratedBy: b.cfg.generatedBy,
		SourceAlert: canonical.Object{}, RawAlertPayload: canonical.Object{},
		Events: events, StateTransitions: []canonical.Object{}, RetrievalContext: []canonical.Object{},
		LLMInteractions: []canonical.Object{}, ReasoningChain: []string{}, TechniquesMapped: []string{},
		ActionsRecommended: []string{}, ActionsExecuted: []canonical.Object{}, ActionsPending: []canonical.Object{},
		Approvals: []canonical.Object{}, AnalystFeedback: []Feedback{}, ChainVerificationErrors: []string{},
	}
	if p.Events == nil {
		p.Events = []canonical.Object{}
	}
	b.categorise(p)
	b.verify(ctx, p)
	if includeRaw && b.cfg.evidence != nil {
		b.attachRaw(ctx, p)
	}
	if p.PackageHash, err = p.ComputeHash(); err != nil {
		return nil, err
	}
	return p, nil
}

// categorise fills the sections from the events (spec §3.8 steps 2-5).
func (b *PackageBuilder) categorise(p *Package) {
	var lastClassified canonical.Object
	techSeen, recSeen := map[string]bool{}, map[string]bool{}
	for _, ev := range p.Events {
		typ := str(ev, "event_type")
		ctx, dec, out := sub(ev, "context"), sub(ev, "decision"), sub(ev, "outcome")
		switch {
		case strings.HasPrefix(typ, "investigation."):
			p.StateTransitions = append(p.StateTransitions, ev)
		case strings.HasPrefix(typ, "response."):
			switch str(out, audit.KeyOutcomeStatus) {
			case "success":
				p.ActionsExecuted = append(p.ActionsExecuted, ev)
			case "pending_approval":
				p.ActionsPending = append(p.ActionsPending, ev)
			}
		case strings.HasPrefix(typ, "approval."):
			p.Approvals = append(p.Approvals, ev)
		}
		if ctx != nil {
			if c, err := canonical.Marshal(ctx); err == nil && strings.Contains(string(c), "llm_") {
				p.LLMInteractions = append(p.LLMInteractions, ev)
			}
			if arr, _ := ctx[audit.KeyRetrievalStoresQueried].([]any); len(arr) > 0 {
				p.RetrievalContext = append(p.RetrievalContext, ev)
			}
			p.TechniquesMapped = appendUnique(p.TechniquesMapped, techSeen, ctx[audit.KeyTechniquesValidated])
		}
		if typ == "alert.classified" && dec != nil {
			lastClassified = dec
		}
		if dec != nil {
			if r := str(dec, audit.KeyReasoningSummary); r != "" {
				p.ReasoningChain = append(p.ReasoningChain, r)
			}
			p.ActionsRecommended = appendUnique(p.ActionsRecommended, recSeen, dec[audit.KeyRecommendedActions])
		}
		if fb, ok := feedback(ev, out); ok {
			p.AnalystFeedback = append(p.AnalystFeedback, fb)
		}
		if id := str(ev, "alert_id"); id != "" && len(p.SourceAlert) == 0 {
			p.SourceAlert = canonical.Object{"alert_id": id, "entity_ids": ev["entity_ids"]}
			if p.SourceAlert["entity_ids"] == nil {
				p.SourceAlert["entity_ids"] = []any{}
			}
		}
	}
	if lastClassified != nil {
		p.FinalClassification = str(lastClassified, audit.KeyClassification)
		p.FinalSeverity = str(lastClassified, audit.KeySeverityAssigned)
		if n, ok := lastClassified[audit.KeyConfidence].(json.Number); ok {
			if f, err := n.Float64(); err == nil {
				p.FinalConfidence = f
			}
		}
	}
}

// feedback extracts an analyst verdict from an event's outcome.
func feedback(ev, out canonical.Object) (Feedback, bool) {
	if out == nil {
		return Feedback{}, false
	}
	has := false
	for k, v := range out {
		if strings.HasPrefix(k, "analyst_feedback_") && v != nil && v != "" {
			has = true
			break
		}
	}
	if !has {
		return Feedback{}, false
	}
	fb := Feedback{Timestamp: str(out, audit.KeyAnalystFeedbackTimestamp), Analyst: str(ev, "actor_id"),
		Comment: str(out, audit.KeyAnalystFeedbackComment)}
	if fb.Timestamp == "" {
		fb.Timestamp = str(ev, "timestamp")
	}
	if c, ok := out[audit.KeyAnalystFeedbackCorrect].(bool); ok {
		fb.Correct = c
	}
	if r, ok := out[audit.KeyAnalystFeedbackRating].(json.Number); ok {
		fb.Rating = r
	}
	return fb, true
}

// verify checks every event's own hash and the tenant's chain segment from
// the smallest to the largest sequence among them (step 6).
func (b *PackageBuilder) verify(ctx context.Context, p *Package) {
	if len(p.Events) == 0 {
		p.ChainVerified = true
		return
	}
	ok := true
	var lo, hi int64
	have := false
	for _, ev := range p.Events {
		seq, hasSeq := seqOf(ev)
		seqText := "missing"
		if hasSeq {
			seqText = strconv.FormatInt(seq, 10)
			if !have || seq < lo {
				lo = seq
			}
			if !have || seq > hi {
				hi = seq
			}
			have = true
		}
		h, err := chain.Hash(ev)
		if err != nil || h != str(ev, chain.KeyRecordHash) {
			ok = false
			p.ChainVerificationErrors = append(p.ChainVerificationErrors, "Record seq="+seqText+": hash mismatch")
		}
	}
	if !have {
		p.ChainVerificationErrors = append(p.ChainVerificationErrors, "no record has a sequence_number")
		p.ChainVerified = false
		return
	}
	segment, err := b.store.Range(ctx, p.TenantID, lo, hi)
	if err != nil {
		p.ChainVerificationErrors = append(p.ChainVerificationErrors, "segment read failed: "+err.Error())
		p.ChainVerified = false
		return
	}
	opts := b.cfg.verifyOpts
	if cs, isCS := b.store.(chain.CheckpointStore); isCS {
		if cps, err := cs.Checkpoints(ctx, p.TenantID); err == nil {
			var in []chain.Checkpoint
			for _, cp := range cps {
				if cp.Sequence >= lo && cp.Sequence <= hi {
					in = append(in, cp)
				}
			}
			opts = append(opts[:len(opts):len(opts)], chain.WithCheckpoints(in...))
		}
	}
	res := chain.Verify(segment, opts...)
	if n := int64(len(segment)); n != hi-lo+1 {
		ok = false
		p.ChainVerificationErrors = append(p.ChainVerificationErrors,
			fmt.Sprintf("segment %d..%d has %d records, want %d", lo, hi, n, hi-lo+1))
	}
	for _, e := range res.Errors {
		p.ChainVerificationErrors = append(p.ChainVerificationErrors, e.Error())
	}
	p.ChainVerified = ok && res.Valid
}

// attachRaw puts raw_evidence on copies of the LLM interactions (step 7).
func (b *PackageBuilder) attachRaw(ctx context.Context, p *Package) {
	for i, ev := range p.LLMInteractions {
		refs, _ := sub(ev, "context")[audit.KeyEvidenceRefs].([]any)
		raw := canonical.Object{}
		for _, r := range refs {
			uri, ok := r.(string)
			if !ok {
				continue
			}
			body, err := b.cfg.evidence.Get(ctx, uri)
			if err != nil {
				b.cfg.logger.Warn("evidence: raw evidence skipped", "uri", uri, "error", err)
				continue
			}
			raw[uri] = strings.ToValidUTF8(string(body), "\uFFFD")
		}
		c := maps.Clone(ev)
		c["raw_evidence"] = raw
		p.LLMInteractions[i] = c
	}
	// The raw alert, when an event references one.
	for _, ev := range p.Events {
		refs, _ := sub(ev, "context")[audit.KeyEvidenceRefs].([]any)
		for _, r := range refs {
			uri, _ := r.(string)
			if !strings.HasSuffix(uri, "/"+string(RawAlert)+".json") {
				continue
			}
			body, err := b.cfg.evidence.Get(ctx, uri)
			if err != nil {
				continue
			}
			if obj, err := canonical.DecodeObject(body); err == nil {
				p.RawAlertPayload = obj
				return
			}
		}
	}
}
