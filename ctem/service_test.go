package ctem

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/socwarden/warden/audit"
	"github.com/socwarden/warden/taxonomy"
)

var ctx = context.Background()

func TestNewValidatesOptions(t *testing.T) {
	for name, opt := range map[string]Option{
		"tenant":   WithDefaultTenant(" "),
		"zone":     WithZoneConsequences(map[string]Consequence{"Z": "fire"}),
		"timeout":  WithPublishTimeout(0),
		"lookup":   WithLookupTimeout(-time.Second),
		"size":     WithMaxFindingBytes(0),
		"stream":   WithMaxStreamBytes(0),
		"clock":    WithClock(nil),
		"logger":   WithLogger(nil),
		"nilnorm":  WithNormaliser(nil),
		"emptysrc": WithNormaliser(funcNormaliser{src: ""}),
	} {
		_, err := New(opt)
		assert.ErrorIs(t, err, ErrInvalidConfig, name)
	}
	s, err := New()
	require.NoError(t, err)
	require.NotNil(t, s)
}

// funcNormaliser is a host normaliser built from a function.
type funcNormaliser struct {
	src Source
	fn  func(raw []byte, env Env) (Exposure, error)
}

func (f funcNormaliser) Source() Source { return f.src }
func (f funcNormaliser) Normalise(raw []byte, env Env) (Exposure, error) {
	return f.fn(raw, env)
}

// Checklist 51, 52, 61.
func TestTopics(t *testing.T) {
	s := newService(t)
	for _, src := range Sources() {
		got, ok := s.SourceForTopic("ctem.raw." + string(src))
		require.True(t, ok, src)
		n, _ := s.normaliser(got)
		assert.Equal(t, src, n.Source())
	}
	_, ok := s.SourceForTopic("ctem.raw.unknown")
	assert.False(t, ok)
	_, ok = s.SourceForTopic("other.wiz")
	assert.False(t, ok)
	assert.Len(t, SubscribedTopics, 6)
	assert.Contains(t, SubscribedTopics, "ctem.raw.burp")
	assert.Contains(t, SubscribedTopics, "ctem.raw.custom")
	assert.Equal(t, "ctem.normalized", NormalisedTopic)
	assert.Equal(t, "ctem.normalized.dlq", DeadLetterTopic)
}

// Checklist 53, 54, 62.
func TestProcessWiz(t *testing.T) {
	store := NewMemoryStore()
	pub := &pubRecorder{}
	s := newService(t, WithStore(store), WithPublisher(pub))
	msg := mustJSON(t, map[string]any{"title": "S3 Public", "resource_id": "bucket-1", "severity": "HIGH", "resource_type": "s3"})
	e, err := s.Process(ctx, "ctem.raw.wiz", msg)
	require.NoError(t, err)
	assert.Equal(t, SourceWiz, e.SourceTool)
	assert.Equal(t, 1, store.Len())
	out := pub.on(NormalisedTopic)
	require.Len(t, out, 1)
	assert.Equal(t, e.ExposureKey, string(out[0].Key))
	var published Exposure
	require.NoError(t, json.Unmarshal(out[0].Value, &published))
	assert.Equal(t, e, published, "the published message is the stored record")
	assert.Equal(t, t0, published.CreatedAt)
	assert.Empty(t, pub.on(DeadLetterTopic))

	noPub := newService(t)
	_, err = noPub.Process(ctx, "ctem.raw.wiz", msg)
	require.NoError(t, err)
}

// Checklist 55, 56, 79, 86.
func TestDeadLetters(t *testing.T) {
	pub := &pubRecorder{}
	s := newService(t, WithPublisher(pub), WithMaxFindingBytes(1<<20))
	_, err := s.Process(ctx, "ctem.raw.unknown", []byte(`{"title":"x"}`))
	require.ErrorIs(t, err, ErrUnsupportedSource)
	dl := pub.on(DeadLetterTopic)
	require.Len(t, dl, 1)
	var msg map[string]any
	require.NoError(t, json.Unmarshal(dl[0].Value, &msg))
	assert.Equal(t, "unsupported_topic", msg["error"])
	assert.Equal(t, "ctem.raw.unknown", msg["source_topic"])
	assert.Equal(t, map[string]any{"title": "x"}, msg["raw_data"], "valid JSON is embedded verbatim")
	assert.Len(t, msg, 3)

	_, err = s.Process(ctx, "ctem.raw.wiz", []byte(`{}`))
	var fe *FieldError
	require.ErrorAs(t, err, &fe)
	assert.Equal(t, "title", fe.Field)
	require.Len(t, pub.on(DeadLetterTopic), 2)
	require.NoError(t, json.Unmarshal(pub.on(DeadLetterTopic)[1].Value, &msg))
	assert.Equal(t, fe.Error(), msg["error"])

	for name, raw := range map[string][]byte{
		"oversized": []byte(`{"title":"` + strings.Repeat("a", 2<<20) + `"}`),
		"not json":  []byte("not json \xff"),
		"array":     []byte(`[{"title":"x"}]`),
	} {
		before := len(pub.on(DeadLetterTopic))
		_, err := s.Process(ctx, "ctem.raw.wiz", raw)
		require.ErrorIs(t, err, ErrInvalidFinding, name)
		dls := pub.on(DeadLetterTopic)
		require.Len(t, dls, before+1, name)
		var m struct {
			RawData json.RawMessage `json:"raw_data"`
		}
		require.NoError(t, json.Unmarshal(dls[len(dls)-1].Value, &m), name)
		if name == "not json" {
			var s string
			require.NoError(t, json.Unmarshal(m.RawData, &s))
			assert.Equal(t, "not json \uFFFD", s, "invalid UTF-8 replaced")
		} else {
			assert.JSONEq(t, string(raw), string(m.RawData), name)
		}
	}
	// A failing dead-letter publish: the error carries both.
	failing := &pubRecorder{failTopics: map[string]bool{DeadLetterTopic: true}}
	s2 := newService(t, WithPublisher(failing))
	_, err = s2.Process(ctx, "ctem.raw.wiz", []byte(`{}`))
	assert.ErrorIs(t, err, ErrInvalidFinding)
	assert.ErrorIs(t, err, ErrDeadLetterFailed)
	_, err = s2.Ingest(ctx, "burp", []byte(`{}`))
	assert.ErrorIs(t, err, ErrUnsupportedSource)
	assert.ErrorIs(t, err, ErrDeadLetterFailed)
}

