package gateway_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/socwarden/warden/audit"
	"github.com/socwarden/warden/audit/evidence"
	"github.com/socwarden/warden/gateway"
	"github.com/socwarden/warden/gateway/gatewaytest"
	"github.com/socwarden/warden/taxonomy"
)

// The real evidence store (in-memory objects) passed as is: the prompt and
// the response of a call are stored under the record's audit id, and the
// evidence_refs of the routing.tier_selected record — through the real
// Emitter's encoding — resolve to exactly that content, with matching
// hashes.
func TestRealEvidenceStore(t *testing.T) {
	clock := gatewaytest.NewFakeClock(epoch)
	objects := evidence.NewMemoryObjects()
	store, err := evidence.NewStore(objects, "warden-evidence", evidence.WithClock(clock.Now))
	require.NoError(t, err)
	rec := audit.NewRecorder()
	em, err := audit.New(rec, audit.WithClock(clock.Now))
	require.NoError(t, err)
	t.Cleanup(func() { _ = em.Close(context.Background()) })
	client := gatewaytest.NewScriptedClient(gateway.ProviderAnthropic, clock, sonnetStep("IP_SRC_001 is bad"))
	gw, err := gateway.New(client, gateway.WithEvidenceStore(store), gateway.WithAuditProducer(em),
		gateway.WithClock(clock.Now), gateway.WithSleeper(clock.Sleep))
	require.NoError(t, err)

	r := req("Check 10.0.0.1")
	r.TenantID = "acme"
	resp := complete(t, gw, r)
	assert.Equal(t, "10.0.0.1 is bad", resp.Content)

	require.NoError(t, em.Flush(context.Background()))
	recs := rec.ByType(taxonomy.RoutingTierSelected)
	require.Len(t, recs, 1)
	e := recs[0]
	refs, ok := e.Context[audit.KeyEvidenceRefs].([]any)
	require.True(t, ok, "evidence_refs is a list: %#v", e.Context[audit.KeyEvidenceRefs])
	require.Len(t, refs, 2)
	prefix := "s3://warden-evidence/acme/2026/03/14/" + e.AuditID + "/"
	assert.Equal(t, []any{prefix + "llm_prompt.json", prefix + "llm_response.json"}, refs,
		"keyed by tenant, date and the record's own audit id")
	assert.Len(t, objects.Keys(), 2)

	prompt, err := store.Get(context.Background(), refs[0].(string))
	require.NoError(t, err)
	var sent struct {
		Model    string `json:"model"`
		System   string `json:"system"`
		Messages []struct {
			Role, Content string
		} `json:"messages"`
	}
	require.NoError(t, json.Unmarshal(prompt, &sent), "the prompt evidence is the JSON request sent")
	require.Len(t, client.Requests(), 1)
	assert.Equal(t, client.Requests()[0].System, sent.System)
	require.Len(t, sent.Messages, 1)
	assert.Equal(t, client.Requests()[0].Messages[0].Content, sent.Messages[0].Content, "exactly what the model saw")
	assert.Contains(t, sent.Messages[0].Content, "IP_SRC_001")
	assert.NotContains(t, string(prompt), "10.0.0.1", "evidence is pseudonymised")

	response, err := store.Get(context.Background(), refs[1].(string))
	require.NoError(t, err)
	assert.Equal(t, "IP_SRC_001 is bad", string(response), "the model's answer, before re-identification")

	// The stored content matches the record's hashes of it.
	sum := sha256.Sum256(response)
	ok, err = store.Verify(context.Background(), refs[1].(string), hex.EncodeToString(sum[:]))
	require.NoError(t, err)
	assert.True(t, ok)
	assert.Equal(t, audit.HashText(string(response)), e.Context[audit.KeyLLMRawResponseHash],
		"the record's response hash is the stored response's")
}

// A tenant id the evidence store cannot key is its typed error: the call
// still succeeds and the record carries no ref.
func TestRealEvidenceStoreBadTenant(t *testing.T) {
	store, err := evidence.NewStore(evidence.NewMemoryObjects(), "warden-evidence")
	require.NoError(t, err)
	f := newFixture(t, []gatewaytest.Step{sonnetStep("fine")}, gateway.WithEvidenceStore(store))
	r := req("Check the login")
	r.TenantID = "acme/../other"
	assert.Equal(t, "fine", complete(t, f.gw, r).Content)
	e := f.prod.byType(taxonomy.RoutingTierSelected)[0]
	assert.Equal(t, []string{}, e.Context[audit.KeyEvidenceRefs])
}

// A nil *evidence.Store is no store, not a panic on the first call.
func TestNilEvidenceStore(t *testing.T) {
	var store *evidence.Store
	f := newFixture(t, []gatewaytest.Step{sonnetStep("fine")}, gateway.WithEvidenceStore(store))
	assert.Equal(t, "fine", complete(t, f.gw, req("Check the login")).Content)
	e := f.prod.byType(taxonomy.RoutingTierSelected)[0]
	assert.NotContains(t, e.Context, audit.KeyEvidenceRefs)
}
