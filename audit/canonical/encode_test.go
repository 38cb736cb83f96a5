package canonical_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"unicode/utf16"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/socwarden/warden/audit/canonical"
)

func marshalString(t *testing.T, v any) string {
	t.Helper()
	b, err := canonical.Marshal(v)
	require.NoError(t, err)
	return string(b)
}

// Spec item 39: key order does not change the bytes; 1 and 1.0 differ.
func TestItem39KeyOrderAndNumberKinds(t *testing.T) {
	a, err := canonical.Canonicalize([]byte(`{"z":1,"a":2}`))
	require.NoError(t, err)
	b, err := canonical.Canonicalize([]byte(`{"a":2,"z":1}`))
	require.NoError(t, err)
	assert.Equal(t, string(a), string(b))
	assert.Equal(t, `{"a":2,"z":1}`, string(a))

	i, err := canonical.Canonicalize([]byte(`1`))
	require.NoError(t, err)
	f, err := canonical.Canonicalize([]byte(`1.0`))
	require.NoError(t, err)
	assert.NotEqual(t, string(i), string(f))
	assert.Equal(t, "1", string(i))
	assert.Equal(t, "1.0", string(f))

	// The same through Go values: int and float64 are different kinds.
	assert.Equal(t, "1", marshalString(t, 1))
	assert.Equal(t, "1.0", marshalString(t, 1.0))
	assert.Equal(t, marshalString(t, map[string]any{"z": 1, "a": 2}), marshalString(t, map[string]any{"a": 2, "z": 1}))
}

// Spec item 40, verbatim.
func TestItem40StringEscapes(t *testing.T) {
	cases := []struct{ in, want string }{
		{"<>&/", `"<>&/"`},
		{"é😀\u2028\x7f", `"\u00e9\ud83d\ude00\u2028\u007f"`},
		{"\n\t\b\f\r\x00\x1f", `"\n\t\b\f\r\u0000\u001f"`},
	}
	for _, tc := range cases {
		assert.Equal(t, tc.want, marshalString(t, tc.in), "Marshal(%q)", tc.in)
		assert.Equal(t, tc.want, string(canonical.AppendString(nil, tc.in)), "AppendString(%q)", tc.in)

		// And from JSON text holding the same string (escaped by
		// encoding/json, so the decoder sees \u escapes and raw UTF-8).
		text, err := json.Marshal(tc.in)
		require.NoError(t, err)
		out, err := canonical.Canonicalize(text)
		require.NoError(t, err)
		assert.Equal(t, tc.want, string(out), "Canonicalize(%s)", text)
	}
}

func TestMarshalBigIntegers(t *testing.T) {
	cases := []struct {
		name string
		v    any
		want string
	}{
		{"2^53+1 int64", int64(1<<53 + 1), "9007199254740993"},
		{"2^53+1 uint64", uint64(1<<53 + 1), "9007199254740993"},
		{"2^53+1 literal", json.Number("9007199254740993"), "9007199254740993"},
		{"min int64", int64(math.MinInt64), "-9223372036854775808"},
		{"min int64 literal", json.Number("-9223372036854775808"), "-9223372036854775808"},
		{"max uint64", uint64(math.MaxUint64), "18446744073709551615"},
		{"max uint64 literal", json.Number("18446744073709551615"), "18446744073709551615"},
		{"2^70 literal", json.Number("1180591620717411303424"), "1180591620717411303424"},
		{"negative 2^70 literal", json.Number("-1180591620717411303424"), "-1180591620717411303424"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, marshalString(t, tc.v))
			// Inside an object too, and through JSON text.
			assert.Equal(t, `{"n":`+tc.want+`}`, marshalString(t, map[string]any{"n": tc.v}))
			out, err := canonical.Canonicalize([]byte(`{"n": ` + tc.want + `}`))
			require.NoError(t, err)
			assert.Equal(t, `{"n":`+tc.want+`}`, string(out))
		})
	}

	// What a float64 round trip would have done: the test above could fail.
	assert.Equal(t, "9007199254740992.0", marshalString(t, float64(1<<53+1)))
}

