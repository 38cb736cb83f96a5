package ctem

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Format is the layout of a scanner export read by [Service.NormaliseStream].
type Format string

// Formats. FormatAuto detects the format from the content.
const (
	FormatAuto Format = ""
	// FormatEmpty is reported for an input with no content.
	FormatEmpty Format = "empty"
	// FormatFlat is the flat per-topic finding shape of spec §3.5: one JSON
	// object, a JSON array of them, or JSON lines. Every source accepts it;
	// it is the only format of ART results and of host-registered sources.
	FormatFlat Format = "flat"
	// FormatWizIssuesCSV is the Wiz Issues report CSV export.
	FormatWizIssuesCSV Format = "wiz-issues-csv"
	// FormatWizVulnerabilitiesCSV is the Wiz vulnerability-findings CSV export.
	FormatWizVulnerabilitiesCSV Format = "wiz-vulnerabilities-csv"
	// FormatWizCSV is a CSV whose header names flat Wiz keys (title,
	// resource_id, severity, ...).
	FormatWizCSV Format = "wiz-csv"
	// FormatWizCLI is wizcli JSON output (docker/dir/iac scans).
	FormatWizCLI Format = "wizcli-json"
	// FormatSnykTest is `snyk test --json` / `snyk container test --json`
	// output: one project object, or an array of them with --all-projects.
	FormatSnykTest Format = "snyk-test-json"
	// FormatSnykREST is a page of the Snyk REST API /orgs/{org}/issues
	// (JSON:API).
	FormatSnykREST Format = "snyk-rest-issues"
	// FormatGarakJSONL is a garak report.jsonl or hit log (lines may also be
	// flat garak findings).
	FormatGarakJSONL Format = "garak-jsonl"
)

// DefaultMaxStreamBytes bounds the input NormaliseStream reads.
const DefaultMaxStreamBytes = 256 << 20

// Batch is the result of normalising one scanner export: every good exposure
// plus one entry per bad or skipped record. Nothing accepted is dropped.
type Batch struct {
	Source Source
	Format Format
	// Records counts the records read: len(Exposures)+len(Errors)+len(Skipped).
	Records   int
	Exposures []Exposure
	Errors    []RecordError
	Skipped   []RecordSkip
}

// Failed reports whether any record failed.
func (b *Batch) Failed() bool { return len(b.Errors) > 0 }

// RecordError is one record that could not be normalised.
type RecordError struct {
	Index    int    // 0-based position among the input's records
	Location string // where in the input: "line 7", "row 3 (line 4)", "vulnerabilities[2]"
	Err      error  // a *FieldError for content problems
}

func (e *RecordError) Error() string {
	return fmt.Sprintf("record %d (%s): %v", e.Index, e.Location, e.Err)
}

func (e *RecordError) Unwrap() error { return e.Err }

// RecordSkip is a record that was read but deliberately yields no exposure:
// resolved at the source, resisted by the model, or a duplicate of an earlier
// record with the same (tenant, exposure key).
type RecordSkip struct {
	Index    int
	Location string
	Reason   string
}

// StreamOption adjusts one NormaliseStream / IngestStream call.
type StreamOption func(*streamConfig)

type streamConfig struct {
	format       Format
	defaultAsset string
}

// StreamFormat forces the input format instead of detecting it. This
// overrides the default of FormatAuto.
func StreamFormat(f Format) StreamOption { return func(c *streamConfig) { c.format = f } }

// StreamDefaultAsset names the asset of records whose input does not say
// which asset was scanned (a garak report without a target name, a hit log
// without a generator). Without it those records fail with field "model_name"
// missing. This overrides the default of "".
func StreamDefaultAsset(id string) StreamOption {
	return func(c *streamConfig) { c.defaultAsset = strings.TrimSpace(id) }
}

// streamItem is one record of an export before scoring: a mapped finding,
// a flat record for the source's Normaliser, a skip, or an error.
type streamItem struct {
	loc  string
	f    *finding
	raw  []byte
	skip string
	err  error
}

