package canonical

import (
	"encoding/json"
	"io"
	"strconv"
	"sync"
	"unicode/utf8"
)

// Decode parses one JSON value into the value model of the reference's
// parser: Object (map[string]any) for objects, []any for arrays, string,
// json.Number holding the literal exactly as written, bool and nil.
// Duplicate keys keep the last value.
//
// It is stricter than the reference in the ways spec §3.6 requires, each
// reported as a *SyntaxError with the byte offset and, where there is one, a
// sentinel for errors.Is: invalid UTF-8 anywhere (ErrInvalidUTF8; checked
// before parsing, as Python decodes bytes before parsing), NaN, Infinity and
// -Infinity (ErrNonJSONToken), a \uD800–\uDFFF escape outside a valid pair
// (ErrLoneSurrogate), anything after the value but space, tab, CR and LF
// (ErrTrailingData), nesting deeper than MaxDepth (ErrTooDeep), an integer of
// more than MaxIntegerDigits digits (ErrIntegerTooLarge), and input ending
// inside a value (io.ErrUnexpectedEOF). A leading byte order mark, raw
// control characters in strings and every other grammar error are plain
// syntax errors.
func Decode(b []byte) (any, error) {
	d := decoderPool.Get().(*decoder)
	v, err := d.decode(b)
	d.release()
	return v, err
}

func (d *decoder) decode(b []byte) (any, error) {
	d.data = b
	if err := d.checkUTF8(); err != nil {
		return nil, err
	}
	d.text = string(b)
	d.skipSpace()
	v, err := d.value()
	if err != nil {
		return nil, err
	}
	d.skipSpace()
	if d.off < len(d.data) {
		return nil, d.errorf(d.off, ErrTrailingData, "trailing data after top-level value")
	}
	return v, nil
}

// DecodeObject is Decode for text whose top-level value must be an object,
// as every audit record is; any other value is a *SyntaxError wrapping
// ErrNotObject at the value's offset.
func DecodeObject(b []byte) (Object, error) {
	v, err := Decode(b)
	if err != nil {
		return nil, err
	}
	obj, ok := v.(Object)
	if !ok {
		d := decoder{data: b}
		d.skipSpace()
		return nil, d.errorf(d.off, ErrNotObject, "top-level "+kindOf(v)+" is not an object")
	}
	return obj, nil
}

// Canonicalize decodes JSON text and returns its canonical form: the bytes
// the reference hashes for that text. Errors are those of Decode.
func Canonicalize(b []byte) ([]byte, error) {
	v, err := Decode(b)
	if err != nil {
		return nil, err
	}
	return Marshal(v)
}

func kindOf(v any) string {
	switch v.(type) {
	case []any:
		return "array"
	case string:
		return "string"
	case json.Number:
		return "number"
	case bool:
		return "boolean"
	default:
		return "null"
	}
}

type decoder struct {
	data []byte
	// text is data as one string, made once, so that keys, escape-free
	// strings and number literals are substrings of it rather than one
	// allocation each. Decoded values therefore keep the input's copy
	// alive, which costs no more than the strings themselves would.
	text  string
	off   int    // next byte to read
	depth int    // open arrays and objects
	buf   []byte // scratch for strings with escapes, reused
	// members and elems are stacks shared by all open objects and arrays:
	// entries are collected here and copied once into a map or slice of
	// the exact size, instead of growing each one.
	members []member[any]
	elems   []any
}

// decoderPool keeps the scratch stacks of finished decoders for reuse.
var decoderPool = sync.Pool{New: func() any { return new(decoder) }}

// maxPooledScratch keeps one huge document from pinning huge stacks.
const maxPooledScratch = 4096

// release clears everything that refers to the input or to decoded values
// (an error can leave entries on the stacks) and returns d to the pool.
func (d *decoder) release() {
	clear(d.members)
	clear(d.elems)
	*d = decoder{members: d.members[:0], elems: d.elems[:0], buf: d.buf[:0]}
	if cap(d.members) > maxPooledScratch || cap(d.elems) > maxPooledScratch || cap(d.buf) > maxPooledBuf {
		return
	}
	decoderPool.Put(d)
}

func (d *decoder) errorf(off int, sentinel error, msg string) *SyntaxError {
	return &SyntaxError{Offset: int64(off), Msg: msg, Err: sentinel}
}

func (d *decoder) eof(what string) *SyntaxError {
	return d.errorf(len(d.data), io.ErrUnexpectedEOF, "unexpected end of input "+what)
}

// checkUTF8 validates the whole input first, so that invalid UTF-8 is
// reported as such wherever it is and strings can be copied without
// re-checking.
func (d *decoder) checkUTF8() error {
	if utf8.Valid(d.data) {
		return nil
	}
	for i := 0; i < len(d.data); {
		if d.data[i] < utf8.RuneSelf {
			i++
			continue
		}
		r, size := utf8.DecodeRune(d.data[i:])
		if r == utf8.RuneError && size == 1 {
			return d.errorf(i, ErrInvalidUTF8, "invalid UTF-8 byte 0x"+strconv.FormatUint(uint64(d.data[i]), 16))
		}
		i += size
	}
	return nil // unreachable: utf8.Valid said otherwise
}

