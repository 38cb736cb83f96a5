package ctem_test

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/socwarden/warden/ctem"
	"github.com/socwarden/warden/taxonomy"
)

func Example() {
	ctx := context.Background()
	now := func() time.Time { return time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC) }
	svc, err := ctem.New(
		ctem.WithClock(now),
		ctem.WithOwnerResolver(ctem.OwnerRules{{Name: "edge", AssetZone: "Zone1_EdgeInference", Owner: "ot-team"}}),
	)
	if err != nil {
		panic(err)
	}

	// One finding from the ctem.raw.wiz topic: normalised, scored, stored and
	// (being on an edge node) assigned to its owner.
	e, err := svc.Process(ctx, "ctem.raw.wiz",
		[]byte(`{"title":"Edge node SSH open","resource_id":"edge-node-7","severity":"MEDIUM","resource_type":"Edge"}`))
	if err != nil {
		panic(err)
	}
	fmt.Println(e.ExposureKey, e.Severity, e.CTEMScore, e.PhysicalConsequence, e.AssignedTo, e.SLADeadline.Format(time.DateOnly))

	// A whole scanner export: good records are kept, bad ones reported.
	export := `{"title":"Adversarial Evasion Attack","model_id":"model-classifier-v2","attack_type":"evasion","success_rate":0.65}
{"title":"Poisoning Attack","attack_type":"poisoning","success_rate":0.9}`
	batch, err := svc.NormaliseStream(ctx, ctem.SourceART, strings.NewReader(export))
	if err != nil {
		panic(err)
	}
	for _, x := range batch.Exposures {
		fmt.Println(x.Title, x.Severity, x.AtlasTechnique)
	}
	for _, re := range batch.Errors {
		fmt.Println(re.Error())
	}

	// The fix is verified by a human.
	rec, err := svc.Verify(ctx, ctem.VerifyRequest{ExposureKey: e.ExposureKey, VerifiedBy: "dana",
		Actor: ctem.Actor{Type: taxonomy.ActorHuman, ID: "dana"}})
	if err != nil {
		panic(err)
	}
	fmt.Println(rec.Exposure.Status, rec.Remediation.Status, rec.Remediation.SLABreached)
	// Output:
	// 147975c281593595 HIGH 4 equipment ot-team 2026-01-04
	// Adversarial Evasion Attack HIGH AML.T0015
	// record 1 (line 2): ctem: invalid finding: art: field "model_id": missing
	// Verified Verified false
}
