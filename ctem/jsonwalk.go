package ctem

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
)

// docWalker streams one JSON document and hands out the elements of record
// arrays one by one, so that a document cut off or corrupted half-way still
// yields every record before the damage (and the damage is reported at the
// record it hit). Scalars under interesting keys are collected with the path
// of the object that holds them, so a record can find its project or scan.
//
// Paths are concrete: `[2].applications[1].vulnerabilities[5]`; an owner is
// the path of the object holding a key (`[2].applications[1]`, "" at the
// root).
type docWalker struct {
	dec *json.Decoder
	// recordKeys name arrays (or single objects) whose elements are records.
	recordKeys map[string]bool
	// rootRecords makes the elements of a root-level array records.
	rootRecords bool
	// valueKeys name scalars (or small objects) to collect.
	valueKeys map[string]bool
	// newRecord, when set, returns a fresh pointer to decode a record of the
	// given key into directly (one scan instead of copy-then-unmarshal); a
	// type error is kept with the record, not fatal.
	newRecord func(key string) any

	records []walkedRecord
	values  map[string]map[string]json.RawMessage // owner → key → raw value
}

type walkedRecord struct {
	owner string // path of the object holding the record array
	key   string // the record array's key ("" for root records)
	loc   string // concrete path of the element
	raw   json.RawMessage
	val   any   // the decoded record when newRecord is set
	err   error // its type error, if any
}

// walkError is where the document became unreadable.
type walkError struct {
	loc    string // path being read
	offset int64
	err    error
}

func (e *walkError) Error() string {
	return fmt.Sprintf("invalid JSON at byte %d (%s): %v", e.offset, e.loc, e.err)
}

func newDocWalker(data []byte, recordKeys, valueKeys []string, rootRecords bool) *docWalker {
	w := &docWalker{
		dec:         json.NewDecoder(bytes.NewReader(data)),
		recordKeys:  make(map[string]bool, len(recordKeys)),
		valueKeys:   make(map[string]bool, len(valueKeys)),
		rootRecords: rootRecords,
		values:      map[string]map[string]json.RawMessage{},
	}
	for _, k := range recordKeys {
		w.recordKeys[k] = true
	}
	for _, k := range valueKeys {
		w.valueKeys[k] = true
	}
	return w
}

// walk reads the whole document; on a syntax error it stops and returns a
// *walkError, keeping everything collected before it.
func (w *docWalker) walk() error {
	tok, err := w.dec.Token()
	if err != nil {
		return w.fail("", err)
	}
	switch tok {
	case json.Delim('{'):
		err = w.object("")
	case json.Delim('['):
		if w.rootRecords {
			err = w.recordArray("", "", "")
		} else {
			err = w.array("")
		}
	default:
		return &walkError{loc: "$", offset: w.dec.InputOffset(), err: errors.New("document is not a JSON object or array")}
	}
	if err != nil {
		return err
	}
	if _, err := w.dec.Token(); err != io.EOF {
		return &walkError{loc: "$", offset: w.dec.InputOffset(), err: errors.New("data after the document")}
	}
	return nil
}

func (w *docWalker) fail(loc string, err error) error {
	if err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	if loc == "" {
		loc = "$"
	}
	return &walkError{loc: loc, offset: w.dec.InputOffset(), err: err}
}

// object reads the members of an object whose '{' was consumed.
func (w *docWalker) object(path string) error {
	for w.dec.More() {
		tok, err := w.dec.Token()
		if err != nil {
			return w.fail(path, err)
		}
		key, ok := tok.(string)
		if !ok {
			return w.fail(path, errors.New("object key is not a string"))
		}
		child := key
		if path != "" {
			child = path + "." + key
		}
		switch {
		case w.recordKeys[key]:
			if err := w.recordValue(path, key, child); err != nil {
				return err
			}
		case w.valueKeys[key]:
			var raw json.RawMessage
			if err := w.dec.Decode(&raw); err != nil {
				return w.fail(child, err)
			}
			if w.values[path] == nil {
				w.values[path] = map[string]json.RawMessage{}
			}
			w.values[path][key] = raw
		default:
			if err := w.skipOrDescend(child); err != nil {
				return err
			}
		}
	}
	if _, err := w.dec.Token(); err != nil { // '}'
		return w.fail(path, err)
	}
	return nil
}

