// Package injection detects prompt-injection attempts in untrusted text (alert
// fields on ingest, evidence about to be placed in an LLM prompt).
//
// It is shared by entityparser (stage "ingest") and the gateway (stage
// "prompt") so that the two can never drift. Scan reports two things:
//
//   - the reference detector: 14 case-insensitive patterns plus fenced role
//     markup, run on a normalised matching copy of the text (URL decoding,
//     Unicode folding of zero-width characters, fullwidth forms and homoglyphs,
//     decoded base64 segments). Its match count maps to a risk and confidence
//     exactly as the reference platform did; the gateway acts only on this
//     mapping (malicious → quarantine, suspicious → summarise);
//   - Warden's additional detectors (instructions addressed to the model,
//     new-instructions framing, role and turn markers, tool and exfiltration
//     requests, delimiter breaking, DAN-style persona setups, prompt leaking,
//     obfuscation), which contribute weighted evidence to a 0–1 Score and add
//     "warden:" labels. Content flagged only by these is audited, never
//     rewritten: detection widens, information is not destroyed by a
//     heuristic.
//
// Result.Risk is the higher of the two mappings. The original text is never
// modified. All matching is linear-time and mostly regex-free: one pass
// builds the lower-cased matching copy, one tokenizer pass looks every word
// up in an index of the rule words (which also tells which rules and which
// reference patterns can match at all), the phrase rules are evaluated over
// word positions as bit sets, hand-written scanners find the markers, and a
// reference regex runs only where its words occur. The plain RE2 formulation
// of every rule is kept in the tests as the oracle the fast path is fuzzed
// against.
package injection
