package orchestrator

import (
	"encoding/json"
	"math"
	"testing"
	"unicode/utf8"
)

// FuzzDecodeAlert: any message decodes or is ErrInvalidAlert; never a
// panic, and a decoded alert re-encodes and decodes again.
func FuzzDecodeAlert(f *testing.F) {
	f.Add([]byte(`{"alert_id":"a","parsed_entities":{"accounts":[{"primary_value":"bob"}]},"alert_name":"X"}`))
	f.Add([]byte(`{"tenant_id":null,"severity":7}`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, data []byte) {
		a, err := DecodeAlert(data)
		if err != nil {
			return
		}
		b, err := json.Marshal(a)
		if err != nil {
			t.Fatalf("re-encode: %v", err)
		}
		if _, err := DecodeAlert(b); err != nil {
			t.Fatalf("re-decode: %v\n%s", err, b)
		}
	})
}

// FuzzParseVerdict: model output never panics and is always sanitised.
func FuzzParseVerdict(f *testing.F) {
	f.Add(`{"classification":"true_positive","confidence":0.85,"recommended_actions":[{"action":"isolate","tier":1.5}]}`)
	f.Add(`{"confidence":"NaN","recommended_actions":[{"action":"x","tier":"99999999999999999999"}]}`)
	f.Add(`not json`)
	f.Fuzz(func(t *testing.T, content string) {
		v := ParseVerdict(content, "high")
		if !contains(validClassifications, v.Classification) {
			t.Fatalf("classification %q", v.Classification)
		}
		if math.IsNaN(v.Confidence) || v.Confidence < 0 || v.Confidence > 1 {
			t.Fatalf("confidence %v", v.Confidence)
		}
		if !contains(validSeverities, v.Severity) {
			t.Fatalf("severity %q", v.Severity)
		}
		if len(v.RecommendedActions) > MaxRecommendedActions {
			t.Fatal("too many actions")
		}
		for _, a := range v.RecommendedActions {
			if a.Tier < 0 || a.Tier > DestructiveTier || a.Action == "" {
				t.Fatalf("action %+v", a)
			}
		}
		if utf8.ValidString(content) && !utf8.ValidString(truncateRunes(v.Reasoning, maxReasoningRunes)) {
			t.Fatal("reasoning cut inside a code point")
		}
	})
}

// FuzzParseIOCs: extraction answers never panic and only known types with
// values come out.
func FuzzParseIOCs(f *testing.F) {
	f.Add(`{"iocs":[{"type":"ip","value":"1.2.3.4"}]}`)
	f.Add(`[{"type":"HASH","value":"abc"},{"type":"x"}]`)
	f.Add(`{"iocs":null}`)
	f.Fuzz(func(t *testing.T, content string) {
		for _, i := range ParseIOCs(content) {
			if !iocTypes[i.Type] || i.Value == "" {
				t.Fatalf("bad IOC %+v", i)
			}
		}
	})
}
