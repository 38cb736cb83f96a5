package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"

	"github.com/socwarden/warden/entityparser/ioc"
)

// extractCommand is `warden extract`: the IOC extractor over a text, or over
// every {"text": …} record of a JSON-lines stream.
func extractCommand() *command {
	c := &command{
		name:    "extract",
		summary: "extract refanged, de-duplicated indicators of compromise from text (JSON)",
		usage:   "[-jsonl] [file|-]",
	}
	c.run = func(ctx context.Context, e *env, args []string) int {
		return runTextCommand(ctx, c, e, args, func(text string) any { return ioc.Extract(text) })
	}
	return c
}

// maxTextInputBytes bounds the input of extract and injection without
// -jsonl, which is read whole: a larger text is refused (exit 2) rather than
// exhausting memory. With -jsonl each line is bounded by maxLineBytes
// instead. A variable so that tests can lower it.
var maxTextInputBytes int64 = 64 << 20

// runTextCommand is the shared body of extract and injection: read the
// input as one text (or, with -jsonl, one {"text": …} record per line), run
// judge on each text and print its result as one JSON line. A malformed
// record is reported on stderr with its line number and skipped; the exit
// code is then 1. Blank lines are not records.
func runTextCommand(ctx context.Context, c *command, e *env, args []string, judge func(string) any) int {
	fs := c.flags(e)
	jsonl := fs.Bool("jsonl", false, `read JSON lines {"text": "..."} and print one result per record`)
	if done, code := parse(fs, args); done {
		return code
	}
	in, closeIn, err := openInput(e, fs.Args())
	if err != nil {
		e.errorf("%s: %v", c.name, err)
		return exitUnusable
	}
	defer closeIn()

	if !*jsonl {
		text, err := io.ReadAll(io.LimitReader(in, maxTextInputBytes+1))
		switch {
		case err != nil:
			e.errorf("%s: reading input: %v", c.name, err)
			return exitUnusable
		case int64(len(text)) > maxTextInputBytes:
			e.errorf("%s: input larger than %d bytes; split it, or use -jsonl", c.name, maxTextInputBytes)
			return exitUnusable
		}
		if err := writeUnescapedJSON(e.stdout, judge(string(text))); err != nil {
			e.errorf("%s: writing output: %v", c.name, err)
			return exitUnusable
		}
		return exitOK
	}

	lr := newLineReader(in)
	records, failed := 0, 0
	for {
		if ctx.Err() != nil {
			e.errorf("%s: interrupted at line %d", c.name, lr.n)
			return exitUnusable
		}
		line, err := lr.next()
		if err == io.EOF {
			break
		}
		if err != nil && !errors.Is(err, errLineTooLong) {
			e.errorf("%s: reading input: %v", c.name, err)
			return exitUnusable
		}
		if err == nil && len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		records++
		text := ""
		if err == nil {
			text, err = textOfRecord(line)
		}
		if err != nil {
			failed++
			e.errorf("%s: line %d: %v", c.name, lr.n, err)
			continue
		}
		if err := writeUnescapedJSON(e.stdout, judge(text)); err != nil {
			e.errorf("%s: writing output: %v", c.name, err)
			return exitUnusable
		}
	}
	if failed > 0 {
		e.errorf("%s: %d of %d records failed", c.name, failed, records)
		return exitFailed
	}
	return exitOK
}

// textOfRecord returns the "text" member of one JSON-lines record. Other
// members are ignored, so records may carry the caller's ids.
func textOfRecord(line []byte) (string, error) {
	var rec map[string]json.RawMessage
	if err := json.Unmarshal(line, &rec); err != nil {
		if se, ok := errors.AsType[*json.SyntaxError](err); ok {
			return "", fmt.Errorf("not JSON: %v (column %d)", se, se.Offset)
		}
		return "", errors.New(`not a JSON object {"text": "..."}`)
	}
	if rec == nil {
		return "", errors.New(`null, not a JSON object {"text": "..."}`)
	}
	raw, ok := rec["text"]
	if !ok {
		return "", errors.New(`no "text" member`)
	}
	var s string
	if string(raw) == "null" || json.Unmarshal(raw, &s) != nil {
		return "", errors.New(`"text" is not a string`)
	}
	return s, nil
}

// writeUnescapedJSON writes v as one JSON line in a single Write (so that
// records stream out as they are judged), with <, > and & left as they are:
// an IOC such as http://x.example/?a=1&b=2 must read the same in the output
// as in the input. SetEscapeHTML(false) covers the encoder itself; the types
// printed here have MarshalJSON methods built on json.Marshal, whose HTML
// escapes the encoder copies verbatim, so those are undone afterwards.
func writeUnescapedJSON(w io.Writer, v any) error {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return err
	}
	_, err := w.Write(unescapeHTMLInJSON(buf.Bytes()))
	return err
}

// unescapeHTMLInJSON replaces the escapes \u003c, \u003e and \u0026 of
// encoding/json's HTML-safe mode by the characters themselves, in place.
// Escapes are read pairwise from each backslash, so an escaped backslash
// followed by the text "u0026" is left alone. b must be valid JSON.
func unescapeHTMLInJSON(b []byte) []byte {
	if bytes.IndexByte(b, '\\') < 0 {
		return b
	}
	out := b[:0] // writes never overtake reads
	for i := 0; i < len(b); i++ {
		c := b[i]
		if c != '\\' || i+1 >= len(b) {
			out = append(out, c)
			continue
		}
		if b[i+1] == 'u' && i+5 < len(b) && b[i+2] == '0' && b[i+3] == '0' {
			if r, err := strconv.ParseUint(string(b[i+4:i+6]), 16, 8); err == nil && (r == '<' || r == '>' || r == '&') {
				out = append(out, byte(r))
				i += 5
				continue
			}
		}
		out = append(out, c, b[i+1])
		i++
	}
	return out
}
