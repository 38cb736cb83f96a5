package canonical

import (
	"errors"
	"reflect"
	"strconv"
)

// Sentinel errors. Decoding errors arrive wrapped in a *SyntaxError and
// encoding errors in a *MarshalError; errors.Is finds the sentinel through
// either.
var (
	// ErrInvalidUTF8 reports bytes that are not valid UTF-8: anywhere in the
	// text given to Decode, or in a string or key given to Marshal.
	ErrInvalidUTF8 = errors.New("canonical: invalid UTF-8")
	// ErrLoneSurrogate reports a \uD800–\uDFFF escape that is not half of a
	// valid surrogate pair. encoding/json would silently turn it into U+FFFD
	// and Python would keep it as a lone surrogate; either way the hash of
	// the record would not be the one its producer meant, so it is refused.
	ErrLoneSurrogate = errors.New("canonical: lone surrogate escape")
	// ErrNonJSONToken reports NaN, Infinity or -Infinity in JSON text. The
	// reference's parser accepts them; Warden's does not.
	ErrNonJSONToken = errors.New("canonical: non-JSON token")
	// ErrTrailingData reports anything but whitespace after the top-level
	// value.
	ErrTrailingData = errors.New("canonical: trailing data after top-level value")
	// ErrNotObject reports a top-level value that is not an object where
	// DecodeObject requires one.
	ErrNotObject = errors.New("canonical: top-level value is not an object")
	// ErrTooDeep reports arrays and objects nested more than MaxDepth levels,
	// in JSON text or in a Go value (which also stops self-referencing maps).
	ErrTooDeep = errors.New("canonical: nesting too deep")
	// ErrInvalidNumber reports a number literal that is not a JSON number.
	ErrInvalidNumber = errors.New("canonical: invalid number literal")
	// ErrIntegerTooLarge reports an integer literal with more than
	// MaxIntegerDigits digits, which the reference's parser and serialiser
	// refuse.
	ErrIntegerTooLarge = errors.New("canonical: integer literal too long")
)

// SyntaxError describes JSON text (or a number literal) that cannot be
// decoded. Offset is the byte offset in the input where the problem was
// found. Err, when set, is one of the sentinel errors and is returned by
// Unwrap; plain grammar errors have Err == nil, and Err is
// io.ErrUnexpectedEOF when the input ends inside a value.
type SyntaxError struct {
	Offset int64
	Msg    string
	Err    error
}

func (e *SyntaxError) Error() string {
	return "canonical: " + e.Msg + " at offset " + strconv.FormatInt(e.Offset, 10)
}

func (e *SyntaxError) Unwrap() error { return e.Err }

// UnsupportedTypeError reports a Go value Marshal has no canonical form for.
// Callers that accept arbitrary values (the audit Emitter) convert them
// before marshalling.
type UnsupportedTypeError struct {
	Type reflect.Type
}

func (e *UnsupportedTypeError) Error() string {
	if e.Type == nil {
		return "canonical: unsupported type <nil>"
	}
	return "canonical: unsupported type " + e.Type.String()
}

// MarshalError locates a value Marshal or Append could not encode. Path is a
// JSON Pointer (RFC 6901) to the value, "" for the top level (and for
// ErrTooDeep, whose path would be MaxDepth segments long). Err is
// ErrInvalidUTF8, ErrTooDeep, a *SyntaxError from a bad json.Number, or an
// *UnsupportedTypeError.
type MarshalError struct {
	Path string
	Err  error
}

func (e *MarshalError) Error() string {
	if e.Path == "" {
		return e.Err.Error()
	}
	return e.Err.Error() + " (value at " + strconv.QuoteToASCII(e.Path) + ")"
}

func (e *MarshalError) Unwrap() error { return e.Err }

// atPath returns err (a *MarshalError made by this package) with seg
// prepended to its path. Only the error path pays for building it.
func atPath(err error, seg string) error {
	me, ok := err.(*MarshalError)
	if !ok || me.Err == ErrTooDeep {
		return err
	}
	me.Path = "/" + seg + me.Path
	return me
}

// pointerToken escapes a key for use as a JSON Pointer reference token.
func pointerToken(key string) string {
	out := make([]byte, 0, len(key))
	for i := 0; i < len(key); i++ {
		switch key[i] {
		case '~':
			out = append(out, '~', '0')
		case '/':
			out = append(out, '~', '1')
		default:
			out = append(out, key[i])
		}
	}
	return string(out)
}
