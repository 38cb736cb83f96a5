package audit

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding"
	"encoding/hex"
	"encoding/json"
	"math"
	"reflect"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/socwarden/warden/audit/canonical"
)

// maxDepth is the deepest nesting of Fields values Emit encodes; anything
// deeper (including a map that contains itself) becomes null and marks the
// event sanitised.
const maxDepth = 64

// encoder is the per-call scratch state of Emit, pooled so that a steady
// stream of events allocates only the final value.
type encoder struct {
	head    []byte   // the object up to and including `"producer_seq":`
	tail    []byte   // the object after the producer_seq digits
	keys    []string // stack of map keys being sorted, shared by nesting levels
	members []member // stack of map members being sorted, shared by nesting levels
	tmp     []byte   // scratch for HMAC inputs

	// rnd caches crypto/rand output so that an id costs one getrandom call
	// per len(rnd)/8 ids instead of one each. Bytes are used once.
	rnd    [512]byte
	rndOff int

	sanitized bool
	redact    *redactor // nil unless WithSensitiveKeys was given

	// limit stops encoding once the output passes the event size limit,
	// so that a value built from shared sub-maps (exponential when
	// expanded) costs at most about limit bytes of work; tooLarge records
	// that it did.
	limit    int
	tooLarge bool
}

var encoderPool = sync.Pool{New: func() any { return &encoder{rndOff: len(encoder{}.rnd)} }}

// maxPooledBuffer keeps a rare huge event from pinning its buffers in the
// pool forever.
const maxPooledBuffer = 64 << 10

func getEncoder(r *redactor, limit int) *encoder {
	enc := encoderPool.Get().(*encoder)
	enc.limit, enc.tooLarge = limit, false
	enc.head, enc.tail, enc.keys, enc.members = enc.head[:0], enc.tail[:0], enc.keys[:0], enc.members[:0]
	enc.sanitized = false
	enc.redact = r
	return enc
}

func putEncoder(enc *encoder) {
	if cap(enc.head) > maxPooledBuffer || cap(enc.tail) > maxPooledBuffer || cap(enc.tmp) > maxPooledBuffer {
		return
	}
	clear(enc.keys[:cap(enc.keys)]) // drop references to caller strings
	clear(enc.members[:cap(enc.members)])
	enc.redact = nil
	encoderPool.Put(enc)
}

// str appends s as a JSON string, replacing invalid UTF-8 with U+FFFD.
func (e *encoder) str(dst []byte, s string) []byte {
	dst, replaced := canonical.AppendStringReplacing(dst, s)
	if replaced {
		e.sanitized = true
	}
	return dst
}

func (e *encoder) strList(dst []byte, list []string, redact bool) []byte {
	dst = append(dst, '[')
	for i, s := range list {
		if i > 0 {
			dst = append(dst, ',')
		}
		if redact {
			dst = e.hmacString(dst, s)
		} else {
			dst = e.str(dst, s)
		}
	}
	return append(dst, ']')
}

// object appends the members of a Fields map in canonical key order.
func (e *encoder) object(dst []byte, m map[string]any, depth int) []byte {
	if depth > maxDepth {
		e.sanitized = true
		return append(dst, "null"...)
	}
	start := len(e.members)
	for k, v := range m {
		e.members = append(e.members, member{keyPrefix(k), k, v})
	}
	sortMembers(e.members[start:])
	dst = append(dst, '{')
	for i := start; i < len(e.members); i++ {
		mb := e.members[i]
		if len(dst) > e.limit {
			e.tooLarge = true
			break
		}
		if i > start {
			dst = append(dst, ',')
		}
		dst = e.str(dst, mb.key)
		dst = append(dst, ':')
		if e.redact != nil && e.redact.keys[mb.key] {
			dst = e.redacted(dst, mb.val, depth+1)
			continue
		}
		dst = e.value(dst, mb.val, depth+1)
	}
	clear(e.members[start:])
	e.members = e.members[:start]
	return append(dst, '}')
}