// Checklist 57.
func TestStoreFailureDeadLetters(t *testing.T) {
	pub := &pubRecorder{}
	rec := &recorder{}
	s := newService(t, WithPublisher(pub), WithStore(failingStore{NewMemoryStore()}), WithAuditProducer(rec))
	_, err := s.Ingest(ctx, SourceWiz, mustJSON(t, goldenWiz1))
	require.ErrorIs(t, err, ErrStore)
	dl := pub.on(DeadLetterTopic)
	require.Len(t, dl, 1)
	var msg map[string]any
	require.NoError(t, json.Unmarshal(dl[0].Value, &msg))
	assert.True(t, strings.HasPrefix(msg["error"].(string), "upsert_failed: "), msg["error"])
	assert.Empty(t, pub.on(NormalisedTopic))
	assert.Empty(t, rec.all(), "checklist 99: no event on the store-failure path")
}

// Checklist 58, 59, 60.
func TestProcessOtherSources(t *testing.T) {
	s := newService(t)
	e, err := s.Process(ctx, "ctem.raw.snyk", mustJSON(t, map[string]any{"title": "CVE-2026-1234", "project_id": "proj-1",
		"severity": "HIGH", "packageName": "express", "exploitability_score": 7.5}))
	require.NoError(t, err)
	assert.Equal(t, SourceSnyk, e.SourceTool)
	e, err = s.Process(ctx, "ctem.raw.garak", mustJSON(t, map[string]any{"title": "DAN Jailbreak", "model_name": "model-v1",
		"probe_type": "jailbreak", "success_rate": 0.6}))
	require.NoError(t, err)
	assert.Equal(t, SourceGarak, e.SourceTool)
	assert.Equal(t, "AML.T0054", e.AtlasTechnique, "garak jailbreak → LLM Jailbreak (DESIGN §3; the reference used AML.T0051)")
	assert.Equal(t, SeverityCritical, e.Severity)
	e, err = s.Process(ctx, "ctem.raw.art", mustJSON(t, map[string]any{"title": "Poisoning Attack", "model_id": "model-v2",
		"attack_type": "poisoning", "success_rate": 0.8}))
	require.NoError(t, err)
	assert.Equal(t, ConsequenceSafetyLife, e.PhysicalConsequence)
}

// Checklist 64, 65, 73, 98: re-ingest keeps every status.
func TestReingestPreservesStatus(t *testing.T) {
	for _, st := range []Status{StatusVerified, StatusClosed, StatusInProgress, StatusFixDeployed} {
		t.Run(string(st), func(t *testing.T) {
			store := NewMemoryStore()
			rec := &recorder{}
			s := newService(t, WithStore(store), WithAuditProducer(rec))
			e, err := s.Ingest(ctx, SourceWiz, mustJSON(t, goldenWiz1))
			require.NoError(t, err)
			_, err = store.Update(ctx, e.TenantID, e.ExposureKey, func(cur *Record, _ bool) error {
				cur.Exposure.Status = st
				return nil
			})
			require.NoError(t, err)
			e2, err := s.Ingest(ctx, SourceWiz, mustJSON(t, with(goldenWiz1, "severity", "LOW")))
			require.NoError(t, err)
			assert.Equal(t, st, e2.Status)
			assert.Equal(t, 1, store.Len(), "one record per key")
			ev := rec.ofType(taxonomy.CTEMExposureScored)
			require.Len(t, ev, 2)
			assert.Equal(t, []string{constraintStatusPreserved}, ev[1].Decision[audit.KeyConstraintsApplied])
			assert.Equal(t, actionUpdated, ev[1].Outcome[audit.KeyActionTaken], "checklist 97")
		})
	}
}

