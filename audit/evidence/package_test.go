package evidence_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/socwarden/warden/audit"
	"github.com/socwarden/warden/audit/canonical"
	"github.com/socwarden/warden/audit/chain"
	"github.com/socwarden/warden/audit/evidence"
	"github.com/socwarden/warden/taxonomy"
)

// chained emits events through a real Emitter into a Chainer over a
// MemoryStore, so the records are exactly what production stores.
type chained struct {
	t     *testing.T
	store *chain.MemoryStore
	em    *audit.Emitter
	now   time.Time
}

func newChained(t *testing.T) *chained {
	c := &chained{t: t, store: chain.NewMemoryStore(), now: time.Date(2026, 1, 10, 8, 0, 0, 0, time.UTC)}
	clock := func() time.Time { return c.now }
	ch, err := chain.New(c.store, chain.WithClock(clock), chain.WithLogger(quiet))
	require.NoError(t, err)
	c.em, err = audit.New(ch, audit.WithClock(clock), audit.WithLogger(quiet), audit.WithProducerID("p1"))
	require.NoError(t, err)
	return c
}

// emit sends one event and waits until it is chained, so clock changes
// between events are seen in order.
func (c *chained) emit(ev audit.Event) {
	c.t.Helper()
	if ev.TenantID == "" {
		ev.TenantID = "t1"
	}
	if ev.ActorType == "" {
		ev.ActorType, ev.ActorID = taxonomy.ActorAgent, "orchestrator"
	}
	_, ok := c.em.Emit(ev)
	require.True(c.t, ok)
	require.NoError(c.t, c.em.Flush(context.Background()))
	c.now = c.now.Add(time.Second)
}

func (c *chained) close() { require.NoError(c.t, c.em.Close(context.Background())) }

func investigation(c *chained, inv string, refs []string) {
	c.emit(audit.Event{Type: taxonomy.InvestigationStateChanged, InvestigationID: inv, AlertID: "alert-9",
		EntityIDs: []string{"ip:10.0.0.1"}, Context: audit.Fields{"from_state": "new", "to_state": "triage"}})
	c.emit(audit.Event{Type: taxonomy.AlertClassified, InvestigationID: inv, Decision: audit.Fields{
		audit.KeyClassification: "false_positive", audit.KeyConfidence: 0.4, audit.KeySeverityAssigned: "low",
		audit.KeyReasoningSummary: "First look.", audit.KeyRecommendedActions: []string{"monitor"}}})
	c.emit(audit.Event{Type: taxonomy.RoutingTierSelected, InvestigationID: inv,
		Context: audit.LLMContext(audit.LLMCall{Provider: "anthropic", ModelID: "m", Tier: taxonomy.Tier1}).
			With(audit.Fields{audit.KeyEvidenceRefs: refs})})
	c.emit(audit.Event{Type: taxonomy.InvestigationEnriched, InvestigationID: inv, Context: audit.Fields{
		audit.KeyRetrievalStoresQueried: []string{"incidents"}, audit.KeyTechniquesValidated: []string{"T1059", "T1566"}}})
	c.emit(audit.Event{Type: taxonomy.AlertClassified, InvestigationID: inv, Decision: audit.Fields{
		audit.KeyClassification: "true_positive", audit.KeyConfidence: 0.92, audit.KeySeverityAssigned: "high",
		audit.KeyReasoningSummary: "Beaconing to a known C2.", audit.KeyRecommendedActions: []string{"isolate_host", "monitor"}},
		Context: audit.Fields{audit.KeyTechniquesValidated: []string{"T1566", "T1071"}}})
	c.emit(audit.Event{Type: taxonomy.ApprovalRequested, InvestigationID: inv})
	c.emit(audit.Event{Type: taxonomy.ApprovalGranted, InvestigationID: inv, ActorType: taxonomy.ActorHuman, ActorID: "alice"})
	c.emit(audit.Event{Type: taxonomy.ResponseExecuted, InvestigationID: inv, Outcome: audit.Fields{audit.KeyOutcomeStatus: "success"}})
	c.emit(audit.Event{Type: taxonomy.ResponsePrepared, InvestigationID: inv, Outcome: audit.Fields{audit.KeyOutcomeStatus: "pending_approval"}})
	c.emit(audit.Event{Type: taxonomy.AlertClassified, InvestigationID: inv, ActorType: taxonomy.ActorHuman, ActorID: "bob",
		Outcome: audit.Fields{audit.KeyAnalystFeedbackCorrect: true, audit.KeyAnalystFeedbackRating: 4,
			audit.KeyAnalystFeedbackComment: "good call"}})
}

func newBuilder(t *testing.T, s chain.Store, opts ...evidence.PackageOption) *evidence.PackageBuilder {
	t.Helper()
	b, err := evidence.NewPackageBuilder(s, append([]evidence.PackageOption{
		evidence.WithPackageClock(func() time.Time { return time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC) }),
		evidence.WithPackageLogger(quiet)}, opts...)...)
	require.NoError(t, err)
	return b
}

