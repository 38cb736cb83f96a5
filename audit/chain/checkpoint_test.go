package chain_test

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/socwarden/warden/audit/canonical"
	"github.com/socwarden/warden/audit/chain"
)

func newKey(t testing.TB) (ed25519.PublicKey, ed25519.PrivateKey) {
	t.Helper()
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err)
	return pub, priv
}

var cpTime = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)

func checkpointAt(t testing.TB, priv ed25519.PrivateKey, rec canonical.Object) chain.Checkpoint {
	t.Helper()
	h, err := chain.HeadOf(rec)
	require.NoError(t, err)
	cp, err := chain.SignCheckpoint(priv, h, cpTime)
	require.NoError(t, err)
	return cp
}

func TestCheckpointSignAndWire(t *testing.T) {
	pub, priv := newKey(t)
	recs := buildChain(t, "tënant-γ", 3)
	cp := checkpointAt(t, priv, recs[2])
	assert.Equal(t, "tënant-γ", cp.TenantID)
	assert.Equal(t, int64(2), cp.Sequence)
	assert.Equal(t, recs[2]["record_hash"], cp.HeadHash)
	assert.Equal(t, "2026-03-02T09:00:00.000Z", cp.Timestamp)
	assert.Equal(t, chain.KeyID(pub), cp.KeyID)
	assert.Len(t, cp.KeyID, 16)
	require.NoError(t, cp.VerifySignature(pub))

	// The wire form is canonical JSON, round-trips, and is told apart
	// from a record.
	b, err := json.Marshal(cp)
	require.NoError(t, err)
	c, err := canonical.Canonicalize(b)
	require.NoError(t, err)
	assert.Equal(t, string(c), string(b))
	assert.Contains(t, string(b), `"checkpoint":"warden.chain.checkpoint.v1"`)
	var back chain.Checkpoint
	require.NoError(t, json.Unmarshal(b, &back))
	assert.Equal(t, cp, back)
	obj, _ := canonical.DecodeObject(b)
	assert.True(t, chain.IsCheckpoint(obj))
	assert.False(t, chain.IsCheckpoint(recs[1]))
	_, err = chain.ParseCheckpoint(eventJSON(t, recs[1]))
	assert.ErrorIs(t, err, chain.ErrNotCheckpoint)

	// Every signed field is covered.
	other, _ := newKey(t)
	for name, mut := range map[string]func(*chain.Checkpoint){
		"tenant":    func(c *chain.Checkpoint) { c.TenantID = "x" },
		"sequence":  func(c *chain.Checkpoint) { c.Sequence++ },
		"hash":      func(c *chain.Checkpoint) { c.HeadHash = strings.Repeat("0", 64) },
		"time":      func(c *chain.Checkpoint) { c.Timestamp = "2030-01-01T00:00:00.000Z" },
		"signature": func(c *chain.Checkpoint) { c.Signature = "00" + c.Signature[2:] },
		"garbage":   func(c *chain.Checkpoint) { c.Signature = "zz" },
	} {
		m := cp
		mut(&m)
		assert.ErrorIs(t, m.VerifySignature(pub), chain.ErrCheckpointSignature, name)
	}
	assert.ErrorIs(t, cp.VerifySignature(other), chain.ErrCheckpointSignature, "unknown key")
	assert.NoError(t, cp.VerifySignature(other, pub), "any trusted key")

	_, err = chain.SignCheckpoint(nil, chain.Head{Hash: "x"}, cpTime)
	assert.ErrorIs(t, err, chain.ErrSignerKey)
	_, err = chain.SignCheckpoint(priv, chain.Head{}, cpTime)
	assert.ErrorIs(t, err, chain.ErrNoHead)
}

// Issue: the verifier reports a chain that ends before its last checkpoint
// or disagrees with one.
func TestVerifyCheckpoints(t *testing.T) {
	pub, priv := newKey(t)
	recs := buildChain(t, "t1", 10)
	cps := []chain.Checkpoint{checkpointAt(t, priv, recs[4]), checkpointAt(t, priv, recs[9])}

	res := chain.Verify(recs, chain.WithCheckpoints(cps...), chain.WithPublicKeys(pub))
	assert.True(t, res.Valid, "%v", res.Errors)
	assert.Equal(t, 2, res.CheckpointsChecked)
	assert.False(t, res.CheckpointsUnauthenticated)

	// Tail cut off: invisible to the hash chain, visible to the checkpoint.
	cut := recs[:7]
	assert.True(t, chain.Verify(cut).Valid)
	res = chain.Verify(cut, chain.WithCheckpoints(cps...), chain.WithPublicKeys(pub))
	assert.Equal(t, chain.StatusInvalid, res.Status)
	assert.Equal(t, []chain.ErrorKind{chain.Truncated}, kinds(res))
	assert.Contains(t, res.Errors[0].Error(), "ends at seq=6")
	assert.Contains(t, res.Errors[0].Error(), "seq=9")

	// Wholesale rewrite from record 3 on, every hash recomputed: the chain
	// verifies, the checkpoints do not.
	rw := cloneAll(recs)
	rw[3]["severity"] = "critical"
	for i := 3; i < len(rw); i++ {
		if i > 3 {
			rw[i]["previous_hash"] = rw[i-1]["record_hash"]
		}
		rehash(t, rw[i])
	}
	assert.True(t, chain.Verify(rw).Valid)
	res = chain.Verify(rw, chain.WithCheckpoints(cps...), chain.WithPublicKeys(pub))
	assert.Equal(t, []chain.ErrorKind{chain.CheckpointMismatch, chain.CheckpointMismatch}, kinds(res))
	assert.Equal(t, int64(4), *res.FirstBad)

	// A forged checkpoint (attacker's key) is reported, not trusted.
	_, evil := newKey(t)
	forged := checkpointAt(t, evil, rw[9])
	res = chain.Verify(rw, chain.WithCheckpoints(forged), chain.WithPublicKeys(pub))
	assert.Equal(t, []chain.ErrorKind{chain.CheckpointSignature}, kinds(res))

	// Without keys, checkpoints still catch truncation but are flagged.
	res = chain.Verify(cut, chain.WithCheckpoints(cps...))
	assert.True(t, res.CheckpointsUnauthenticated)
	assert.Equal(t, chain.StatusInvalid, res.Status)

	// Checkpoints of other tenants are ignored; those before a segment too.
	other := checkpointAt(t, priv, buildChain(t, "t2", 3)[2])
	res = chain.Verify(recs[6:], chain.WithCheckpoints(append(cps, other)...), chain.WithPublicKeys(pub))
	assert.True(t, res.Valid, "%v", res.Errors)
	assert.Equal(t, 1, res.CheckpointsChecked)

	// A checkpoint naming a sequence the chain skips.
	gap := append(cloneAll(recs[:4]), cloneAll(recs[5:])...)
	res = chain.Verify(gap, chain.WithCheckpoints(cps[0]), chain.WithPublicKeys(pub))
	assert.Contains(t, kinds(res), chain.CheckpointMismatch)
}