// Checklist 71, 72: merge of scoring fields and the tightening-only SLA.
func TestReingestMerge(t *testing.T) {
	clock := newClock(t0)
	store := NewMemoryStore()
	rec := &recorder{}
	s := newService(t, WithStore(store), WithClock(clock.Now), WithAuditProducer(rec))
	low := with(goldenART7, "success_rate", 0.1, "attack_type", "backdoor", "description", "first", "remediation", "r1")
	first, err := s.Ingest(ctx, SourceART, mustJSON(t, with(low, "attack_type", "poisoning", "success_rate", 0.01)))
	require.NoError(t, err)
	require.Equal(t, SeverityHigh, first.Severity)
	first, err = s.Ingest(ctx, SourceART, mustJSON(t, low))
	require.NoError(t, err)
	require.Equal(t, SeverityMedium, first.Severity)
	_, err = s.Assign(ctx, AssignRequest{ExposureKey: first.ExposureKey, Assignee: "bob", Actor: Actor{taxonomy.ActorHuman, "alice"}})
	require.NoError(t, err)
	_, err = store.Update(ctx, first.TenantID, first.ExposureKey, func(cur *Record, _ bool) error {
		cur.Exposure.Status = StatusInProgress
		return nil
	})
	require.NoError(t, err)

	clock.Advance(10 * time.Hour)
	high := with(low, "success_rate", 0.95, "attack_type", "poisoning", "description", "second", "remediation", "r2", "asset_zone", "Zone0_Safety")
	got, err := s.Ingest(ctx, SourceART, mustJSON(t, high))
	require.NoError(t, err)
	assert.Equal(t, SeverityCritical, got.Severity)
	assert.Equal(t, 9.5, got.CTEMScore)
	assert.Equal(t, 0.95, got.ExploitabilityScore)
	assert.Equal(t, ConsequenceSafetyLife, got.PhysicalConsequence)
	assert.Equal(t, "Zone0_Safety", got.AssetZone)
	assert.Equal(t, StatusInProgress, got.Status)
	assert.Equal(t, "bob", got.AssignedTo)
	assert.Equal(t, "first", got.Description, "first-seen fields are kept")
	assert.Equal(t, "r1", got.RemediationGuidance)
	assert.Equal(t, "AML.T0020", got.AtlasTechnique, "first-seen technique kept")
	assert.Equal(t, t0.Add(24*time.Hour), got.SLADeadline, "CreatedAt + 24h")
	assert.Equal(t, t0, got.CreatedAt)
	assert.Equal(t, t0.Add(10*time.Hour), got.UpdatedAt)
	r, err := s.Get(ctx, "", got.ExposureKey)
	require.NoError(t, err)
	assert.Equal(t, got.SLADeadline, r.Remediation.SLADeadline, "the remediation deadline follows")
	ev := rec.ofType(taxonomy.CTEMExposureScored)
	last := ev[len(ev)-1]
	assert.Equal(t, []string{constraintStatusPreserved, constraintSLATightened}, last.Decision[audit.KeyConstraintsApplied])
	assert.True(t, strings.HasSuffix(last.Decision[audit.KeyReasoningSummary].(string), "; severity was MEDIUM"))

	// Checklist 72: lower severity never loosens the deadline.
	clock.Advance(time.Hour)
	got, err = s.Ingest(ctx, SourceART, mustJSON(t, low))
	require.NoError(t, err)
	assert.Equal(t, SeverityMedium, got.Severity)
	assert.Equal(t, t0.Add(24*time.Hour), got.SLADeadline)
}

// Checklist 74, 75.
func TestTenants(t *testing.T) {
	store := NewMemoryStore()
	s := newService(t, WithStore(store))
	a, err := s.Ingest(ctx, SourceWiz, mustJSON(t, with(goldenWiz1, "tenant_id", "a")))
	require.NoError(t, err)
	b, err := s.Ingest(ctx, SourceWiz, mustJSON(t, with(goldenWiz1, "tenant_id", "b", "severity", "LOW")))
	require.NoError(t, err)
	assert.Equal(t, a.ExposureKey, b.ExposureKey)
	assert.Equal(t, 2, store.Len())
	ra, err := s.Get(ctx, "a", a.ExposureKey)
	require.NoError(t, err)
	assert.Equal(t, SeverityMedium, ra.Exposure.Severity, "tenant b's scan did not touch tenant a")
	_, err = s.Assign(ctx, AssignRequest{TenantID: "b", ExposureKey: b.ExposureKey, Assignee: "x", Actor: Actor{taxonomy.ActorHuman, "h"}})
	require.NoError(t, err)
	ra, _ = s.Get(ctx, "a", a.ExposureKey)
	assert.Empty(t, ra.Exposure.AssignedTo)

	d, err := s.Ingest(ctx, SourceWiz, mustJSON(t, goldenWiz2))
	require.NoError(t, err)
	assert.Equal(t, DefaultTenant, d.TenantID)
	s0 := newService(t, WithDefaultTenant("t0"))
	d, err = s0.Ingest(ctx, SourceWiz, mustJSON(t, goldenWiz2))
	require.NoError(t, err)
	assert.Equal(t, "t0", d.TenantID)
}

// lookupFunc adapts a function to ConsequenceLookup.
type lookupFunc func(ctx context.Context, tenant, asset, zone string) (Consequence, error)

func (f lookupFunc) Consequence(ctx context.Context, tenant, asset, zone string) (Consequence, error) {
	return f(ctx, tenant, asset, zone)
}

// Checklist 85.
func TestConsequenceLookup(t *testing.T) {
	var gotTenant, gotAsset, gotZone string
	rec := &recorder{}
	s := newService(t, WithAuditProducer(rec), WithConsequenceLookup(lookupFunc(func(_ context.Context, tenant, asset, z string) (Consequence, error) {
		gotTenant, gotAsset, gotZone = tenant, asset, z
		return ConsequenceSafetyLife, nil
	})))
	e, err := s.Ingest(ctx, SourceWiz, mustJSON(t, goldenWiz1))
	require.NoError(t, err)
	assert.Equal(t, ConsequenceSafetyLife, e.PhysicalConsequence)
	assert.Equal(t, "Zone3_Enterprise", e.AssetZone)
	assert.Equal(t, []string{"tenant-A", "arn:aws:s3:::my-bucket", "Zone3_Enterprise"}, []string{gotTenant, gotAsset, gotZone})
	assert.Equal(t, consequenceAssetGraph, rec.all()[0].Context[keyConsequenceSource])

	for name, l := range map[string]ConsequenceLookup{
		"error": lookupFunc(func(context.Context, string, string, string) (Consequence, error) {
			return "", errors.New("graph down")
		}),
		"invalid": lookupFunc(func(context.Context, string, string, string) (Consequence, error) { return "meltdown", nil }),
		"panic":   lookupFunc(func(context.Context, string, string, string) (Consequence, error) { panic("boom") }),
		"timeout": lookupFunc(func(ctx context.Context, _, _, _ string) (Consequence, error) {
			<-ctx.Done()
			return ConsequenceSafetyLife, nil
		}),
	} {
		rec := &recorder{}
		s := newService(t, WithAuditProducer(rec), WithConsequenceLookup(l), WithLookupTimeout(10*time.Millisecond))
		e, err := s.Ingest(ctx, SourceWiz, mustJSON(t, goldenWiz1))
		require.NoError(t, err, name)
		assert.Equal(t, ConsequenceDataLoss, e.PhysicalConsequence, name)
		assert.Equal(t, consequenceZoneFallback, rec.all()[0].Context[keyConsequenceSource], name)
	}
	// Empty result: the zone table, silently.
	rec = &recorder{}
	s = newService(t, WithAuditProducer(rec), WithConsequenceLookup(lookupFunc(func(context.Context, string, string, string) (Consequence, error) {
		return "", nil
	})))
	_, err = s.Ingest(ctx, SourceWiz, mustJSON(t, goldenWiz2))
	require.NoError(t, err)
	assert.Equal(t, consequenceZoneTable, rec.all()[0].Context[keyConsequenceSource])
	// Non-Wiz sources do not consult the lookup and carry no consequence source.
	rec = &recorder{}
	s = newService(t, WithAuditProducer(rec), WithConsequenceLookup(lookupFunc(func(context.Context, string, string, string) (Consequence, error) {
		t.Fatal("lookup called for snyk")
		return "", nil
	})))
	_, err = s.Ingest(ctx, SourceSnyk, mustJSON(t, goldenSnyk3))
	require.NoError(t, err)
	assert.NotContains(t, rec.all()[0].Context, keyConsequenceSource)
}

