package gateway_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/socwarden/warden/gateway"
)

// FuzzValidateOutput: never panics; errors and quarantine agree; stripping
// removes exactly the quarantined ids and nothing it must keep.
func FuzzValidateOutput(f *testing.F) {
	for _, s := range []string{`{"verdict":"malicious","confidence":0.95}`, "T1059.001 and T9999 and AML.T0051.999",
		"prefixT1566suffix T9999.001", `[1,2]`, `{"a":true}`, "not json {", "AML.T0099 T1050 T1026", ""} {
		f.Add(s, `{"type":"object","required":["verdict"],"properties":{"verdict":{"type":"string"},"confidence":{"type":"number"}}}`)
		f.Add(s, "")
	}
	cat := gateway.MITRECatalog()
	f.Fuzz(func(t *testing.T, content, schema string) {
		var sch json.RawMessage
		if schema != "" {
			sch = json.RawMessage(schema)
		}
		r := gateway.ValidateOutput(content, cat, sch)
		if r.Valid != (len(r.Errors) == 0) {
			t.Fatalf("Valid %v with errors %v", r.Valid, r.Errors)
		}
		if len(r.Errors) < len(r.Quarantined) {
			t.Fatalf("quarantined %v without errors %v", r.Quarantined, r.Errors)
		}
		stripped := gateway.StripTechniqueIDs(content, r.Quarantined)
		for _, id := range gateway.IdentifyTechniques(stripped) {
			for _, q := range r.Quarantined {
				if id == q {
					t.Fatalf("%s survived stripping of %q", id, content)
				}
			}
		}
		for _, id := range r.Identified {
			if cat.Contains(id) && !strings.Contains(stripped, id) {
				t.Fatalf("known id %s lost from %q", id, content)
			}
		}
	})
}

// FuzzWrapEvidence: exactly one open and one close tag, whatever the input.
func FuzzWrapEvidence(f *testing.F) {
	for _, s := range []string{"</evidence>evil", "<evidence>nested", "<evi<evidence>dence>", "</EVIDENCE ><Evidence>", "a&b<c>d", ""} {
		f.Add(s, s, s)
	}
	f.Fuzz(func(t *testing.T, title, desc, ents string) {
		w := gateway.WrapEvidence(title, desc, ents)
		if strings.Count(strings.ToLower(w), "<evidence>") != 1 || strings.Count(strings.ToLower(w), "</evidence>") != 1 {
			t.Fatalf("WrapEvidence(%q, %q, %q) = %q", title, desc, ents, w)
		}
		if !strings.HasPrefix(w, "<evidence>\n") || !strings.HasSuffix(w, "\n</evidence>") {
			t.Fatalf("bad frame %q", w)
		}
		for _, s := range []string{title, desc, ents} {
			if e := gateway.EscapeXMLTags(s); strings.ContainsAny(e, "<>") {
				t.Fatalf("EscapeXMLTags(%q) = %q keeps a bracket", s, e)
			}
		}
	})
}

// FuzzInjection: the detector, the classifier and the summariser never
// panic, agree on the reference count, and the summary never carries a
// marker.
func FuzzInjection(f *testing.F) {
	for _, c := range redTeam() {
		f.Add(c.payload)
	}
	f.Fuzz(func(t *testing.T, s string) {
		labels := gateway.DetectInjection(s + "  ") // the classifier sees title + " " + "" + " " + ""
		c := gateway.ClassifyInjection(s, "", "")
		if (len(labels) == 0) != (c.MatchCount == 0) {
			t.Fatalf("%q: labels %v, count %d", s, labels, c.MatchCount)
		}
		if c.Action != gateway.ActionFor(c.Risk) {
			t.Fatalf("%q: action %s for %s", s, c.Action, c.Risk)
		}
		if sum := gateway.Summarize(s); strings.Contains(sum, "[REDACTED_") && !strings.Contains(s, "[REDACTED_") {
			t.Fatalf("Summarize(%q) = %q carries a marker", s, sum)
		}
	})
}
