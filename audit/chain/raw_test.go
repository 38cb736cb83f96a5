package chain

import (
	"bufio"
	"bytes"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/socwarden/warden/audit/canonical"
)

func vectorTexts(t testing.TB) [][]byte {
	t.Helper()
	f, err := os.Open("testdata/chain-public.jsonl")
	require.NoError(t, err)
	defer f.Close()
	var out [][]byte
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		out = append(out, bytes.Clone(sc.Bytes()))
	}
	return out
}

// Every canonical form the encoder writes is taken by the fast path.
func TestScanAcceptsCanonical(t *testing.T) {
	texts := vectorTexts(t)
	texts = append(texts,
		[]byte(`{"a":[1,-2,0,1.5,-0.0,1e+16,1e-05,123456789.123,9007199254740993],"b":{"":null,"x":true,"y":false}}`),
		[]byte(`{"s":"\"\\\b\f\n\r\t\u0000\u001f\u007f\u00e9\ud83d\ude00\u2028/<>&'"}`),
		[]byte(`{"\u00e9":1,"\ud83d\ude00":2}`), // non-ASCII keys in code point order
		[]byte(`{}`), []byte(`{"a":{}}`), []byte(`{"a":[]}`), []byte(`{"a":[[[]]]}`),
	)
	for _, raw := range texts {
		c, err := canonical.Canonicalize(raw)
		require.NoError(t, err, "%s", raw)
		_, ok := scanCanonical(c, nil)
		assert.True(t, ok, "%s", c)
	}
}

// Texts that are not their own canonical form take the decode path.
func TestScanRejectsNonCanonical(t *testing.T) {
	for _, s := range []string{
		``, `{`, `}`, `[]`, `{} `, ` {}`, `{"a":1}x`, `{"a": 1}`, `{"a":1 }`, `{ "a":1}`,
		`{"b":1,"a":2}`, `{"a":1,"a":1}`, `{"a":{"b":1,"a":2}}`,
		`{"a":"\/"}`, `{"a":"\u0041"}`, `{"a":"\u00E9"}`, `{"a":"é"}`, `{"a":"\u0008"}`,
		`{"a":"` + "\x7f" + `"}`, `{"a":"` + "\x01" + `"}`, `{"a":"\ud800"}`, `{"a":"\udc00"}`,
		`{"a":"\ud83d\u0041"}`, `{"a":"\x"}`, `{"a":"unterminated}`,
		`{"a":-0}`, `{"a":01}`, `{"a":1.0e+16}`, `{"a":1E2}`, `{"a":0.10}`, `{"a":1e400}`,
		`{"a":1.}`, `{"a":.5}`, `{"a":-}`, `{"a":NaN}`, `{"a":Infinity}`, `{"a":+1}`,
		`{"a":tru}`, `{"a":nul}`, `{"a":[1,]}`, `{"a":[,1]}`, `{"a":{,}}`, `{"a":1,}`,
		`{"a":[1 ,2]}`, `{"a"}`, `{a:1}`,
		`{"a":` + strings.Repeat("[", 70) + strings.Repeat("]", 70) + `}`,
		`{"a":` + strings.Repeat("9", canonical.MaxIntegerDigits+1) + `}`,
	} {
		_, ok := scanCanonical([]byte(s), nil)
		assert.False(t, ok, "%q", s)
	}
}

