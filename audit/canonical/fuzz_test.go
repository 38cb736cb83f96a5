package canonical_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/socwarden/warden/audit/canonical"
)

func addCanonicalSeeds(f *testing.F) {
	f.Add([]byte(typicalRecordJSON))
	for _, s := range []string{
		`{"z":1,"a":2}`, `[1,1.0,1e0,-0,-0.0,1E2,0.10,1e400,-1e-400]`, `"\ud83d\ude00\u00E9\/"`,
		`{"a":{"b":[{},[],null,true,false]}}`, `"\ud800"`, `NaN`, `-Infinity`, "\"\xff\"", `{} x`,
		`123456789012345678901234567890`, ` {"k" : "v" } `, `{"a":1,"a":2}`, "\ufeff{}", `[1,]`,
	} {
		f.Add([]byte(s))
	}
}

// hasInfinity reports whether a decoded value holds a float literal that
// overflows to ±Infinity. Its canonical form contains the non-JSON token
// Infinity (as the reference writes it), which Decode then refuses: the one
// documented exception to idempotence.
func hasInfinity(v any) bool {
	switch x := v.(type) {
	case json.Number:
		if strings.ContainsAny(string(x), ".eE") {
			f, _ := strconv.ParseFloat(string(x), 64)
			return math.IsInf(f, 0)
		}
	case []any:
		for _, e := range x {
			if hasInfinity(e) {
				return true
			}
		}
	case canonical.Object:
		for _, e := range x {
			if hasInfinity(e) {
				return true
			}
		}
	}
	return false
}

// Spec item 42: Canonicalize never panics; accepted input gives ASCII
// output, which canonicalises to itself.
func FuzzCanonicalize(f *testing.F) {
	addCanonicalSeeds(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		out, err := canonical.Canonicalize(data)
		if err != nil {
			checkSyntaxError(t, data, err)
			return
		}
		if !json.Valid(data) {
			t.Fatalf("accepted text encoding/json rejects: %q", data)
		}
		for i, c := range out {
			if c >= 0x80 || (c < 0x20) {
				t.Fatalf("byte %#x at %d of output %q", c, i, out)
			}
		}
		v, err := canonical.Decode(data)
		if err != nil {
			t.Fatalf("Canonicalize accepted what Decode rejects: %v", err)
		}
		again, err := canonical.Canonicalize(out)
		if hasInfinity(v) {
			if !errors.Is(err, canonical.ErrNonJSONToken) {
				t.Fatalf("output with Infinity re-canonicalised with err %v: %q", err, out)
			}
			return
		}
		if err != nil {
			t.Fatalf("output %q of %q does not decode: %v", out, data, err)
		}
		if !bytes.Equal(again, out) {
			t.Fatalf("not idempotent:\n in  %q\n out %q\n out2 %q", data, out, again)
		}
	})
}

// checkSyntaxError asserts the decoder's error contract for rejected text.
func checkSyntaxError(t *testing.T, data []byte, err error) {
	t.Helper()
	var se *canonical.SyntaxError
	if !errors.As(err, &se) {
		t.Fatalf("error %v (%T) is not a *SyntaxError", err, err)
	}
	if se.Offset < 0 || se.Offset > int64(len(data)) {
		t.Fatalf("offset %d outside input of %d bytes", se.Offset, len(data))
	}
	// Text encoding/json accepts is refused only for the documented
	// reasons.
	if json.Valid(data) {
		for _, allowed := range []error{canonical.ErrLoneSurrogate, canonical.ErrInvalidUTF8, canonical.ErrIntegerTooLarge, canonical.ErrTooDeep} {
			if errors.Is(err, allowed) {
				return
			}
		}
		t.Fatalf("valid JSON %q rejected: %v", data, err)
	}
}