// stringMap is object for the common map[string]string (provider health,
// labels), without reflection or boxing.
func (e *encoder) stringMap(dst []byte, m map[string]string, depth int) []byte {
	if depth > maxDepth {
		e.sanitized = true
		return append(dst, "null"...)
	}
	start := len(e.keys)
	for k := range m {
		e.keys = append(e.keys, k)
	}
	slices.Sort(e.keys[start:])
	dst = append(dst, '{')
	for i := start; i < len(e.keys); i++ {
		k := e.keys[i]
		if i > start {
			dst = append(dst, ',')
		}
		dst = e.str(dst, k)
		dst = append(dst, ':')
		if e.redact != nil && e.redact.keys[k] {
			dst = e.hmacString(dst, m[k])
			continue
		}
		dst = e.str(dst, m[k])
	}
	e.keys = e.keys[:start]
	return append(dst, '}')
}

// member is one key/value pair of a map being encoded; prefix holds the
// key's first eight bytes big-endian, so most comparisons are one integer
// compare.
type member struct {
	prefix uint64
	key    string
	val    any
}

func keyPrefix(k string) uint64 {
	var p uint64
	for i := 0; i < 8; i++ {
		p <<= 8
		if i < len(k) {
			p |= uint64(k[i])
		}
	}
	return p
}

func (a *member) less(b *member) bool {
	if a.prefix != b.prefix {
		return a.prefix < b.prefix
	}
	return a.key < b.key
}

// sortMembers sorts by key in byte order (= code point order for valid
// UTF-8). Audit maps are small, where insertion sort beats the generic sort.
func sortMembers(ms []member) {
	if len(ms) > 16 {
		slices.SortFunc(ms, func(a, b member) int {
			if a.less(&b) {
				return -1
			}
			if b.less(&a) {
				return 1
			}
			return 0
		})
		return
	}
	for i := 1; i < len(ms); i++ {
		for j := i; j > 0 && ms[j].less(&ms[j-1]); j-- {
			ms[j], ms[j-1] = ms[j-1], ms[j]
		}
	}
}

// value appends v converted to the canonical value model (spec §3.1 step 4).
func (e *encoder) value(dst []byte, v any, depth int) []byte {
	if depth > maxDepth {
		e.sanitized = true
		return append(dst, "null"...)
	}
	switch x := v.(type) {
	case nil:
		return append(dst, "null"...)
	case string:
		return e.str(dst, x)
	case bool:
		return strconv.AppendBool(dst, x)
	case int:
		return strconv.AppendInt(dst, int64(x), 10)
	case int64:
		return strconv.AppendInt(dst, x, 10)
	case int32:
		return strconv.AppendInt(dst, int64(x), 10)
	case int16:
		return strconv.AppendInt(dst, int64(x), 10)
	case int8:
		return strconv.AppendInt(dst, int64(x), 10)
	case uint:
		return strconv.AppendUint(dst, uint64(x), 10)
	case uint64:
		return strconv.AppendUint(dst, x, 10)
	case uint32:
		return strconv.AppendUint(dst, uint64(x), 10)
	case uint16:
		return strconv.AppendUint(dst, uint64(x), 10)
	case uint8:
		return strconv.AppendUint(dst, uint64(x), 10)
	case float64:
		return e.float(dst, x)
	case float32:
		if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
			e.sanitized = true
			return append(dst, "null"...)
		}
		// float32(0.1) is 0.100000001490116...; its shortest float32
		// decimal is what the caller meant.
		f, _ := strconv.ParseFloat(strconv.FormatFloat(float64(x), 'g', -1, 32), 64)
		return canonical.AppendFloat(dst, f)
	case json.Number:
		return e.number(dst, string(x))
	case time.Time:
		dst = append(dst, '"')
		dst = appendTimestamp(dst, x)
		return append(dst, '"')
	case Fields:
		if x == nil {
			return append(dst, "null"...)
		}
		return e.object(dst, x, depth)
	case map[string]any:
		if x == nil {
			return append(dst, "null"...)
		}
		return e.object(dst, x, depth)
	case []any:
		if x == nil {
			return append(dst, "null"...)
		}
		dst = append(dst, '[')
		for i, el := range x {
			if len(dst) > e.limit {
				e.tooLarge = true
				break
			}
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = e.value(dst, el, depth+1)
		}
		return append(dst, ']')
	case []string:
		if x == nil {
			return append(dst, "null"...)
		}
		return e.strList(dst, x, false)
	case map[string]string:
		if x == nil {
			return append(dst, "null"...)
		}
		return e.stringMap(dst, x, depth)
	case json.RawMessage:
		return e.viaJSON(dst, v, []byte(x), depth)
	case json.Marshaler, encoding.TextMarshaler:
		return e.viaJSON(dst, v, nil, depth)
	case error:
		// An error's fields are usually unexported, so encoding/json would
		// write {}; its message is what a reader of the record wants.
		return e.str(dst, x.Error())
	}
	return e.reflectValue(dst, reflect.ValueOf(v), depth)
}