func TestZoneTableOverride(t *testing.T) {
	s := newService(t, WithZoneConsequences(map[string]Consequence{"Zone3_Enterprise": ConsequenceDowntime}))
	e, err := s.Ingest(ctx, SourceWiz, mustJSON(t, goldenWiz1))
	require.NoError(t, err)
	assert.Equal(t, ConsequenceDowntime, e.PhysicalConsequence)
	e, err = s.Ingest(ctx, SourceWiz, mustJSON(t, goldenWiz2))
	require.NoError(t, err)
	assert.Equal(t, ConsequenceDataLoss, e.PhysicalConsequence, "the replaced table has no Zone1_EdgeInference")
}

// Checklist 87 and host normalisers.
func TestHostNormaliser(t *testing.T) {
	pub := &pubRecorder{}
	s := newService(t, WithPublisher(pub), WithNormaliser(funcNormaliser{src: "burp", fn: func([]byte, Env) (Exposure, error) {
		panic("host bug")
	}}))
	_, err := s.Process(ctx, "ctem.raw.burp", []byte(`{"title":"x"}`))
	var fe *FieldError
	require.ErrorAs(t, err, &fe)
	assert.Equal(t, "normaliser panic: host bug", fe.Reason)
	assert.Len(t, pub.on(DeadLetterTopic), 1)

	s = newService(t, WithNormaliser(funcNormaliser{src: "custom", fn: func(raw []byte, env Env) (Exposure, error) {
		return Exposure{ExposureKey: ExposureKey("custom", "t", "a"), TS: env.Now, SourceTool: "custom", Title: "t", AssetID: "a",
			Severity: SeverityHigh, ExploitabilityScore: 0.8, PhysicalConsequence: ConsequenceDowntime, CTEMScore: 4}, nil
	}}))
	e, err := s.Process(ctx, "ctem.raw.custom", []byte(`{}`))
	require.NoError(t, err)
	assert.Equal(t, DefaultTenant, e.TenantID)
	assert.Equal(t, StatusOpen, e.Status)
	s = newService(t, WithNormaliser(funcNormaliser{src: "custom", fn: func([]byte, Env) (Exposure, error) {
		return Exposure{}, errors.New("plain error")
	}}))
	_, err = s.Process(ctx, "ctem.raw.custom", []byte(`{}`))
	assert.ErrorIs(t, err, ErrInvalidFinding, "a plain host error is carried by a FieldError")
	s = newService(t, WithNormaliser(funcNormaliser{src: "custom", fn: func(_ []byte, env Env) (Exposure, error) {
		return Exposure{Title: "no key"}, nil
	}}))
	_, err = s.Process(ctx, "ctem.raw.custom", []byte(`{}`))
	require.ErrorAs(t, err, &fe)
	assert.Equal(t, "exposure_key", fe.Field, "host output is validated")
}

// Checklist 88, 101.
func TestOwnerRules(t *testing.T) {
	rec := &recorder{}
	pub := &pubRecorder{}
	rules := OwnerRules{
		{Name: "snyk only", SourceTool: SourceSnyk, Owner: "dev-team"},
		{Name: "edge", SourceTool: SourceWiz, AssetZone: "Zone1_EdgeInference", Owner: "ot-team"},
	}
	s := newService(t, WithAuditProducer(rec), WithPublisher(pub), WithOwnerResolver(rules))
	e, err := s.Ingest(ctx, SourceWiz, mustJSON(t, goldenWiz2))
	require.NoError(t, err)
	assert.Equal(t, "ot-team", e.AssignedTo)
	r, err := s.Get(ctx, "", "147975c281593595")
	require.NoError(t, err)
	require.NotNil(t, r.Remediation)
	assert.Equal(t, "rem-147975c281593595", r.Remediation.RemediationID)
	assert.Equal(t, RemediationAssigned, r.Remediation.Status)
	var published Exposure
	require.NoError(t, json.Unmarshal(pub.on(NormalisedTopic)[0].Value, &published))
	assert.Equal(t, "ot-team", published.AssignedTo)
	evs := rec.all()
	require.Len(t, evs, 2)
	assert.Equal(t, taxonomy.CTEMExposureScored, evs[0].Type)
	assert.Equal(t, taxonomy.CTEMRemediationAssigned, evs[1].Type)
	assert.Equal(t, taxonomy.ActorSystem, evs[1].ActorType)
	assert.Equal(t, "ctem-normaliser", evs[1].ActorID)
	assert.Equal(t, assignmentResolver, evs[1].Context[keyAssignmentSource])
	assert.Equal(t, `assigned to ot-team: owner rule "edge"`, evs[1].Decision[audit.KeyReasoningSummary])

	// A re-ingest of an assigned exposure does not consult the resolver again.
	_, err = s.Ingest(ctx, SourceWiz, mustJSON(t, goldenWiz2))
	require.NoError(t, err)
	assert.Len(t, rec.ofType(taxonomy.CTEMRemediationAssigned), 1)
	// No match leaves it unassigned.
	e, err = s.Ingest(ctx, SourceWiz, mustJSON(t, goldenWiz1))
	require.NoError(t, err)
	assert.Empty(t, e.AssignedTo)

	sev := OwnerRules{{Name: "crit", MinSeverity: SeverityHigh, Owner: "x"}}
	owner, _, _ := sev.Owner(ctx, Exposure{Severity: SeverityCritical})
	assert.Equal(t, "x", owner)
	owner, _, _ = sev.Owner(ctx, Exposure{Severity: SeverityMedium})
	assert.Equal(t, "", owner)
	owner, _, _ = OwnerRules{{TenantID: "t", PhysicalConsequence: ConsequenceDowntime, Owner: "y"}}.Owner(ctx, Exposure{TenantID: "t", PhysicalConsequence: ConsequenceDowntime})
	assert.Equal(t, "y", owner)
}

