package chain_test

import (
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/socwarden/warden/audit"
	"github.com/socwarden/warden/audit/canonical"
	"github.com/socwarden/warden/audit/chain"
)

// Checklist 43: every vector record re-hashes to its record_hash, through
// the object path and the encoded path (raw Python-style text and its
// canonical form).
func TestVectorsRehash(t *testing.T) {
	for i, l := range loadVectors(t) {
		want := l.obj["record_hash"].(string)
		got, err := chain.Hash(l.obj)
		require.NoError(t, err)
		assert.Equal(t, want, got, "line %d object hash", i+1)

		got, err = chain.HashJSON(l.raw)
		require.NoError(t, err)
		assert.Equal(t, want, got, "line %d raw-text hash", i+1)

		c, err := canonical.Canonicalize(l.raw)
		require.NoError(t, err)
		got, err = chain.HashJSON(c)
		require.NoError(t, err)
		assert.Equal(t, want, got, "line %d canonical-text hash", i+1)
	}
}

// Checklist 43: grouped by tenant and sorted, every chain verifies (also
// strictly and as a whole chain), and the file as written — tenants
// interleaved, Python key order — verifies as a stream.
func TestVectorsVerify(t *testing.T) {
	lines := loadVectors(t)
	groups := byTenant(t, lines)
	require.Len(t, groups, 3)
	sizes := map[string]int{"tenant-alpha": 13, "tenant-beta": 8, "tënant-γ": 4}
	for tenant, recs := range groups {
		assert.Len(t, recs, sizes[tenant], tenant)
		for _, opts := range [][]chain.VerifyOption{nil, {chain.VerifyStrict(), chain.VerifyFromGenesis()}} {
			res := chain.Verify(recs, opts...)
			assert.True(t, res.Valid, "%s: %v", tenant, res.Errors)
			assert.Equal(t, chain.StatusValid, res.Status)
			assert.Equal(t, len(recs), res.Checked)
			assert.Equal(t, int64(0), res.FirstSequence)
			assert.Equal(t, int64(len(recs)-1), res.LastSequence)
		}
	}
	sv := chain.NewStreamVerifier(chain.VerifyStrict(), chain.VerifyFromGenesis())
	for _, l := range lines {
		sv.AddJSON(l.raw)
	}
	rep := sv.Report()
	assert.Equal(t, chain.StatusValid, rep.Status, "%+v", rep)
	assert.Equal(t, 25, rep.Records)
	assert.Len(t, rep.Tenants, 3)
	assert.Empty(t, rep.Malformed)
}

// The re-chain test of the vectors README: linking each event (record minus
// the chain keys) to its predecessor's head with its own ingested_at
// rebuilds the stored record byte for byte, on the object path and on the
// encoded path from both canonical and Python-style text; Genesis rebuilds
// each genesis record.
func TestVectorsRechain(t *testing.T) {
	lines := loadVectors(t)
	heads := map[string]chain.Head{}
	for i, l := range lines {
		want, err := canonical.Marshal(l.obj)
		require.NoError(t, err)
		tenant := l.obj["tenant_id"].(string)
		ingested, err := audit.ParseTimestamp(l.obj["ingested_at"].(string))
		require.NoError(t, err)
		if seqOf(t, l.obj) == 0 {
			g := chain.Genesis(tenant, l.obj["audit_id"].(string), ingested)
			got, err := canonical.Marshal(g)
			require.NoError(t, err)
			assert.Equal(t, string(want), string(got), "line %d genesis", i+1)
			heads[tenant], err = chain.HeadOf(g)
			require.NoError(t, err)
			continue
		}
		ev := withoutKeys(l.obj, "sequence_number", "previous_hash", "ingested_at", "record_hash")
		rec, err := chain.Link(ev, heads[tenant], ingested)
		require.NoError(t, err)
		got, err := canonical.Marshal(rec)
		require.NoError(t, err)
		assert.Equal(t, string(want), string(got), "line %d object path", i+1)

		evJSON := eventJSON(t, ev)
		rawGot, head, err := chain.LinkJSON(evJSON, heads[tenant], ingested)
		require.NoError(t, err)
		assert.Equal(t, string(want), string(rawGot), "line %d canonical-text path", i+1)

		// The same event as the Python producer would have written it.
		pyEvent := pythonStyle(t, ev)
		rawGot2, _, err := chain.LinkJSON(pyEvent, heads[tenant], ingested)
		require.NoError(t, err)
		assert.Equal(t, string(want), string(rawGot2), "line %d python-text path", i+1)

		assert.Equal(t, l.obj["record_hash"], head.Hash)
		assert.Equal(t, seqOf(t, l.obj), head.Sequence)
		assert.Equal(t, tenant, head.TenantID)
		assert.Equal(t, l.obj["timestamp"], head.Timestamp)
		heads[tenant] = head
	}
}

