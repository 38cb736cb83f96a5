package canonical_test

import (
	"math"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/socwarden/warden/audit/canonical"
)

// The examples of spec §3.6 (float rules 1–6).
func TestFormatFloatSpecExamples(t *testing.T) {
	tenth := 0.1
	cases := []struct {
		f    float64
		want string
	}{
		{math.NaN(), "NaN"},
		{math.Inf(1), "Infinity"},
		{math.Inf(-1), "-Infinity"},
		{0, "0.0"},
		{math.Copysign(0, -1), "-0.0"},
		{1, "1.0"},
		{100, "100.0"},
		{0.1, "0.1"},
		{123456789.123, "123456789.123"},
		{1e15, "1000000000000000.0"},
		{9999999999999998, "9999999999999998.0"},
		{0.0001, "0.0001"},
		{0.000123, "0.000123"},
		{1e16, "1e+16"},
		{1.5e16, "1.5e+16"},
		{1e20, "1e+20"},
		{1e21, "1e+21"},
		{1e100, "1e+100"},
		{1e-5, "1e-05"},
		{1.5e-5, "1.5e-05"},
		{1e-7, "1e-07"},
		{5e-324, "5e-324"},
		{math.MaxFloat64, "1.7976931348623157e+308"},
		{1.2345678901234568e17, "1.2345678901234568e+17"},
		{-2.5, "-2.5"},
		{-1e-7, "-1e-07"},
		{-1e16, "-1e+16"},
		{tenth + 2*tenth, "0.30000000000000004"}, // at run time, not as an exact constant
		{2.675, "2.675"},
		{0.024, "0.024"},
		{1 << 53, "9007199254740992.0"},
		{123456789012345.6, "123456789012345.6"},
		{0.00012345678901234568, "0.00012345678901234567"},
		{9.999999999999999e-5, "9.999999999999999e-05"},
	}
	for _, tc := range cases {
		assert.Equal(t, tc.want, canonical.FormatFloat(tc.f), "%b", tc.f)
		assert.Equal(t, "x"+tc.want, string(canonical.AppendFloat([]byte("x"), tc.f)))
	}
}

func TestAppendNumber(t *testing.T) {
	valid := map[string]string{
		"0": "0", "-0": "0", "7": "7", "-7": "-7",
		"0.0": "0.0", "-0.0": "-0.0", "0e0": "0.0", "-0E-0": "-0.0",
		"1.0": "1.0", "1E2": "100.0", "1e+2": "100.0", "1e-2": "0.01", "0.10": "0.1", "2.50": "2.5",
		"1.0e+16": "1e+16", "1e15": "1000000000000000.0", "0.00001": "1e-05", "1e-7": "1e-07",
		"1e400": "Infinity", "-1e400": "-Infinity", "1e-400": "0.0", "-1e-400": "-0.0",
		"4.9e-324": "5e-324", "2.4703282292062328e-324": "5e-324", "2.4703282292062327e-324": "0.0",
		"9007199254740993": "9007199254740993", "9007199254740993.0": "9007199254740992.0",

		"123456789012345678901234567890":        "123456789012345678901234567890",
		"3.14159265358979323846264338327950288": "3.141592653589793",
	}
	for in, want := range valid {
		out, err := canonical.AppendNumber([]byte("x"), in)
		require.NoError(t, err, in)
		assert.Equal(t, "x"+want, string(out), in)
	}
	invalid := []string{"", "-", "+1", "01", "-01", "00", "1.", ".1", "1.e5", "1e", "1e+", "1E-",
		"0x1F", "1_000", "Inf", "NaN", "Infinity", "-Infinity", " 1", "1 ", "1,", "١", "1\x00", "--1", "1e5.5"}
	for _, in := range invalid {
		out, err := canonical.AppendNumber([]byte("x"), in)
		require.ErrorIs(t, err, canonical.ErrInvalidNumber, "%q", in)
		assert.Equal(t, "x", string(out), "dst unchanged on error")
	}
	_, err := canonical.AppendNumber(nil, strings.Repeat("1", canonical.MaxIntegerDigits+1))
	require.ErrorIs(t, err, canonical.ErrIntegerTooLarge)
	_, err = canonical.AppendNumber(nil, "-"+strings.Repeat("1", canonical.MaxIntegerDigits))
	require.NoError(t, err)
}
