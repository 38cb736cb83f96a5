package gateway

import (
	"encoding/json"
	"testing"

	"github.com/socwarden/warden/internal/injection"
)

// BenchmarkStages measures each hand-written scanner, RedactPII and
// Deanonymise alone on the 4 KB alert.
func BenchmarkStages(b *testing.B) {
	a := benchAlert(b)
	for _, tc := range scannerCases {
		b.Run(tc.name, func(b *testing.B) {
			var buf []span
			for b.Loop() {
				buf = tc.fast(a, buf[:0])
			}
		})
	}
	b.Run("apply_all", func(b *testing.B) {
		for b.Loop() {
			RedactPII(a, nil)
		}
	})
	red, m := RedactPII(a, nil)
	b.Run("deanon", func(b *testing.B) {
		for b.Loop() {
			Deanonymise(red, m)
		}
	})
}

const stepsAnswer = `{"verdict":"true_positive","confidence":0.93,"summary":"Host HOST_001 (IP_SRC_001) ran a PowerShell download cradle (T1059.001, T1105) after USER_001 opened a macro document; payload fetched from IP_SRC_002 over HTTP (T1071.001).","recommended_actions":["isolate HOST_001","reset USER_001"]}`

// BenchmarkPipelineSteps4KB runs the steps Complete runs on a 4 KB alert,
// without the client call, metrics and bookkeeping: injection scan,
// redaction, evidence block and system prompt, validation (MITRE tables and
// light schema), stripping and restoration. "scan" and "rest" split it
// into the shared detector (internal/injection) and the gateway's own code.
func BenchmarkPipelineSteps4KB(b *testing.B) {
	a := benchAlert(b)
	sch := parseSchema(json.RawMessage(`{"type":"object","required":["verdict","confidence"],"properties":{"verdict":{"type":"string"},"confidence":{"type":"number"},"recommended_actions":{"type":"array"}}}`))
	cat := MITRECatalog()
	rest := func() {
		red, m := RedactPII(a, nil)
		_ = BuildSystemPrompt("Classify the alert.")
		_ = WrapEvidence("", red, "")
		vr := validateParsed(stepsAnswer, cat, sch)
		_ = Deanonymise(StripTechniqueIDs(stepsAnswer, vr.Quarantined), m)
	}
	b.Run("all", func(b *testing.B) {
		b.SetBytes(int64(len(a)))
		b.ReportAllocs()
		for b.Loop() {
			if injection.Scan(" "+a+" ").ReferenceRisk != injection.RiskBenign {
				b.Fatal("benign alert flagged")
			}
			rest()
		}
	})
	b.Run("scan", func(b *testing.B) {
		b.SetBytes(int64(len(a)))
		b.ReportAllocs()
		for b.Loop() {
			_ = injection.Scan(" " + a + " ")
		}
	})
	b.Run("rest", func(b *testing.B) {
		b.SetBytes(int64(len(a)))
		b.ReportAllocs()
		for b.Loop() {
			rest()
		}
	})
}