type resolverFunc func(ctx context.Context, e Exposure) (string, string, error)

func (f resolverFunc) Owner(ctx context.Context, e Exposure) (string, string, error) {
	return f(ctx, e)
}

// Checklist 89.
func TestOwnerResolverFailure(t *testing.T) {
	for name, r := range map[string]OwnerResolver{
		"error": resolverFunc(func(context.Context, Exposure) (string, string, error) { return "", "", errors.New("ldap down") }),
		"panic": resolverFunc(func(context.Context, Exposure) (string, string, error) { panic("nil map") }),
		"empty": resolverFunc(func(context.Context, Exposure) (string, string, error) { return " ", "", nil }),
	} {
		rec := &recorder{}
		s := newService(t, WithOwnerResolver(r), WithAuditProducer(rec))
		e, err := s.Ingest(ctx, SourceWiz, mustJSON(t, goldenWiz1))
		require.NoError(t, err, name)
		assert.Empty(t, e.AssignedTo, name)
		got, _ := s.Get(ctx, "tenant-A", e.ExposureKey)
		assert.Nil(t, got.Remediation, name)
		assert.Len(t, rec.all(), 1, name)
	}
}

// Checklist 90, 91, 100.
func TestAssign(t *testing.T) {
	rec := &recorder{}
	store := NewMemoryStore()
	clock := newClock(t0)
	s := newService(t, WithAuditProducer(rec), WithStore(store), WithClock(clock.Now))
	e, err := s.Ingest(ctx, SourceWiz, mustJSON(t, goldenWiz1))
	require.NoError(t, err)
	alice := Actor{taxonomy.ActorHuman, "alice"}
	rec.events = nil

	_, err = s.Assign(ctx, AssignRequest{TenantID: "tenant-A", ExposureKey: "0000000000000000", Assignee: "bob", Actor: alice})
	assert.ErrorIs(t, err, ErrNotFound)
	for name, req := range map[string]AssignRequest{
		"empty assignee": {TenantID: "tenant-A", ExposureKey: e.ExposureKey, Assignee: "  ", Actor: alice},
		"long assignee":  {TenantID: "tenant-A", ExposureKey: e.ExposureKey, Assignee: strings.Repeat("a", 257), Actor: alice},
		"long reason":    {TenantID: "tenant-A", ExposureKey: e.ExposureKey, Assignee: "bob", Reason: strings.Repeat("a", 1025), Actor: alice},
		"bad actor":      {TenantID: "tenant-A", ExposureKey: e.ExposureKey, Assignee: "bob", Actor: Actor{"robot", "r"}},
		"empty actor":    {TenantID: "tenant-A", ExposureKey: e.ExposureKey, Assignee: "bob", Actor: Actor{taxonomy.ActorHuman, ""}},
		"no key":         {TenantID: "tenant-A", Assignee: "bob", Actor: alice},
	} {
		_, err := s.Assign(ctx, req)
		assert.ErrorIs(t, err, ErrInvalidRequest, name)
	}
	assert.Empty(t, rec.all())

	clock.Advance(time.Hour)
	r, err := s.Assign(ctx, AssignRequest{TenantID: "tenant-A", ExposureKey: e.ExposureKey, Assignee: " bob ", Actor: alice})
	require.NoError(t, err)
	assert.Equal(t, "bob", r.Exposure.AssignedTo)
	assert.Equal(t, t0.Add(time.Hour), r.Remediation.AssignedDate)
	assert.Equal(t, e.SLADeadline, r.Remediation.SLADeadline)
	assert.Equal(t, "tenant-A", r.Remediation.TenantID)
	ev := rec.ofType(taxonomy.CTEMRemediationAssigned)
	require.Len(t, ev, 1)
	assert.Equal(t, "tenant-A", ev[0].TenantID)
	assert.Equal(t, taxonomy.ActorHuman, ev[0].ActorType)
	assert.Equal(t, "alice", ev[0].ActorID)
	assert.Equal(t, taxonomy.SeverityInfo, ev[0].Severity)
	assert.Equal(t, []string{"arn:aws:s3:::my-bucket"}, ev[0].EntityIDs)
	assert.Equal(t, audit.Fields{
		keyExposureKey: e.ExposureKey, keyRemediationID: "rem-" + e.ExposureKey, keyAssignee: "bob",
		keyAssignmentSource: assignmentManual, keySeverity: "MEDIUM", keySLADeadline: "2026-01-15T00:00:00Z",
	}, ev[0].Context)
	assert.Equal(t, audit.Fields{audit.KeyReasoningSummary: "assigned to bob", audit.KeyRecommendedActions: []string{"Disable public access"}}, ev[0].Decision)
	assert.Equal(t, audit.Fields{audit.KeyOutcomeStatus: "success", audit.KeyActionTaken: "assign",
		audit.KeyActionTarget: e.ExposureKey, audit.KeyStateAfter: "Assigned"}, ev[0].Outcome)

	// Idempotent re-assignment.
	r2, err := s.Assign(ctx, AssignRequest{TenantID: "tenant-A", ExposureKey: e.ExposureKey, Assignee: "bob", Actor: alice})
	require.NoError(t, err)
	assert.Equal(t, r, r2)
	assert.Len(t, rec.ofType(taxonomy.CTEMRemediationAssigned), 1)

	// Reassignment.
	_, err = s.Assign(ctx, AssignRequest{TenantID: "tenant-A", ExposureKey: e.ExposureKey, Assignee: "carol", Actor: alice, Reason: "on call"})
	require.NoError(t, err)
	ev = rec.ofType(taxonomy.CTEMRemediationAssigned)
	require.Len(t, ev, 2)
	assert.Equal(t, "bob", ev[1].Context[keyPreviousAssignee])
	assert.Equal(t, "Assigned", ev[1].Outcome[audit.KeyStateBefore])
	assert.Equal(t, "Assigned", ev[1].Outcome[audit.KeyStateAfter])
	assert.Equal(t, "assigned to carol (was bob): on call", ev[1].Decision[audit.KeyReasoningSummary])

	// Closed exposures cannot be assigned.
	_, err = store.Update(ctx, "tenant-A", e.ExposureKey, func(cur *Record, _ bool) error {
		cur.Exposure.Status = StatusClosed
		return nil
	})
	require.NoError(t, err)
	_, err = s.Assign(ctx, AssignRequest{TenantID: "tenant-A", ExposureKey: e.ExposureKey, Assignee: "dave", Actor: alice})
	assert.ErrorIs(t, err, ErrInvalidTransition)
	assert.Len(t, rec.ofType(taxonomy.CTEMRemediationAssigned), 2)
	_, err = newService(t, WithStore(failingStore{store})).Assign(ctx, AssignRequest{TenantID: "tenant-A", ExposureKey: e.ExposureKey, Assignee: "x", Actor: alice})
	assert.ErrorIs(t, err, ErrStore)
}