func (e *encoder) float(dst []byte, f float64) []byte {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		e.sanitized = true
		return append(dst, "null"...)
	}
	return canonical.AppendFloat(dst, f)
}

// number appends a json.Number literal in canonical form. An invalid literal
// becomes a string; one that overflows a double becomes null (the canonical
// form would be Infinity, which is not JSON).
func (e *encoder) number(dst []byte, lit string) []byte {
	n := len(dst)
	out, err := canonical.AppendNumber(dst, lit)
	if err != nil {
		e.sanitized = true
		return e.str(dst[:n], lit)
	}
	if last := out[len(out)-1]; last == 'y' { // Infinity, -Infinity
		e.sanitized = true
		return append(dst[:n], "null"...)
	}
	return out
}

// reflectValue handles named types, pointers, typed maps and slices, and
// sends everything else through encoding/json.
func (e *encoder) reflectValue(dst []byte, rv reflect.Value, depth int) []byte {
	if depth > maxDepth {
		e.sanitized = true
		return append(dst, "null"...)
	}
	switch rv.Kind() {
	case reflect.Invalid:
		return append(dst, "null"...)
	case reflect.Pointer, reflect.Interface:
		if rv.IsNil() {
			return append(dst, "null"...)
		}
		return e.value(dst, rv.Elem().Interface(), depth+1)
	case reflect.Bool:
		return strconv.AppendBool(dst, rv.Bool())
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return strconv.AppendInt(dst, rv.Int(), 10)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return strconv.AppendUint(dst, rv.Uint(), 10)
	case reflect.Float32:
		return e.value(dst, float32(rv.Float()), depth)
	case reflect.Float64:
		return e.float(dst, rv.Float())
	case reflect.String:
		return e.str(dst, rv.String())
	case reflect.Map:
		if rv.Type().Key().Kind() != reflect.String {
			return e.viaJSON(dst, rv.Interface(), nil, depth)
		}
		if rv.IsNil() {
			return append(dst, "null"...)
		}
		return e.reflectMap(dst, rv, depth)
	case reflect.Slice:
		if rv.IsNil() {
			return append(dst, "null"...)
		}
		if rv.Type().Elem().Kind() == reflect.Uint8 {
			return e.viaJSON(dst, rv.Interface(), nil, depth) // base64, as encoding/json
		}
		fallthrough
	case reflect.Array:
		dst = append(dst, '[')
		for i := 0; i < rv.Len(); i++ {
			if len(dst) > e.limit {
				e.tooLarge = true
				break
			}
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = e.value(dst, rv.Index(i).Interface(), depth+1)
		}
		return append(dst, ']')
	case reflect.Struct:
		return e.viaJSON(dst, rv.Interface(), nil, depth)
	}
	return e.unsupported(dst, rv.Type())
}

func (e *encoder) reflectMap(dst []byte, rv reflect.Value, depth int) []byte {
	if depth > maxDepth {
		e.sanitized = true
		return append(dst, "null"...)
	}
	start := len(e.keys)
	iter := rv.MapRange()
	for iter.Next() {
		e.keys = append(e.keys, iter.Key().String())
	}
	end := len(e.keys)
	slices.Sort(e.keys[start:end])
	dst = append(dst, '{')
	for i := start; i < end; i++ {
		k := e.keys[i]
		if i > start {
			dst = append(dst, ',')
		}
		dst = e.str(dst, k)
		dst = append(dst, ':')
		val := rv.MapIndex(reflect.ValueOf(k).Convert(rv.Type().Key())).Interface()
		if e.redact != nil && e.redact.keys[k] {
			dst = e.redacted(dst, val, depth+1)
			continue
		}
		dst = e.value(dst, val, depth+1)
	}
	e.keys = e.keys[:start]
	return append(dst, '}')
}