func TestMarshalGoTypes(t *testing.T) {
	cases := []struct {
		name string
		v    any
		want string
	}{
		{"nil", nil, "null"},
		{"true", true, "true"},
		{"false", false, "false"},
		{"int", int(-7), "-7"},
		{"int8", int8(-128), "-128"},
		{"int16", int16(32767), "32767"},
		{"int32", int32(math.MinInt32), "-2147483648"},
		{"int64", int64(42), "42"},
		{"uint", uint(7), "7"},
		{"uint8", uint8(255), "255"},
		{"uint16", uint16(65535), "65535"},
		{"uint32", uint32(math.MaxUint32), "4294967295"},
		{"uintptr", uintptr(9), "9"},
		{"float64", 0.024, "0.024"},
		{"float64 zero", 0.0, "0.0"},
		{"float64 negative zero", math.Copysign(0, -1), "-0.0"},
		{"float64 NaN", math.NaN(), "NaN"},
		{"float64 +Inf", math.Inf(1), "Infinity"},
		{"float64 -Inf", math.Inf(-1), "-Infinity"},
		{"float32 0.1", float32(0.1), "0.1"},
		{"float32 1/3", float32(1.0 / 3), "0.33333334"},
		{"float32 2^24+1", float32(16777217), "16777216.0"},
		{"float32 max", float32(math.MaxFloat32), "3.4028235e+38"},
		{"float32 smallest", float32(math.SmallestNonzeroFloat32), "1e-45"},
		{"float32 -0", float32(math.Copysign(0, -1)), "-0.0"},
		{"float32 NaN", float32(math.NaN()), "NaN"},
		{"float32 -Inf", float32(math.Inf(-1)), "-Infinity"},
		{"json.Number int", json.Number("12"), "12"},
		{"json.Number -0", json.Number("-0"), "0"},
		{"json.Number -0.0", json.Number("-0.0"), "-0.0"},
		{"json.Number 1E2", json.Number("1E2"), "100.0"},
		{"json.Number 0.10", json.Number("0.10"), "0.1"},
		{"json.Number overflow", json.Number("-1e400"), "-Infinity"},
		{"json.Number underflow", json.Number("-1e-400"), "-0.0"},
		{"string", "a\"b\\c", `"a\"b\\c"`},
		{"[]string", []string{"b", "a", "é"}, `["b","a","\u00e9"]`},
		{"empty []string", []string{}, `[]`},
		{"nil []string", []string(nil), "null"},
		{"[]any", []any{1, "x", nil, true, 1.5, []any{}}, `[1,"x",null,true,1.5,[]]`},
		{"nil []any", []any(nil), "null"},
		{"map[string]string", map[string]string{"b": "2", "a": "1", "": "0"}, `{"":"0","a":"1","b":"2"}`},
		{"empty map[string]string", map[string]string{}, `{}`},
		{"nil map[string]string", map[string]string(nil), "null"},
		{"Object", canonical.Object{"b": json.Number("1.0"), "a": canonical.Object{}}, `{"a":{},"b":1.0}`},
		{"nil Object", canonical.Object(nil), "null"},
		{"nested", map[string]any{
			"z": map[string]any{"y": []any{3, map[string]any{"b": true, "a": nil}}, "x": 1.5},
			"a": []any{},
		}, `{"a":[],"z":{"x":1.5,"y":[3,{"a":null,"b":true}]}}`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, marshalString(t, tc.v))
			// Append keeps what dst already holds.
			out, err := canonical.Append([]byte("prefix:"), tc.v)
			require.NoError(t, err)
			assert.Equal(t, "prefix:"+tc.want, string(out))
		})
	}
}

// Keys are sorted by code point, which is byte order of the UTF-8: a map
// larger than the inline sort buffer and keys whose UTF-16 order differs.
func TestMarshalKeyOrder(t *testing.T) {
	m := map[string]any{}
	var keys []string
	for i := range 40 {
		k := fmt.Sprintf("k%02d", 39-i)
		m[k] = i
		keys = append(keys, k)
	}
	// U+FFFF sorts before U+1F600 by code point, after it in UTF-16 units.
	m["\uffff"] = 1
	m["😀"] = 2
	m["\ue000"] = 3
	m["é"] = 4
	m[""] = 5
	out := marshalString(t, m)
	assert.True(t, strings.HasPrefix(out, `{"":5,"k00":39,"k01":38,`), out)
	assert.True(t, strings.HasSuffix(out, `"k39":0,"\u00e9":4,"\ue000":3,"\uffff":1,"\ud83d\ude00":2}`), out)

	small := map[string]string{"b": "", "a ": "", "aa": "", "a": "", "_": "", "B": "", "": ""}
	assert.Equal(t, `{"":"","B":"","_":"","a":"","a ":"","aa":"","b":""}`, marshalString(t, small))
}

