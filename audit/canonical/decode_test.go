package canonical_test

import (
	"encoding/json"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/socwarden/warden/audit/canonical"
)

func TestDecodeValueModel(t *testing.T) {
	v, err := canonical.Decode([]byte(` {"s":"x","i":-0,"f":1E2,"big":123456789012345678901234567890,
		"t":true,"n":null,"a":[1,"2",[]],"o":{},"esc":"\u00E9\ud83d\ude00\/"} `))
	require.NoError(t, err)
	obj, ok := v.(canonical.Object)
	require.True(t, ok, "%T", v)
	assert.Equal(t, canonical.Object{
		"s":   "x",
		"i":   json.Number("-0"), // literals are kept as written
		"f":   json.Number("1E2"),
		"big": json.Number("123456789012345678901234567890"),
		"t":   true,
		"n":   nil,
		"a":   []any{json.Number("1"), "2", []any{}},
		"o":   canonical.Object{},
		"esc": "é😀/",
	}, obj)

	for in, want := range map[string]any{
		`"x"`: "x", `1.5`: json.Number("1.5"), `false`: false, `null`: nil, `[]`: []any{},
	} {
		got, err := canonical.Decode([]byte(in))
		require.NoError(t, err, in)
		assert.Equal(t, want, got, in)
	}
}

func TestDecodeDuplicateKeysLastWins(t *testing.T) {
	obj, err := canonical.DecodeObject([]byte(`{"a":1,"b":{"x":1,"x":[2]},"a":{"c":3},"a":"last"}`))
	require.NoError(t, err)
	assert.Equal(t, canonical.Object{"a": "last", "b": canonical.Object{"x": []any{json.Number("2")}}}, obj)
	// Escaped and raw spellings of one key are the same key.
	obj, err = canonical.DecodeObject([]byte(`{"\u00e9":1,"é":2}`))
	require.NoError(t, err)
	assert.Equal(t, canonical.Object{"é": json.Number("2")}, obj)
}

func TestDecodeStrings(t *testing.T) {
	cases := map[string]string{
		`"\b\f\n\r\t\"\\\/"`:         "\b\f\n\r\t\"\\/",
		`"\u0000\u001F\u007f"`:       "\x00\x1f\x7f",
		`"\uD83D\uDE00\udbff\udfff"`: "😀\U0010FFFF",
		`"\uFFFF\uE000\uFEFF"`:       "\uffff\ue000\ufeff",
		`"raw é 中 😀 \u2028"`:         "raw é 中 😀 \u2028",
		`"mixed\u0041raw中\n"`:        "mixedAraw中\n",
		`""`:                         "",
	}
	for in, want := range cases {
		got, err := canonical.Decode([]byte(in))
		require.NoError(t, err, in)
		assert.Equal(t, want, got, in)
	}
}

