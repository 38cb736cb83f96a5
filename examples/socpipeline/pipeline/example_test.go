package pipeline_test

import (
	"context"
	"fmt"
	"strings"

	"github.com/socwarden/warden/examples/socpipeline/pipeline"
)

// The story runs on the injected clock with the offline analyst: every run
// from the same start decides the same things. With Config.Producer set (an
// audit.Emitter), every decision below is also an audit record.
func Example() {
	res, err := pipeline.Run(context.Background(), pipeline.Config{})
	if err != nil {
		panic(err)
	}
	for _, inv := range res.Investigations {
		fmt.Println(strings.TrimSpace(fmt.Sprintf("%-24s %-9s %-14s %s", inv.AlertID, inv.TenantID, inv.State, inv.Classification)))
	}
	for _, a := range res.Approvals {
		fmt.Println(strings.TrimSpace(fmt.Sprintln(a.ApprovalID, a.Actions, a.Outcome, a.DecidedBy)))
	}
	fmt.Println(len(res.Exposures), "exposures,", len(res.Detections), "ATLAS detections,", len(res.Playbooks), "playbook draft")
	// Output:
	// sentinel-7f3a9c21        acme-corp closed         true_positive
	// elastic-0b6d4e           acme-corp closed         false_positive
	// splunk-1772443800.4412   acme-corp closed         true_positive
	// crowdstrike-ldt-91c2     acme-corp closed         suspicious
	// defender-da637292        acme-corp awaiting_human true_positive
	// sentinel-globex-3310     globex    failed
	// defender-da63a0f1        acme-corp closed         false_positive
	// defender-da63a0f2        acme-corp closed         false_positive
	// defender-da63a0f3        acme-corp closed         false_positive
	// crowdstrike-ldt-a7f0     acme-corp closed         true_positive
	// apv-0001 [isolate_host FIN-WS-042.corp.acme-corp.example] granted alice@acme-corp.example
	// apv-0004 [disable_account svc-backup] denied alice@acme-corp.example
	// apv-0005 [collect_forensics ENG-LT-117] granted policy:auto-grant-low-tier
	// apv-0007 [isolate_host scada-hmi-03.ot.acme-corp.example] timed_out_left_open
	// apv-0011 [isolate_host FIN-WS-051] granted alice@acme-corp.example
	// 6 exposures, 4 ATLAS detections, 1 playbook draft
}
