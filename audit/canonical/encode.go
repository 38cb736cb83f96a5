package canonical

import (
	"cmp"
	"encoding/json"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"
)

// MaxDepth is the deepest nesting of arrays and objects that Decode and
// Marshal accept; a top-level object is depth 1. It bounds recursion on
// hostile input and stops Marshal on a self-referencing map. (The
// reference's Python parser stops near its recursion limit of 1000, so
// records between 1000 and MaxDepth levels deep are accepted here but could
// not have come from it.)
const MaxDepth = 10000

// Object is a decoded JSON object. Numbers are held as json.Number carrying
// the literal from the input; Marshal normalises the literal.
type Object = map[string]any

// Marshal returns the canonical form of v; see Append for the accepted types.
func Marshal(v any) ([]byte, error) {
	bp := bufPool.Get().(*[]byte)
	b, err := appendValue((*bp)[:0], v, 0)
	var out []byte
	if err == nil {
		out = make([]byte, len(b))
		copy(out, b)
	}
	putBuf(bp, b)
	return out, err
}

// bufPool holds scratch buffers so that Marshal and Canonicalize make one
// allocation of the exact result size instead of growing a slice.
var bufPool = sync.Pool{New: func() any {
	b := make([]byte, 0, 1024)
	return &b
}}

// maxPooledBuf keeps one huge record from pinning a huge buffer in the pool.
const maxPooledBuf = 64 << 10

func putBuf(bp *[]byte, b []byte) {
	if cap(b) > maxPooledBuf {
		return
	}
	*bp = b[:0]
	bufPool.Put(bp)
}

// Append appends the canonical form of v to dst: the bytes Python's
// json.dumps(v, sort_keys=True, separators=(",", ":")) produces for the
// corresponding Python value.
//
// Accepted types: nil; bool; string; every int and uint kind (written exactly,
// never through float64); float64 (see AppendFloat; NaN and ±Inf are written
// as the reference writes them); float32 (via its shortest decimal, so
// float32(0.1) is 0.1); json.Number (normalised as AppendNumber does);
// map[string]any (= Object), map[string]string, []any and []string. A nil
// map or slice is written null, as encoding/json does. Strings and keys must
// be valid UTF-8 (ErrInvalidUTF8: the producer replaces bad bytes before
// encoding, so a hash never silently covers a substitution). Anything else is
// an *UnsupportedTypeError. All errors are *MarshalError values naming the
// offending value's path; on error the returned slice has dst's length (no
// partial output), though it may be a new, larger allocation.
func Append(dst []byte, v any) ([]byte, error) {
	n := len(dst)
	out, err := appendValue(dst, v, 0)
	if err != nil {
		return out[:n], err
	}
	return out, nil
}

func appendValue(dst []byte, v any, depth int) ([]byte, error) {
	switch x := v.(type) {
	case string:
		return appendStrictString(dst, x)
	case map[string]any:
		return appendObject(dst, x, depth)
	case json.Number:
		out, err := AppendNumber(dst, string(x))
		if err != nil {
			return out, &MarshalError{Err: err}
		}
		return out, nil
	case nil:
		return append(dst, "null"...), nil
	case bool:
		if x {
			return append(dst, "true"...), nil
		}
		return append(dst, "false"...), nil
	case int:
		return strconv.AppendInt(dst, int64(x), 10), nil
	case int64:
		return strconv.AppendInt(dst, x, 10), nil
	case int32:
		return strconv.AppendInt(dst, int64(x), 10), nil
	case int16:
		return strconv.AppendInt(dst, int64(x), 10), nil
	case int8:
		return strconv.AppendInt(dst, int64(x), 10), nil
	case uint:
		return strconv.AppendUint(dst, uint64(x), 10), nil
	case uint64:
		return strconv.AppendUint(dst, x, 10), nil
	case uint32:
		return strconv.AppendUint(dst, uint64(x), 10), nil
	case uint16:
		return strconv.AppendUint(dst, uint64(x), 10), nil
	case uint8:
		return strconv.AppendUint(dst, uint64(x), 10), nil
	case uintptr:
		return strconv.AppendUint(dst, uint64(x), 10), nil
	case float64:
		return AppendFloat(dst, x), nil
	case float32:
		return appendFloat32(dst, x), nil
	case []any:
		return appendArray(dst, x, depth)
	case []string:
		return appendStringArray(dst, x, depth)
	case map[string]string:
		return appendStringMap(dst, x, depth)
	default:
		return dst, &MarshalError{Err: &UnsupportedTypeError{Type: reflect.TypeOf(v)}}
	}
}

func appendStrictString(dst []byte, s string) ([]byte, error) {
	out, ok := appendString(dst, s, true)
	if !ok {
		return out, &MarshalError{Err: ErrInvalidUTF8}
	}
	return out, nil
}

// member is one object entry, sorted by key before writing; carrying the
// value along saves a second map lookup per key. prefix holds the key's
// first eight bytes big-endian, so most comparisons are one integer compare.
type member[V any] struct {
	prefix uint64
	key    string
	val    V
}