// checkRawAgainstObject asserts that, for input b, the fast path agrees
// with the decode-then-marshal oracle: a text the scanner accepts is its own
// canonical form, HashJSON equals Hash, and LinkJSON equals Link.
func checkRawAgainstObject(t *testing.T, b []byte) {
	if _, ok := scanCanonical(b, nil); ok {
		c, err := canonical.Canonicalize(b)
		if err != nil {
			t.Fatalf("scanner accepted %q, decoder refused: %v", b, err)
		}
		if !bytes.Equal(c, b) {
			t.Fatalf("scanner accepted non-canonical %q (canonical %q)", b, c)
		}
	}
	obj, derr := canonical.DecodeObject(b)
	h, herr := HashJSON(b)
	if derr != nil {
		if herr == nil {
			t.Fatalf("HashJSON accepted undecodable %q", b)
		}
		return
	}
	want, werr := Hash(obj)
	if (werr == nil) != (herr == nil) || want != h {
		t.Fatalf("HashJSON(%q) = %q, %v; Hash = %q, %v", b, h, herr, want, werr)
	}
	var p recordParser
	f, err := p.parse(b)
	if err != nil {
		t.Fatalf("parse(%q): %v", b, err)
	}
	of, _ := objectFields(obj)
	if f.computed != of.computed || f.seq != of.seq || f.hasSeq != of.hasSeq || f.tenant != of.tenant ||
		f.tenantBad != of.tenantBad || f.stored != of.stored || f.hasStored != of.hasStored || f.prev != of.prev ||
		f.hasPrev != of.hasPrev || f.genesisBad != of.genesisBad {
		t.Fatalf("fields of %q differ:\nraw %+v\nobj %+v", b, f, of)
	}
	head := Head{TenantID: "t", Sequence: 41, Hash: strings.Repeat("ab", 32)}
	now := time.Date(2026, 3, 2, 8, 0, 0, 123_456_789, time.UTC)
	got, gh, lerr := LinkJSON(b, head, now)
	_, terr := TenantOf(obj)
	rec, oerr := Link(obj, head, now)
	if terr != nil || oerr != nil {
		if lerr == nil {
			t.Fatalf("LinkJSON accepted %q (tenant err %v, link err %v)", b, terr, oerr)
		}
		return
	}
	if lerr != nil {
		t.Fatalf("LinkJSON(%q): %v", b, lerr)
	}
	wantRec, err := canonical.Marshal(rec)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(wantRec, got) {
		t.Fatalf("LinkJSON(%q):\n got %s\nwant %s", b, got, wantRec)
	}
	if gh.Hash != rec[KeyRecordHash] || gh.Sequence != 42 {
		t.Fatalf("LinkJSON head %+v", gh)
	}
}

func TestRawMatchesObjectPathOnVectors(t *testing.T) {
	for _, raw := range vectorTexts(t) {
		checkRawAgainstObject(t, raw)
		c, err := canonical.Canonicalize(raw)
		require.NoError(t, err)
		checkRawAgainstObject(t, c)
	}
}