// NormaliseStream reads a whole scanner export for src and returns its
// normalised, scored exposures with per-record errors. It neither stores nor
// publishes nor audits (see [Service.IngestStream] for that). The returned
// error is reserved for the stream as a whole: an unreadable or oversized
// input, an unsupported source, an unknown forced format, or a cancelled
// context. Malformed records are reported in Batch.Errors and every good
// record is kept.
func (s *Service) NormaliseStream(ctx context.Context, src Source, r io.Reader, opts ...StreamOption) (*Batch, error) {
	b, _, err := s.normaliseStream(ctx, src, r, opts)
	return b, err
}

// streamExposure is a good record of a stream with what IngestStream needs
// to store and audit it.
type streamExposure struct {
	scored
	now   time.Time
	index int
	loc   string
}

// normaliseStream also returns, per exposure, its scoring details.
func (s *Service) normaliseStream(ctx context.Context, src Source, r io.Reader, opts []StreamOption) (*Batch, []streamExposure, error) {
	var sc streamConfig
	for _, o := range opts {
		o(&sc)
	}
	norm, ok := s.normaliser(src)
	if !ok {
		return nil, nil, fmt.Errorf("%w: %q", ErrUnsupportedSource, src)
	}
	data, err := readLimited(r, s.cfg.maxStreamBytes)
	if err != nil {
		return nil, nil, err
	}
	format, items, err := decodeStream(src, data, sc)
	if err != nil {
		return nil, nil, err
	}
	b := &Batch{Source: src, Format: format}
	var meta []streamExposure
	seen := make(map[string]int, len(items))
	for i, it := range items {
		if i%256 == 0 {
			if err := ctx.Err(); err != nil {
				return nil, nil, err
			}
		}
		b.Records++
		switch {
		case it.err != nil:
			b.Errors = append(b.Errors, RecordError{Index: i, Location: it.loc, Err: it.err})
			continue
		case it.skip != "":
			b.Skipped = append(b.Skipped, RecordSkip{Index: i, Location: it.loc, Reason: it.skip})
			continue
		}
		now := s.cfg.clock().UTC()
		var sc scored
		if it.f != nil {
			sc, err = s.scoreFinding(ctx, src, *it.f, now)
		} else {
			sc, err = s.normaliseAt(ctx, norm, it.raw, peekTenant(it.raw), now)
		}
		if err != nil {
			b.Errors = append(b.Errors, RecordError{Index: i, Location: it.loc, Err: err})
			continue
		}
		e := sc.e
		id := e.TenantID + "\x00" + e.ExposureKey
		if first, dup := seen[id]; dup {
			b.Skipped = append(b.Skipped, RecordSkip{Index: i, Location: it.loc,
				Reason: fmt.Sprintf("duplicate of record %d (same tenant and exposure key %s)", first, e.ExposureKey)})
			continue
		}
		seen[id] = i
		b.Exposures = append(b.Exposures, e)
		meta = append(meta, streamExposure{scored: sc, now: now, index: i, loc: it.loc})
	}
	return b, meta, nil
}

func sortRecordErrors(errs []RecordError) {
	slices.SortStableFunc(errs, func(a, b RecordError) int { return cmp.Compare(a.Index, b.Index) })
}

// readLimited reads r fully, failing if it holds more than limit bytes.
func readLimited(r io.Reader, limit int64) ([]byte, error) {
	if r == nil {
		return nil, fmt.Errorf("%w: nil reader", ErrInvalidRequest)
	}
	var buf bytes.Buffer
	// Size the buffer up front when the reader knows its length: a 50 MB
	// export would otherwise be copied through ~2× that in doublings.
	switch v := r.(type) {
	case interface{ Len() int }:
		buf.Grow(int(min(int64(v.Len()), limit)) + bytes.MinRead)
	case interface{ Stat() (os.FileInfo, error) }:
		if fi, err := v.Stat(); err == nil && fi.Mode().IsRegular() {
			buf.Grow(int(min(fi.Size(), limit)) + bytes.MinRead)
		}
	}
	_, err := buf.ReadFrom(io.LimitReader(r, limit+1))
	data := buf.Bytes()
	if err != nil {
		return nil, fmt.Errorf("ctem: reading input: %w", err)
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("%w: input exceeds %d bytes", ErrInvalidFinding, limit)
	}
	return data, nil
}

var utf8BOM = []byte{0xEF, 0xBB, 0xBF}