func types(list []canonical.Object) []string {
	out := make([]string, len(list))
	for i, o := range list {
		out[i] = o["event_type"].(string)
	}
	return out
}

// Checklist 74: sections, the final decision from the last
// alert.classified, Warden's additions, and a re-computable package_hash.
func TestPackageBuild(t *testing.T) {
	c := newChained(t)
	investigation(c, "inv-1", nil)
	c.close()
	p, err := newBuilder(t, c.store).Build(context.Background(), "t1", "inv-1", false)
	require.NoError(t, err)
	assert.Len(t, p.Events, 10)
	assert.Equal(t, []string{"investigation.state_changed", "investigation.enriched"}, types(p.StateTransitions))
	assert.Equal(t, []string{"approval.requested", "approval.granted"}, types(p.Approvals))
	assert.Equal(t, []string{"response.executed"}, types(p.ActionsExecuted))
	assert.Equal(t, []string{"response.prepared"}, types(p.ActionsPending))
	assert.Equal(t, []string{"routing.tier_selected"}, types(p.LLMInteractions))
	assert.Equal(t, []string{"investigation.enriched"}, types(p.RetrievalContext))
	assert.Equal(t, "true_positive", p.FinalClassification, "the last alert.classified with a decision")
	assert.Equal(t, 0.92, p.FinalConfidence)
	assert.Equal(t, "high", p.FinalSeverity)
	assert.Equal(t, []string{"First look.", "Beaconing to a known C2."}, p.ReasoningChain)
	assert.Equal(t, []string{"T1059", "T1566", "T1071"}, p.TechniquesMapped)
	assert.Equal(t, []string{"monitor", "isolate_host"}, p.ActionsRecommended)
	require.Len(t, p.AnalystFeedback, 1)
	fb := p.AnalystFeedback[0]
	assert.Equal(t, "bob", fb.Analyst)
	assert.Equal(t, true, fb.Correct)
	assert.Equal(t, json.Number("4"), fb.Rating)
	assert.Equal(t, "good call", fb.Comment)
	assert.Equal(t, "2026-01-10T08:00:09.000Z", fb.Timestamp)
	assert.Equal(t, canonical.Object{"alert_id": "alert-9", "entity_ids": []any{"ip:10.0.0.1"}}, p.SourceAlert)
	assert.True(t, p.ChainVerified, "%v", p.ChainVerificationErrors)
	assert.Equal(t, "warden-audit v1.0", p.GeneratedBy)
	assert.Equal(t, "2026-02-01T00:00:00.000Z", p.GeneratedAt)
	assert.Regexp(t, `^[0-9a-f]{64}$`, p.PackageHash)
	h, err := p.ComputeHash()
	require.NoError(t, err)
	assert.Equal(t, p.PackageHash, h)

	// The delivered JSON is canonical and re-hashes to package_hash.
	b, err := json.Marshal(p)
	require.NoError(t, err)
	obj, err := canonical.DecodeObject(b)
	require.NoError(t, err)
	assert.Equal(t, p.PackageHash, obj["package_hash"])
	delete(obj, "package_hash")
	rb, _ := canonical.Marshal(obj)
	assert.Equal(t, p.PackageHash, hashOf(string(rb)))
	assert.Equal(t, json.Number("0.92"), obj["final_confidence"])
	for _, k := range []string{"package_id", "investigation_id", "tenant_id", "generated_at", "generated_by",
		"source_alert", "raw_alert_payload", "events", "state_transitions", "retrieval_context", "llm_interactions",
		"final_classification", "final_severity", "reasoning_chain", "techniques_mapped", "actions_recommended",
		"actions_executed", "actions_pending", "approvals", "analyst_feedback", "chain_verified",
		"chain_verification_errors"} {
		assert.Contains(t, obj, k)
	}
	// A change to the package changes its hash.
	p.FinalSeverity = "low"
	h2, _ := p.ComputeHash()
	assert.NotEqual(t, p.PackageHash, h2)
}

// Checklist 75: interleaved investigations verify; the whole segment is
// checked, so a tampered record of the other investigation inside it fails
// the package.
func TestPackageInterleavedSegment(t *testing.T) {
	c := newChained(t)
	for i := range 4 {
		for _, inv := range []string{"inv-a", "inv-b"} {
			c.emit(audit.Event{Type: taxonomy.InvestigationStateChanged, InvestigationID: inv, Context: audit.Fields{"i": i}})
		}
	}
	c.close()
	b := newBuilder(t, c.store)
	p, err := b.Build(context.Background(), "t1", "inv-a", false)
	require.NoError(t, err)
	assert.Len(t, p.Events, 4)
	assert.True(t, p.ChainVerified, "%v", p.ChainVerificationErrors)

	tampered := tamperStore{MemoryStore: c.store, seq: 4} // an inv-b record between inv-a's
	p, err = newBuilder(t, tampered).Build(context.Background(), "t1", "inv-a", false)
	require.NoError(t, err)
	assert.False(t, p.ChainVerified)
	assert.Contains(t, p.ChainVerificationErrors[0], "Record seq=4: hash mismatch")
}