// Checklist 92, 102.
func TestVerify(t *testing.T) {
	rec := &recorder{}
	clock := newClock(t0)
	s := newService(t, WithAuditProducer(rec), WithClock(clock.Now))
	e, err := s.Ingest(ctx, SourceART, mustJSON(t, goldenART8)) // CRITICAL: 24 h
	require.NoError(t, err)
	clock.Advance(2 * time.Hour)
	_, err = s.Assign(ctx, AssignRequest{ExposureKey: e.ExposureKey, Assignee: "bob", Actor: Actor{taxonomy.ActorHuman, "alice"}})
	require.NoError(t, err)
	clock.Advance(30 * time.Hour)
	dana := Actor{taxonomy.ActorHuman, "dana"}
	_, err = s.Verify(ctx, VerifyRequest{ExposureKey: e.ExposureKey, Actor: dana})
	assert.ErrorIs(t, err, ErrInvalidRequest)
	_, err = s.Verify(ctx, VerifyRequest{ExposureKey: "ffffffffffffffff", VerifiedBy: "dana", Actor: dana})
	assert.ErrorIs(t, err, ErrNotFound)
	r, err := s.Verify(ctx, VerifyRequest{ExposureKey: e.ExposureKey, VerifiedBy: "dana", Actor: dana,
		FixDescription: "retrained", PullRequestURL: "https://git/pr/1", Note: "verified by replay"})
	require.NoError(t, err)
	assert.Equal(t, StatusVerified, r.Exposure.Status)
	assert.Equal(t, RemediationVerified, r.Remediation.Status)
	assert.Equal(t, "dana", r.Remediation.VerifiedBy)
	assert.True(t, r.Remediation.SLABreached)
	assert.Equal(t, "bob", r.Remediation.AssignedTo)
	ev := rec.ofType(taxonomy.CTEMRemediationVerified)
	require.Len(t, ev, 1)
	assert.Equal(t, "dana", ev[0].ActorID)
	assert.Equal(t, audit.Fields{
		keyExposureKey: e.ExposureKey, keyRemediationID: "rem-" + e.ExposureKey, keyVerifiedBy: "dana",
		keySeverity: "CRITICAL", keySLADeadline: "2026-01-02T00:00:00Z", keySLABreached: true,
		keyFixDescription: "retrained", audit.KeyEvidenceRefs: []string{"https://git/pr/1"},
	}, ev[0].Context)
	assert.Equal(t, audit.Fields{audit.KeyReasoningSummary: "verified by replay"}, ev[0].Decision)
	assert.Equal(t, audit.Fields{audit.KeyOutcomeStatus: "success", audit.KeyActionTaken: "verify", audit.KeyActionTarget: e.ExposureKey,
		audit.KeyStateBefore: "Open", audit.KeyStateAfter: "Verified", audit.KeyApprovalReceivedFrom: "dana",
		audit.KeyDurationMS: int64(30 * time.Hour / time.Millisecond)}, ev[0].Outcome)

	_, err = s.Verify(ctx, VerifyRequest{ExposureKey: e.ExposureKey, VerifiedBy: "dana", Actor: dana})
	assert.ErrorIs(t, err, ErrInvalidTransition)
	_, err = s.Assign(ctx, AssignRequest{ExposureKey: e.ExposureKey, Assignee: "x", Actor: dana})
	assert.ErrorIs(t, err, ErrInvalidTransition)
	assert.Len(t, rec.ofType(taxonomy.CTEMRemediationVerified), 1)

	// Verify without an assignment creates the remediation; in time → not breached.
	e2, err := s.Ingest(ctx, SourceWiz, mustJSON(t, goldenWiz1))
	require.NoError(t, err)
	r, err = s.Verify(ctx, VerifyRequest{TenantID: "tenant-A", ExposureKey: e2.ExposureKey, VerifiedBy: "dana", Actor: dana})
	require.NoError(t, err)
	assert.False(t, r.Remediation.SLABreached)
	ev = rec.ofType(taxonomy.CTEMRemediationVerified)
	assert.Equal(t, int64(0), ev[1].Outcome[audit.KeyDurationMS])
	assert.Equal(t, false, ev[1].Context[keySLABreached], "booleans always sent")
	assert.Nil(t, ev[1].Decision, "no note: no decision object")

	// Re-ingest of the verified exposure keeps Verified (checklist 64/98).
	again, err := s.Ingest(ctx, SourceWiz, mustJSON(t, goldenWiz1))
	require.NoError(t, err)
	assert.Equal(t, StatusVerified, again.Status)
}