// pythonStyle writes an object with ", " and ": " separators, unsorted
// (reverse) key order and raw UTF-8, like json.dumps without sort_keys.
func pythonStyle(t testing.TB, obj canonical.Object) []byte {
	t.Helper()
	keys := make([]string, 0, len(obj))
	for k := range obj {
		keys = append(keys, k)
	}
	sort.Sort(sort.Reverse(sort.StringSlice(keys)))
	out := []byte("{")
	for i, k := range keys {
		if i > 0 {
			out = append(out, ", "...)
		}
		kb, _ := json.Marshal(k)
		out = append(out, kb...)
		out = append(out, ": "...)
		vb, err := canonical.Marshal(obj[k])
		require.NoError(t, err)
		out = append(out, vb...)
	}
	return append(out, '}')
}

// mutations returns altered copies of a value, one per way of changing it.
func mutate(v any) any {
	switch x := v.(type) {
	case string:
		return x + "x"
	case json.Number:
		if n, err := strconv.ParseInt(string(x), 10, 64); err == nil {
			return json.Number(strconv.FormatInt(n+1, 10))
		}
		return json.Number("2.5")
	case bool:
		return !x
	case nil:
		return "x"
	case []any:
		return append(slices.Clone(x), "x")
	case canonical.Object:
		c := make(canonical.Object, len(x)+1)
		for k, vv := range x {
			c[k] = vv
		}
		c["tampered"] = true
		return c
	}
	panic(fmt.Sprintf("unexpected %T", v))
}

// Issue: for every record and every top-level field, one mutation is
// detected (checklist 45, 49): a hash mismatch on exactly that record. A
// mutation of record_hash itself also breaks the next record's link; of
// previous_hash or sequence_number, its own link or sequence check.
func TestTamperEveryFieldOfEveryRecord(t *testing.T) {
	groups := byTenant(t, loadVectors(t))
	mutations, pairs := 0, 0
	for _, recs := range groups {
		for _, r := range recs {
			pairs += len(r)
		}
	}
	for tenant, recs := range groups {
		for i := range recs {
			for key := range recs[i] {
				tampered := cloneAll(recs)
				tampered[i][key] = mutate(tampered[i][key])
				res := chain.Verify(tampered)
				require.False(t, res.Valid, "%s record %d key %s not detected", tenant, i, key)
				require.Equal(t, chain.StatusInvalid, res.Status, "%s record %d key %s", tenant, i, key)
				require.NotNil(t, res.FirstBad)
				mutations++
				if key == "sequence_number" {
					continue // the record's own number changed: reported under the new one
				}
				assert.Equal(t, int64(i), *res.FirstBad, "%s record %d key %s", tenant, i, key)
				assert.Equal(t, chain.HashMismatch, res.Errors[0].Kind, "%s record %d key %s", tenant, i, key)
				assert.Contains(t, res.Errors[0].Error(), "hash mismatch")

				// Deleting the key is detected the same way.
				deleted := cloneAll(recs)
				delete(deleted[i], key)
				res = chain.Verify(deleted)
				assert.NotEqual(t, chain.StatusValid, res.Status, "%s record %d key %s deleted", tenant, i, key)
			}
		}
	}
	assert.Equal(t, pairs, mutations) // every (record, key) pair of the 25 records
}

