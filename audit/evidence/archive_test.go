package evidence_test

import (
	"bytes"
	"context"
	"errors"
	"strings"
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

func date(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 12, 0, 0, 0, time.UTC) }

// Checklist 78.
func TestExportMonthAndPartitions(t *testing.T) {
	assert.Equal(t, time.Date(2025, 12, 1, 0, 0, 0, 0, time.UTC), evidence.ExportMonth(date(2026, 2, 15)))
	assert.Equal(t, "audit_records_2025_12", evidence.PartitionName(evidence.ExportMonth(date(2026, 2, 15))))
	assert.Equal(t, time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), evidence.ExportMonth(date(2026, 3, 15)))
	assert.Equal(t, time.Date(2025, 11, 1, 0, 0, 0, 0, time.UTC), evidence.ExportMonth(date(2026, 1, 31)))
	got, err := evidence.ParsePartitionName("audit_records_2025_12")
	require.NoError(t, err)
	assert.Equal(t, time.Date(2025, 12, 1, 0, 0, 0, 0, time.UTC), got)
	for _, bad := range []string{"", "audit_records_2025_13", "audit_records_2025_00", "audit_records_2025-12",
		"audit_records_25_12", "audit_records_2025_1", "other_2025_12", "audit_records_2025_12x", "audit_records_+025_12"} {
		_, err := evidence.ParsePartitionName(bad)
		assert.ErrorIs(t, err, evidence.ErrBadPartition, bad)
	}
	assert.Equal(t, "cold/2025-12/audit_records.jsonl", evidence.ColdKey(date(2025, 12, 31)))
}

// Checklist 81.
func TestCanDrop(t *testing.T) {
	now := date(2026, 3, 15)
	assert.NoError(t, evidence.CanDrop("audit_records_2026_01", now, true, false))
	assert.NoError(t, evidence.CanDrop("audit_records_2025_06", now, true, false))
	assert.ErrorIs(t, evidence.CanDrop("audit_records_2026_01", now, false, false), evidence.ErrNotVerified)
	assert.ErrorIs(t, evidence.CanDrop("audit_records_2026_02", now, true, false), evidence.ErrInBuffer)
	assert.ErrorIs(t, evidence.CanDrop("audit_records_2026_03", now, true, false), evidence.ErrInBuffer)
	assert.ErrorIs(t, evidence.CanDrop("audit_records_2026_01", now, true, true), evidence.ErrLegalHold)
	assert.ErrorIs(t, evidence.CanDrop("records_2026_01", now, true, false), evidence.ErrBadPartition)
	// Across a year boundary: in January, November may go, December not.
	assert.NoError(t, evidence.CanDrop("audit_records_2025_11", date(2026, 1, 2), true, false))
	assert.ErrorIs(t, evidence.CanDrop("audit_records_2025_12", date(2026, 1, 2), true, false), evidence.ErrInBuffer)
}

// monthStore builds chains whose records span several months.
func monthStore(t *testing.T) *chain.MemoryStore {
	t.Helper()
	s := chain.NewMemoryStore()
	var now time.Time
	clock := func() time.Time { return now }
	ch, err := chain.New(s, chain.WithClock(clock), chain.WithLogger(quiet))
	require.NoError(t, err)
	em, err := audit.New(ch, audit.WithClock(clock), audit.WithLogger(quiet))
	require.NoError(t, err)
	for i, at := range []time.Time{
		time.Date(2025, 11, 30, 23, 59, 59, 999e6, time.UTC), // November
		time.Date(2025, 12, 1, 0, 0, 0, 0, time.UTC),         // first instant of December
		time.Date(2025, 12, 15, 8, 0, 0, 0, time.UTC),
		time.Date(2025, 12, 31, 23, 59, 59, 999e6, time.UTC), // last millisecond of December
		time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC),          // January
	} {
		now = at
		for _, tn := range []string{"t2", "t1"} {
			_, ok := em.Emit(audit.Event{TenantID: tn, Type: taxonomy.AlertClassified, ActorType: taxonomy.ActorAgent,
				ActorID: "a", Context: audit.Fields{"i": i}})
			require.True(t, ok)
			require.NoError(t, em.Flush(context.Background()))
		}
	}
	require.NoError(t, em.Close(context.Background()))
	return s
}

