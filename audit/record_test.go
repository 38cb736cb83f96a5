package audit

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/socwarden/warden/taxonomy"
)

func TestDecodeRecordChained(t *testing.T) {
	raw := `{"audit_id":"a","tenant_id":"t","timestamp":"2026-01-01T00:00:00.000Z","event_type":"system.genesis",
	"event_category":"system","severity":"info","actor_type":"system","actor_id":"audit-service",
	"actor_permissions":[],"investigation_id":"","alert_id":"","entity_ids":[],"context":{},"decision":{},
	"outcome":{"n":1.50},"sequence_number":0,"previous_hash":"00","ingested_at":"2026-01-01T00:00:00.000Z",
	"record_hash":"ab","record_version":"1.0","custom":{"x":[1]}}`
	r, err := DecodeRecord([]byte(raw))
	require.NoError(t, err)
	require.NotNil(t, r.SequenceNumber)
	assert.Equal(t, int64(0), *r.SequenceNumber)
	assert.Equal(t, taxonomy.SystemGenesis, r.EventType)
	assert.Equal(t, json.Number("1.50"), r.Outcome["n"])
	assert.Equal(t, Fields{}, r.Context)
	assert.Equal(t, []string{}, r.EntityIDs)
	assert.Equal(t, "1.0", r.RecordVersion)
	assert.Equal(t, map[string]any{"custom": map[string]any{"x": []any{json.Number("1")}}}, r.Extra)

	r, err = DecodeRecord([]byte(`{"audit_id":"a"}`))
	require.NoError(t, err)
	assert.Nil(t, r.SequenceNumber, "absent differs from 0")
	assert.Nil(t, r.Context)
}

func TestDecodeRecordTypeErrors(t *testing.T) {
	for _, raw := range []string{
		`{"tenant_id":5}`, `{"entity_ids":"x"}`, `{"entity_ids":[1]}`, `{"context":[]}`,
		`{"sequence_number":"0"}`, `{"sequence_number":1.5}`, `{"producer_seq":-1}`,
	} {
		_, err := DecodeRecord([]byte(raw))
		var fe *RecordFieldError
		assert.ErrorAs(t, err, &fe, raw)
	}
	for _, raw := range []string{``, `[]`, `{"a":1} x`, `{"a":NaN}`} {
		_, err := DecodeRecord([]byte(raw))
		assert.Error(t, err, raw)
	}
}
