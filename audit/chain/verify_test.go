package chain_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/socwarden/warden/audit"
	"github.com/socwarden/warden/audit/canonical"
	"github.com/socwarden/warden/audit/chain"
)

// Checklist 44: the genesis record has the reference's 20 keys and values
// and its hash verifies.
func TestGenesis(t *testing.T) {
	now := time.Date(2026, 3, 2, 8, 0, 0, 1_999_999, time.UTC)
	g := chain.Genesis("t1", "019cad8f-ac01-7219-9304-0207abb299c0", now)
	assert.Len(t, g, 21)
	want := map[string]any{
		"audit_id": "019cad8f-ac01-7219-9304-0207abb299c0", "tenant_id": "t1", "sequence_number": json.Number("0"),
		"previous_hash": strings.Repeat("0", 64), "timestamp": "2026-03-02T08:00:00.001Z",
		"ingested_at": "2026-03-02T08:00:00.001Z", "event_type": "system.genesis", "event_category": "system",
		"severity": "info", "actor_type": "system", "actor_id": "audit-service", "actor_permissions": []any{},
		"investigation_id": "", "alert_id": "", "entity_ids": []any{}, "context": canonical.Object{},
		"decision": canonical.Object{}, "outcome": canonical.Object{}, "record_version": "1.0",
		"source_service": "audit-service",
	}
	for k, v := range want {
		assert.Equal(t, v, g[k], k)
	}
	h, err := chain.Hash(g)
	require.NoError(t, err)
	assert.Equal(t, g["record_hash"], h)
	assert.True(t, chain.Verify([]canonical.Object{g}, chain.VerifyStrict(), chain.VerifyFromGenesis()).Valid)
}

// Checklist 45: hashing is deterministic, ignores record_hash, and any
// changed field changes it.
func TestHashProperties(t *testing.T) {
	rec := buildChain(t, "t1", 2)[1]
	a, err := chain.Hash(rec)
	require.NoError(t, err)
	b, err := chain.Hash(clone(rec))
	require.NoError(t, err)
	assert.Equal(t, a, b)
	without := withoutKeys(rec, "record_hash")
	c, err := chain.Hash(without)
	require.NoError(t, err)
	assert.Equal(t, a, c, "record_hash is excluded")
	// A nested record_hash is kept.
	nested := clone(rec)
	nested["context"].(canonical.Object)["record_hash"] = "x"
	d, err := chain.Hash(nested)
	require.NoError(t, err)
	assert.NotEqual(t, a, d)
	changed := clone(rec)
	changed["severity"] = "critical"
	e, err := chain.Hash(changed)
	require.NoError(t, err)
	assert.NotEqual(t, a, e)
	// Unsupported values are an error, not a panic.
	_, err = chain.Hash(canonical.Object{"x": make(chan int)})
	assert.Error(t, err)
	_, err = chain.Hash(canonical.Object{"bad\xffkey": 1})
	assert.ErrorIs(t, err, canonical.ErrInvalidUTF8)
}

// Checklist 46: linking to head {5, "abc123"}.
func TestLink(t *testing.T) {
	now := time.Date(2026, 3, 2, 8, 0, 0, 0, time.UTC)
	ev := event("t1", now, 1)
	rec, err := chain.Link(ev, chain.Head{TenantID: "t1", Sequence: 5, Hash: "abc123"}, now)
	require.NoError(t, err)
	assert.Equal(t, json.Number("6"), rec["sequence_number"])
	assert.Equal(t, "abc123", rec["previous_hash"])
	assert.True(t, strings.HasSuffix(rec["ingested_at"].(string), "Z"))
	assert.NotContains(t, rec, "record_version")
	h, err := chain.Hash(rec)
	require.NoError(t, err)
	assert.Equal(t, h, rec["record_hash"])
	assert.NotContains(t, ev, "record_hash", "the event is not modified")
	_, err = chain.Link(ev, chain.Head{}, now)
	assert.ErrorIs(t, err, chain.ErrNoHead)
	_, _, err = chain.LinkJSON(eventJSON(t, ev), chain.Head{}, now)
	assert.ErrorIs(t, err, chain.ErrNoHead)
}

// Checklist 47: producer-sent chain keys are overwritten; unknown keys are
// kept and hashed.
func TestLinkOverwritesChainKeys(t *testing.T) {
	now := time.Date(2026, 3, 2, 8, 0, 0, 0, time.UTC)
	ev := event("t1", now, 1)
	ev["record_hash"], ev["sequence_number"], ev["previous_hash"], ev["ingested_at"] = "f", json.Number("99"), "p", "i"
	ev["x_unknown"] = canonical.Object{"k": true}
	head := chain.Head{TenantID: "t1", Sequence: 0, Hash: strings.Repeat("a", 64)}
	rec, err := chain.Link(ev, head, now)
	require.NoError(t, err)
	assert.Equal(t, json.Number("1"), rec["sequence_number"])
	assert.Equal(t, head.Hash, rec["previous_hash"])
	assert.Equal(t, audit.FormatTimestamp(now), rec["ingested_at"])
	assert.Equal(t, canonical.Object{"k": true}, rec["x_unknown"])
	h, _ := chain.Hash(rec)
	assert.Equal(t, h, rec["record_hash"])

	raw, rh, err := chain.LinkJSON(eventJSON(t, ev), head, now)
	require.NoError(t, err)
	want, _ := canonical.Marshal(rec)
	assert.Equal(t, string(want), string(raw))
	assert.Equal(t, h, rh.Hash)
	// The unknown key is covered by the hash.
	ev["x_unknown"] = canonical.Object{"k": false}
	rec2, _ := chain.Link(ev, head, now)
	assert.NotEqual(t, rec["record_hash"], rec2["record_hash"])
}

