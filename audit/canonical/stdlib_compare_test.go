package canonical_test

import (
	"encoding/json"
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/socwarden/warden/audit/canonical"
)

// These tests pin where encoding/json (Go 1.26) and the canonical form
// disagree (spec §3.6, "What encoding/json gets wrong"), so that nobody
// "simplifies" the hash path back onto encoding/json. Each case asserts both
// outputs.
func TestEncodingJSONDiffers(t *testing.T) {
	cases := []struct {
		name      string
		v         any
		stdlib    string
		canonical string
	}{
		{"HTML characters", "<a>&", `"\u003ca\u003e\u0026"`, `"<a>&"`},
		{"non-ASCII", "é中😀", `"é中😀"`, `"\u00e9\u4e2d\ud83d\ude00"`},
		{"DEL", "\x7f", "\"\x7f\"", `"\u007f"`},
		{"integral float", 1.0, `1`, `1.0`},
		{"1e16", 1e16, `10000000000000000`, `1e+16`},
		{"1e20", 1e20, `100000000000000000000`, `1e+20`},
		{"1e-6", 1e-6, `0.000001`, `1e-06`},
		{"1e-7", 1e-7, `1e-7`, `1e-07`},
		{"json.Number literal", json.Number("1E2"), `1E2`, `100.0`},
		{"json.Number -0", json.Number("-0"), `-0`, `0`},
		{"json.Number 0.10", json.Number("0.10"), `0.10`, `0.1`},
		{"nested map", map[string]any{"b": 1.0, "a": "é"}, `{"a":"é","b":1}`, `{"a":"\u00e9","b":1.0}`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			std, err := json.Marshal(tc.v)
			require.NoError(t, err)
			assert.Equal(t, tc.stdlib, string(std))
			ours, err := canonical.Marshal(tc.v)
			require.NoError(t, err)
			assert.Equal(t, tc.canonical, string(ours))
		})
	}

	// Invalid UTF-8: encoding/json substitutes silently, Marshal refuses.
	std, err := json.Marshal("a\xffb")
	require.NoError(t, err)
	assert.Equal(t, `"a\ufffdb"`, string(std))
	_, err = canonical.Marshal("a\xffb")
	assert.ErrorIs(t, err, canonical.ErrInvalidUTF8)

	// NaN and infinities: encoding/json refuses, the canonical form writes
	// what the reference hashes.
	for f, want := range map[float64]string{math.Inf(1): "Infinity", math.Inf(-1): "-Infinity"} {
		_, err := json.Marshal(f)
		assert.Error(t, err)
		assert.Equal(t, want, marshalString(t, f))
	}
	_, err = json.Marshal(math.NaN())
	assert.Error(t, err)
	assert.Equal(t, "NaN", marshalString(t, math.NaN()))

	// Structs: encoding/json uses declaration order; Marshal has no struct
	// support at all, so no record can depend on field order.
	std, err = json.Marshal(struct{ Z, A int }{1, 2})
	require.NoError(t, err)
	assert.Equal(t, `{"Z":1,"A":2}`, string(std))
	_, err = canonical.Marshal(struct{ Z, A int }{1, 2})
	var ute *canonical.UnsupportedTypeError
	assert.ErrorAs(t, err, &ute)
}

func TestEncodingJSONDecodeDiffers(t *testing.T) {
	// A lone surrogate escape becomes U+FFFD without an error.
	var s string
	require.NoError(t, json.Unmarshal([]byte(`"\ud800"`), &s))
	assert.Equal(t, "\ufffd", s)
	_, err := canonical.Decode([]byte(`"\ud800"`))
	assert.ErrorIs(t, err, canonical.ErrLoneSurrogate)

	// Invalid UTF-8 inside a string is accepted and replaced.
	require.NoError(t, json.Unmarshal([]byte("\"a\xffb\""), &s))
	assert.Equal(t, "a\ufffdb", s)
	_, err = canonical.Decode([]byte("\"a\xffb\""))
	assert.ErrorIs(t, err, canonical.ErrInvalidUTF8)

	// Numbers into any become float64: the integer/float kind and integers
	// above 2^53 are lost.
	var v any
	require.NoError(t, json.Unmarshal([]byte(`[9007199254740993, 1.0, 1]`), &v))
	std, err := json.Marshal(v)
	require.NoError(t, err)
	assert.Equal(t, `[9007199254740992,1,1]`, string(std))
	out, err := canonical.Canonicalize([]byte(`[9007199254740993, 1.0, 1]`))
	require.NoError(t, err)
	assert.Equal(t, `[9007199254740993,1.0,1]`, string(out))
}

// Where they agree: U+2028/U+2029 escapes and map key order.
func TestEncodingJSONAgrees(t *testing.T) {
	v := map[string]any{"\u2028": "\u2029", "b": "x", "B": "y", "a b": "z", "": "e"}
	std, err := json.Marshal(v)
	require.NoError(t, err)
	ours, err := canonical.Marshal(v)
	require.NoError(t, err)
	assert.Equal(t, string(std), string(ours))
	assert.Equal(t, `{"":"e","B":"y","a b":"z","b":"x","\u2028":"\u2029"}`, string(ours))
}
