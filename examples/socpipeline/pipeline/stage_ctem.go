package pipeline

import (
	"context"
	"fmt"

	"github.com/socwarden/warden/ctem"
)

// ctemOwners route new exposures to their owners (ctem.remediation_assigned).
var ctemOwners = ctem.OwnerRules{
	{Name: "edge and OT assets", AssetZone: "Zone1_EdgeInference", Owner: "ot-security@acme-corp.example"},
	{Name: "AI red-team findings", SourceTool: ctem.SourceGarak, Owner: "ml-platform@acme-corp.example"},
	{Name: "critical cloud posture", SourceTool: ctem.SourceWiz, MinSeverity: ctem.SeverityCritical, Owner: "cloud-sec@acme-corp.example"},
	{Name: "dependencies", SourceTool: ctem.SourceSnyk, Owner: "appsec@acme-corp.example"},
}

// ctemStage ingests the sample scanner exports: normalise, score, store,
// assign, publish to ctem.normalized, audit.
func (st *story) ctemStage(ctx context.Context) error {
	s := st.svc
	for _, src := range []ctem.Source{ctem.SourceWiz, ctem.SourceSnyk, ctem.SourceGarak, ctem.SourceART} {
		f, err := samples.Open("samples/findings/" + string(src) + ".jsonl")
		if err != nil {
			return err
		}
		b, err := s.CTEM.IngestStream(ctx, src, f)
		f.Close()
		if err != nil {
			return fmt.Errorf("%s: %w", src, err)
		}
		if len(b.Errors) > 0 {
			return fmt.Errorf("%s: %s", src, b.Errors[0].Error())
		}
		for _, e := range b.Exposures {
			st.res.Exposures = append(st.res.Exposures, ExposureOutcome{Key: e.ExposureKey, TenantID: e.TenantID,
				Source: string(e.SourceTool), Title: e.Title, Severity: string(e.Severity), Score: e.CTEMScore,
				AssignedTo: e.AssignedTo, SLA: e.SLADeadline})
			owner := e.AssignedTo
			if owner == "" {
				owner = "unassigned"
			}
			s.say("  %-5s %-8s score %-5.2f %-48.48s → %s", src, e.Severity, e.CTEMScore, e.Title, owner)
		}
	}
	return nil
}
