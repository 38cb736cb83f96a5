package mitre

import "slices"

// Correction documents one technique id the reference platform emitted that
// Warden replaces.
type Correction struct {
	// From is the id the reference used.
	From string
	// To is Warden's replacement: an active technique id, or "" where no
	// technique applies.
	To string
	// Scope is where the correction applies. ScopeEverywhere ("") means From
	// does not exist in the pinned tables and is wrong wherever it appears;
	// any other scope names one mapping of one package, because From is a
	// real technique that the reference attached to the wrong finding.
	Scope string
	// Reason says why, for reviewers and release notes.
	Reason string
}

// Scopes of the corrections. ctem and atlas apply them together (DESIGN §3).
const (
	ScopeEverywhere     = ""
	ScopeGarakJailbreak = "ctem/garak:jailbreak"   // garak probe type jailbreak
	ScopeARTInference   = "ctem/art:inference"     // ART attack type inference
	ScopeARTUnknown     = "ctem/art:<other>"       // ART attack type not in the table
	ScopeAtlasDetect002 = "atlas/ATLAS-DETECT-002" // model extraction rule
	ScopeAtlasDetect007 = "atlas/ATLAS-DETECT-007" // insider exfiltration rule
)

// corrections: the ScopeEverywhere rows are the ids the reference used that
// never existed in ATLAS 5.6.0 (ctem.md §8, atlas.md §8); the scoped rows fix
// real ids attached to the wrong finding. Rule-scoped rows restate the
// everywhere rows for the rules that carry them, so atlas can cite its rule.
var corrections = [...]Correction{
	{
		From: "AML.T0044.001", To: "AML.T0024.002", Scope: ScopeEverywhere,
		Reason: "AML.T0044 (Full AI Model Access) has no sub-techniques in ATLAS 5.6.0; stealing a model " +
			"through its inference API (garak extraction/exfiltration probes, atlas model-extraction rule) is " +
			"AML.T0024.002 Extract AI Model",
	},
	{
		From: "AML.T0035.002", To: "AML.T0035", Scope: ScopeEverywhere,
		Reason: "AML.T0035 (AI Artifact Collection) has no sub-techniques in ATLAS 5.6.0; the insider " +
			"exfiltration rule detects bulk collection of AI artifacts, which is the parent technique",
	},
	{
		From: "AML.T0044.001", To: "AML.T0024.002", Scope: ScopeAtlasDetect002,
		Reason: "model extraction by query volume is AML.T0024.002 Extract AI Model",
	},
	{
		From: "AML.T0035.002", To: "AML.T0035", Scope: ScopeAtlasDetect007,
		Reason: "insider bulk download of AI artifacts is AML.T0035 AI Artifact Collection",
	},
	{
		From: "AML.T0044.001", To: "AML.T0024.000", Scope: ScopeARTInference,
		Reason: "ART inference attacks (membership and attribute inference) are AML.T0024.000 Infer Training " +
			"Data Membership; model inversion would be AML.T0024.001",
	},
	{
		From: "AML.T0051", To: "AML.T0054", Scope: ScopeGarakJailbreak,
		Reason: "a jailbreak probe tests AML.T0054 LLM Jailbreak, not AML.T0051 LLM Prompt Injection (DESIGN §3)",
	},
	{
		From: "AML.T0000", To: "", Scope: ScopeARTUnknown,
		Reason: "the reference's fallback AML.T0000 (Search Open Technical Databases) is unrelated to an " +
			"unknown adversarial attack and would create false correlations; no technique is emitted",
	},
}

// Corrections returns every documented correction; the slice is the caller's.
func Corrections() []Correction { return slices.Clone(corrections[:]) }

// Correct maps an id that does not exist in the pinned tables but that the
// reference platform used to Warden's replacement. ok is false for every other
// id, including real ids that are corrected only in one scope (see
// [CorrectIn]).
func Correct(id string) (replacement string, ok bool) { return CorrectIn(ScopeEverywhere, id) }

// CorrectIn applies the correction for id in scope, falling back to the
// ScopeEverywhere correction. ok is false when neither exists; the caller then
// keeps id.
func CorrectIn(scope, id string) (replacement string, ok bool) {
	for _, c := range corrections {
		if c.Scope == scope && c.From == id {
			return c.To, true
		}
	}
	if scope != ScopeEverywhere {
		return CorrectIn(ScopeEverywhere, id)
	}
	return "", false
}
