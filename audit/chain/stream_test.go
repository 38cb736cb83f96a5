package chain_test

import (
	"crypto/ed25519"
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/socwarden/warden/audit"
	"github.com/socwarden/warden/audit/canonical"
	"github.com/socwarden/warden/audit/chain"
)

// streamOf chains events for several tenants with LinkJSON, interleaved,
// and returns the lines (records and, after every k-th record of a tenant,
// a checkpoint line).
func streamOf(t testing.TB, tenants []string, perTenant int, priv ed25519.PrivateKey, every int) [][]byte {
	t.Helper()
	base := time.Date(2026, 3, 2, 8, 0, 0, 0, time.UTC)
	heads := map[string]chain.Head{}
	var out [][]byte
	seq := uint64(0)
	for i := 0; i <= perTenant; i++ {
		for _, tn := range tenants {
			now := base.Add(time.Duration(len(out)) * time.Millisecond)
			var line []byte
			if i == 0 {
				g := chain.Genesis(tn, audit.NewIDAt(now), now)
				line = eventJSON(t, g)
				heads[tn], _ = chain.HeadOf(g)
			} else {
				seq++
				ev := event(tn, now, int(seq))
				ev["producer_seq"] = json.Number(jsonUint(seq))
				var err error
				line, heads[tn], err = chain.LinkJSON(eventJSON(t, ev), heads[tn], now)
				require.NoError(t, err)
			}
			out = append(out, line)
			if priv != nil && every > 0 && heads[tn].Sequence%int64(every) == 0 && heads[tn].Sequence > 0 {
				cp, err := chain.SignCheckpoint(priv, heads[tn], now)
				require.NoError(t, err)
				b, _ := json.Marshal(cp)
				out = append(out, b)
			}
		}
	}
	return out
}

func TestStreamVerifierValidWithCheckpoints(t *testing.T) {
	pub, priv := newKey(t)
	lines := streamOf(t, []string{"a", "b", "c"}, 20, priv, 5)
	sv := chain.NewStreamVerifier(chain.WithPublicKeys(pub), chain.VerifyFromGenesis(), chain.VerifyStrict())
	for _, l := range lines {
		sv.AddJSON(append(l, '\n'))
	}
	sv.AddJSON([]byte("   \n")) // blank lines are skipped
	rep := sv.Report()
	assert.Equal(t, chain.StatusValid, rep.Status, "%+v", rep)
	assert.Equal(t, 63, rep.Records)
	assert.Equal(t, 12, rep.Checkpoints)
	assert.Equal(t, len(lines)+1, rep.Lines)
	for _, tr := range rep.Tenants {
		assert.Equal(t, 4, tr.CheckpointsChecked, tr.TenantID)
		assert.Equal(t, int64(20), tr.LastSequence)
	}
	assert.Equal(t, 1, rep.Producers)
	assert.Empty(t, rep.ProducerGaps)
}

// Malformed lines are reported with their line number (and the tenant they
// seem to name); the stream is then "cannot verify", not valid or invalid,
// since the record that was lost cannot be judged.
func TestStreamVerifierMalformedLines(t *testing.T) {
	lines := streamOf(t, []string{"a", "b"}, 6, nil, 0)
	sv := chain.NewStreamVerifier()
	for i, l := range lines {
		switch i {
		case 5:
			sv.AddJSON([]byte(`{"tenant_id":"a","sequence_number":2, oops`))
		case 8:
			sv.AddJSON([]byte(`[1,2,3]`))
		default:
			sv.AddJSON(l)
		}
	}
	rep := sv.Report()
	require.Len(t, rep.Malformed, 2)
	assert.Equal(t, 6, rep.Malformed[0].Line)
	assert.Equal(t, "a", rep.Malformed[0].TenantID)
	assert.Equal(t, 9, rep.Malformed[1].Line)
	assert.Equal(t, 2, rep.MalformedCount)
	// Line 6 was really b's seq 2 (the garbage claims tenant a) and line 9
	// a's seq 4: neither tenant's next link is judged, so neither shows an
	// error, and the stream as a whole cannot be verified.
	assert.Equal(t, chain.StatusCannotVerify, rep.Status, "%+v", rep)
	for _, tr := range rep.Tenants {
		assert.Empty(t, tr.Errors, tr.TenantID)
	}
}

