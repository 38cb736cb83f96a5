package evidence_test

import (
	"testing"

	"github.com/socwarden/warden/audit/evidence"
)

// FuzzParseURI: never panics, and what it accepts round-trips.
func FuzzParseURI(f *testing.F) {
	for _, s := range []string{"s3://b/k", "s3://bkt/t1/2026/03/02/a/llm_prompt.json", "s3://s3://b/k", "s3:///k", "", "s3://b/"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, uri string) {
		b, k, err := evidence.ParseURI(uri)
		if err != nil {
			return
		}
		if "s3://"+b+"/"+k != uri || b == "" || k == "" {
			t.Fatalf("ParseURI(%q) = %q, %q", uri, b, k)
		}
	})
}

// FuzzParsePartitionName: never panics, and what it accepts round-trips.
func FuzzParsePartitionName(f *testing.F) {
	for _, s := range []string{"audit_records_2025_12", "audit_records_0000_01", "audit_records_2025_13", "x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		m, err := evidence.ParsePartitionName(name)
		if err != nil {
			return
		}
		if evidence.PartitionName(m) != name {
			t.Fatalf("ParsePartitionName(%q) = %v, which names %q", name, m, evidence.PartitionName(m))
		}
	})
}