// Checklist 48: a valid 10-record chain; an empty list.
func TestVerifyValid(t *testing.T) {
	recs := buildChain(t, "t1", 10)
	res := chain.Verify(recs, chain.VerifyStrict(), chain.VerifyFromGenesis())
	assert.True(t, res.Valid, "%v", res.Errors)
	assert.Equal(t, 10, res.Checked)
	assert.Equal(t, int64(9), res.LastSequence)
	assert.Nil(t, res.FirstBad)
	empty := chain.Verify(nil)
	assert.True(t, empty.Valid)
	assert.Equal(t, chain.StatusValid, empty.Status)
	assert.NotNil(t, empty.Errors)
	// Any contiguous segment verifies.
	assert.True(t, chain.Verify(recs[4:8]).Valid)
}

// Checklist 49: severity of record 2 changed: exactly one HashMismatch.
func TestVerifyChangedField(t *testing.T) {
	recs := buildChain(t, "t1", 10)
	recs[2]["severity"] = "critical"
	res := chain.Verify(recs)
	require.Len(t, res.Errors, 1)
	e := res.Errors[0]
	assert.Equal(t, chain.HashMismatch, e.Kind)
	assert.Equal(t, int64(2), e.Sequence)
	assert.Contains(t, e.Error(), "hash mismatch")
	assert.Regexp(t, `^Record seq=2: hash mismatch \(expected [0-9a-f]{16}\.\.\., got [0-9a-f]{16}\.\.\.\)$`, e.Error())
	assert.True(t, errors.Is(&e, chain.HashMismatch))
	assert.False(t, errors.Is(&e, chain.LinkBroken))
	assert.Equal(t, int64(2), *res.FirstBad)
}

// Checklist 50: record 3's record_hash replaced: mismatch on 3, link break
// on 4.
func TestVerifyReplacedHash(t *testing.T) {
	recs := buildChain(t, "t1", 10)
	recs[3]["record_hash"] = strings.Repeat("a", 64)
	res := chain.Verify(recs)
	require.Len(t, res.Errors, 2)
	assert.Equal(t, chain.HashMismatch, res.Errors[0].Kind)
	assert.Equal(t, int64(3), res.Errors[0].Sequence)
	assert.Equal(t, chain.LinkBroken, res.Errors[1].Kind)
	assert.Equal(t, int64(4), res.Errors[1].Sequence)
	assert.Equal(t, "Record seq=4: previous_hash does not link to seq=3 record_hash", res.Errors[1].Error())
}

// Checklist 51: a deleted middle record; a sequence set to 99 and re-hashed.
func TestVerifyGap(t *testing.T) {
	recs := buildChain(t, "t1", 10)
	del := append(cloneAll(recs[:5]), cloneAll(recs[6:])...)
	res := chain.Verify(del)
	assert.ElementsMatch(t, []chain.ErrorKind{chain.SequenceGap, chain.LinkBroken}, kinds(res))
	for _, e := range res.Errors {
		if e.Kind == chain.SequenceGap {
			assert.Equal(t, "Sequence gap: expected 5, got 6", e.Error())
		}
	}
	renum := cloneAll(recs)
	renum[5]["sequence_number"] = json.Number("99")
	rehash(t, renum[5])
	res = chain.Verify(renum)
	assert.Contains(t, kinds(res), chain.SequenceGap)
	assert.NotContains(t, kinds(res), chain.HashMismatch)
}

// Checklist 52: previous_hash replaced and re-hashed: a LinkBroken naming
// previous_hash.
func TestVerifyRelinked(t *testing.T) {
	recs := buildChain(t, "t1", 10)
	recs[6]["previous_hash"] = strings.Repeat("b", 64)
	rehash(t, recs[6])
	res := chain.Verify(recs)
	require.Len(t, res.Errors, 2, "%v", res.Errors) // the link into 6, and 7's link to the re-hashed 6
	assert.Equal(t, chain.LinkBroken, res.Errors[0].Kind)
	assert.Equal(t, int64(6), res.Errors[0].Sequence)
	assert.Contains(t, res.Errors[0].Error(), "previous_hash")
}

