package canonical

import (
	"math"
	"strconv"
)

// AppendFloat appends Python's repr of f: the shortest decimal that
// round-trips, in fixed notation when its decimal exponent E satisfies
// -4 <= E < 16 (always with a fraction: "1.0", "0.0001",
// "1000000000000000.0") and otherwise in scientific notation with a signed,
// at least two-digit exponent ("1e+16", "1e-05", "5e-324"). NaN and the
// infinities become NaN, Infinity and -Infinity (not JSON, but what the
// reference hashes); negative zero is "-0.0". It does not allocate beyond
// growing dst.
func AppendFloat(dst []byte, f float64) []byte {
	switch {
	case f != f:
		return append(dst, "NaN"...)
	case math.IsInf(f, 1):
		return append(dst, "Infinity"...)
	case math.IsInf(f, -1):
		return append(dst, "-Infinity"...)
	case f == 0:
		if math.Signbit(f) {
			return append(dst, "-0.0"...)
		}
		return append(dst, "0.0"...)
	}

	// strconv's shortest round-trip digits are the ones Python's repr
	// uses; only the layout differs. 'e' gives [-]d[.ddd]e±dd[d].
	var scratch [32]byte
	e := strconv.AppendFloat(scratch[:0], f, 'e', -1, 64)
	if e[0] == '-' {
		dst = append(dst, '-')
		e = e[1:]
	}
	ePos := len(e) - 4 // exponent has 2 or 3 digits
	if e[ePos] != 'e' {
		ePos--
	}
	exp := 0
	for _, c := range e[ePos+2:] {
		exp = exp*10 + int(c-'0')
	}
	if e[ePos+1] == '-' {
		exp = -exp
	}
	var digitBuf [17]byte
	digits := append(digitBuf[:0], e[0])
	if ePos > 1 {
		digits = append(digits, e[2:ePos]...)
	}
	n := len(digits)

	switch {
	case exp >= 16 || exp < -4:
		dst = append(dst, digits[0])
		if n > 1 {
			dst = append(dst, '.')
			dst = append(dst, digits[1:]...)
		}
		dst = append(dst, 'e')
		if exp < 0 {
			dst = append(dst, '-')
			exp = -exp
		} else {
			dst = append(dst, '+')
		}
		if exp < 10 {
			dst = append(dst, '0')
		}
		return strconv.AppendInt(dst, int64(exp), 10)
	case exp < 0:
		dst = append(dst, '0', '.')
		for range -exp - 1 {
			dst = append(dst, '0')
		}
		return append(dst, digits...)
	case n <= exp+1:
		dst = append(dst, digits...)
		for range exp + 1 - n {
			dst = append(dst, '0')
		}
		return append(dst, '.', '0')
	default:
		dst = append(dst, digits[:exp+1]...)
		dst = append(dst, '.')
		return append(dst, digits[exp+1:]...)
	}
}

// FormatFloat returns Python's repr of f; see AppendFloat.
func FormatFloat(f float64) string {
	var buf [32]byte
	return string(AppendFloat(buf[:0], f))
}

// appendFloat32 writes f as the float64 nearest to its shortest decimal
// string, so float32(0.1) is written 0.1 rather than 0.10000000149011612:
// the value a Python producer would have had.
func appendFloat32(dst []byte, f float32) []byte {
	if f != f || math.IsInf(float64(f), 0) {
		return AppendFloat(dst, float64(f))
	}
	var scratch [32]byte
	s := strconv.AppendFloat(scratch[:0], float64(f), 'e', -1, 32)
	g, _ := strconv.ParseFloat(string(s), 64)
	return AppendFloat(dst, g)
}