func keyPrefix(k string) uint64 {
	if len(k) >= 8 {
		return load64BE(k)
	}
	var p uint64
	for i := 0; i < len(k); i++ {
		p |= uint64(k[i]) << (56 - 8*i)
	}
	return p
}

func load64BE(s string) uint64 {
	s = s[:8]
	return uint64(s[7]) | uint64(s[6])<<8 | uint64(s[5])<<16 | uint64(s[4])<<24 |
		uint64(s[3])<<32 | uint64(s[2])<<40 | uint64(s[1])<<48 | uint64(s[0])<<56
}

func (a *member[V]) less(b *member[V]) bool {
	if a.prefix != b.prefix {
		return a.prefix < b.prefix
	}
	return a.key < b.key
}

// inlineMembers covers the objects of a typical audit record (17 top-level
// keys with every optional one present) with a stack buffer for sorting: a
// heap buffer costs an allocation plus a GC write barrier on every swap.
const inlineMembers = 32

func appendObject(dst []byte, m map[string]any, depth int) ([]byte, error) {
	if m == nil {
		return append(dst, "null"...), nil
	}
	if depth >= MaxDepth {
		return dst, &MarshalError{Err: ErrTooDeep}
	}
	if len(m) == 0 {
		return append(dst, '{', '}'), nil
	}
	var inline [inlineMembers]member[any]
	members := inline[:]
	if len(m) > inlineMembers {
		members = make([]member[any], len(m))
	}
	n := 0
	for k, v := range m {
		if n == len(members) { // only if m is being mutated concurrently
			break
		}
		members[n] = member[any]{keyPrefix(k), k, v}
		n++
	}
	members = members[:n]
	sortMembers(members)
	dst = append(dst, '{')
	for i, mb := range members {
		if i > 0 {
			dst = append(dst, ',')
		}
		var err error
		if dst, err = appendStrictString(dst, mb.key); err != nil {
			return dst, atPath(err, pointerToken(mb.key))
		}
		dst = append(dst, ':')
		if dst, err = appendValue(dst, mb.val, depth+1); err != nil {
			return dst, atPath(err, pointerToken(mb.key))
		}
	}
	return append(dst, '}'), nil
}

func appendStringMap(dst []byte, m map[string]string, depth int) ([]byte, error) {
	if m == nil {
		return append(dst, "null"...), nil
	}
	if depth >= MaxDepth {
		return dst, &MarshalError{Err: ErrTooDeep}
	}
	var inline [inlineMembers]member[string]
	members := inline[:]
	if len(m) > inlineMembers {
		members = make([]member[string], len(m))
	}
	n := 0
	for k, v := range m {
		if n == len(members) { // only if m is being mutated concurrently
			break
		}
		members[n] = member[string]{keyPrefix(k), k, v}
		n++
	}
	members = members[:n]
	sortMembers(members)
	dst = append(dst, '{')
	for i, mb := range members {
		if i > 0 {
			dst = append(dst, ',')
		}
		var err error
		if dst, err = appendStrictString(dst, mb.key); err != nil {
			return dst, atPath(err, pointerToken(mb.key))
		}
		dst = append(dst, ':')
		if dst, err = appendStrictString(dst, mb.val); err != nil {
			return dst, atPath(err, pointerToken(mb.key))
		}
	}
	return append(dst, '}'), nil
}

// sortMembers orders by key bytes, which for valid UTF-8 is Unicode code
// point order, the order of Python's sort_keys. (Invalid keys are rejected
// while writing.) Map keys are distinct, so stability does not matter.
func sortMembers[V any](ms []member[V]) {
	if len(ms) <= 24 {
		for i := 1; i < len(ms); i++ {
			if !ms[i].less(&ms[i-1]) {
				continue
			}
			m := ms[i]
			j := i
			for ; j > 0 && m.less(&ms[j-1]); j-- {
				ms[j] = ms[j-1]
			}
			ms[j] = m
		}
		return
	}
	slices.SortFunc(ms, func(a, b member[V]) int {
		if a.prefix != b.prefix {
			return cmp.Compare(a.prefix, b.prefix)
		}
		return strings.Compare(a.key, b.key)
	})
}

func appendArray(dst []byte, a []any, depth int) ([]byte, error) {
	if a == nil {
		return append(dst, "null"...), nil
	}
	if depth >= MaxDepth {
		return dst, &MarshalError{Err: ErrTooDeep}
	}
	dst = append(dst, '[')
	for i, v := range a {
		if i > 0 {
			dst = append(dst, ',')
		}
		var err error
		if dst, err = appendValue(dst, v, depth+1); err != nil {
			return dst, atPath(err, strconv.Itoa(i))
		}
	}
	return append(dst, ']'), nil
}

func appendStringArray(dst []byte, a []string, depth int) ([]byte, error) {
	if a == nil {
		return append(dst, "null"...), nil
	}
	if depth >= MaxDepth {
		return dst, &MarshalError{Err: ErrTooDeep}
	}
	dst = append(dst, '[')
	for i, s := range a {
		if i > 0 {
			dst = append(dst, ',')
		}
		var err error
		if dst, err = appendStrictString(dst, s); err != nil {
			return dst, atPath(err, strconv.Itoa(i))
		}
	}
	return append(dst, ']'), nil
}