// skipSpace skips JSON whitespace, the same four bytes Python's parser
// skips.
func (d *decoder) skipSpace() {
	for d.off < len(d.data) {
		switch d.data[d.off] {
		case ' ', '\t', '\n', '\r':
			d.off++
		default:
			return
		}
	}
}

func (d *decoder) hasPrefix(s string) bool {
	return len(d.data)-d.off >= len(s) && string(d.data[d.off:d.off+len(s)]) == s
}

// unexpected describes the byte at off for an error message.
func (d *decoder) unexpected(off int, context string) *SyntaxError {
	r, _ := utf8.DecodeRune(d.data[off:])
	if off == 0 && r == '\ufeff' {
		return d.errorf(off, nil, "unexpected byte order mark "+context)
	}
	return d.errorf(off, nil, "invalid character "+strconv.QuoteRuneToASCII(r)+" "+context)
}

func (d *decoder) value() (any, error) {
	if d.off >= len(d.data) {
		return nil, d.eof("looking for a value")
	}
	switch c := d.data[d.off]; c {
	case '{':
		return d.object()
	case '[':
		return d.array()
	case '"':
		s, err := d.string()
		if err != nil {
			return nil, err
		}
		return s, nil
	case 't':
		return d.literal("true", true)
	case 'f':
		return d.literal("false", false)
	case 'n':
		return d.literal("null", nil)
	case 'N', 'I':
		if d.hasPrefix("NaN") || d.hasPrefix("Infinity") {
			return nil, d.errorf(d.off, ErrNonJSONToken, "non-JSON token (NaN, Infinity and -Infinity are not accepted)")
		}
		return nil, d.unexpected(d.off, "looking for a value")
	default:
		if c == '-' || isDigit(c) {
			return d.number()
		}
		return nil, d.unexpected(d.off, "looking for a value")
	}
}

func (d *decoder) literal(word string, v any) (any, error) {
	if !d.hasPrefix(word) {
		for i := 0; i < len(word); i++ {
			if d.off+i >= len(d.data) {
				return nil, d.eof("in literal " + word)
			}
			if d.data[d.off+i] != word[i] {
				return nil, d.unexpected(d.off+i, "in literal "+word)
			}
		}
	}
	d.off += len(word)
	return v, nil
}

func (d *decoder) number() (any, error) {
	start := d.off
	end, isFloat, ok := scanNumber(d.data, start)
	if !ok {
		if end >= len(d.data) {
			return nil, d.eof("in number")
		}
		if d.data[start] == '-' && end == start+1 && string(d.data[end:min(end+8, len(d.data))]) == "Infinity" {
			return nil, d.errorf(start, ErrNonJSONToken, "non-JSON token (NaN, Infinity and -Infinity are not accepted)")
		}
		return nil, d.errorf(end, ErrInvalidNumber, "invalid character "+strconv.QuoteRuneToASCII(rune(d.data[end]))+" in number")
	}
	if !isFloat {
		n := end - start
		if d.data[start] == '-' {
			n--
		}
		if n > MaxIntegerDigits {
			return nil, d.errorf(start, ErrIntegerTooLarge, "integer literal of "+strconv.Itoa(n)+" digits exceeds "+strconv.Itoa(MaxIntegerDigits))
		}
	}
	d.off = end
	return json.Number(d.text[start:end]), nil
}

func (d *decoder) push() error {
	if d.depth >= MaxDepth {
		return d.errorf(d.off, ErrTooDeep, "nesting deeper than "+strconv.Itoa(MaxDepth))
	}
	d.depth++
	return nil
}

func (d *decoder) object() (any, error) {
	if err := d.push(); err != nil {
		return nil, err
	}
	d.off++ // {
	d.skipSpace()
	if d.off < len(d.data) && d.data[d.off] == '}' {
		d.off++
		d.depth--
		return Object{}, nil
	}
	base := len(d.members)
	for {
		if d.off >= len(d.data) {
			return nil, d.eof("in object")
		}
		if d.data[d.off] != '"' {
			return nil, d.unexpected(d.off, "looking for an object key")
		}
		key, err := d.string()
		if err != nil {
			return nil, err
		}
		d.skipSpace()
		if d.off >= len(d.data) {
			return nil, d.eof("after object key")
		}
		if d.data[d.off] != ':' {
			return nil, d.unexpected(d.off, "after object key")
		}
		d.off++
		d.skipSpace()
		v, err := d.value()
		if err != nil {
			return nil, err
		}
		d.members = append(d.members, member[any]{key: key, val: v})
		d.skipSpace()
		if d.off >= len(d.data) {
			return nil, d.eof("in object")
		}
		switch d.data[d.off] {
		case ',':
			d.off++
			d.skipSpace()
		case '}':
			d.off++
			d.depth--
			ms := d.members[base:]
			obj := make(Object, len(ms))
			for i := range ms {
				obj[ms[i].key] = ms[i].val // in input order: the last duplicate wins
				ms[i] = member[any]{}      // drop references for the GC
			}
			d.members = d.members[:base]
			return obj, nil
		default:
			return nil, d.unexpected(d.off, "after object value")
		}
	}
}