// decodeStream detects (or applies the forced) format and splits the input
// into records.
func decodeStream(src Source, data []byte, sc streamConfig) (Format, []streamItem, error) {
	data = bytes.TrimPrefix(data, utf8BOM)
	trimmed := bytes.TrimSpace(data)
	format := sc.format
	if format == FormatAuto {
		if len(trimmed) == 0 {
			return FormatEmpty, nil, nil
		}
		format = detectFormat(src, trimmed)
	}
	switch format {
	case FormatEmpty:
		return format, nil, nil
	case FormatFlat:
		return format, decodeFlat(trimmed), nil
	case FormatWizIssuesCSV, FormatWizVulnerabilitiesCSV, FormatWizCSV:
		if src != SourceWiz {
			break
		}
		f, items := decodeWizCSV(data, format)
		return f, items, nil
	case FormatWizCLI:
		if src == SourceWiz {
			return format, decodeWizCLI(trimmed), nil
		}
	case FormatSnykTest:
		if src == SourceSnyk {
			return format, decodeSnykTest(trimmed), nil
		}
	case FormatSnykREST:
		if src == SourceSnyk {
			return format, decodeSnykREST(trimmed), nil
		}
	case FormatGarakJSONL:
		if src == SourceGarak {
			return format, decodeGarak(data, sc.defaultAsset), nil
		}
	default:
		return "", nil, fmt.Errorf("%w: unknown format %q", ErrInvalidRequest, format)
	}
	return "", nil, fmt.Errorf("%w: format %q is not a %s format", ErrInvalidRequest, format, src)
}

// detectFormat picks the format from the content. Anything unrecognised is
// read as flat findings, whose normaliser then names what is missing.
func detectFormat(src Source, data []byte) Format {
	first := data[0]
	isJSON := first == '{' || first == '['
	switch src {
	case SourceWiz:
		if !isJSON {
			return FormatWizCSV // refined by the header in decodeWizCSV
		}
		if keys := topKeys(data); first == '{' && (keys["scanOriginResource"] || keys["result"]) {
			return FormatWizCLI
		}
	case SourceSnyk:
		if first == '{' {
			keys := topKeys(data)
			switch {
			case keys["jsonapi"] || keys["data"] && !keys["title"]:
				return FormatSnykREST
			case keys["vulnerabilities"] || keys["projectName"] || keys["dependencyCount"] || keys["ok"] && keys["error"]:
				return FormatSnykTest
			}
		}
		if first == '[' && firstElementHasKey(data, "vulnerabilities", "projectName") {
			return FormatSnykTest
		}
	case SourceGarak:
		// A report or hit log is JSON lines; its reader also accepts flat
		// garak findings line by line. Only a JSON array is read as flat.
		if first != '[' {
			return FormatGarakJSONL
		}
	}
	return FormatFlat
}

// topKeys returns the member names of the first level of the JSON object
// data starts with (for JSON lines: the first line's object).
func topKeys(data []byte) map[string]bool {
	keys := map[string]bool{}
	if i := skipSpace(data, 0); i < len(data) {
		objectKeys(data, i, func(name []byte) bool { keys[string(name)] = true; return false })
	}
	return keys
}

// firstElementHasKey reports whether the first element of a JSON array is an
// object with one of keys.
func firstElementHasKey(data []byte, keys ...string) bool {
	i := skipSpace(data, 0)
	if i >= len(data) || data[i] != '[' {
		return false
	}
	i = skipSpace(data, i+1)
	return i < len(data) && objectKeys(data, i, func(name []byte) bool {
		for _, k := range keys {
			if string(name) == k {
				return true
			}
		}
		return false
	})
}

func skipSpace(data []byte, i int) int {
	for i < len(data) && (data[i] == ' ' || data[i] == '\t' || data[i] == '\n' || data[i] == '\r') {
		i++
	}
	return i
}

// objectKeys scans the object starting at data[start] byte by byte — no
// decoding, no allocation, so detecting the format of a 50 MB export costs one
// pass — and calls visit with each member name of its first level until visit
// returns true (then objectKeys returns true). Damage ends the scan.
func objectKeys(data []byte, start int, visit func(name []byte) bool) bool {
	if data[start] != '{' {
		return false
	}
	depth, keyNext := 0, false
	for i := start; i < len(data); i++ {
		switch c := data[i]; c {
		case '"':
			j := i + 1
			for j < len(data) && data[j] != '"' {
				if data[j] == '\\' {
					j++
				}
				j++
			}
			if j >= len(data) {
				return false
			}
			if depth == 1 && keyNext {
				if visit(data[i+1 : j]) {
					return true
				}
				keyNext = false
			}
			i = j
		case '{', '[':
			depth++
			keyNext = depth == 1 && c == '{'
		case '}', ']':
			depth--
			if depth == 0 {
				return false
			}
		case ',':
			keyNext = depth == 1
		}
	}
	return false
}