// Spec item 41 and the rest of the decoder's error contract: each bad input
// gives a *SyntaxError with the offset of the problem and the right
// sentinel, never a panic.
func TestDecodeErrors(t *testing.T) {
	cases := []struct {
		name   string
		in     string
		is     error // nil: a plain syntax error
		offset int64
	}{
		// Item 41.
		{"NaN", `NaN`, canonical.ErrNonJSONToken, 0},
		{"Infinity", `[Infinity]`, canonical.ErrNonJSONToken, 1},
		{"-Infinity", `{"a": -Infinity}`, canonical.ErrNonJSONToken, 6},
		{"lone high surrogate", `"\ud800"`, canonical.ErrLoneSurrogate, 1},
		{"lone low surrogate", `"ab\udc00"`, canonical.ErrLoneSurrogate, 3},
		{"high then non-low", `"\ud800\u0041"`, canonical.ErrLoneSurrogate, 1},
		{"high then high", `"\ud800\ud800"`, canonical.ErrLoneSurrogate, 1},
		{"high then raw char", `"\ud83dx"`, canonical.ErrLoneSurrogate, 1},
		{"high at end of string", `{"k":"\uD83D"}`, canonical.ErrLoneSurrogate, 6},
		{"invalid UTF-8 in string", "\"a\xffb\"", canonical.ErrInvalidUTF8, 2},
		{"invalid UTF-8 in key", "{\"\xc3\":1}", canonical.ErrInvalidUTF8, 2},
		{"invalid UTF-8 outside strings", "[1,\x80]", canonical.ErrInvalidUTF8, 3},
		{"invalid UTF-8 after the value", "{} \xff", canonical.ErrInvalidUTF8, 3},
		{"UTF-8 encoded surrogate", "\"\xed\xa0\x80\"", canonical.ErrInvalidUTF8, 1},
		{"trailing garbage", `{"a":1} x`, canonical.ErrTrailingData, 8},
		{"second value", `{} {}`, canonical.ErrTrailingData, 3},
		{"trailing NUL", "{}\x00", canonical.ErrTrailingData, 2},
		// Numbers.
		{"leading zero", `01`, canonical.ErrTrailingData, 1},
		{"leading plus", `+1`, nil, 0},
		{"bare minus", `[-]`, canonical.ErrInvalidNumber, 2},
		{"dot without digits", `[1.]`, canonical.ErrInvalidNumber, 3},
		{"leading dot", `.5`, nil, 0},
		{"exponent without digits", `[1e+]`, canonical.ErrInvalidNumber, 4},
		{"hex", `0x10`, canonical.ErrTrailingData, 1},
		{"minus NaN", `-NaN`, canonical.ErrInvalidNumber, 1},
		{"integer too long", `[` + strings.Repeat("7", canonical.MaxIntegerDigits+1) + `]`, canonical.ErrIntegerTooLarge, 1},
		{"negative integer too long", `-` + strings.Repeat("7", canonical.MaxIntegerDigits+1), canonical.ErrIntegerTooLarge, 0},
		// Grammar.
		{"empty", ``, io.ErrUnexpectedEOF, 0},
		{"only space", " \n\t\r", io.ErrUnexpectedEOF, 4},
		{"unterminated object", `{"a":1`, io.ErrUnexpectedEOF, 6},
		{"unterminated string", `"abc`, io.ErrUnexpectedEOF, 4},
		{"unterminated escape", `"\`, io.ErrUnexpectedEOF, 2},
		{"short unicode escape", `"\u12`, io.ErrUnexpectedEOF, 5},
		{"truncated literal", `tru`, io.ErrUnexpectedEOF, 3},
		{"truncated -Infinity", `-Inf`, canonical.ErrInvalidNumber, 1},
		{"bad literal", `nul1`, nil, 3},
		{"trailing comma in array", `[1,]`, nil, 3},
		{"trailing comma in object", `{"a":1,}`, nil, 7},
		{"missing colon", `{"a" 1}`, nil, 5},
		{"non-string key", `{1:2}`, nil, 1},
		{"single quotes", `{'a':1}`, nil, 1},
		{"comment", `[1/*x*/]`, nil, 2},
		{"bad escape", `"\x41"`, nil, 2},
		{"bad hex in escape", `"\u00g0"`, nil, 5},
		{"raw newline in string", "\"a\nb\"", nil, 2},
		{"raw tab in string", "\"\t\"", nil, 1},
		{"raw NUL in escaped string", "\"\\n\x00\"", nil, 3},
		{"byte order mark", "\ufeff{}", nil, 0},
		{"vertical tab is not space", "\v{}", nil, 0},
		{"NBSP is not space", "{}\u00a0", canonical.ErrTrailingData, 2},
		{"non-ASCII outside strings", `é`, nil, 0},
		{"python True", `True`, nil, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			v, err := canonical.Decode([]byte(tc.in))
			require.Error(t, err)
			assert.Nil(t, v)
			var se *canonical.SyntaxError
			require.ErrorAs(t, err, &se)
			assert.Equal(t, tc.offset, se.Offset, "offset; error: %v", err)
			if tc.is != nil {
				assert.ErrorIs(t, err, tc.is)
			} else {
				assert.Nil(t, se.Err, "plain syntax error expected, got %v", se.Err)
			}
			assert.Contains(t, err.Error(), "at offset")

			// Canonicalize and DecodeObject report the same error.
			_, cerr := canonical.Canonicalize([]byte(tc.in))
			assert.Equal(t, err.Error(), cerr.Error())
			_, oerr := canonical.DecodeObject([]byte(tc.in))
			assert.Equal(t, err.Error(), oerr.Error())
		})
	}
}

func TestDecodeObjectRejectsOtherTopLevelValues(t *testing.T) {
	for _, in := range []string{`[]`, ` [{"a":1}]`, `"x"`, `1`, `1.5`, `true`, `false`, "\n null"} {
		obj, err := canonical.DecodeObject([]byte(in))
		require.ErrorIs(t, err, canonical.ErrNotObject, in)
		assert.Nil(t, obj)
		var se *canonical.SyntaxError
		require.ErrorAs(t, err, &se)
		assert.Equal(t, int64(len(in)-len(strings.TrimLeft(in, " \n"))), se.Offset, in)
		// Decode accepts the same text.
		_, err = canonical.Decode([]byte(in))
		assert.NoError(t, err, in)
	}
	obj, err := canonical.DecodeObject([]byte(`{}`))
	require.NoError(t, err)
	assert.NotNil(t, obj)
}

