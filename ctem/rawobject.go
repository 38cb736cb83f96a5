package ctem

import (
	"bytes"
	"encoding/json"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// rootField names the finding as a whole in a FieldError (not JSON, not an
// object, too large).
const rootField = "$"

// rawObject gives the flat-finding key lookups of spec §3.2: fallback chains
// where absent, null and (for strings) "" fall through, while a present value
// of the wrong JSON type is a FieldError naming its key.
type rawObject struct {
	src Source
	m   map[string]json.RawMessage
	err error // first type error, in the order fields were read
}

// parseObject accepts exactly one JSON object.
func parseObject(src Source, raw []byte) (*rawObject, error) {
	trimmed := bytes.TrimSpace(raw)
	if !json.Valid(trimmed) {
		return nil, &FieldError{Source: src, Field: rootField, Reason: reasonInvalidJSON}
	}
	if len(trimmed) == 0 || trimmed[0] != '{' {
		return nil, &FieldError{Source: src, Field: rootField, Reason: reasonNotObject}
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(trimmed, &m); err != nil {
		return nil, &FieldError{Source: src, Field: rootField, Reason: reasonInvalidJSON}
	}
	return &rawObject{src: src, m: m}, nil
}

func (o *rawObject) fail(key, reason string) {
	if o.err == nil {
		o.err = &FieldError{Source: o.src, Field: key, Reason: reason}
	}
}

func isNull(v json.RawMessage) bool { return len(v) == 0 || string(v) == "null" }

// str returns the first non-empty string among keys, "" if none.
func (o *rawObject) str(keys ...string) string {
	for _, k := range keys {
		v, ok := o.m[k]
		if !ok || isNull(v) {
			continue
		}
		if v[0] != '"' {
			o.fail(k, reasonWantString)
			return ""
		}
		var s string
		if err := json.Unmarshal(v, &s); err != nil {
			o.fail(k, reasonWantString)
			return ""
		}
		if s == "" {
			continue
		}
		return s
	}
	return ""
}

// num returns the first number among keys; ok is false if none is present.
func (o *rawObject) num(keys ...string) (float64, bool) {
	for _, k := range keys {
		v, present := o.m[k]
		if !present || isNull(v) {
			continue
		}
		if v[0] != '-' && (v[0] < '0' || v[0] > '9') {
			o.fail(k, reasonWantNumber)
			return 0, false
		}
		f, err := strconv.ParseFloat(string(v), 64)
		if err != nil {
			o.fail(k, "number out of range")
			return 0, false
		}
		return f, true
	}
	return 0, false
}

// strOrList accepts a string or an array of strings (joined with ", ").
func (o *rawObject) strOrList(key string) string {
	v, ok := o.m[key]
	if !ok || isNull(v) {
		return ""
	}
	switch v[0] {
	case '"':
		return o.str(key)
	case '[':
		var list []string
		if err := json.Unmarshal(v, &list); err != nil {
			o.fail(key, "wrong type: want string or array of strings")
			return ""
		}
		return strings.Join(list, ", ")
	}
	o.fail(key, "wrong type: want string or array of strings")
	return ""
}

// timestamp parses the first present string among keys; zero if none.
func (o *rawObject) timestamp(keys ...string) time.Time {
	for _, k := range keys {
		before := o.err
		s := o.str(k)
		if o.err != before {
			return time.Time{}
		}
		if s == "" {
			continue
		}
		t, ok := parseTimestamp(s)
		if !ok {
			o.fail(k, reasonBadTimestamp)
			return time.Time{}
		}
		return t
	}
	return time.Time{}
}

// timestampLayouts are tried in order; Go accepts fractional seconds after
// the seconds field when parsing even if the layout has none.
var timestampLayouts = []string{
	"2006-01-02T15:04:05Z07:00",
	"2006-01-02T15:04:05",
	"2006-01-02 15:04:05Z07:00",
	"2006-01-02 15:04:05",
	"2006-01-02",
}

// parseTimestamp returns the instant in UTC; layouts without a zone are UTC.
func parseTimestamp(s string) (time.Time, bool) {
	s = strings.TrimSpace(s)
	for _, l := range timestampLayouts {
		if t, err := time.Parse(l, s); err == nil {
			return t.UTC(), true
		}
	}
	return time.Time{}, false
}

// sanitiseUTF8 replaces invalid UTF-8 with U+FFFD.
func sanitiseUTF8(b []byte) string {
	if utf8.Valid(b) {
		return string(b)
	}
	return strings.ToValidUTF8(string(b), "\uFFFD")
}