// decodeFlat reads one object, an array of objects, or JSON lines.
func decodeFlat(data []byte) []streamItem {
	if data[0] == '{' && json.Valid(data) {
		return []streamItem{{loc: "document", raw: data}}
	}
	if data[0] == '[' {
		w := newDocWalker(data, nil, nil, true)
		werr := w.walk()
		items := make([]streamItem, 0, len(w.records)+1)
		for _, r := range w.records {
			items = append(items, streamItem{loc: r.loc, raw: r.raw})
		}
		if werr != nil {
			items = append(items, walkFailure(werr))
		}
		return items
	}
	return decodeLines(data)
}

// decodeLines makes each non-blank line a flat record.
func decodeLines(data []byte) []streamItem {
	var items []streamItem
	for n, line := range splitLines(data) {
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		items = append(items, streamItem{loc: "line " + strconv.Itoa(n+1), raw: line})
	}
	return items
}

func splitLines(data []byte) [][]byte {
	lines := bytes.Split(data, []byte{'\n'})
	for i, l := range lines {
		lines[i] = bytes.TrimSuffix(l, []byte{'\r'})
	}
	return lines
}

// walkFailure turns a damaged document into one record error at the place
// reading stopped.
func walkFailure(err error) streamItem {
	loc := "document"
	var we *walkError
	if errors.As(err, &we) {
		loc = fmt.Sprintf("%s (byte %d)", we.loc, we.offset)
	}
	return streamItem{loc: loc, err: &FieldError{Field: rootField, Reason: reasonInvalidJSON + ": " + errText(err)}}
}

func errText(err error) string {
	var we *walkError
	if errors.As(err, &we) {
		return we.err.Error()
	}
	return err.Error()
}

// decodeRecord unmarshals a record into v, turning the first type error into
// a *FieldError that names the JSON path of the offending field.
func decodeRecord(src Source, raw []byte, v any) error {
	if len(bytes.TrimSpace(raw)) == 0 || bytes.TrimSpace(raw)[0] != '{' {
		return &FieldError{Source: src, Field: rootField, Reason: reasonNotObject}
	}
	return fieldErrorOf(src, json.Unmarshal(raw, v))
}

// fieldErrorOf maps a decoding error to a *FieldError (nil stays nil).
func fieldErrorOf(src Source, err error) error {
	if err == nil {
		return nil
	}
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		field := te.Field
		if field == "" {
			// The record itself has the wrong type.
			return &FieldError{Source: src, Field: rootField, Reason: reasonNotObject}
		}
		return &FieldError{Source: src, Field: field, Reason: "wrong type: want " + kindName(te.Type)}
	}
	return &FieldError{Source: src, Field: rootField, Reason: reasonInvalidJSON}
}

func kindName(t reflect.Type) string {
	if t == nil {
		return "value"
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.String:
		return "string"
	case reflect.Bool:
		return "boolean"
	case reflect.Float32, reflect.Float64, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "number"
	case reflect.Slice, reflect.Array:
		return "array"
	case reflect.Map, reflect.Struct:
		return "object"
	}
	return t.Kind().String()
}

// requireFinding checks the required fields of a mapped record, naming the
// key of the input format.
func requireFinding(src Source, f *finding, titleKey, assetKey string) error {
	f.Title = strings.TrimSpace(f.Title)
	f.AssetID = strings.TrimSpace(f.AssetID)
	if f.Title == "" {
		return &FieldError{Source: src, Field: titleKey, Reason: reasonMissing}
	}
	if f.AssetID == "" {
		return &FieldError{Source: src, Field: assetKey, Reason: reasonMissing}
	}
	return nil
}

// itemFor wraps a mapped finding or its error.
func itemFor(loc string, f *finding, err error) streamItem {
	if err != nil {
		return streamItem{loc: loc, err: err}
	}
	return streamItem{loc: loc, f: f}
}