// Random maps against sort.Strings order, for keys sharing long prefixes
// (the sort compares eight-byte prefixes first), containing NUL and
// non-ASCII, on both sides of the inline buffer and insertion-sort sizes.
func TestMarshalKeyOrderRandom(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	alphabet := []string{"a", "b", "\x00", "_", "llm_input_", "é", "\ue000", "😀", "z"}
	for _, size := range []int{2, 5, 12, 24, 25, 31, 32, 33, 100} {
		for range 30 {
			m := map[string]string{}
			for len(m) < size {
				var k strings.Builder
				for range 1 + rng.IntN(5) {
					k.WriteString(alphabet[rng.IntN(len(alphabet))])
				}
				m[k.String()] = "v"
			}
			keys := slices.Sorted(maps.Keys(m))
			var want strings.Builder
			want.WriteByte('{')
			for i, k := range keys {
				if i > 0 {
					want.WriteByte(',')
				}
				want.WriteString(naiveString(k) + `:"v"`)
			}
			want.WriteByte('}')
			require.Equal(t, want.String(), marshalString(t, m))
			anyMap := map[string]any{}
			for k, v := range m {
				anyMap[k] = v
			}
			require.Equal(t, want.String(), marshalString(t, anyMap))
		}
	}
}

func TestMarshalUnsupportedTypes(t *testing.T) {
	type fields map[string]any
	type point struct{ X int }
	n := 1
	cases := []struct {
		v    any
		path string
	}{
		{make(chan int), ""},
		{point{1}, ""},
		{&n, ""},
		{(*int)(nil), ""},
		{[]int{1}, ""},
		{map[string]int{"a": 1}, ""},
		{map[string]any{"ctx": fields{"a": 1}}, "/ctx"},
		{[]any{"ok", func() {}}, "/1"},
		{map[string]any{"a/b~c": []any{complex(1, 2)}}, "/a~1b~0c/0"},
	}
	for _, tc := range cases {
		_, err := canonical.Marshal(tc.v)
		var ute *canonical.UnsupportedTypeError
		require.ErrorAs(t, err, &ute, "%T", tc.v)
		assert.NotNil(t, ute.Type)
		var me *canonical.MarshalError
		require.ErrorAs(t, err, &me)
		assert.Equal(t, tc.path, me.Path, "%T", tc.v)
		assert.Contains(t, err.Error(), "unsupported type")
	}
}

func TestMarshalInvalidUTF8(t *testing.T) {
	cases := []struct {
		v    any
		path string
	}{
		{"a\xffb", ""},
		{"\xed\xa0\x80", ""}, // UTF-8 encoded surrogate
		{map[string]any{"k\xc3": 1}, "/k\xc3"},
		{map[string]any{"k": "\xc3("}, "/k"},
		{map[string]string{"k": "\x80"}, "/k"},
		{map[string]string{"\x80": "v"}, "/\x80"},
		{[]string{"ok", "\xf4\x90\x80\x80"}, "/1"}, // above U+10FFFF
		{[]any{map[string]any{"x": []any{"\xff"}}}, "/0/x/0"},
	}
	for _, tc := range cases {
		_, err := canonical.Marshal(tc.v)
		require.ErrorIs(t, err, canonical.ErrInvalidUTF8, "%#v", tc.v)
		var me *canonical.MarshalError
		require.ErrorAs(t, err, &me)
		assert.Equal(t, tc.path, me.Path)
		// The message is ASCII even when the path is not.
		assert.True(t, isASCII([]byte(err.Error())), err.Error())
	}
	// U+FFFD written as valid UTF-8 is a character like any other.
	assert.Equal(t, `"\ufffd"`, marshalString(t, "\ufffd"))
}

func TestMarshalInvalidNumberLiteral(t *testing.T) {
	for _, lit := range []string{"", "1.", "+1", "01", "0x10", " 1", "1 ", "NaN", "Infinity", "1e", ".5", "--1", "1_000", strings.Repeat("9", canonical.MaxIntegerDigits+1)} {
		_, err := canonical.Marshal(map[string]any{"n": json.Number(lit)})
		require.Error(t, err, "%q", lit)
		var se *canonical.SyntaxError
		require.ErrorAs(t, err, &se, "%q", lit)
		var me *canonical.MarshalError
		require.ErrorAs(t, err, &me)
		assert.Equal(t, "/n", me.Path)
		if len(lit) > canonical.MaxIntegerDigits {
			assert.ErrorIs(t, err, canonical.ErrIntegerTooLarge)
		} else {
			assert.ErrorIs(t, err, canonical.ErrInvalidNumber, "%q", lit)
		}
	}
}

