package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/socwarden/warden/entityparser"
)

// alertCommand is `warden alert`: a SIEM/EDR adapter over a file of raw
// alerts, printing each canonical alert with its parsed entities.
func alertCommand() *command {
	c := &command{
		name:    "alert",
		summary: "normalize SIEM/EDR alerts to canonical alerts with parsed entities (JSON lines)",
		usage:   "-source " + strings.Join(entityparser.Sources(), "|") + " [file|-]",
	}
	c.run = func(ctx context.Context, e *env, args []string) int { return runAlert(ctx, c, e, args) }
	return c
}

// maxAlertDocumentBytes bounds input that is one JSON document (an array,
// or an object spread over several lines), which is read whole. JSON lines
// are streamed and only each line is bounded (maxLineBytes). A variable so
// that tests can lower it.
var maxAlertDocumentBytes int64 = 256 << 20

var utf8BOM = []byte("\ufeff")

// runAlert reads a JSON object, a JSON array of objects or JSON lines (an
// OData response {"value": [...]}, as the Defender API returns, counts as
// its items) and prints one line per alert: the canonical alert's members
// plus parsed_entities, the alerts.normalized wire form. Records are
// numbered from 0 in input order; a record that is not an alert is reported
// on stderr with its number (and line, where known) and reason, and the
// exit code is then 1. Heartbeats and health checks are dropped silently.
// Input that cannot be split into records at all is exit 2.
func runAlert(ctx context.Context, c *command, e *env, args []string) int {
	fs := c.flags(e)
	source := fs.String("source", "", "the alert format: "+strings.Join(entityparser.Sources(), ", ")+" (required)")
	if done, code := parse(fs, args); done {
		return code
	}
	src := strings.ToLower(strings.TrimSpace(*source))
	if !slices.Contains(entityparser.Sources(), src) {
		if *source == "" {
			e.errorf("alert: -source is required")
		} else {
			e.errorf("alert: unknown -source %q", *source)
		}
		fs.Usage()
		return exitUnusable
	}
	in, closeIn, err := openInput(e, fs.Args())
	if err != nil {
		e.errorf("alert: %v", err)
		return exitUnusable
	}
	defer closeIn()

	r := &alertRun{ctx: ctx, e: e, source: src, now: e.now()}
	br := bufio.NewReaderSize(in, 1<<20)
	if b, _ := br.Peek(len(utf8BOM)); bytes.Equal(b, utf8BOM) {
		_, _ = br.Discard(len(utf8BOM))
	}
	document, err := sniffDocument(br)
	if err == nil {
		if document {
			err = r.document(br)
		} else {
			err = r.lines(br)
		}
	}
	if err != nil {
		e.errorf("alert: %v", err)
		return exitUnusable
	}
	if r.failed > 0 {
		e.errorf("alert: %d of %d records failed (%d alerts printed, %d dropped as heartbeats)", r.failed, r.records, r.alerts, r.dropped)
		return exitFailed
	}
	return exitOK
}

// alertRun is the state of one `warden alert` run (one goroutine).
type alertRun struct {
	ctx                              context.Context
	e                                *env
	source                           string
	now                              time.Time // stamps Splunk events without _time
	records, alerts, dropped, failed int
}

// errWrite marks a failed write to stdout: the run stops (exit 2).
var errWrite = errors.New("writing output")

// sniffDocument decides, reading no further than the first line that holds
// something, whether the input is one JSON document (it starts with '[', or
// with '{' on a line that is not by itself a JSON value: a pretty-printed
// object) or JSON lines. It never waits for more input than that line, so
// JSON lines stream from a pipe.
func sniffDocument(br *bufio.Reader) (bool, error) {
	for {
		b, err := br.Peek(max(br.Buffered(), 1))
		if err != nil && err != io.EOF && !errors.Is(err, bufio.ErrBufferFull) {
			return false, fmt.Errorf("reading input: %w", err)
		}
		start := 0
		for start < len(b) && isJSONSpace(b[start]) {
			start++
		}
		if start < len(b) {
			switch b[start] {
			case '[':
				return true, nil
			case '{':
			default:
				return false, nil
			}
			if nl := bytes.IndexByte(b[start:], '\n'); nl >= 0 {
				return !json.Valid(b[start : start+nl]), nil
			}
		}
		if err != nil || len(b) == br.Size() {
			// The input ends within its first line, or that line is
			// longer than the buffer: a JSON line either way (a
			// pretty-printed document starts with a short line).
			return false, nil
		}
		if _, err := br.Peek(len(b) + 1); err != nil && err != io.EOF {
			return false, fmt.Errorf("reading input: %w", err)
		} else if err == io.EOF && br.Buffered() == len(b) {
			return false, nil
		}
	}
}

func isJSONSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\r' || c == '\n' }

// lines streams JSON lines: each non-blank line is a record.
func (r *alertRun) lines(in io.Reader) error {
	lr := newLineReader(in)
	for {
		if r.ctx.Err() != nil {
			return fmt.Errorf("interrupted at line %d", lr.n)
		}
		line, err := lr.next()
		switch {
		case err == io.EOF:
			return nil
		case errors.Is(err, errLineTooLong):
			r.fail(r.records, lr.n, err)
			r.records++
			continue
		case err != nil:
			return fmt.Errorf("reading input: %w", err)
		}
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		if err := r.record(line, lr.n); err != nil {
			return err
		}
	}
}