// viaJSON marshals v with encoding/json (or takes raw JSON) and re-decodes it
// by the canonical rules, so struct tags and Marshalers are honoured while
// numbers keep their literals.
func (e *encoder) viaJSON(dst []byte, v any, raw []byte, depth int) []byte {
	if raw == nil {
		var err error
		if raw, err = json.Marshal(v); err != nil {
			return e.unsupported(dst, reflect.TypeOf(v))
		}
	}
	decoded, err := canonical.Decode(raw)
	if err != nil {
		return e.unsupported(dst, reflect.TypeOf(v))
	}
	return e.value(dst, decoded, depth)
}

func (e *encoder) unsupported(dst []byte, t reflect.Type) []byte {
	e.sanitized = true
	name := "<nil>"
	if t != nil {
		name = t.String()
	}
	return e.str(dst, "!unsupported "+name)
}

// redactor replaces the values of configured keys with a keyed hash so that
// records stay joinable and verifiable without carrying the raw value.
type redactor struct {
	key  []byte
	keys map[string]bool
}

// RedactedPrefix starts every value replaced by WithSensitiveKeys.
const RedactedPrefix = "hmac-sha256:"

func (e *encoder) hmacString(dst []byte, s string) []byte {
	return e.hmacBytes(dst, append(e.tmp[:0], s...))
}

func (e *encoder) hmacBytes(dst []byte, b []byte) []byte {
	e.tmp = b
	mac := hmac.New(sha256.New, e.redact.key)
	mac.Write(b)
	var sum [sha256.Size]byte
	dst = append(dst, '"')
	dst = append(dst, RedactedPrefix...)
	dst = hex.AppendEncode(dst, mac.Sum(sum[:0]))
	return append(dst, '"')
}

// redacted appends the keyed hash of v: of the string itself for strings
// (so a host can compute the same token from a raw value), element-wise for
// string lists (so each entity stays joinable), and of the canonical JSON of
// anything else. null stays null.
func (e *encoder) redacted(dst []byte, v any, depth int) []byte {
	switch x := v.(type) {
	case nil:
		return append(dst, "null"...)
	case string:
		return e.hmacString(dst, x)
	case []string:
		if x == nil {
			return append(dst, "null"...)
		}
		return e.strList(dst, x, true)
	}
	// Encode the value into a nested scratch area after dst, hash it, and
	// overwrite it with the token.
	n := len(dst)
	dst = e.value(dst, v, depth)
	enc := append([]byte(nil), dst[n:]...)
	return e.hmacBytes(dst[:n], enc)
}

// appendTimestamp appends t in TimestampLayout without parsing the layout
// (about five times faster than time.AppendFormat, and Emit calls it on
// every event).
func appendTimestamp(b []byte, t time.Time) []byte {
	t = t.UTC()
	year, month, day := t.Date()
	if year < 0 || year > 9999 {
		return t.AppendFormat(b, TimestampLayout)
	}
	hour, minute, sec := t.Clock()
	ms := t.Nanosecond() / 1e6
	b = append(b, byte('0'+year/1000), byte('0'+year/100%10), byte('0'+year/10%10), byte('0'+year%10), '-')
	b = append(b, byte('0'+month/10), byte('0'+month%10), '-', byte('0'+day/10), byte('0'+day%10), 'T')
	b = append(b, byte('0'+hour/10), byte('0'+hour%10), ':', byte('0'+minute/10), byte('0'+minute%10), ':')
	b = append(b, byte('0'+sec/10), byte('0'+sec%10), '.', byte('0'+ms/100), byte('0'+ms/10%10), byte('0'+ms%10), 'Z')
	return b
}

// random8 returns 8 bytes from crypto/rand, refilling the cache when empty.
func (e *encoder) random8() *[8]byte {
	if e.rndOff+8 > len(e.rnd) {
		_, _ = rand.Read(e.rnd[:])
		e.rndOff = 0
	}
	b := (*[8]byte)(e.rnd[e.rndOff : e.rndOff+8])
	e.rndOff += 8
	return b
}