func TestMarshalDepthLimit(t *testing.T) {
	nest := func(levels int) any {
		var v any = "leaf"
		for range levels {
			v = []any{v}
		}
		return v
	}
	out, err := canonical.Marshal(nest(canonical.MaxDepth))
	require.NoError(t, err)
	assert.Equal(t, strings.Repeat("[", canonical.MaxDepth)+`"leaf"`+strings.Repeat("]", canonical.MaxDepth), string(out))
	_, err = canonical.Marshal(nest(canonical.MaxDepth + 1))
	require.ErrorIs(t, err, canonical.ErrTooDeep)

	// The encoder accepts exactly what the decoder accepts.
	_, err = canonical.Decode(out)
	require.NoError(t, err)

	// A self-referencing map is an error, not a stack overflow.
	self := map[string]any{"a": 1}
	self["self"] = self
	_, err = canonical.Marshal(self)
	require.ErrorIs(t, err, canonical.ErrTooDeep)
	selfSlice := []any{nil}
	selfSlice[0] = selfSlice
	_, err = canonical.Marshal(map[string]any{"x": selfSlice})
	require.ErrorIs(t, err, canonical.ErrTooDeep)
}

// naiveString is the escaping rule of spec §3.6 written as plainly as
// possible, one code point at a time, to check AppendString against.
func naiveString(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s { // invalid bytes arrive as U+FFFD, one per byte
		switch {
		case r == '"':
			b.WriteString(`\"`)
		case r == '\\':
			b.WriteString(`\\`)
		case r == '\b':
			b.WriteString(`\b`)
		case r == '\f':
			b.WriteString(`\f`)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\t':
			b.WriteString(`\t`)
		case r >= 0x20 && r <= 0x7e:
			b.WriteRune(r)
		case r > 0xffff:
			hi, lo := utf16.EncodeRune(r)
			fmt.Fprintf(&b, `\u%04x\u%04x`, hi, lo)
		default:
			fmt.Fprintf(&b, `\u%04x`, r)
		}
	}
	b.WriteByte('"')
	return b.String()
}

func TestAppendStringEveryASCIIByte(t *testing.T) {
	for c := range 0x80 {
		s := string(rune(c))
		assert.Equal(t, naiveString(s), string(canonical.AppendString(nil, s)), "byte %#x", c)
	}
	assert.Equal(t, `"\u000b"`, string(canonical.AppendString(nil, "\v")))
	assert.Equal(t, `"'"`, string(canonical.AppendString(nil, "'")))
}

// Every byte value at every offset of a two-word string: exercises the
// word-at-a-time scan at each lane and the byte-wise tail.
func TestAppendStringEveryBytePosition(t *testing.T) {
	for c := range 256 {
		for pos := range 19 {
			b := []byte(strings.Repeat("abcdefgh", 2) + "xyz")
			b[pos] = byte(c)
			s := string(b)
			require.Equal(t, naiveString(s), string(canonical.AppendString(nil, s)), "byte %#x at %d", c, pos)
		}
	}
}

func TestAppendStringMatchesNaiveRule(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	pieces := []string{"a", "Z", " ", "\"", "\\", "/", "\x00", "\x1f", "\x7f", "é", "\u0800", "\u2028", "\ufeff", "\uffff", "\U0001F600", "\U0010FFFF", "\xff", "\xc3", "\xed\xa0\x80", "plain ascii run "}
	for range 2000 {
		var b strings.Builder
		for range rng.IntN(12) {
			b.WriteString(pieces[rng.IntN(len(pieces))])
		}
		s := b.String()
		got := string(canonical.AppendString(nil, s))
		require.Equal(t, naiveString(s), got, "%q", s)
		require.True(t, isASCII([]byte(got)))
	}
}

func TestAppendStringInvalidUTF8BecomesReplacement(t *testing.T) {
	assert.Equal(t, `"a\ufffdb\ufffd\ufffd"`, string(canonical.AppendString(nil, "a\xffb\xed\xa0")))
	assert.Equal(t, `x"\ufffd"`, string(canonical.AppendString([]byte("x"), "\x80")))
}