func (d *decoder) array() (any, error) {
	if err := d.push(); err != nil {
		return nil, err
	}
	d.off++ // [
	d.skipSpace()
	if d.off < len(d.data) && d.data[d.off] == ']' {
		d.off++
		d.depth--
		return []any{}, nil
	}
	base := len(d.elems)
	for {
		v, err := d.value()
		if err != nil {
			return nil, err
		}
		d.elems = append(d.elems, v)
		d.skipSpace()
		if d.off >= len(d.data) {
			return nil, d.eof("in array")
		}
		switch d.data[d.off] {
		case ',':
			d.off++
			d.skipSpace()
		case ']':
			d.off++
			d.depth--
			arr := make([]any, len(d.elems)-base)
			copy(arr, d.elems[base:])
			clear(d.elems[base:])
			d.elems = d.elems[:base]
			return arr, nil
		default:
			return nil, d.unexpected(d.off, "after array element")
		}
	}
}

// string decodes the string starting at the opening quote at d.off.
func (d *decoder) string() (string, error) {
	start := d.off + 1
	i := start
	for ; i < len(d.data); i++ {
		c := d.data[i]
		if c == '"' {
			d.off = i + 1
			return d.text[start:i], nil
		}
		if c == '\\' {
			break
		}
		if c < 0x20 {
			return "", d.errorf(i, nil, "invalid control character "+strconv.QuoteRuneToASCII(rune(c))+" in string")
		}
	}
	if i >= len(d.data) {
		return "", d.eof("in string")
	}

	// Slow path: at least one escape. UTF-8 was validated up front, so
	// bytes >= 0x80 are copied as they are.
	buf := append(d.buf[:0], d.data[start:i]...)
	for i < len(d.data) {
		c := d.data[i]
		switch {
		case c == '"':
			d.off = i + 1
			d.buf = buf
			return string(buf), nil
		case c < 0x20:
			return "", d.errorf(i, nil, "invalid control character "+strconv.QuoteRuneToASCII(rune(c))+" in string")
		case c != '\\':
			buf = append(buf, c)
			i++
			continue
		}
		if i+1 >= len(d.data) {
			return "", d.eof("in string escape")
		}
		switch e := d.data[i+1]; e {
		case '"', '\\', '/':
			buf = append(buf, e)
		case 'b':
			buf = append(buf, '\b')
		case 'f':
			buf = append(buf, '\f')
		case 'n':
			buf = append(buf, '\n')
		case 'r':
			buf = append(buf, '\r')
		case 't':
			buf = append(buf, '\t')
		case 'u':
			r, err := d.hex4(i + 2)
			if err != nil {
				return "", err
			}
			switch {
			case r >= 0xdc00 && r <= 0xdfff:
				return "", d.errorf(i, ErrLoneSurrogate, "lone low surrogate escape "+string(d.data[i:i+6]))
			case r >= 0xd800 && r <= 0xdbff:
				lo := rune(-1)
				if i+7 < len(d.data) && d.data[i+6] == '\\' && d.data[i+7] == 'u' {
					if lo, err = d.hex4(i + 8); err != nil {
						return "", err
					}
				}
				if lo < 0xdc00 || lo > 0xdfff {
					return "", d.errorf(i, ErrLoneSurrogate, "high surrogate escape "+string(d.data[i:i+6])+" not followed by a low surrogate escape")
				}
				r = 0x10000 + (r-0xd800)<<10 + (lo - 0xdc00)
				i += 6
			}
			buf = utf8.AppendRune(buf, r)
			i += 4
		default:
			return "", d.unexpected(i+1, "in string escape")
		}
		i += 2
	}
	return "", d.eof("in string")
}

// hex4 reads the four hex digits of a \u escape at data[off:].
func (d *decoder) hex4(off int) (rune, error) {
	var r rune
	for i := off; i < off+4; i++ {
		if i >= len(d.data) {
			return 0, d.eof("in \\u escape")
		}
		c := d.data[i]
		switch {
		case c >= '0' && c <= '9':
			c -= '0'
		case c >= 'a' && c <= 'f':
			c -= 'a' - 10
		case c >= 'A' && c <= 'F':
			c -= 'A' - 10
		default:
			return 0, d.unexpected(i, "in \\u escape")
		}
		r = r<<4 | rune(c)
	}
	return r, nil
}