// document reads the whole input as one JSON value: an array's elements are
// the records, an object is one record (or, as an OData response, its
// items). An object document that is not valid JSON as a whole is taken as
// JSON lines after all when some line of it is a JSON value by itself (a
// JSON-lines file whose first record is broken); otherwise, and for a broken
// array, the input cannot be split and the error gives the line and column.
func (r *alertRun) document(in io.Reader) error {
	data, err := io.ReadAll(io.LimitReader(in, maxAlertDocumentBytes+1))
	switch {
	case err != nil:
		return fmt.Errorf("reading input: %w", err)
	case int64(len(data)) > maxAlertDocumentBytes:
		return fmt.Errorf("a JSON document larger than %d bytes; convert it to JSON lines", maxAlertDocumentBytes)
	}
	lead := len(data) - len(bytes.TrimLeft(data, " \t\r\n"))
	firstLine := 1 + bytes.Count(data[:lead], []byte("\n"))
	if err := syntaxError(data); err != nil {
		if data[lead] == '{' && someLineIsJSON(data) {
			return r.lines(bytes.NewReader(data))
		}
		return err
	}
	if data[lead] != '[' {
		return r.record(data, firstLine)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	if _, err := dec.Token(); err != nil { // the '['
		return err
	}
	line, counted := 1, 0 // line number at offset counted
	for dec.More() {
		if r.ctx.Err() != nil {
			return fmt.Errorf("interrupted at record %d", r.records)
		}
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return err // not reached: the document is valid
		}
		start := int(dec.InputOffset()) - len(raw)
		line += bytes.Count(data[counted:start], []byte("\n"))
		counted = start
		if err := r.record(raw, line); err != nil {
			return err
		}
	}
	return nil
}

// syntaxError reports why data is not one JSON value, with its position.
func syntaxError(data []byte) error {
	if json.Valid(data) {
		return nil
	}
	var v any
	dec := json.NewDecoder(bytes.NewReader(data))
	err := dec.Decode(&v)
	if err == nil {
		ln, col := lineCol(data, dec.InputOffset())
		return fmt.Errorf("not a JSON object, array or JSON lines: more data after the first value at line %d, column %d", ln, col)
	}
	off := int64(len(data))
	if se, ok := errors.AsType[*json.SyntaxError](err); ok {
		off = se.Offset - 1 // Offset counts the offending byte
	}
	ln, col := lineCol(data, off)
	return fmt.Errorf("not a JSON object, array or JSON lines: %v at line %d, column %d", err, ln, col)
}

// lineCol converts a byte offset to a 1-based line and column.
func lineCol(data []byte, off int64) (int, int) {
	off = min(max(off, 0), int64(len(data)))
	before := data[:off]
	nl := bytes.LastIndexByte(before, '\n')
	return 1 + bytes.Count(before, []byte("\n")), int(off) - nl
}

func someLineIsJSON(data []byte) bool {
	for line := range bytes.SplitSeq(data, []byte("\n")) {
		if t := bytes.TrimSpace(line); len(t) > 0 && json.Valid(t) {
			return true
		}
	}
	return false
}

// record turns one input record into alerts; an OData response stands for
// its items, each a record of its own.
func (r *alertRun) record(raw []byte, line int) error {
	t := bytes.TrimSpace(raw)
	items := []json.RawMessage{t}
	if len(t) > 0 && t[0] == '{' && bytes.Contains(t, []byte(`"@odata.context"`)) {
		if recs, err := entityparser.DecodeRecords(t); err == nil {
			items = recs
			if bytes.IndexByte(t, '\n') >= 0 {
				line = 0 // the items' own lines are not known
			}
		}
	}
	for _, item := range items {
		idx := r.records
		r.records++
		if len(item) > 0 && item[0] == '[' {
			// ParseAlerts would split it; a record must be one alert.
			r.fail(idx, line, errors.New("a JSON array, not an alert object"))
			continue
		}
		parsed, errs := entityparser.ParseAlerts(r.source, item, r.now, entityparser.ExtractOptions{})
		for _, re := range errs {
			r.fail(idx, line, re.Err)
		}
		if len(parsed) == 0 && len(errs) == 0 {
			r.dropped++
		}
		for _, p := range parsed {
			wire, err := p.NormalizedJSON()
			if err != nil {
				r.fail(idx, line, err)
				continue
			}
			wire = append(unescapeHTMLInJSON(wire), '\n')
			if _, err := r.e.stdout.Write(wire); err != nil {
				return fmt.Errorf("%w: %w", errWrite, err)
			}
			r.alerts++
		}
	}
	return nil
}

// fail reports record idx (and its line, when known) on stderr.
func (r *alertRun) fail(idx, line int, err error) {
	r.failed++
	if line > 0 {
		r.e.errorf("alert: record %d (line %d): %v", idx, line, err)
		return
	}
	r.e.errorf("alert: record %d: %v", idx, err)
}
