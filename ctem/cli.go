package ctem

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
)

// NormaliseReader is the whole of `warden ctem -source wiz|snyk|garak|art
// [-tenant T] [file|-]`: it reads one scanner export for the named source and
// returns the normalised, scored exposures with one RecordError per bad
// record. tenant ("" = "default") is the tenant of records that name none.
// opts configure the Service (clock, zone table, ...); stream options
// (format, default asset) go in sopts.
//
// The command prints Batch.WriteJSONLines to stdout, the errors to stderr,
// and exits 1 when Batch.Failed() — after printing every good exposure.
func NormaliseReader(ctx context.Context, source, tenant string, r io.Reader, opts []Option, sopts ...StreamOption) (*Batch, error) {
	src, ok := ParseSource(source)
	if !ok {
		return nil, fmt.Errorf("%w: %q (want wiz, snyk, garak or art)", ErrUnsupportedSource, source)
	}
	if t := strings.TrimSpace(tenant); t != "" {
		opts = append(append([]Option(nil), opts...), WithDefaultTenant(t))
	}
	s, err := New(opts...)
	if err != nil {
		return nil, err
	}
	return s.NormaliseStream(ctx, src, r, sopts...)
}

// WriteJSONLines writes each exposure as one JSON line.
func (b *Batch) WriteJSONLines(w io.Writer) error {
	bw := bufio.NewWriter(w)
	enc := json.NewEncoder(bw)
	enc.SetEscapeHTML(false)
	for _, e := range b.Exposures {
		if err := enc.Encode(e); err != nil {
			return err
		}
	}
	return bw.Flush()
}

// WriteErrors writes one line per failed and skipped record, for stderr.
func (b *Batch) WriteErrors(w io.Writer) error {
	bw := bufio.NewWriter(w)
	for _, e := range b.Errors {
		fmt.Fprintf(bw, "error: %s\n", e.Error())
	}
	for _, s := range b.Skipped {
		fmt.Fprintf(bw, "skipped: record %d (%s): %s\n", s.Index, s.Location, s.Reason)
	}
	return bw.Flush()
}