type tamperStore struct {
	*chain.MemoryStore
	seq int64
}

func (ts tamperStore) Range(ctx context.Context, tenant string, from, to int64) ([]canonical.Object, error) {
	recs, err := ts.MemoryStore.Range(ctx, tenant, from, to)
	for _, r := range recs {
		if r["sequence_number"] == json.Number(jsonInt(ts.seq)) {
			r["severity"] = "critical"
		}
	}
	return recs, err
}

func jsonInt(n int64) string { b, _ := json.Marshal(n); return string(b) }

// Checklist 76: raw evidence lands on copies of the LLM interactions after
// verification; the records and the chain are untouched.
func TestPackageIncludeRaw(t *testing.T) {
	ctx := context.Background()
	objs := evidence.NewMemoryObjects()
	es := newStore(t, objs)
	prompt, err := es.PutString(ctx, "t1", "a1", evidence.LLMPrompt, "the prompt")
	require.NoError(t, err)
	response, err := es.Put(ctx, "t1", "a1", evidence.LLMResponse, []byte("bad \xff byte"))
	require.NoError(t, err)
	alert, err := es.PutString(ctx, "t1", "a1", evidence.RawAlert, `{"AlertName":"Beacon"}`)
	require.NoError(t, err)
	c := newChained(t)
	investigation(c, "inv-1", append(evidence.Refs(prompt, response, alert), "s3://warden-evidence/t1/missing.json"))
	c.close()

	b := newBuilder(t, c.store, evidence.WithEvidence(es))
	p, err := b.Build(ctx, "t1", "inv-1", true)
	require.NoError(t, err)
	assert.True(t, p.ChainVerified, "%v", p.ChainVerificationErrors)
	require.Len(t, p.LLMInteractions, 1)
	raw := p.LLMInteractions[0]["raw_evidence"].(canonical.Object)
	assert.Equal(t, "the prompt", raw[prompt.URI])
	assert.Equal(t, "bad \uFFFD byte", raw[response.URI])
	assert.Len(t, raw, 3, "the missing object is skipped")
	assert.Equal(t, canonical.Object{"AlertName": "Beacon"}, p.RawAlertPayload)
	for _, ev := range p.Events {
		assert.NotContains(t, ev, "raw_evidence", "records are not modified")
	}
	all, _ := c.store.Range(ctx, "t1", 0, -1)
	assert.True(t, chain.Verify(all).Valid)
	// Without includeRaw, or without an evidence store, nothing is fetched.
	p, _ = b.Build(ctx, "t1", "inv-1", false)
	assert.NotContains(t, p.LLMInteractions[0], "raw_evidence")
	p, _ = newBuilder(t, c.store).Build(ctx, "t1", "inv-1", true)
	assert.NotContains(t, p.LLMInteractions[0], "raw_evidence")
}

// Checklist 77: no events.
func TestPackageEmpty(t *testing.T) {
	p, err := newBuilder(t, chain.NewMemoryStore()).Build(context.Background(), "t1", "nothing", false)
	require.NoError(t, err)
	assert.True(t, p.ChainVerified)
	assert.Empty(t, p.Events)
	assert.NotNil(t, p.Events)
	assert.NotNil(t, p.ChainVerificationErrors)
	assert.Equal(t, 0.0, p.FinalConfidence)
	b, err := json.Marshal(p)
	require.NoError(t, err)
	assert.Contains(t, string(b), `"events":[]`)
	assert.Contains(t, string(b), `"final_confidence":0.0`)
	_, err = evidence.NewPackageBuilder(nil)
	assert.ErrorIs(t, err, evidence.ErrInvalidConfig)
}

// Signed checkpoints inside the investigation's segment are checked too.
func TestPackageChecksCheckpoints(t *testing.T) {
	c := newChained(t)
	investigation(c, "inv-1", nil)
	c.close()
	ctx := context.Background()
	all, _ := c.store.Range(ctx, "t1", 0, -1)
	h, _ := chain.HeadOf(all[5])
	forged := chain.Checkpoint{TenantID: "t1", Sequence: 5, HeadHash: h.Hash, KeyID: "0000000000000000", Signature: "00"}
	require.NoError(t, c.store.AppendCheckpoint(ctx, forged))
	p, err := newBuilder(t, c.store).Build(ctx, "t1", "inv-1", false)
	require.NoError(t, err)
	assert.True(t, p.ChainVerified, "unauthenticated checkpoints that agree do not fail")
	p, err = newBuilder(t, c.store, evidence.WithVerifyOptions(chain.WithPublicKeys(make([]byte, 32)))).Build(ctx, "t1", "inv-1", false)
	require.NoError(t, err)
	assert.False(t, p.ChainVerified, "a checkpoint not signed by a trusted key is reported")
}