// array reads the elements of a non-record array whose '[' was consumed,
// descending into containers to find nested record arrays.
func (w *docWalker) array(path string) error {
	for i := 0; w.dec.More(); i++ {
		if err := w.skipOrDescend(path + "[" + strconv.Itoa(i) + "]"); err != nil {
			return err
		}
	}
	if _, err := w.dec.Token(); err != nil { // ']'
		return w.fail(path, err)
	}
	return nil
}

func (w *docWalker) skipOrDescend(path string) error {
	tok, err := w.dec.Token()
	if err != nil {
		return w.fail(path, err)
	}
	switch tok {
	case json.Delim('{'):
		return w.object(path)
	case json.Delim('['):
		return w.array(path)
	}
	return nil
}

// recordValue reads the value of a record key: an array of records, a single
// record object, or null.
func (w *docWalker) recordValue(owner, key, path string) error {
	tok, err := w.dec.Token()
	if err != nil {
		return w.fail(path, err)
	}
	switch tok {
	case json.Delim('['):
		return w.recordArray(owner, key, path)
	case json.Delim('{'):
		// A single record (e.g. a JSON:API document with one resource):
		// re-assemble it from the remaining members.
		raw, err := w.restOfObject(path)
		if err != nil {
			return err
		}
		w.records = append(w.records, walkedRecord{owner: owner, key: key, loc: path, raw: raw})
		return nil
	}
	return nil // null or a scalar: no records
}

func (w *docWalker) recordArray(owner, key, path string) error {
	for i := 0; w.dec.More(); i++ {
		loc := path + "[" + strconv.Itoa(i) + "]"
		if w.newRecord != nil {
			v := w.newRecord(key)
			err := w.dec.Decode(v)
			var te *json.UnmarshalTypeError
			if err != nil && !errors.As(err, &te) {
				return w.fail(loc, err)
			}
			w.records = append(w.records, walkedRecord{owner: owner, key: key, loc: loc, val: v, err: err})
			continue
		}
		var raw json.RawMessage
		if err := w.dec.Decode(&raw); err != nil {
			return w.fail(loc, err)
		}
		w.records = append(w.records, walkedRecord{owner: owner, key: key, loc: loc, raw: raw})
	}
	if _, err := w.dec.Token(); err != nil { // ']'
		return w.fail(path, err)
	}
	return nil
}

// restOfObject re-encodes the members of an object whose '{' was consumed.
func (w *docWalker) restOfObject(path string) (json.RawMessage, error) {
	m := map[string]json.RawMessage{}
	for w.dec.More() {
		tok, err := w.dec.Token()
		if err != nil {
			return nil, w.fail(path, err)
		}
		key, ok := tok.(string)
		if !ok {
			return nil, w.fail(path, errors.New("object key is not a string"))
		}
		var raw json.RawMessage
		if err := w.dec.Decode(&raw); err != nil {
			return nil, w.fail(path+"."+key, err)
		}
		m[key] = raw
	}
	if _, err := w.dec.Token(); err != nil {
		return nil, w.fail(path, err)
	}
	b, err := json.Marshal(m)
	if err != nil {
		return nil, w.fail(path, err)
	}
	return b, nil
}

// str returns the string collected under key for owner, or for the nearest
// enclosing owner that has it (so an application inside a container scan can
// inherit the scan's values).
func (w *docWalker) str(owner, key string) string {
	for {
		if raw, ok := w.values[owner][key]; ok {
			var s string
			if json.Unmarshal(raw, &s) == nil {
				return s
			}
		}
		if owner == "" {
			return ""
		}
		owner = parentPath(owner)
	}
}

// own returns the string collected under key for exactly owner.
func (w *docWalker) own(owner, key string) string {
	var s string
	if raw, ok := w.values[owner][key]; ok {
		_ = json.Unmarshal(raw, &s)
	}
	return s
}

// parentPath strips the last segment of a concrete path:
// "[2].applications[1]" → "[2]", "[2]" → "", "a.b" → "a".
func parentPath(p string) string {
	for i := len(p) - 1; i >= 0; i-- {
		switch p[i] {
		case '.':
			return p[:i]
		case '[':
			if i == 0 {
				return ""
			}
			if p[i-1] == ']' {
				return p[:i]
			}
			// "applications[1]" → parent of "applications" is the object
			// holding it.
			return parentPath(p[:i])
		}
	}
	return ""
}
