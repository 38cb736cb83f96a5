package ctem

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/socwarden/warden/audit"
	"github.com/socwarden/warden/taxonomy"
)

// The events go through the real Emitter and its canonical encoding.
func TestEventsThroughEmitter(t *testing.T) {
	sink := audit.NewRecorder()
	em, err := audit.New(sink, audit.WithSourceService("ctem"), audit.WithLogger(quietLogger()))
	require.NoError(t, err)
	s := newService(t, WithAuditProducer(em), WithOwnerResolver(OwnerRules{{Name: "edge", AssetZone: "Zone1_EdgeInference", Owner: "ot-team"}}))
	_, err = s.Ingest(ctx, SourceWiz, mustJSON(t, goldenWiz1))
	require.NoError(t, err)
	e, err := s.Ingest(ctx, SourceWiz, mustJSON(t, goldenWiz2))
	require.NoError(t, err)
	_, err = s.Verify(ctx, VerifyRequest{ExposureKey: e.ExposureKey, VerifiedBy: "dana", Actor: Actor{taxonomy.ActorHuman, "dana"}})
	require.NoError(t, err)
	require.NoError(t, em.Close(ctx))

	scored := sink.ByType(taxonomy.CTEMExposureScored)
	require.Len(t, scored, 2)
	r := scored[0]
	assert.Equal(t, "tenant-A", r.TenantID)
	assert.Equal(t, taxonomy.CategoryDecision, r.EventCategory)
	assert.Equal(t, taxonomy.SeverityInfo, r.Severity)
	assert.Equal(t, taxonomy.ActorSystem, r.ActorType)
	assert.Equal(t, "ctem-normaliser", r.ActorID)
	assert.Equal(t, "ctem", r.SourceService)
	assert.Equal(t, []string{"arn:aws:s3:::my-bucket"}, r.EntityIDs)
	assert.Equal(t, "8d53de1726fae8c3", r.Context[keyExposureKey])
	assert.Equal(t, json.Number("2.7"), r.Context[keyCTEMScore])
	assert.Equal(t, "inserted", r.Outcome[audit.KeyActionTaken])

	assigned := sink.ByType(taxonomy.CTEMRemediationAssigned)
	require.Len(t, assigned, 1)
	assert.Equal(t, taxonomy.CategoryAction, assigned[0].EventCategory)
	assert.Equal(t, DefaultTenant, assigned[0].TenantID)
	assert.Equal(t, "owner_resolver", assigned[0].Context[keyAssignmentSource])
	verified := sink.ByType(taxonomy.CTEMRemediationVerified)
	require.Len(t, verified, 1)
	assert.Equal(t, taxonomy.ActorHuman, verified[0].ActorType)
	assert.Equal(t, false, verified[0].Context[keySLABreached], "verified in time; booleans are always sent")
	assert.Equal(t, "Verified", verified[0].Outcome[audit.KeyStateAfter])
	assert.Zero(t, em.Stats().Dropped)
}