// Checklist 54: strict mode on a chain not starting with a genesis record,
// and on regressing timestamps.
func TestVerifyStrict(t *testing.T) {
	recs := buildChain(t, "t1", 5)
	bad := cloneAll(recs)
	bad[0]["actor_id"] = "someone"
	rehash(t, bad[0])
	bad[1]["previous_hash"] = bad[0]["record_hash"]
	rehash(t, bad[1])
	for i := 2; i < len(bad); i++ {
		bad[i]["previous_hash"] = bad[i-1]["record_hash"]
		rehash(t, bad[i])
	}
	assert.True(t, chain.Verify(bad).Valid, "the reference does not check the genesis shape")
	res := chain.Verify(bad, chain.VerifyStrict())
	assert.Equal(t, []chain.ErrorKind{chain.GenesisInvalid}, kinds(res))
	assert.Contains(t, res.Errors[0].Error(), "actor_id")

	ts := cloneAll(recs)
	ts[3]["timestamp"] = "2020-01-01T00:00:00.000Z"
	rehash(t, ts[3])
	ts[4]["previous_hash"] = ts[3]["record_hash"]
	rehash(t, ts[4])
	assert.True(t, chain.Verify(ts).Valid)
	assert.Equal(t, []chain.ErrorKind{chain.TimestampRegression}, kinds(chain.Verify(ts, chain.VerifyStrict())))
}

// The three states: a record lacking chain keys makes the result
// "cannot verify" and its successor is not link-checked; a definite error
// anywhere makes it invalid.
func TestVerifyThreeStates(t *testing.T) {
	recs := buildChain(t, "t1", 6)
	missing := cloneAll(recs)
	delete(missing[3], "previous_hash")
	res := chain.Verify(missing)
	assert.Equal(t, chain.StatusCannotVerify, res.Status)
	assert.False(t, res.Valid)
	require.Len(t, res.Errors, 1)
	assert.Equal(t, chain.Malformed, res.Errors[0].Kind)
	assert.Equal(t, int64(3), res.Errors[0].Sequence)
	assert.Contains(t, res.Errors[0].Error(), "previous_hash missing")
	assert.Nil(t, res.FirstBad, "nothing was found wrong")

	noSeq := cloneAll(recs)
	noSeq[2]["sequence_number"] = "two"
	res = chain.Verify(noSeq)
	assert.Equal(t, chain.StatusCannotVerify, res.Status)
	assert.True(t, res.Errors[0].NoSequence)
	assert.Contains(t, res.Errors[0].Error(), "seq=missing")

	// Invalid outranks cannot verify.
	both := cloneAll(missing)
	both[5]["severity"] = "critical"
	res = chain.Verify(both)
	assert.Equal(t, chain.StatusInvalid, res.Status)
	assert.Equal(t, int64(5), *res.FirstBad)

	// An unhashable value is malformed, not a panic.
	unh := cloneAll(recs)
	unh[1]["context"] = canonical.Object{"c": make(chan int)}
	res = chain.Verify(unh)
	assert.Equal(t, chain.StatusCannotVerify, res.Status)
}

func TestVerifyErrorCap(t *testing.T) {
	recs := buildChain(t, "t1", 30)
	for _, r := range recs {
		r["severity"] = "critical"
	}
	res := chain.Verify(recs, chain.WithMaxErrors(5))
	assert.Len(t, res.Errors, 5)
	assert.Equal(t, 25, res.ErrorsOmitted)
	assert.Equal(t, chain.StatusInvalid, res.Status)
}

func TestErrorJSON(t *testing.T) {
	e := chain.Error{Kind: chain.SequenceGap, Sequence: 6, Expected: "5", Got: "6"}
	b, err := json.Marshal(e)
	require.NoError(t, err)
	assert.Contains(t, string(b), `"kind":"sequence_gap"`)
	assert.Contains(t, string(b), `"message":"Sequence gap: expected 5, got 6"`)
	res := chain.Verify(nil)
	b, err = json.Marshal(res)
	require.NoError(t, err)
	assert.Contains(t, string(b), `"status":"valid"`)
}

func TestStatusAndKindText(t *testing.T) {
	for _, s := range []chain.Status{chain.StatusValid, chain.StatusInvalid, chain.StatusCannotVerify} {
		b, err := s.MarshalText()
		require.NoError(t, err)
		var back chain.Status
		require.NoError(t, back.UnmarshalText(b))
		assert.Equal(t, s, back)
	}
	for k := chain.HashMismatch; k <= chain.CheckpointSignature; k++ {
		b, err := k.MarshalText()
		require.NoError(t, err)
		var back chain.ErrorKind
		require.NoError(t, back.UnmarshalText(b))
		assert.Equal(t, k, back)
	}
	var s chain.Status
	assert.Error(t, s.UnmarshalText([]byte("fine")))
	var k chain.ErrorKind
	assert.Error(t, k.UnmarshalText([]byte("oops")))
	assert.Equal(t, "ErrorKind(99)", chain.ErrorKind(99).String())
}