// FuzzRawMatchesObjectPath is the differential test DESIGN §6 asks for: the
// byte-splicing fast path against decode + canonical.Marshal.
func FuzzRawMatchesObjectPath(f *testing.F) {
	for _, raw := range vectorTexts(f) {
		f.Add(raw)
		if c, err := canonical.Canonicalize(raw); err == nil {
			f.Add(c)
		}
	}
	for _, s := range []string{
		`{}`, `{"tenant_id":1}`, `{"tenant_id":"a","zz":"\u00e9","record_hash":"x"}`,
		`{"a":1,"ingested_at":2,"previous_hash":3,"record_hash":4,"sequence_number":5,"z":6}`,
		`{"\u00e9":1,"tenant_id":"\ud83d\ude00"}`, `{"sequence_number":1.5,"record_hash":"","previous_hash":""}`,
		`{"a":[1.5,1e+16,-0.0,{"b":null}]}`, `{"a":1E2}`, `[1]`, `{"a":"\ud800"}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		checkRawAgainstObject(t, b)
		// Most random bytes are not canonical; their canonical form is,
		// and must take the fast path unless the decoder refuses it
		// (NaN, Infinity) or it nests deeper than the fast path goes.
		c, err := canonical.Canonicalize(b)
		if err != nil || len(c) == 0 || c[0] != '{' {
			return
		}
		checkRawAgainstObject(t, c)
		if _, ok := scanCanonical(c, nil); !ok {
			if _, derr := canonical.Decode(c); derr == nil && nesting(c) <= maxFastDepth {
				t.Fatalf("fast path refused canonical %q", c)
			}
		}
	})
}

// nesting returns the deepest bracket nesting outside strings.
func nesting(b []byte) int {
	depth, deepest, inStr := 0, 0, false
	for i := 0; i < len(b); i++ {
		switch c := b[i]; {
		case inStr && c == '\\':
			i++
		case c == '"':
			inStr = !inStr
		case inStr:
		case c == '{' || c == '[':
			depth++
			deepest = max(deepest, depth)
		case c == '}' || c == ']':
			depth--
		}
	}
	return deepest
}

// FuzzStreamVerifier: any line sequence is judged without panicking, and a
// report's status is never valid when a line was malformed.
func FuzzStreamVerifier(f *testing.F) {
	for _, raw := range vectorTexts(f) {
		f.Add(raw, raw)
	}
	f.Add([]byte(`{"checkpoint":"warden.chain.checkpoint.v1","tenant_id":"t","sequence_number":1,"head_hash":"x","checkpointed_at":"","key_id":"","signature":""}`), []byte(`{}`))
	f.Add([]byte(`{"tenant_id":"t","sequence_number":0,"previous_hash":"","record_hash":""}`), []byte(`not json`))
	f.Fuzz(func(t *testing.T, a, b []byte) {
		sv := NewStreamVerifier(VerifyStrict(), VerifyFromGenesis())
		sv.AddJSON(a)
		sv.AddJSON(b)
		sv.AddJSON(a)
		rep := sv.Report()
		if rep.MalformedCount > 0 && rep.Status == StatusValid {
			t.Fatalf("malformed lines but valid: %+v", rep)
		}
	})
}

func TestEventAndRecordInfo(t *testing.T) {
	for _, raw := range vectorTexts(t) {
		obj, err := canonical.DecodeObject(raw)
		require.NoError(t, err)
		c, _ := canonical.Canonicalize(raw)
		for _, text := range [][]byte{raw, c} {
			tenant, id, err := EventInfo(text)
			require.NoError(t, err)
			assert.Equal(t, obj[KeyTenantID], tenant)
			assert.Equal(t, obj[KeyAuditID], id)
			h, id2, err := RecordInfo(text)
			require.NoError(t, err)
			want, _ := HeadOf(obj)
			assert.Equal(t, want, h)
			assert.Equal(t, id, id2)
		}
	}
	for _, bad := range []string{`[1]`, `{"tenant_id":1}`, `{"tenant_id": 1}`, `nope`} {
		_, _, err := EventInfo([]byte(bad))
		var me *MalformedEventError
		assert.ErrorAs(t, err, &me, bad)
	}
	tenant, id, err := EventInfo([]byte(`{"x":1}`))
	require.NoError(t, err)
	assert.Empty(t, tenant+id)
	_, _, err = RecordInfo([]byte(`{"tenant_id":"t","record_hash":"x"}`))
	assert.Error(t, err)
}

// Events nested beyond the fast path's limit are linked through objects,
// with the same result.
func TestLinkDeepEvent(t *testing.T) {
	deep := `{"context":{"x":` + strings.Repeat("[", 80) + strings.Repeat("]", 80) + `},"tenant_id":"t","audit_id":"a"}`
	head := Head{TenantID: "t", Sequence: 3, Hash: strings.Repeat("c", 64)}
	now := time.Date(2026, 3, 2, 8, 0, 0, 0, time.UTC)
	got, h, err := LinkJSON([]byte(deep), head, now)
	require.NoError(t, err)
	obj, err := canonical.DecodeObject([]byte(deep))
	require.NoError(t, err)
	rec, err := Link(obj, head, now)
	require.NoError(t, err)
	want, _ := canonical.Marshal(rec)
	assert.Equal(t, string(want), string(got))
	assert.Equal(t, int64(4), h.Sequence)
	assert.Equal(t, "t", h.TenantID)
	var l Linker
	_, _, err = l.LinkPrepared(head, now)
	assert.Error(t, err, "LinkPrepared needs Prepare")
}