// Allocation counts are deterministic, so they are asserted here; time is
// only measured in benchmarks.
func TestAppendPrimitivesDoNotAllocate(t *testing.T) {
	buf := make([]byte, 0, 4096)
	s := strings.Repeat("plain ascii with \"quotes\" and é and 😀 ", 10)
	assert.Zero(t, testing.AllocsPerRun(100, func() { buf = canonical.AppendString(buf[:0], s) }))
	assert.Zero(t, testing.AllocsPerRun(100, func() { buf = canonical.AppendFloat(buf[:0], 123456.789e-30) }))
	assert.Zero(t, testing.AllocsPerRun(100, func() {
		var err error
		buf, err = canonical.AppendNumber(buf[:0], "9007199254740993")
		if err != nil {
			panic(err)
		}
	}))
	rec := typicalRecordObject(t)
	assert.Zero(t, testing.AllocsPerRun(100, func() {
		var err error
		buf, err = canonical.Append(buf[:0], rec)
		if err != nil {
			panic(err)
		}
	}))
}

// Marshal's result must not alias its pooled scratch buffer.
func TestMarshalResultIsIndependent(t *testing.T) {
	first, err := canonical.Marshal(map[string]any{"a": "first"})
	require.NoError(t, err)
	for range 100 {
		_, err := canonical.Marshal(map[string]any{"b": strings.Repeat("x", 50)})
		require.NoError(t, err)
	}
	assert.Equal(t, `{"a":"first"}`, string(first))
	// A failed Marshal returns nil; a failed Append leaves no partial output.
	out, err := canonical.Marshal(make(chan int))
	assert.Nil(t, out)
	assert.Error(t, err)
	out, err = canonical.Append([]byte("keep"), map[string]any{"a": strings.Repeat("x", 5000), "b": "\xff"})
	assert.ErrorIs(t, err, canonical.ErrInvalidUTF8)
	assert.Equal(t, "keep", string(out))
}

// Marshal shares pooled buffers between goroutines; many goroutines
// encoding different records at once must each get their own bytes.
func TestMarshalConcurrentStress(t *testing.T) {
	const goroutines, perG = 32, 300
	var wg sync.WaitGroup
	errs := make(chan error, goroutines)
	for g := range goroutines {
		wg.Go(func() {
			for i := range perG {
				v := map[string]any{"g": g, "i": i, "s": strings.Repeat("é", (g+i)%40), "f": float64(i) / 8}
				want := fmt.Sprintf(`{"f":%s,"g":%d,"i":%d,"s":"%s"}`,
					canonical.FormatFloat(float64(i)/8), g, i, strings.Repeat(`\u00e9`, (g+i)%40))
				got, err := canonical.Marshal(v)
				if err == nil && string(got) != want {
					err = fmt.Errorf("got %s want %s", got, want)
				}
				if err == nil {
					got, err = canonical.Canonicalize([]byte(want))
					if err == nil && string(got) != want {
						err = fmt.Errorf("canonicalize: got %s want %s", got, want)
					}
				}
				if err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func TestErrorMessages(t *testing.T) {
	_, err := canonical.Marshal(map[string]any{"ctx": map[string]any{"ch": make(chan int)}})
	assert.EqualError(t, err, `canonical: unsupported type chan int (value at "/ctx/ch")`)
	_, err = canonical.Marshal(make(chan int))
	assert.EqualError(t, err, `canonical: unsupported type chan int`)
	assert.Equal(t, "canonical: unsupported type <nil>", (&canonical.UnsupportedTypeError{}).Error())
	assert.Equal(t, reflect.TypeFor[chan int](), errors.Unwrap(err).(*canonical.UnsupportedTypeError).Type)
}

func TestAppendStringReplacingReports(t *testing.T) {
	for _, tc := range []struct {
		in       string
		out      string
		replaced bool
	}{
		{"plain ascii key", `"plain ascii key"`, false},
		{"é😀\n", `"\u00e9\ud83d\ude00\n"`, false},
		{"a\xffb", `"a\ufffdb"`, true},
		{"\xc3", `"\ufffd"`, true},
	} {
		out, replaced := canonical.AppendStringReplacing(nil, tc.in)
		if string(out) != tc.out || replaced != tc.replaced {
			t.Errorf("%q: got %s %v, want %s %v", tc.in, out, replaced, tc.out, tc.replaced)
		}
	}
}
