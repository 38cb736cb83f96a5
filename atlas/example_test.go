package atlas_test

import (
	"context"
	"fmt"
	"time"

	"github.com/socwarden/warden/atlas"
)

func Example() {
	ctx := context.Background()
	now := time.Date(2025, 6, 15, 12, 0, 0, 0, time.UTC)

	// Telemetry from an edge site: a physics oracle that keeps erroring and
	// an edge node whose boot attestation failed.
	tel := atlas.NewMemoryTelemetry()
	for i := range 5 {
		tel.AddPhysicsOracleCheck(atlas.PhysicsOracleCheck{TS: now.Add(-time.Duration(i+1) * time.Minute),
			EdgeNodeID: "edge-1", ErrorState: "solver_timeout", LatencyMs: 250, CheckResult: "pass"})
	}
	tel.AddEdgeNodeTelemetry(atlas.EdgeNodeTelemetry{TS: now.Add(-3 * time.Minute), EdgeNodeID: "edge-2",
		BootAttestation: "FAIL", DiskIntegrity: "ok", CPUUtilisation: 0.4})

	runner, err := atlas.New(atlas.DefaultRules(tel), atlas.WithClock(func() time.Time { return now }))
	if err != nil {
		panic(err)
	}
	out, err := runner.RunDue(ctx)
	if err != nil {
		panic(err)
	}
	for _, id := range []string{atlas.RulePhysicsOracleDoS, atlas.RuleEdgeNodeCompromise} {
		for _, d := range out[id] {
			fmt.Printf("%s %s %s confidence=%.3f trust=%s safety=%v\n", d.RuleID, d.AtlasTechnique, d.AlertTitle,
				d.Confidence, d.TelemetryTrustLevel, d.SafetyRelevant)
		}
	}
	alert := atlas.NewAlert(out[atlas.RuleEdgeNodeCompromise][0], "", out[atlas.RuleEdgeNodeCompromise][0].AlertID)
	fmt.Println(alert.Severity, alert.EntitiesRaw)

	// Five minutes later the same oracle problem is suppressed (one alert per
	// key per lookback window).
	now = now.Add(5 * time.Minute)
	out, _ = runner.RunDue(ctx)
	fmt.Println("suppressed:", out[atlas.RulePhysicsOracleDoS][0].Suppressed, runner.Stats().Suppressed)
	// Output:
	// ATLAS-DETECT-005 AML.T0029 Physics oracle DoS on edge node edge-1 confidence=0.900 trust=trusted safety=true
	// ATLAS-DETECT-011 AML.T0040 Edge node compromise detected on edge-2 confidence=0.595 trust=untrusted safety=false
	// critical [{"$id":"1","Type":"host","HostName":"edge-2"}]
	// suppressed: true 2
}