func TestDecodeDepthLimit(t *testing.T) {
	ok := strings.Repeat(`{"a":`, canonical.MaxDepth-1) + "[]" + strings.Repeat("}", canonical.MaxDepth-1)
	v, err := canonical.Decode([]byte(ok))
	require.NoError(t, err)
	out, err := canonical.Marshal(v)
	require.NoError(t, err)
	assert.Equal(t, ok, string(out))

	tooDeep := strings.Repeat("[", canonical.MaxDepth+1) + strings.Repeat("]", canonical.MaxDepth+1)
	_, err = canonical.Decode([]byte(tooDeep))
	require.ErrorIs(t, err, canonical.ErrTooDeep)
	var se *canonical.SyntaxError
	require.ErrorAs(t, err, &se)
	assert.Equal(t, int64(canonical.MaxDepth), se.Offset)

	// Unclosed deep nesting fails on depth, not on the stack.
	_, err = canonical.Decode([]byte(strings.Repeat("[", 1_000_000)))
	require.ErrorIs(t, err, canonical.ErrTooDeep)
}

func TestDecodeNumberLimits(t *testing.T) {
	longInt := strings.Repeat("9", canonical.MaxIntegerDigits)
	out, err := canonical.Canonicalize([]byte("-" + longInt))
	require.NoError(t, err)
	assert.Equal(t, "-"+longInt, string(out))

	// Float literals have no length limit; they round to the nearest double.
	longFloat := "0." + strings.Repeat("3", 10_000)
	out, err = canonical.Canonicalize([]byte(longFloat))
	require.NoError(t, err)
	assert.Equal(t, "0.3333333333333333", string(out))
	out, err = canonical.Canonicalize([]byte(strings.Repeat("1", 5000) + ".0"))
	require.NoError(t, err)
	assert.Equal(t, "Infinity", string(out))
	out, err = canonical.Canonicalize([]byte("1e99999999999999999999"))
	require.NoError(t, err)
	assert.Equal(t, "Infinity", string(out))
	out, err = canonical.Canonicalize([]byte("-0.0e-99999999999999999999"))
	require.NoError(t, err)
	assert.Equal(t, "-0.0", string(out))
}

// Every strict prefix of a record is rejected with an error, never a panic,
// and never accepted as something else.
func TestDecodeTruncatedInputs(t *testing.T) {
	full := []byte(typicalRecordJSON)
	for i := range len(full) {
		_, err := canonical.Decode(full[:i])
		require.Error(t, err, "prefix of %d bytes", i)
		var se *canonical.SyntaxError
		require.True(t, errors.As(err, &se), "%v", err)
		require.LessOrEqual(t, se.Offset, int64(i))
	}
	_, err := canonical.Decode(full)
	require.NoError(t, err)
}

// The decoded value does not share memory with the input slice: callers may
// reuse their buffer.
func TestDecodeDoesNotAliasInput(t *testing.T) {
	in := []byte(`{"key":"value","n":12,"e":"a\nb"}`)
	obj, err := canonical.DecodeObject(in)
	require.NoError(t, err)
	for i := range in {
		in[i] = 'X'
	}
	assert.Equal(t, canonical.Object{"key": "value", "n": json.Number("12"), "e": "a\nb"}, obj)
}

// Decoders are pooled; concurrent decodes of different documents must not
// see each other's scratch state.
func TestDecodeConcurrentStress(t *testing.T) {
	docs := make([][]byte, 0, 16)
	for i := range 16 {
		docs = append(docs, []byte(`{"i":`+strings.Repeat("1", i+1)+`,"s":"`+strings.Repeat(`\u00e9`, i)+`","a":[`+strings.Repeat(`{"x":[1,2]},`, i)+`{}]}`))
	}
	want := make([]string, len(docs))
	for i, d := range docs {
		out, err := canonical.Canonicalize(d)
		require.NoError(t, err)
		want[i] = string(out)
	}
	errs := make(chan error, 32)
	done := make(chan struct{})
	for g := range 32 {
		go func() {
			defer func() { done <- struct{}{} }()
			for n := range 500 {
				i := (g + n) % len(docs)
				out, err := canonical.Canonicalize(docs[i])
				if err == nil && string(out) != want[i] {
					err = errors.New("mismatch: " + string(out))
				}
				if err == nil && n%7 == 0 {
					_, err = canonical.Decode([]byte(`{"broken": [1, 2`))
					if err == nil {
						err = errors.New("truncated input accepted")
					} else {
						err = nil
					}
				}
				if err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	for range 32 {
		<-done
	}
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}
