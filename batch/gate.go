package batch

import (
	"context"
	"fmt"

	"github.com/socwarden/warden/gateway"
)

// GatewayGate returns the content gate built from the gateway's own
// screening steps, so batch content is held to the same rules as every
// other LLM call:
//
//   - the gateway's injection classifier over the user content: malicious
//     → the task is refused (ErrContentRejected), suspicious → the content
//     is replaced by the gateway's lossy summary of its facts;
//   - PII pseudonymisation (IPs, e-mail addresses, host and user names) with
//     a fresh map per task; the map stays in the job and the processor
//     restores the real values in the answer (regex-quoted inside patterns);
//   - the gateway's safety prefix on the system prompt and the escaped
//     <evidence> block around the data.
//
// It does not emit injection.detected; that event belongs to the gateway.
func GatewayGate() ContentGate { return GateFunc(screenWithGateway) }

func screenWithGateway(_ context.Context, req GateRequest) (GateResult, error) {
	content := req.UserContent
	cls := gateway.ClassifyInjection("", content, "")
	switch cls.Action {
	case gateway.ActionQuarantine:
		return GateResult{}, fmt.Errorf("%w: task %s: prompt injection (%s)", ErrContentRejected, req.TaskID, cls.Reason)
	case gateway.ActionSummarize:
		content = gateway.TransformContent(content, gateway.ActionSummarize)
	}
	redacted, m := gateway.RedactPII(content, nil)
	return GateResult{
		SystemPrompt: gateway.BuildSystemPrompt(req.SystemPrompt),
		UserContent:  "<evidence>\n" + gateway.EscapeXMLTags(redacted) + "\n</evidence>",
		Redactions:   m.ReverseMappings(),
	}, nil
}

// defaultKnownTechniques is the gateway's pinned MITRE catalog (active ATT&CK
// v18.1 and ATLAS 5.6.0 ids).
var defaultKnownTechniques = gateway.MITRECatalog().Contains