// Issue: deleting any record, reordering two records, or moving a record to
// another tenant is detected.
func TestTamperStructure(t *testing.T) {
	groups := byTenant(t, loadVectors(t))
	tenants := []string{"tenant-alpha", "tenant-beta", "tënant-γ"}
	for _, tenant := range tenants {
		recs := groups[tenant]
		for i := range recs {
			// Delete record i. A middle record leaves a gap and a broken
			// link (checklist 51); the genesis, only a whole-chain
			// verification; the last, only a checkpoint.
			del := slices.Delete(cloneAll(recs), i, i+1)
			switch {
			case i == 0:
				assert.True(t, chain.Verify(del).Valid, "a segment without its genesis is still a valid segment")
				res := chain.Verify(del, chain.VerifyFromGenesis())
				assert.Equal(t, []chain.ErrorKind{chain.GenesisInvalid}, kinds(res))
			case i == len(recs)-1:
				assert.True(t, chain.Verify(del).Valid, "a cut tail needs a checkpoint to show")
			default:
				res := chain.Verify(del)
				assert.ElementsMatch(t, []chain.ErrorKind{chain.LinkBroken, chain.SequenceGap}, kinds(res), "%s delete %d", tenant, i)
				assert.Equal(t, int64(i+1), *res.FirstBad)
			}
			// Swap records i and i+1.
			if i+1 < len(recs) {
				sw := cloneAll(recs)
				sw[i], sw[i+1] = sw[i+1], sw[i]
				res := chain.Verify(sw)
				assert.Equal(t, chain.StatusInvalid, res.Status, "%s swap %d", tenant, i)
				assert.Contains(t, kinds(res), chain.SequenceGap)
			}
		}
	}
	// Move a record to another tenant's chain: as is (its tenant_id still
	// names the old tenant), with the tenant_id rewritten, and rewritten and
	// re-hashed.
	alpha, beta := groups["tenant-alpha"], groups["tenant-beta"]
	for i := 1; i < len(alpha); i++ {
		for _, variant := range []string{"as-is", "retagged", "retagged-rehashed"} {
			moved := clone(alpha[i])
			if variant != "as-is" {
				moved["tenant_id"] = "tenant-beta"
			}
			if variant == "retagged-rehashed" {
				rehash(t, moved)
			}
			into := cloneAll(beta)
			into = slices.Insert(into, 3, moved)
			res := chain.Verify(into)
			assert.Equal(t, chain.StatusInvalid, res.Status, "%s move alpha[%d] into beta", variant, i)
			strict := chain.Verify(into, chain.VerifyStrict())
			if variant == "as-is" {
				assert.Contains(t, kinds(strict), chain.TenantMismatch)
			}
			// Removing it from alpha leaves a hole there too.
			if i < len(alpha)-1 {
				left := slices.Delete(cloneAll(alpha), i, i+1)
				assert.False(t, chain.Verify(left).Valid)
			}
		}
	}
	// The same in the stream verifier, which groups by tenant_id: a record
	// retagged to beta shows a mismatch in beta and a gap in alpha.
	lines := loadVectors(t)
	sv := chain.NewStreamVerifier()
	for _, l := range lines {
		obj := clone(l.obj)
		if obj["tenant_id"] == "tenant-alpha" && seqOf(t, obj) == 4 {
			obj["tenant_id"] = "tenant-beta"
		}
		sv.AddRecord(obj)
	}
	rep := sv.Report()
	assert.Equal(t, chain.StatusInvalid, rep.Status)
	for _, tr := range rep.Tenants {
		if tr.TenantID == "tënant-γ" {
			assert.True(t, tr.Valid)
		} else {
			assert.False(t, tr.Valid, tr.TenantID)
		}
	}
}

// Checklist 53: records of tenants A and B interleaved are invalid; each
// tenant alone is valid.
func TestInterleavedTenantsInvalid(t *testing.T) {
	groups := byTenant(t, loadVectors(t))
	var mixed []canonical.Object
	a, b := groups["tenant-alpha"], groups["tenant-beta"]
	for i := range b {
		mixed = append(mixed, a[i], b[i])
	}
	res := chain.Verify(mixed)
	assert.False(t, res.Valid)
	assert.Contains(t, kinds(res), chain.LinkBroken)
	assert.True(t, chain.Verify(a).Valid)
	assert.True(t, chain.Verify(b).Valid)
	// Checklist 54: strict reports the tenant mismatch.
	assert.Contains(t, kinds(chain.Verify(mixed, chain.VerifyStrict())), chain.TenantMismatch)
}

func TestVectorsSequenceNumbers(t *testing.T) {
	for tenant, recs := range byTenant(t, loadVectors(t)) {
		for i, r := range recs {
			assert.Equal(t, strconv.Itoa(i), string(r["sequence_number"].(json.Number)), tenant)
		}
	}
}
