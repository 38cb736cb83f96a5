package atlas

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
	em, err := audit.New(sink, audit.WithSourceService("atlas"), audit.WithLogger(quietLogger()))
	require.NoError(t, err)
	r := newRunner(t, DefaultRules(fullTelemetry(now)), WithAuditProducer(em))
	out, err := r.RunAll(ctx)
	require.NoError(t, err)
	require.NoError(t, em.Close(ctx))
	recs := sink.ByType(taxonomy.ATLASDetectionFired)
	require.Len(t, recs, int(r.Stats().Fired))
	require.Greater(t, len(recs), 10)
	var oracle audit.Record
	for _, rec := range recs {
		assert.Equal(t, "system", rec.TenantID)
		assert.Equal(t, taxonomy.CategoryDecision, rec.EventCategory)
		assert.Equal(t, "atlas-detection", rec.ActorID)
		if rec.Context["rule_id"] == RulePhysicsOracleDoS {
			oracle = rec
		}
	}
	require.NotEmpty(t, oracle.AuditID)
	assert.Equal(t, taxonomy.SeverityCritical, oracle.Severity)
	assert.Equal(t, out[RulePhysicsOracleDoS][0].AlertID, oracle.AlertID)
	assert.Equal(t, json.Number("0.9"), oracle.Decision[audit.KeyConfidence])
	assert.Equal(t, []any{"AML.T0029", "T1499"}, oracle.Context[audit.KeyTechniquesIdentified])
	assert.Equal(t, "alert_not_published", oracle.Outcome[audit.KeyActionTaken])
	assert.Zero(t, em.Stats().Dropped)
}