// Checklist 63, 66, 67 on the service.
func TestGetAndOpenExposures(t *testing.T) {
	s := newService(t)
	_, err := s.Get(ctx, "t", "0000000000000000")
	assert.ErrorIs(t, err, ErrNotFound)
	mk := func(title string, rate float64) Exposure {
		e, err := s.Ingest(ctx, SourceART, mustJSON(t, map[string]any{"title": title, "model_id": "asset-1", "attack_type": "evasion",
			"success_rate": rate, "tenant_id": "t"}))
		require.NoError(t, err)
		return e
	}
	a, b, c := mk("a", 0.2), mk("b", 0.9), mk("c", 0.5)
	_, err = s.Verify(ctx, VerifyRequest{TenantID: "t", ExposureKey: c.ExposureKey, VerifiedBy: "v", Actor: Actor{taxonomy.ActorHuman, "v"}})
	require.NoError(t, err)
	open, err := s.OpenExposures(ctx, "t", "asset-1")
	require.NoError(t, err)
	require.Len(t, open, 2)
	assert.Equal(t, []string{b.ExposureKey, a.ExposureKey}, []string{open[0].ExposureKey, open[1].ExposureKey})
	got, err := s.Get(ctx, "t", b.ExposureKey)
	require.NoError(t, err)
	assert.Equal(t, SeverityCritical, got.Exposure.Severity)
	none, err := s.OpenExposures(ctx, "t", "asset-2")
	require.NoError(t, err)
	assert.Nil(t, none)
	none, err = s.OpenExposures(ctx, "other", "asset-1")
	require.NoError(t, err)
	assert.Nil(t, none)
}

// Checklist 68, 96, 97: the exposure_scored event, field by field.
func TestExposureScoredEvent(t *testing.T) {
	rec := &recorder{}
	s := newService(t, WithAuditProducer(rec))
	_, err := s.Ingest(ctx, SourceWiz, mustJSON(t, goldenWiz1))
	require.NoError(t, err)
	evs := rec.all()
	require.Len(t, evs, 1)
	ev := evs[0]
	assert.Equal(t, taxonomy.CTEMExposureScored, ev.Type)
	assert.Equal(t, "tenant-A", ev.TenantID)
	assert.Equal(t, taxonomy.ActorSystem, ev.ActorType)
	assert.Equal(t, "ctem-normaliser", ev.ActorID)
	assert.Equal(t, taxonomy.SeverityInfo, ev.Severity)
	assert.Equal(t, []string{"arn:aws:s3:::my-bucket"}, ev.EntityIDs)
	assert.Empty(t, ev.InvestigationID)
	assert.Empty(t, ev.AlertID)
	assert.Equal(t, audit.Fields{
		keyExposureKey: "8d53de1726fae8c3", keySeverity: "MEDIUM", keySourceTool: "wiz", keyAssetID: "arn:aws:s3:::my-bucket",
		keyAssetZone: "Zone3_Enterprise", keyPhysicalConsequence: "data_loss", keyExploitabilityScore: 0.9, keyCTEMScore: 2.7,
		keySLADeadline: "2026-01-15T00:00:00Z", keyStatus: "Open", keyConsequenceSource: "zone_table",
		audit.KeyEvidenceRefs: []string{"https://app.wiz.io/finding/123"},
	}, ev.Context)
	assert.Equal(t, audit.Fields{
		audit.KeyDecisionType: "classify", audit.KeySeverityAssigned: "medium",
		audit.KeyReasoningSummary: `wiz finding "S3 Bucket Public Access" on arn:aws:s3:::my-bucket: exploitability high (0.9), consequence data_loss -> MEDIUM, ctem_score 2.7`,
	}, ev.Decision)
	assert.Equal(t, audit.Fields{audit.KeyOutcomeStatus: "success", audit.KeyActionTaken: "inserted", audit.KeyActionTarget: "8d53de1726fae8c3"}, ev.Outcome)
	_, err = s.Ingest(ctx, SourceWiz, mustJSON(t, goldenWiz1))
	require.NoError(t, err)
	assert.Equal(t, "updated", rec.all()[1].Outcome[audit.KeyActionTaken])
	assert.NotContains(t, rec.all()[1].Decision, audit.KeyConstraintsApplied, "nothing preserved or tightened")

	rec.events = nil
	_, err = s.Ingest(ctx, SourceGarak, mustJSON(t, with(goldenGarak5, "attack_technique", "T1059")))
	require.NoError(t, err)
	assert.Equal(t, []string{"AML.T0051", "T1059"}, rec.all()[0].Context[audit.KeyTechniquesIdentified])
	assert.NotContains(t, rec.all()[0].Context, audit.KeyEvidenceRefs)
	assert.Contains(t, rec.all()[0].Decision[audit.KeyReasoningSummary], "exploitability high (0.75)")
}