// Checklist 80: the month's records, by tenant and sequence, with a sidecar
// holding the file's hash; re-downloaded and verified.
func TestExportCold(t *testing.T) {
	ctx := context.Background()
	s := monthStore(t)
	objs := evidence.NewMemoryObjects()
	res, err := evidence.ExportCold(ctx, s, objs, bucket, date(2025, 12, 20))
	require.NoError(t, err)
	assert.True(t, res.Verified, "%+v", res)
	assert.Equal(t, 6, res.ExportedCount) // 3 December records × 2 tenants
	assert.Equal(t, "audit_records_2025_12", res.PartitionName)
	assert.Equal(t, "s3://warden-evidence/cold/2025-12/audit_records.jsonl", res.URI)
	assert.Empty(t, res.ChainErrors)
	assert.Empty(t, res.Error)
	assert.Empty(t, res.Skipped)
	assert.Equal(t, []string{"warden-evidence/cold/2025-12/audit_records.jsonl", "warden-evidence/cold/2025-12/audit_records.jsonl.sha256"}, objs.Keys())
	assert.Equal(t, "aws:kms", objs.SSE(bucket, "cold/2025-12/audit_records.jsonl"))
	body, err := objs.Get(ctx, bucket, "cold/2025-12/audit_records.jsonl")
	require.NoError(t, err)
	side, err := objs.Get(ctx, bucket, "cold/2025-12/audit_records.jsonl.sha256")
	require.NoError(t, err)
	assert.Equal(t, hashOf(string(body)), string(side))
	assert.Equal(t, res.FileHash, string(side))

	lines := strings.Split(strings.TrimSuffix(string(body), "\n"), "\n")
	require.Len(t, lines, 6)
	var tenants []string
	var seqs []string
	sv := chain.NewStreamVerifier()
	for _, l := range lines {
		c, err := canonical.Canonicalize([]byte(l))
		require.NoError(t, err)
		assert.Equal(t, l, string(c), "canonical lines")
		obj, _ := canonical.DecodeObject([]byte(l))
		tenants = append(tenants, obj["tenant_id"].(string))
		seqs = append(seqs, string(obj["sequence_number"].(interface{ String() string }).String()))
		assert.True(t, strings.HasPrefix(obj["timestamp"].(string), "2025-12-"))
		sv.AddJSON([]byte(l))
	}
	assert.Equal(t, []string{"t1", "t1", "t1", "t2", "t2", "t2"}, tenants)
	assert.Equal(t, []string{"2", "3", "4", "2", "3", "4"}, seqs)
	assert.Equal(t, chain.StatusValid, sv.Report().Status, "the archive re-verifies as chain segments")
}

// Checklist 79: an empty month uploads nothing.
func TestExportColdEmptyMonth(t *testing.T) {
	objs := evidence.NewMemoryObjects()
	res, err := evidence.ExportCold(context.Background(), monthStore(t), objs, bucket, date(2025, 6, 1))
	require.NoError(t, err)
	assert.Equal(t, "no_records", res.Skipped)
	assert.True(t, res.Verified)
	assert.Zero(t, res.ExportedCount)
	assert.Empty(t, objs.Keys())
}

// A broken chain is still archived (evidence is kept) but not verified; a
// failed upload is reported.
func TestExportColdFailures(t *testing.T) {
	ctx := context.Background()
	s := monthStore(t)
	objs := evidence.NewMemoryObjects()
	res, err := evidence.ExportCold(ctx, tamperedRange{s}, objs, bucket, date(2025, 12, 1))
	require.NoError(t, err)
	assert.False(t, res.Verified)
	assert.NotEmpty(t, res.ChainErrors)
	assert.Len(t, objs.Keys(), 2, "uploaded anyway")

	res, err = evidence.ExportCold(ctx, s, failingObjects{}, bucket, date(2025, 12, 1))
	require.NoError(t, err)
	assert.False(t, res.Verified)
	assert.Contains(t, res.Error, "upload failed")

	res, err = evidence.ExportCold(ctx, s, corruptingObjects{evidence.NewMemoryObjects()}, bucket, date(2025, 12, 1))
	require.NoError(t, err)
	assert.False(t, res.Verified)
	assert.Contains(t, res.Error, "does not match")

	_, err = evidence.ExportCold(ctx, failingTenants{s}, objs, bucket, date(2025, 12, 1))
	assert.Error(t, err)
}

type tamperedRange struct{ *chain.MemoryStore }

func (tr tamperedRange) Range(ctx context.Context, tenant string, from, to int64) ([]canonical.Object, error) {
	recs, err := tr.MemoryStore.Range(ctx, tenant, from, to)
	if len(recs) > 2 {
		recs[2]["severity"] = "critical"
	}
	return recs, err
}

type corruptingObjects struct{ *evidence.MemoryObjects }

func (c corruptingObjects) Get(ctx context.Context, b, k string) ([]byte, error) {
	body, err := c.MemoryObjects.Get(ctx, b, k)
	return bytes.ToUpper(body), err
}

type failingTenants struct{ *chain.MemoryStore }

func (failingTenants) Tenants(context.Context) ([]string, error) { return nil, errors.New("db down") }