// FuzzDecode: Decode agrees with encoding/json (UseNumber) on every document
// both accept, DecodeObject agrees with Decode, and errors follow the
// contract.
func FuzzDecode(f *testing.F) {
	addCanonicalSeeds(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		v, err := canonical.Decode(data)
		obj, objErr := canonical.DecodeObject(data)
		if err != nil {
			checkSyntaxError(t, data, err)
			if objErr == nil || objErr.Error() != err.Error() {
				t.Fatalf("DecodeObject error %v, Decode error %v", objErr, err)
			}
			return
		}
		if _, isObj := v.(canonical.Object); isObj {
			if objErr != nil || !reflect.DeepEqual(obj, v) {
				t.Fatalf("DecodeObject = %v, %v; Decode = %v", obj, objErr, v)
			}
		} else if !errors.Is(objErr, canonical.ErrNotObject) {
			t.Fatalf("DecodeObject of non-object: %v", objErr)
		}

		dec := json.NewDecoder(bytes.NewReader(data))
		dec.UseNumber()
		var std any
		if err := dec.Decode(&std); err != nil {
			t.Fatalf("encoding/json rejects accepted %q: %v", data, err)
		}
		if !reflect.DeepEqual(std, v) {
			t.Fatalf("decoded differently from encoding/json:\n ours %#v\n std  %#v", v, std)
		}
		if _, err := canonical.Marshal(v); err != nil {
			t.Fatalf("decoded value does not marshal: %v", err)
		}
	})
}

// FuzzFormatFloat: the repr parses back to the same bits, uses strconv's
// shortest digits, chooses fixed or scientific notation by the exponent,
// and is a float literal (never mistaken for an integer).
func FuzzFormatFloat(f *testing.F) {
	for _, x := range []float64{0, math.Copysign(0, -1), 1, 0.1, 1e15, 1e16, 9999999999999998, 1e-4, 1e-5,
		5e-324, math.MaxFloat64, 2.675, math.NaN(), math.Inf(1), math.Inf(-1)} {
		f.Add(math.Float64bits(x))
	}
	f.Fuzz(func(t *testing.T, bits uint64) {
		x := math.Float64frombits(bits)
		s := canonical.FormatFloat(x)
		switch {
		case math.IsNaN(x):
			if s != "NaN" {
				t.Fatalf("NaN formatted %q", s)
			}
			return
		case math.IsInf(x, 0):
			if s != "Infinity" && s != "-Infinity" {
				t.Fatalf("%v formatted %q", x, s)
			}
			return
		}
		back, err := strconv.ParseFloat(s, 64)
		if err != nil || math.Float64bits(back) != bits {
			t.Fatalf("%q parses to %v (%v), want bits %016x", s, back, err, bits)
		}
		if !strings.ContainsAny(s, ".e") {
			t.Fatalf("%q reads as an integer", s)
		}

		short := strconv.FormatFloat(x, 'e', -1, 64)
		mant, expStr, _ := strings.Cut(strings.TrimPrefix(short, "-"), "e")
		exp, _ := strconv.Atoi(expStr)
		wantDigits := strings.Replace(mant, ".", "", 1)
		body := strings.TrimPrefix(s, "-")
		gotMant, _, sci := strings.Cut(body, "e")
		if sci != (exp < -4 || exp >= 16) {
			t.Fatalf("%q: notation wrong for exponent %d", s, exp)
		}
		gotDigits := strings.TrimRight(strings.TrimLeft(strings.Replace(gotMant, ".", "", 1), "0"), "0")
		if x != 0 && gotDigits != strings.TrimRight(wantDigits, "0") {
			t.Fatalf("%q has digits %q, strconv shortest %q", s, gotDigits, wantDigits)
		}

		lit, err := canonical.AppendNumber(nil, s)
		if err != nil || string(lit) != s {
			t.Fatalf("AppendNumber(%q) = %q, %v", s, lit, err)
		}
	})
}

// FuzzAppendString: the word-at-a-time string writer agrees with the
// one-code-point-at-a-time statement of the rule, and Marshal accepts
// exactly the valid UTF-8 strings.
func FuzzAppendString(f *testing.F) {
	for _, s := range []string{"", "plain", "<>&/'", "é😀\u2028\x7f", "\n\t\b\f\r\x00\x1f", "a\xffb", "\xed\xa0\x80",
		"exactly8", "sixteen bytes!!!", "seventeen bytes!!\""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := canonical.AppendString([]byte("x"), s)
		if want := "x" + naiveString(s); string(got) != want {
			t.Fatalf("AppendString(%q) = %q, want %q", s, got, want)
		}
		m, err := canonical.Marshal(s)
		if utf8.ValidString(s) {
			if err != nil || string(m) != string(got[1:]) {
				t.Fatalf("Marshal(%q) = %q, %v", s, m, err)
			}
		} else if !errors.Is(err, canonical.ErrInvalidUTF8) {
			t.Fatalf("Marshal(%q) error %v, want ErrInvalidUTF8", s, err)
		}
	})
}