// Checklist 99: no audit on dead-letter paths.
func TestNoAuditOnFailure(t *testing.T) {
	rec := &recorder{}
	s := newService(t, WithAuditProducer(rec), WithPublisher(&pubRecorder{}))
	_, _ = s.Process(ctx, "ctem.raw.unknown", []byte(`{}`))
	_, _ = s.Process(ctx, "ctem.raw.wiz", []byte(`{}`))
	_, _ = s.Process(ctx, "ctem.raw.wiz", []byte(`nope`))
	assert.Empty(t, rec.all())
}

// Checklist 69, 70, 103: the producer never changes a business result.
func TestProducerDoesNotChangeResults(t *testing.T) {
	run := func(p audit.Producer) ([]Exposure, []Record, []published) {
		store := NewMemoryStore()
		pub := &pubRecorder{}
		clock := newClock(t0)
		opts := []Option{WithStore(store), WithPublisher(pub), WithClock(clock.Now), WithOwnerResolver(OwnerRules{{Name: "all", Owner: "o"}})}
		if p != nil {
			opts = append(opts, WithAuditProducer(p))
		}
		s := newService(t, opts...)
		var out []Exposure
		var recs []Record
		for _, raw := range []map[string]any{goldenWiz1, goldenWiz2, goldenSnyk3, goldenSnyk4, goldenGarak5, goldenGarak6, goldenART7, goldenART8, goldenWiz1} {
			clock.Advance(time.Minute)
			src := SourceWiz
			switch {
			case raw["project_id"] != nil:
				src = SourceSnyk
			case raw["model_name"] != nil:
				src = SourceGarak
			case raw["model_id"] != nil:
				src = SourceART
			}
			e, err := s.Ingest(ctx, src, mustJSON(t, raw))
			require.NoError(t, err)
			out = append(out, e)
		}
		_, _ = s.Process(ctx, "ctem.raw.wiz", []byte(`{}`))
		r, err := s.Verify(ctx, VerifyRequest{ExposureKey: out[2].ExposureKey, VerifiedBy: "v", Actor: Actor{taxonomy.ActorHuman, "v"}})
		require.NoError(t, err)
		recs = append(recs, r)
		b, err := s.IngestStream(ctx, SourceSnyk, strings.NewReader(string(readCorpus(t, "snyk_container_test_epss.json"))))
		require.NoError(t, err)
		out = append(out, b.Exposures...)
		return out, recs, pub.msgs
	}
	e0, r0, p0 := run(nil)
	e1, r1, p1 := run(&recorder{})
	e2, r2, p2 := run(&recorder{panics: true})
	e3, r3, p3 := run(&recorder{refuse: true})
	assert.Equal(t, e0, e1)
	assert.Equal(t, e0, e2)
	assert.Equal(t, e0, e3)
	assert.Equal(t, r0, r1)
	assert.Equal(t, r0, r2)
	assert.Equal(t, r0, r3)
	assert.Equal(t, p0, p1)
	assert.Equal(t, p0, p2)
	assert.Equal(t, p0, p3)
}

func TestPanickingProducerIsLogged(t *testing.T) {
	var sink logSink
	s := newService(t, WithAuditProducer(&recorder{panics: true}), WithLogger(slog.New(slog.NewTextHandler(&sink, nil))))
	e, err := s.Ingest(ctx, SourceWiz, mustJSON(t, goldenWiz1))
	require.NoError(t, err)
	assert.Equal(t, "8d53de1726fae8c3", e.ExposureKey)
	assert.Contains(t, sink.String(), "audit producer panicked")
}

func TestPublishFailureIsLogged(t *testing.T) {
	var sink logSink
	pub := &pubRecorder{failTopics: map[string]bool{NormalisedTopic: true}}
	s := newService(t, WithPublisher(pub), WithLogger(slog.New(slog.NewTextHandler(&sink, nil))))
	_, err := s.Ingest(ctx, SourceWiz, mustJSON(t, goldenWiz1))
	require.NoError(t, err, "a publish failure does not fail processing")
	assert.Contains(t, sink.String(), "publishing normalised exposure failed")
}

// Checklist 94: 64 goroutines ingesting and assigning one finding.
func TestConcurrentIngestAndAssign(t *testing.T) {
	rec := &recorder{}
	store := NewMemoryStore()
	s := newService(t, WithAuditProducer(rec), WithStore(store))
	raw := mustJSON(t, goldenWiz1)
	key := "8d53de1726fae8c3"
	_, err := s.Ingest(ctx, SourceWiz, raw) // make sure the record exists before the first assignment
	require.NoError(t, err)
	var wg sync.WaitGroup
	var mu sync.Mutex
	ingested, assigned := 1, 0
	for i := range 64 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := s.Ingest(ctx, SourceWiz, raw); err == nil {
				mu.Lock()
				ingested++
				mu.Unlock()
			}
			if _, err := s.Assign(ctx, AssignRequest{TenantID: "tenant-A", ExposureKey: key, Assignee: fmt.Sprintf("owner-%d", i%4),
				Actor: Actor{taxonomy.ActorHuman, "h"}}); err == nil {
				mu.Lock()
				assigned++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	assert.Equal(t, 1, store.Len())
	assert.Equal(t, 65, ingested)
	assert.Equal(t, 64, assigned)
	assert.Len(t, rec.ofType(taxonomy.CTEMExposureScored), ingested)
	r, err := s.Get(ctx, "tenant-A", key)
	require.NoError(t, err)
	require.NotNil(t, r.Remediation)
	assert.Equal(t, r.Exposure.AssignedTo, r.Remediation.AssignedTo, "remediation consistent with the exposure")
	assert.Equal(t, RemediationAssigned, r.Remediation.Status)
	// Every assigned event names the owner that the store then held.
	for _, ev := range rec.ofType(taxonomy.CTEMRemediationAssigned) {
		assert.NotEqual(t, ev.Context[keyAssignee], ev.Context[keyPreviousAssignee])
	}
}