// plainASCII marks the bytes written unescaped: U+0020–U+007E except '"'
// and '\\'. Everything else takes the slow path.
var plainASCII = func() (t [256]bool) {
	for c := 0x20; c < 0x7f; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

const lowerHex = "0123456789abcdef"

// AppendString appends s as a canonical JSON string: quoted, with `"` and
// `\` backslash-escaped, \b \f \n \r \t for those controls, every other
// control character, U+007F and every non-ASCII code point as a lowercase
// \uXXXX escape (code points above U+FFFF as a surrogate pair), and all other
// ASCII (including / < > & ') as itself. The result is pure ASCII. Each byte
// of s that is not part of valid UTF-8 is written as \ufffd; Marshal instead
// rejects such strings. It does not allocate beyond growing dst.
func AppendString(dst []byte, s string) []byte {
	dst, _ = appendString(dst, s, false)
	return dst
}

// AppendStringReplacing is AppendString that also reports whether any
// invalid UTF-8 byte was replaced by \ufffd, for callers that count
// sanitised values (the audit Emitter) without scanning s twice.
func AppendStringReplacing(dst []byte, s string) (_ []byte, replaced bool) {
	dst, ok := appendString(dst, s, false)
	return dst, !ok
}

// appendString implements AppendString. With strict set it stops at the
// first invalid UTF-8 byte and reports !ok; otherwise it replaces such bytes
// and reports !ok at the end if it did.
func appendString(dst []byte, s string, strict bool) (_ []byte, ok bool) {
	dst = append(dst, '"')
	start, i := 0, 0
	ok = true
	for {
		// Skip plain ASCII eight bytes at a time; when fewer than eight
		// remain, a clean last word (overlapping bytes already checked)
		// finishes the string. Otherwise go
		// byte by byte up to the first byte that needs attention (a flagged
		// word always holds one, so the byte loop stops within it).
		for i+8 <= len(s) && !needsEscape8(load64(s, i)) {
			i += 8
		}
		if i < len(s) && i+8 > len(s) && len(s) >= 8 && !needsEscape8(load64(s, len(s)-8)) {
			i = len(s)
		}
		for i < len(s) && plainASCII[s[i]] {
			i++
		}
		if i >= len(s) {
			break
		}
		dst = append(dst, s[start:i]...)
		if c := s[i]; c < utf8.RuneSelf {
			switch c {
			case '"', '\\':
				dst = append(dst, '\\', c)
			case '\b':
				dst = append(dst, '\\', 'b')
			case '\f':
				dst = append(dst, '\\', 'f')
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default: // other C0 controls and DEL
				dst = append(dst, '\\', 'u', '0', '0', lowerHex[c>>4], lowerHex[c&0xf])
			}
			i++
		} else {
			r, size := utf8.DecodeRuneInString(s[i:])
			if r == utf8.RuneError && size == 1 {
				if strict {
					return dst, false
				}
				ok = false
			}
			dst = appendRuneEscape(dst, r) // U+FFFD for an invalid byte
			i += size
		}
		start = i
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"'), ok
}

// load64 reads s[i:i+8] as a little-endian word; the compiler turns it into
// one load.
func load64(s string, i int) uint64 {
	s = s[i : i+8]
	return uint64(s[0]) | uint64(s[1])<<8 | uint64(s[2])<<16 | uint64(s[3])<<24 |
		uint64(s[4])<<32 | uint64(s[5])<<40 | uint64(s[6])<<48 | uint64(s[7])<<56
}

// needsEscape8 reports whether any byte of x is outside plainASCII: below
// 0x20, '"', '\\', or 0x7F and above. Each test is exact for the word as a
// whole (the classic has-less-than / has-zero-byte bit tricks), which is all
// the caller needs.
func needsEscape8(x uint64) bool {
	const ones, highs = 0x0101010101010101, 0x8080808080808080
	below20 := (x - ones*0x20) & ^x
	q := x ^ (ones * '"')
	quote := (q - ones) & ^q
	b := x ^ (ones * '\\')
	backslash := (b - ones) & ^b
	atLeast7F := (x + ones*(0x80-0x7f)) | x
	return (below20|quote|backslash|atLeast7F)&highs != 0
}

// appendRuneEscape writes r (>= U+0080) as \uXXXX, or as a UTF-16 surrogate
// pair of two such escapes above U+FFFF.
func appendRuneEscape(dst []byte, r rune) []byte {
	if r >= 0x10000 {
		r -= 0x10000
		dst = appendU4(dst, 0xd800+(r>>10))
		return appendU4(dst, 0xdc00+(r&0x3ff))
	}
	return appendU4(dst, r)
}

func appendU4(dst []byte, r rune) []byte {
	return append(dst, '\\', 'u',
		lowerHex[(r>>12)&0xf], lowerHex[(r>>8)&0xf], lowerHex[(r>>4)&0xf], lowerHex[r&0xf])
}