// Records lacking chain keys make their tenant "cannot verify".
func TestStreamVerifierMissingChainKeys(t *testing.T) {
	lines := streamOf(t, []string{"a", "b"}, 4, nil, 0)
	sv := chain.NewStreamVerifier()
	for i, l := range lines {
		if i == 4 {
			obj, _ := canonical.DecodeObject(l)
			delete(obj, "record_hash")
			l = eventJSON(t, obj)
		}
		sv.AddJSON(l)
	}
	rep := sv.Report()
	assert.Equal(t, chain.StatusCannotVerify, rep.Status)
	assert.Equal(t, chain.StatusCannotVerify, rep.Tenants[0].Status)
	assert.Equal(t, chain.StatusValid, rep.Tenants[1].Status)
	assert.Equal(t, 5, rep.Tenants[0].Errors[0].Line)
}

// Issue: verification reports, per producer_id, the missing producer_seq
// ranges.
func TestStreamVerifierProducerGaps(t *testing.T) {
	base := time.Date(2026, 3, 2, 8, 0, 0, 0, time.UTC)
	heads := map[string]chain.Head{}
	sv := chain.NewStreamVerifier()
	emit := func(tn, producer string, seq uint64) {
		if !heads[tn].Exists() {
			g := chain.Genesis(tn, audit.NewIDAt(base), base)
			sv.AddJSON(eventJSON(t, g))
			heads[tn], _ = chain.HeadOf(g)
		}
		ev := event(tn, base, int(seq))
		ev["producer_id"], ev["producer_seq"] = producer, json.Number(jsonUint(seq))
		line, h, err := chain.LinkJSON(eventJSON(t, ev), heads[tn], base)
		require.NoError(t, err)
		heads[tn] = h
		sv.AddJSON(line)
	}
	// Producer p1 emits 1..10 across two tenants; 4, 5 and 9 never arrive.
	for s := uint64(1); s <= 10; s++ {
		if s == 4 || s == 5 || s == 9 {
			continue
		}
		emit([]string{"a", "b"}[s%2], "p1", s)
	}
	// p2 is complete; a duplicate of its 2 arrives.
	emit("a", "p2", 1)
	emit("a", "p2", 2)
	emit("b", "p2", 2)
	rep := sv.Report()
	assert.Equal(t, chain.StatusValid, rep.Status, "gaps are information, not invalidity")
	require.Len(t, rep.ProducerGaps, 1)
	g := rep.ProducerGaps[0]
	assert.Equal(t, "p1", g.ProducerID)
	assert.Equal(t, []audit.SeqRange{{From: 4, To: 5}, {From: 9, To: 9}}, g.Missing)
	assert.Equal(t, uint64(3), g.MissingCount)
	assert.Equal(t, uint64(10), g.Highest)
	assert.Equal(t, 2, rep.Producers)
	assert.Equal(t, uint64(1), rep.ProducerDuplicates)
}

// Checkpoints that arrive after their record are matched from the recent
// window; older ones are counted as unchecked; ones ahead of the chain wait
// for their record or become truncation.
func TestStreamVerifierLateAndEarlyCheckpoints(t *testing.T) {
	pub, priv := newKey(t)
	recs := buildChain(t, "t1", 100)
	sv := chain.NewStreamVerifier(chain.WithPublicKeys(pub), chain.WithCheckpointWindow(10))
	early := checkpointAt(t, priv, recs[50])
	sv.AddCheckpoint(early)
	for _, r := range recs[:95] {
		sv.AddRecord(r)
	}
	sv.AddCheckpoint(checkpointAt(t, priv, recs[90])) // in the window
	sv.AddCheckpoint(checkpointAt(t, priv, recs[10])) // too old to check
	sv.AddCheckpoint(checkpointAt(t, priv, recs[99])) // ahead: never arrives
	rep := sv.Report()
	tr := rep.Tenants[0]
	assert.Equal(t, 2, tr.CheckpointsChecked)
	assert.Equal(t, 1, tr.CheckpointsUnchecked)
	assert.Equal(t, []chain.ErrorKind{chain.Truncated}, kinds(tr.Result))
	assert.Equal(t, chain.StatusInvalid, rep.Status)
}

// The fast path and the decode path agree on the vectors (Python-style
// text takes the decode path; its canonical form the fast path).
func TestStreamVerifierBothPaths(t *testing.T) {
	lines := loadVectors(t)
	fast, slow := chain.NewStreamVerifier(), chain.NewStreamVerifier()
	for _, l := range lines {
		c, err := canonical.Canonicalize(l.raw)
		require.NoError(t, err)
		fast.AddJSON(c)
		slow.AddJSON(l.raw)
	}
	a, b := fast.Report(), slow.Report()
	assert.Equal(t, a, b)
	assert.Equal(t, chain.StatusValid, a.Status)
}

func jsonUint(n uint64) string {
	b, _ := json.Marshal(n)
	return string(b)
}
