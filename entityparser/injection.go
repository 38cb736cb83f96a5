package entityparser

import "github.com/socwarden/warden/internal/injection"

// InjectionScan is the prompt-injection verdict on an alert's untrusted text
// (in-process only, never on the wire).
type InjectionScan struct {
	// DetectionCount sums, over title, description and entities_raw, the
	// reference detection labels found in each field.
	DetectionCount int
	// Detections are the distinct reference labels, first-seen order.
	Detections []string
	// Fields names the scanned fields with at least one detection, in scan
	// order (title, description, entities_raw).
	Fields []string
	// MatchCount, Confidence: the reference classifier over the combined
	// text; Risk is the higher of its mapping and Warden's score mapping.
	MatchCount int
	Risk       string
	Confidence float64
	// Score and Labels are Warden's detectors over the combined text
	// (reference labels included).
	Score  float64
	Labels []string
}

// Flagged reports whether the scan found anything: a reference detection in
// some field or a risk above benign.
func (s InjectionScan) Flagged() bool {
	return s.DetectionCount > 0 || s.Risk != string(injection.RiskBenign)
}

// ScanInjection scans an alert's three untrusted fields (spec §3.8 with
// Warden's detectors, DESIGN §5). The texts are never modified.
func ScanInjection(title, description, entitiesRaw string) InjectionScan {
	var s InjectionScan
	seen := map[string]bool{}
	for _, f := range []struct{ name, text string }{{"title", title}, {"description", description}, {"entities_raw", entitiesRaw}} {
		if f.text == "" {
			continue
		}
		d := injection.Detect(f.text)
		if len(d) == 0 {
			continue
		}
		s.DetectionCount += len(d)
		s.Fields = append(s.Fields, f.name)
		for _, l := range d {
			if !seen[l] {
				seen[l] = true
				s.Detections = append(s.Detections, l)
			}
		}
	}
	if s.Detections == nil {
		s.Detections = []string{}
	}
	if s.Fields == nil {
		s.Fields = []string{}
	}
	r := injection.Scan(title + " " + description + " " + entitiesRaw)
	s.MatchCount, s.Confidence = r.MatchCount, r.Confidence
	s.Risk, s.Score, s.Labels = string(r.Risk), r.Score, r.Labels
	return s
}
