package canonical

import (
	"strconv"
)

// MaxIntegerDigits is the longest integer literal (digits, not counting a
// minus sign) that is accepted. It is CPython's default
// sys.int_info.default_max_str_digits: the reference's json.loads and
// json.dumps raise ValueError beyond it, so no reference record can hold a
// longer integer. Float literals have no length limit.
const MaxIntegerDigits = 4300

// scanNumber matches the JSON number grammar
//
//	-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
//
// at s[i:]. It returns the end of the literal, whether it has a fraction or
// exponent (Python's float vs int rule), and ok. When !ok, end is the offset
// of the byte that broke the grammar.
func scanNumber[T string | []byte](s T, i int) (end int, isFloat, ok bool) {
	if i < len(s) && s[i] == '-' {
		i++
	}
	switch {
	case i >= len(s):
		return i, false, false
	case s[i] == '0':
		i++
	case s[i] >= '1' && s[i] <= '9':
		i++
		for i < len(s) && isDigit(s[i]) {
			i++
		}
	default:
		return i, false, false
	}
	if i < len(s) && s[i] == '.' {
		isFloat = true
		i++
		if i >= len(s) || !isDigit(s[i]) {
			return i, true, false
		}
		for i < len(s) && isDigit(s[i]) {
			i++
		}
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		isFloat = true
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		if i >= len(s) || !isDigit(s[i]) {
			return i, true, false
		}
		for i < len(s) && isDigit(s[i]) {
			i++
		}
	}
	return i, isFloat, true
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// integerDigits is the number of digits of a valid integer literal.
func integerDigits(lit string) int {
	if len(lit) > 0 && lit[0] == '-' {
		return len(lit) - 1
	}
	return len(lit)
}

// AppendNumber appends the canonical form of a JSON number literal, as the
// reference builds it when parsing that literal: a literal with '.', 'e' or
// 'E' is a float (nearest double, overflow to ±Infinity, underflow to
// 0.0/-0.0) written by AppendFloat; any other literal is an integer of any
// size, written as is except that "-0" becomes "0". A literal that is not a
// JSON number (leading '+', leading zeros, "1.", "0x10", surrounding space,
// "NaN", ...) is a *SyntaxError wrapping ErrInvalidNumber; an integer of more
// than MaxIntegerDigits digits wraps ErrIntegerTooLarge. On error dst is
// returned unchanged.
func AppendNumber(dst []byte, literal string) ([]byte, error) {
	end, isFloat, ok := scanNumber(literal, 0)
	if !ok || end != len(literal) {
		return dst, &SyntaxError{
			Offset: int64(end),
			Msg:    "invalid number literal " + strconv.QuoteToASCII(literal),
			Err:    ErrInvalidNumber,
		}
	}
	if isFloat {
		// The grammar check above leaves ParseFloat no syntax errors to
		// report; ErrRange comes with the ±Inf or ±0 the reference uses.
		f, _ := strconv.ParseFloat(literal, 64)
		return AppendFloat(dst, f), nil
	}
	if n := integerDigits(literal); n > MaxIntegerDigits {
		return dst, &SyntaxError{
			Msg: "integer literal of " + strconv.Itoa(n) + " digits exceeds " + strconv.Itoa(MaxIntegerDigits),
			Err: ErrIntegerTooLarge,
		}
	}
	if literal == "-0" {
		return append(dst, '0'), nil
	}
	return append(dst, literal...), nil
}
