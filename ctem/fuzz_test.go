package ctem

import (
	"bytes"
	"errors"
	"testing"
	"time"
)

var fuzzSources = []Source{SourceWiz, SourceSnyk, SourceGarak, SourceART}

// Checklist 95: any bytes fed to a built-in normaliser give an Exposure that
// validates (once the service fills the tenant) or a *FieldError; never a
// panic. Seeds: the golden examples (and testdata/fuzz/FuzzNormalise).
func FuzzNormalise(f *testing.F) {
	for i, raw := range []map[string]any{goldenWiz1, goldenWiz2, goldenSnyk3, goldenSnyk4, goldenGarak5, goldenGarak6, goldenART7, goldenART8} {
		f.Add(uint8(i/2), mustJSON(f, raw))
	}
	f.Add(uint8(0), []byte(`{"title":1}`))
	f.Add(uint8(1), []byte(`{"title":"x","project_id":"p","fixedIn":["a",1]}`))
	f.Fuzz(func(t *testing.T, which uint8, raw []byte) {
		n := normaliserFor(fuzzSources[int(which)%len(fuzzSources)])
		e, err := n.Normalise(raw, Env{Now: t0})
		if err != nil {
			var fe *FieldError
			if !errors.As(err, &fe) || !errors.Is(err, ErrInvalidFinding) {
				t.Fatalf("error %v is not a *FieldError", err)
			}
			return
		}
		if e.TenantID == "" {
			e.TenantID = DefaultTenant
		}
		if verr := e.Validate(); verr != nil {
			t.Fatalf("normaliser output does not validate: %v (%+v)", verr, e)
		}
		if e.ExposureKey != ExposureKey(n.Source(), e.Title, e.AssetID) {
			t.Fatalf("key does not match title and asset")
		}
	})
}

// Any bytes given to NormaliseStream for any source: no panic, every record
// accounted for, every exposure valid.
func FuzzNormaliseStream(f *testing.F) {
	for name, c := range corpusCases {
		// Small seeds keep the fuzzer fast; a prefix of a large sample is
		// also a truncated document, which is worth exploring.
		data := readCorpus(f, name)
		f.Add(uint8(indexOfSource(c.src)), data[:min(len(data), 3<<10)])
	}
	f.Add(uint8(2), []byte(`{"entry_type":"eval","probe":"dan.X","detector":"d","passed":1,"total_evaluated":2}`))
	f.Add(uint8(3), []byte(`[{"title":"a","model_id":"m"},{"title":"b"`))
	s, err := New(WithClock(func() time.Time { return t0 }), WithLogger(quietLogger()))
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, which uint8, data []byte) {
		src := fuzzSources[int(which)%len(fuzzSources)]
		b, err := s.NormaliseStream(ctx, src, bytes.NewReader(data))
		if err != nil {
			t.Fatalf("stream-level error for in-limit input: %v", err)
		}
		if b.Records != len(b.Exposures)+len(b.Errors)+len(b.Skipped) {
			t.Fatalf("records %d != %d+%d+%d", b.Records, len(b.Exposures), len(b.Errors), len(b.Skipped))
		}
		for _, e := range b.Exposures {
			if err := e.Validate(); err != nil {
				t.Fatalf("invalid exposure: %v", err)
			}
		}
		for _, re := range b.Errors {
			if re.Err == nil || re.Location == "" {
				t.Fatalf("record error without reason or location: %+v", re)
			}
		}
	})
}

func indexOfSource(src Source) int {
	for i, s := range fuzzSources {
		if s == src {
			return i
		}
	}
	return 0
}
