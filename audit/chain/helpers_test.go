package chain_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"maps"
	"os"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/socwarden/warden/audit"
	"github.com/socwarden/warden/audit/canonical"
	"github.com/socwarden/warden/audit/chain"
)

// vectorLine is one line of testdata/chain-public.jsonl.
type vectorLine struct {
	raw []byte
	obj canonical.Object
}

func loadVectors(t testing.TB) []vectorLine {
	t.Helper()
	f, err := os.Open("testdata/chain-public.jsonl")
	require.NoError(t, err)
	defer f.Close()
	var out []vectorLine
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 1<<20), 1<<20)
	for sc.Scan() {
		raw := bytes.Clone(sc.Bytes())
		obj, err := canonical.DecodeObject(raw)
		require.NoError(t, err)
		out = append(out, vectorLine{raw: raw, obj: obj})
	}
	require.NoError(t, sc.Err())
	require.Len(t, out, 25)
	return out
}

func seqOf(t testing.TB, rec canonical.Object) int64 {
	t.Helper()
	n, err := strconv.ParseInt(string(rec["sequence_number"].(json.Number)), 10, 64)
	require.NoError(t, err)
	return n
}

// byTenant groups records by tenant_id, each group sorted by sequence.
func byTenant(t testing.TB, lines []vectorLine) map[string][]canonical.Object {
	t.Helper()
	out := map[string][]canonical.Object{}
	for _, l := range lines {
		tn := l.obj["tenant_id"].(string)
		out[tn] = append(out[tn], l.obj)
	}
	for _, recs := range out {
		slices.SortStableFunc(recs, func(a, b canonical.Object) int { return int(seqOf(t, a) - seqOf(t, b)) })
	}
	return out
}

// clone deep-copies a decoded record.
func clone(rec canonical.Object) canonical.Object {
	b, err := canonical.Marshal(rec)
	if err != nil {
		panic(err)
	}
	obj, err := canonical.DecodeObject(b)
	if err != nil {
		panic(err)
	}
	return obj
}

func cloneAll(recs []canonical.Object) []canonical.Object {
	out := make([]canonical.Object, len(recs))
	for i, r := range recs {
		out[i] = clone(r)
	}
	return out
}

// rehash recomputes a record's record_hash after a deliberate change.
func rehash(t testing.TB, rec canonical.Object) {
	t.Helper()
	h, err := chain.Hash(rec)
	require.NoError(t, err)
	rec["record_hash"] = h
}

// buildChain makes a valid chain of n records (genesis + n-1 events) for
// tenant, with a fixed clock.
func buildChain(t testing.TB, tenant string, n int) []canonical.Object {
	t.Helper()
	base := time.Date(2026, 3, 2, 8, 0, 0, 0, time.UTC)
	g := chain.Genesis(tenant, audit.NewIDAt(base), base)
	out := []canonical.Object{g}
	head, err := chain.HeadOf(g)
	require.NoError(t, err)
	for i := 1; i < n; i++ {
		now := base.Add(time.Duration(i) * time.Second)
		ev := event(tenant, now, i)
		rec, err := chain.Link(ev, head, now)
		require.NoError(t, err)
		head, err = chain.HeadOf(rec)
		require.NoError(t, err)
		out = append(out, rec)
	}
	return out
}

// event is a typical producer event as the decoder would build it.
func event(tenant string, at time.Time, i int) canonical.Object {
	return canonical.Object{
		"audit_id": audit.NewIDAt(at), "tenant_id": tenant, "timestamp": audit.FormatTimestamp(at),
		"event_type": "alert.classified", "event_category": "alert", "severity": "info",
		"actor_type": "agent", "actor_id": "triage", "source_service": "orchestrator",
		"producer_id": "019cad8f-ac00-7000-8000-000000000001", "producer_seq": json.Number(strconv.Itoa(i)),
		"investigation_id": "inv-" + strconv.Itoa(i%3),
		"context":          canonical.Object{"llm_cost_usd": json.Number("0.024"), "n": json.Number(strconv.Itoa(i))},
	}
}

// eventJSON encodes an event canonically.
func eventJSON(t testing.TB, ev canonical.Object) []byte {
	t.Helper()
	b, err := canonical.Marshal(ev)
	require.NoError(t, err)
	return b
}

func kinds(res chain.Result) []chain.ErrorKind {
	out := make([]chain.ErrorKind, 0, len(res.Errors))
	for _, e := range res.Errors {
		out = append(out, e.Kind)
	}
	return out
}

func withoutKeys(rec canonical.Object, keys ...string) canonical.Object {
	out := maps.Clone(rec)
	for _, k := range keys {
		delete(out, k)
	}
	return out
}
