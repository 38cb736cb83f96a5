package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"time"
)

// maxLineBytes bounds one input line. An audit event is at most 1 MB
// (audit.DefaultMaxEventBytes) and a record a little more; anything longer
// is reported as malformed and skipped, so one runaway line cannot exhaust
// memory.
const maxLineBytes = 8 << 20

// errLineTooLong marks a line beyond maxLineBytes.
var errLineTooLong = fmt.Errorf("line longer than %d bytes", maxLineBytes)

// lineReader streams lines with bounded memory.
type lineReader struct {
	r    *bufio.Reader
	n    int    // current line number, from 1
	long []byte // reused buffer for lines longer than the reader's buffer
}

func newLineReader(r io.Reader) *lineReader {
	return &lineReader{r: bufio.NewReaderSize(r, 1<<20)}
}

// next returns the next line without its line ending (valid until the
// next call), errLineTooLong for a line that was skipped, or io.EOF.
func (l *lineReader) next() ([]byte, error) {
	line, err := l.r.ReadSlice('\n')
	if len(line) == 0 && err == io.EOF {
		return nil, io.EOF
	}
	l.n++
	if errors.Is(err, bufio.ErrBufferFull) {
		l.long = append(l.long[:0], line...)
		for errors.Is(err, bufio.ErrBufferFull) {
			line, err = l.r.ReadSlice('\n')
			if len(l.long)+len(line) > maxLineBytes {
				for errors.Is(err, bufio.ErrBufferFull) { // discard the rest
					_, err = l.r.ReadSlice('\n')
				}
				if err != nil && err != io.EOF {
					return nil, err
				}
				return nil, errLineTooLong
			}
			l.long = append(l.long, line...)
		}
		line = l.long
	}
	if err != nil && err != io.EOF {
		return nil, err
	}
	return bytes.TrimRight(line, "\r\n"), nil
}

// openInput opens the file argument ("-" or none is stdin).
func openInput(e *env, args []string) (io.Reader, func(), error) {
	switch {
	case len(args) > 1:
		return nil, nil, fmt.Errorf("one input file at most, got %d", len(args))
	case len(args) == 0 || args[0] == "-":
		return e.stdin, func() {}, nil
	}
	f, err := os.Open(args[0])
	if err != nil {
		return nil, nil, err
	}
	return f, func() { f.Close() }, nil
}

// progress prints a status line to stderr at most once a second, and only
// once a run has lasted a second, so short runs stay quiet.
type progress struct {
	e       *env
	verb    string
	quiet   bool
	start   time.Time
	last    time.Time
	printed bool
}

func newProgress(e *env, verb string, quiet bool) *progress {
	now := e.now()
	return &progress{e: e, verb: verb, quiet: quiet, start: now, last: now}
}

// tick is called for every line; it looks at the clock every 4096 lines.
func (p *progress) tick(lines, records int) {
	if p.quiet || lines%4096 != 0 {
		return
	}
	now := p.e.now()
	if now.Sub(p.last) < time.Second {
		return
	}
	p.last = now
	p.printed = true
	elapsed := now.Sub(p.start).Seconds()
	fmt.Fprintf(p.e.stderr, "%s: %d lines, %d records, %.0f records/s\n", p.verb, lines, records, float64(records)/elapsed)
}

// done prints a closing line if progress was shown.
func (p *progress) done(lines, records int) {
	if p.printed && !p.quiet {
		elapsed := p.e.now().Sub(p.start).Seconds()
		fmt.Fprintf(p.e.stderr, "%s: done, %d lines, %d records in %.1fs\n", p.verb, lines, records, elapsed)
	}
}
