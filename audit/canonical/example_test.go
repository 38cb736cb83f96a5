package canonical_test

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"

	"github.com/socwarden/warden/audit/canonical"
)

// Canonicalize an event as a Python producer sends it (insertion order,
// spaces, raw UTF-8, an upper-case exponent) and compute the hash the
// reference would compute for it.
func Example() {
	event := []byte(`{"tenant_id": "tënant-γ", "event_type": "alert.classified",
		"context": {"llm_cost_usd": 0.024, "llm_input_tokens": 2048, "score": 1E2}}`)

	out, err := canonical.Canonicalize(event)
	if err != nil {
		fmt.Println("error:", err)
		return
	}
	sum := sha256.Sum256(out)
	fmt.Println(string(out))
	fmt.Println(hex.EncodeToString(sum[:]))
	// Output:
	// {"context":{"llm_cost_usd":0.024,"llm_input_tokens":2048,"score":100.0},"event_type":"alert.classified","tenant_id":"t\u00ebnant-\u03b3"}
	// 1c882de24b7c0aba7cf8c49d651c58d132ae780f889b8c7c3556c8ea0a9ae1aa
}

// Re-verify a stored record: decode it keeping number literals, drop the
// top-level record_hash, and hash the canonical form of the rest.
func ExampleDecodeObject() {
	stored := []byte(`{"sequence_number": 1, "tenant_id": "t1", "big": 9007199254740993, "ratio": 1.0,
		"record_hash": "191ee3d328ae19b5e5d3ee63b910f139d761fea3312e47ec90bb0f72c5565fbe"}`)

	rec, err := canonical.DecodeObject(stored)
	if err != nil {
		fmt.Println("error:", err)
		return
	}
	want := rec["record_hash"]
	delete(rec, "record_hash")
	b, err := canonical.Marshal(rec)
	if err != nil {
		fmt.Println("error:", err)
		return
	}
	sum := sha256.Sum256(b)
	fmt.Println(string(b))
	fmt.Println("hash matches:", hex.EncodeToString(sum[:]) == want)

	// Text that would hash ambiguously is refused with a typed error.
	_, err = canonical.DecodeObject([]byte(`{"note": "\ud800"}`))
	fmt.Println(errors.Is(err, canonical.ErrLoneSurrogate), err)
	// Output:
	// {"big":9007199254740993,"ratio":1.0,"sequence_number":1,"tenant_id":"t1"}
	// hash matches: true
	// true canonical: high surrogate escape \ud800 not followed by a low surrogate escape at offset 10
}

func ExampleFormatFloat() {
	for _, f := range []float64{1, 0.024, 1e15, 1e16, 0.0001, 0.00001} {
		fmt.Println(canonical.FormatFloat(f))
	}
	// Output:
	// 1.0
	// 0.024
	// 1000000000000000.0
	// 1e+16
	// 0.0001
	// 1e-05
}
