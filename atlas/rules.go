package atlas

import (
	"context"
	"fmt"
	"math"
	"strings"
	"time"
)

// Rule is one scheduled detection. Evaluate uses scope.Now for every window
// and for Timestamp (never the wall clock), returns its detections in
// store-row order, and returns a store error wrapped with the rule id.
type Rule interface {
	ID() string
	Frequency() time.Duration
	Lookback() time.Duration
	Evaluate(ctx context.Context, s EvalScope) ([]Detection, error)
}

// builtinRule is a rule made of its schedule and an evaluation function.
type builtinRule struct {
	id                string
	frequency, lookbk time.Duration
	eval              func(ctx context.Context, s EvalScope) ([]Detection, error)
}

func (r *builtinRule) ID() string               { return r.id }
func (r *builtinRule) Frequency() time.Duration { return r.frequency }
func (r *builtinRule) Lookback() time.Duration  { return r.lookbk }

func (r *builtinRule) Evaluate(ctx context.Context, s EvalScope) ([]Detection, error) {
	ds, err := r.eval(ctx, s)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", r.id, err)
	}
	if ds == nil {
		ds = []Detection{}
	}
	return ds, nil
}

const day = 24 * time.Hour

// window is [now−from, now−to) for the scope's tenant.
func window(s EvalScope, from, to time.Duration) Window {
	return Window{TenantID: s.TenantID, From: s.Now.Add(-from), To: s.Now.Add(-to)}
}

// detection starts a triggered detection with the rule's fixed fields.
func detection(ruleID string, s EvalScope, title string, sev Severity, attack, tm string) Detection {
	d := NewDetection(ruleID, s.Now)
	d.Triggered = true
	d.AlertTitle = title
	d.AlertSeverity = sev
	d.AtlasTechnique = RuleTechnique(ruleID)
	d.AttackTechnique = attack
	d.ThreatModelRef = tm
	return d
}

// confidence floors c for the rule and keeps it in [0, 1] whatever the
// telemetry said (a negative count must not produce a negative confidence).
func confidence(ruleID string, c float64) float64 {
	c = ApplySafetyFloor(ruleID, c)
	switch {
	case !(c >= 0): // also NaN
		return 0
	case c > 1:
		return 1
	}
	return c
}

// dedupKey is <rule_id>|<atlas_technique>|<fields joined by |>.
func dedupKey(ruleID, technique string, fields ...string) string {
	return ruleID + dedupSeparator + technique + dedupSeparator + strings.Join(fields, dedupSeparator)
}

// entities keeps the entities with a non-empty id.
func entities(es ...Entity) []Entity {
	out := make([]Entity, 0, len(es))
	for _, e := range es {
		if e.ID != "" {
			out = append(out, e)
		}
	}
	return out
}

// trainingDataActions are the Databricks actions rule 001 counts (exact).
var trainingDataActions = []string{"deltaDMLEvent", "deltaTableWrite", "notebookRun", "clusterCreate"}

// NewTrainingDataPoisoningRule is ATLAS-DETECT-001: a user's Databricks
// write activity over 24 h far above their 30-day daily average, touching
// many tables, or simply large.
func NewTrainingDataPoisoningRule(src DatabricksSource) Rule {
	return &builtinRule{id: RuleTrainingDataPoisoning, frequency: time.Hour, lookbk: day,
		eval: func(ctx context.Context, s EvalScope) ([]Detection, error) {
			cur, err := src.DatabricksActivity(ctx, window(s, day, 0), trainingDataActions)
			if err != nil {
				return nil, err
			}
			base, err := src.DatabricksActivity(ctx, window(s, 30*day, day), trainingDataActions)
			if err != nil {
				return nil, err
			}
			baseline := map[string]int{}
			for _, b := range base {
				baseline[b.UserID] = b.Count
			}
			var out []Detection
			for _, a := range cur {
				avg, dev := deviation(a.Count, baseline[a.UserID])
				if !(dev > 3.0 || a.DistinctResources > 5 || a.Count > 50) {
					continue
				}
				d := detection(RuleTrainingDataPoisoning, s, "Training data poisoning: anomalous activity by "+a.UserID,
					SeverityHigh, "T1565.001", "TM-01")
				d.Confidence = confidence(d.RuleID, math.Min(0.95, 0.5+dev/20))
				d.Evidence = map[string]any{"user_id": a.UserID, "count": a.Count, "distinct_tables": a.DistinctResources,
					"deviation_factor": roundN(dev, 2), "baseline_avg": roundN(avg, 2)}
				d.Entities = entities(Entity{"user", a.UserID})
				d.DedupKey = dedupKey(d.RuleID, d.AtlasTechnique, a.UserID)
				out = append(out, d)
			}
			return out, nil
		}}
}

// NewModelExtractionRule is ATLAS-DETECT-002: more than 100 natural-language
// queries by one user in 6 h.
func NewModelExtractionRule(src NLQuerySource) Rule {
	return &builtinRule{id: RuleModelExtraction, frequency: 30 * time.Minute, lookbk: 6 * time.Hour,
		eval: func(ctx context.Context, s EvalScope) ([]Detection, error) {
			vols, err := src.NLQueryVolume(ctx, window(s, 6*time.Hour, 0))
			if err != nil {
				return nil, err
			}
			var out []Detection
			for _, v := range vols {
				if v.QueryCount <= 100 {
					continue
				}
				d := detection(RuleModelExtraction, s, "Model extraction: high query volume by "+v.UserID, SeverityHigh, "T1530", "TM-12")
				d.Confidence = confidence(d.RuleID, math.Min(0.9, 0.6+float64(v.QueryCount)/1000))
				d.Evidence = map[string]any{"user_id": v.UserID, "query_count": v.QueryCount, "median_tokens": v.MedianTokens}
				d.Entities = entities(Entity{"user", v.UserID})
				d.DedupKey = dedupKey(d.RuleID, d.AtlasTechnique, v.UserID)
				out = append(out, d)
			}
			return out, nil
		}}
}

// NewPromptInjectionRule is ATLAS-DETECT-003: every query the safety filter
// stopped in the last hour. The query text is not copied into the alert.
func NewPromptInjectionRule(src NLQuerySource) Rule {
	return &builtinRule{id: RulePromptInjection, frequency: 15 * time.Minute, lookbk: time.Hour,
		eval: func(ctx context.Context, s EvalScope) ([]Detection, error) {
			hits, err := src.NLSafetyFilterHits(ctx, window(s, time.Hour, 0))
			if err != nil {
				return nil, err
			}
			var out []Detection
			for _, h := range hits {
				d := detection(RulePromptInjection, s, "Prompt injection attempt by "+h.UserID, SeverityHigh, "", "TM-10")
				d.Confidence = confidence(d.RuleID, 0.85)
				d.Evidence = map[string]any{"user_id": h.UserID, "session_id": h.SessionID, "safety_filter_triggered": true}
				d.Entities = entities(Entity{"user", h.UserID})
				d.DedupKey = dedupKey(d.RuleID, d.AtlasTechnique, h.UserID, h.SessionID)
				out = append(out, d)
			}
			return out, nil
		}}
}

// NewAdversarialEvasionRule is ATLAS-DETECT-004: an edge node's inference
// confidence dropping more than 2σ below its 7-day baseline, physics checks
// failing over 10 %, or latency up more than 500 ms.
func NewAdversarialEvasionRule(src InferenceSource) Rule {
	return &builtinRule{id: RuleAdversarialEvasion, frequency: 15 * time.Minute, lookbk: time.Hour,
		eval: func(ctx context.Context, s EvalScope) ([]Detection, error) {
			cur, err := src.InferenceStats(ctx, window(s, time.Hour, 0))
			if err != nil {
				return nil, err
			}
			base, err := src.InferenceStats(ctx, window(s, 7*day, time.Hour))
			if err != nil {
				return nil, err
			}
			baseline := map[string]InferenceStats{}
			for _, b := range base {
				baseline[b.EdgeNodeID] = b
			}
			var out []Detection
			for _, c := range cur {
				bl, ok := baseline[c.EdgeNodeID]
				if !ok || !(bl.StddevConfidence > 0) {
					continue
				}
				z := (c.AvgConfidence - bl.AvgConfidence) / bl.StddevConfidence
				lat := c.AvgLatencyMs - bl.AvgLatencyMs
				if !(z < -2.0 || c.FailRate > 0.1 || lat > 500) {
					continue
				}
				d := detection(RuleAdversarialEvasion, s, "Adversarial evasion on edge node "+c.EdgeNodeID, SeverityCritical, "", "TM-07")
				d.Confidence = confidence(d.RuleID, math.Min(0.95, 0.6+math.Abs(z)/10))
				d.Evidence = map[string]any{"edge_node_id": c.EdgeNodeID, "z_score": roundN(z, 3), "fail_rate": roundN(c.FailRate, 3),
					"latency_increase_ms": roundN(lat, 1)}
				d.Entities = entities(Entity{"host", c.EdgeNodeID})
				d.SafetyRelevant = true
				d.DedupKey = dedupKey(d.RuleID, d.AtlasTechnique, c.EdgeNodeID)
				out = append(out, d)
			}
			return out, nil
		}}
}

// NewPhysicsOracleDoSRule is ATLAS-DETECT-005: the physics oracle of an edge
// node erroring, timing out, failing or slow over 15 minutes.
func NewPhysicsOracleDoSRule(src PhysicsOracleSource) Rule {
	return &builtinRule{id: RulePhysicsOracleDoS, frequency: 5 * time.Minute, lookbk: 15 * time.Minute,
		eval: func(ctx context.Context, s EvalScope) ([]Detection, error) {
			stats, err := src.PhysicsOracleStats(ctx, window(s, 15*time.Minute, 0), physicsOracleTimeoutMs)
			if err != nil {
				return nil, err
			}
			var out []Detection
			for _, o := range stats {
				if !(o.ErrorCount > 3 || o.TimeoutCount > 2 || (o.FailRate > 0.5 && o.TotalChecks > 10) ||
					o.TotalChecks == 0 || o.MaxLatencyMs > physicsOracleTimeoutMs) {
					continue
				}
				d := detection(RulePhysicsOracleDoS, s, "Physics oracle DoS on edge node "+o.EdgeNodeID, SeverityCritical, "T1499", "TM-14")
				d.Confidence = confidence(d.RuleID, 0.9)
				d.Evidence = map[string]any{"edge_node_id": o.EdgeNodeID, "total_checks": o.TotalChecks, "error_count": o.ErrorCount,
					"timeout_count": o.TimeoutCount, "fail_rate": roundN(o.FailRate, 3), "max_latency_ms": o.MaxLatencyMs}
				d.Entities = entities(Entity{"host", o.EdgeNodeID})
				d.RequiresImmediateAction, d.SafetyRelevant = true, true
				d.DedupKey = dedupKey(d.RuleID, d.AtlasTechnique, o.EdgeNodeID)
				out = append(out, d)
			}
			return out, nil
		}}
}

// NewSupplyChainRule is ATLAS-DETECT-006: model promotions to production
// without an approver, then dependency changes deployed without passing
// tests.
func NewSupplyChainRule(reg RegistrySource, ci CICDSource) Rule {
	return &builtinRule{id: RuleSupplyChain, frequency: time.Hour, lookbk: day,
		eval: func(ctx context.Context, s EvalScope) ([]Detection, error) {
			w := window(s, day, 0)
			proms, err := reg.UnapprovedPromotions(ctx, w)
			if err != nil {
				return nil, err
			}
			deps, err := ci.UntestedDependencyChanges(ctx, w)
			if err != nil {
				return nil, err
			}
			var out []Detection
			for _, p := range proms {
				d := detection(RuleSupplyChain, s, "Unapproved model promotion: "+p.ModelName+" v"+p.ModelVersion, SeverityHigh, "T1195", "TM-05")
				d.AtlasTechnique = techniquePromotion
				d.Confidence = confidence(d.RuleID, 0.85)
				d.Evidence = map[string]any{"user_id": p.UserID, "model_name": p.ModelName, "model_version": p.ModelVersion, "approved_by": p.ApprovedBy}
				d.Entities = entities(Entity{"user", p.UserID})
				d.DedupKey = dedupKey(d.RuleID, d.AtlasTechnique, p.ModelName, p.ModelVersion)
				out = append(out, d)
			}
			for _, c := range deps {
				d := detection(RuleSupplyChain, s, "Dependency change without tests: pipeline "+c.PipelineID, SeverityHigh, "T1195", "TM-05")
				d.AtlasTechnique = techniqueDependency
				d.Confidence = confidence(d.RuleID, 0.8)
				d.Evidence = map[string]any{"pipeline_id": c.PipelineID, "commit_hash": c.CommitHash,
					"dependency_changes": c.DependencyChanges, "deployer": c.Deployer}
				d.Entities = entities(Entity{"user", c.Deployer})
				d.DedupKey = dedupKey(d.RuleID, d.AtlasTechnique, c.PipelineID, c.CommitHash)
				out = append(out, d)
			}
			return out, nil
		}}
}

// NewInsiderExfiltrationRule is ATLAS-DETECT-007: one caller's API use over
// 24 h far above their 30-day daily average, across many endpoints, or after
// hours.
func NewInsiderExfiltrationRule(src APISource) Rule {
	return &builtinRule{id: RuleInsiderExfiltration, frequency: time.Hour, lookbk: day,
		eval: func(ctx context.Context, s EvalScope) ([]Detection, error) {
			cur, err := src.APIAccessStats(ctx, window(s, day, 0))
			if err != nil {
				return nil, err
			}
			base, err := src.APIAccessStats(ctx, window(s, 30*day, day))
			if err != nil {
				return nil, err
			}
			baseline := map[string]int{}
			for _, b := range base {
				baseline[b.CallerIdentity] = b.Count
			}
			var out []Detection
			for _, a := range cur {
				_, dev := deviation(a.Count, baseline[a.CallerIdentity])
				if !(dev > 5.0 || a.DistinctEndpoints > 3 || a.AfterHours > 5) {
					continue
				}
				d := detection(RuleInsiderExfiltration, s, "Insider exfiltration: anomalous API access by "+a.CallerIdentity,
					SeverityHigh, "T1567", "TM-11")
				d.Confidence = confidence(d.RuleID, math.Min(0.95, 0.5+dev/20))
				d.Evidence = map[string]any{"caller_identity": a.CallerIdentity, "count": a.Count, "distinct_endpoints": a.DistinctEndpoints,
					"after_hours": a.AfterHours, "deviation_factor": roundN(dev, 2)}
				d.Entities = entities(Entity{"user", a.CallerIdentity})
				d.DedupKey = dedupKey(d.RuleID, d.AtlasTechnique, a.CallerIdentity)
				out = append(out, d)
			}
			return out, nil
		}}
}

// NewAlertFatigueRule is ATLAS-DETECT-008, a meta-alert on the SOC itself:
// investigations over 6 h more than 5× the 7-day six-hour average.
func NewAlertFatigueRule(src InvestigationSource) Rule {
	return &builtinRule{id: RuleAlertFatigue, frequency: time.Hour, lookbk: 6 * time.Hour,
		eval: func(ctx context.Context, s EvalScope) ([]Detection, error) {
			cur, err := src.InvestigationCount(ctx, window(s, 6*time.Hour, 0))
			if err != nil {
				return nil, err
			}
			base, err := src.InvestigationCount(ctx, window(s, 7*day, 6*time.Hour))
			if err != nil {
				return nil, err
			}
			avg := float64(base) / 28.0 // 7 × 24 / 6 periods
			spike := float64(cur)
			if avg > 0 {
				spike = float64(cur) / avg
			}
			if !(spike > 5.0) {
				return nil, nil
			}
			d := detection(RuleAlertFatigue, s, "Alert fatigue: abnormal alert volume spike detected", SeverityHigh, "", "TM-17")
			d.Confidence = confidence(d.RuleID, math.Min(0.9, 0.5+spike/20))
			d.Evidence = map[string]any{"current_count": cur, "baseline_avg": roundN(avg, 2), "spike_ratio": roundN(spike, 2)}
			d.DedupKey = dedupKey(d.RuleID, d.AtlasTechnique)
			return []Detection{d}, nil
		}}
}

// NewSensorSpoofingRule is ATLAS-DETECT-009: OPC-UA readings whose data
// volume departs more than 3σ from the node's 24 h baseline, with protocol
// violations, or whose sensor count moved by more than 5. OPC-UA telemetry is
// untrusted: confidence is floored, downgraded and floored again (0.7).
func NewSensorSpoofingRule(src OPCUASource) Rule {
	return &builtinRule{id: RuleSensorSpoofing, frequency: 5 * time.Minute, lookbk: 15 * time.Minute,
		eval: func(ctx context.Context, s EvalScope) ([]Detection, error) {
			rows, err := src.OPCUAReadings(ctx, window(s, 15*time.Minute, 0))
			if err != nil {
				return nil, err
			}
			base, err := src.OPCUABaseline(ctx, window(s, day, 15*time.Minute))
			if err != nil {
				return nil, err
			}
			baseline := map[string]OPCUABaseline{}
			for _, b := range base {
				baseline[b.EdgeNodeID] = b
			}
			var out []Detection
			for _, r := range rows {
				var z, delta float64
				if bl, ok := baseline[r.EdgeNodeID]; ok && bl.StddevDataPoints > 0 {
					z = math.Abs((float64(r.DataPointsReceived) - bl.AvgDataPoints) / bl.StddevDataPoints)
					delta = math.Abs(float64(r.SensorCount) - bl.AvgSensorCount)
				}
				if !(z > 3.0 || r.ProtocolViolations > 0 || delta > 5) {
					continue
				}
				d := detection(RuleSensorSpoofing, s, "Sensor spoofing detected on "+r.EdgeNodeID, SeverityCritical, "T1565.002", "TM-06")
				c, trust := ApplyTrustDowngrade(confidence(d.RuleID, 0.85), SourceOPCUATelemetry)
				d.Confidence = confidence(d.RuleID, c)
				d.TelemetryTrustLevel = trust
				d.AttestationStatus = attestationUnavailable
				d.Evidence = map[string]any{"edge_node_id": r.EdgeNodeID, "z_score": roundN(z, 3),
					"protocol_violations": r.ProtocolViolations, "sensor_delta": delta}
				d.Entities = entities(Entity{"host", r.EdgeNodeID})
				d.RequiresImmediateAction, d.SafetyRelevant = true, true
				d.DedupKey = dedupKey(d.RuleID, d.AtlasTechnique, r.EdgeNodeID)
				out = append(out, d)
			}
			return out, nil
		}}
}

// NewPartnerCompromiseRule is ATLAS-DETECT-010: a partner's call volume over
// 6 h more than 3× its 7-day six-hour average, payloads more than 3σ off, or
// any mTLS failure. A partner without a baseline is compared on mTLS only.
func NewPartnerCompromiseRule(src PartnerSource) Rule {
	return &builtinRule{id: RulePartnerCompromise, frequency: 30 * time.Minute, lookbk: 6 * time.Hour,
		eval: func(ctx context.Context, s EvalScope) ([]Detection, error) {
			cur, err := src.PartnerActivity(ctx, window(s, 6*time.Hour, 0))
			if err != nil {
				return nil, err
			}
			base, err := src.PartnerBaseline(ctx, window(s, 7*day, 6*time.Hour))
			if err != nil {
				return nil, err
			}
			baseline := map[string]PartnerBaseline{}
			for _, b := range base {
				baseline[b.PartnerID] = b
			}
			var out []Detection
			for _, p := range cur {
				var volDev, payloadZ float64
				if bl, ok := baseline[p.PartnerID]; ok {
					avg6h := float64(bl.CallCount) / 28.0
					volDev = float64(p.CallCount)
					if avg6h > 0 {
						volDev = float64(p.CallCount) / avg6h
					}
					if bl.StddevPayload > 0 {
						payloadZ = math.Abs((p.AvgPayload - bl.AvgPayload) / bl.StddevPayload)
					}
				}
				if !(volDev > 3.0 || payloadZ > 3.0 || p.MTLSFailures > 0) {
					continue
				}
				d := detection(RulePartnerCompromise, s, "Partner compromise: anomalous activity from "+p.PartnerName, SeverityHigh, "T1199", "TM-08")
				d.Confidence = confidence(d.RuleID, math.Min(0.9, 0.6+volDev/10))
				d.Evidence = map[string]any{"partner_id": p.PartnerID, "partner_name": p.PartnerName, "volume_deviation": roundN(volDev, 2),
					"payload_z_score": roundN(payloadZ, 2), "mtls_failures": p.MTLSFailures}
				d.Entities = entities(Entity{"account", p.PartnerID})
				d.DedupKey = dedupKey(d.RuleID, d.AtlasTechnique, p.PartnerID)
				out = append(out, d)
			}
			return out, nil
		}}
}

// NewEdgeCompromiseRule is ATLAS-DETECT-011: an edge node failing or lacking
// boot attestation, failing disk integrity, or pinned above 95 % CPU or
// memory. Edge telemetry is untrusted (confidence 0.85 × 0.7 = 0.595); the
// rule is not safety-relevant.
func NewEdgeCompromiseRule(src EdgeSource) Rule {
	return &builtinRule{id: RuleEdgeNodeCompromise, frequency: 5 * time.Minute, lookbk: 15 * time.Minute,
		eval: func(ctx context.Context, s EvalScope) ([]Detection, error) {
			rows, err := src.EdgeNodeReadings(ctx, window(s, 15*time.Minute, 0))
			if err != nil {
				return nil, err
			}
			var out []Detection
			for _, r := range rows {
				att := strings.ToLower(strings.TrimSpace(r.BootAttestation))
				disk := strings.ToLower(strings.TrimSpace(r.DiskIntegrity))
				ev := map[string]any{"edge_node_id": r.EdgeNodeID}
				fired := false
				switch att {
				case attestationStatusFail:
					ev["boot_attestation"], fired = attestationStatusFail, true
				case "":
					ev["boot_attestation"], fired = attestationUnavailable, true
				}
				if disk == "fail" {
					ev["disk_integrity"], fired = "fail", true
				}
				if r.CPUUtilisation > 0.95 {
					ev["cpu_utilisation"], fired = r.CPUUtilisation, true
				}
				if r.MemoryUtilisation > 0.95 {
					ev["memory_utilisation"], fired = r.MemoryUtilisation, true
				}
				if !fired {
					continue
				}
				d := detection(RuleEdgeNodeCompromise, s, "Edge node compromise detected on "+r.EdgeNodeID, SeverityCritical, "T1195.002", "TM-04")
				c, trust := ApplyTrustDowngrade(confidence(d.RuleID, 0.85), SourceEdgeNodeTelemetry)
				d.Confidence = confidence(d.RuleID, c)
				d.TelemetryTrustLevel = trust
				d.AttestationStatus = att
				if att == "" {
					d.AttestationStatus = attestationUnavailable
				}
				d.Evidence = ev
				d.Entities = entities(Entity{"host", r.EdgeNodeID})
				d.RequiresImmediateAction = true
				d.DedupKey = dedupKey(d.RuleID, d.AtlasTechnique, r.EdgeNodeID)
				out = append(out, d)
			}
			return out, nil
		}}
}

// DefaultRules returns the eleven built-in rules over one store, in id order.
func DefaultRules(t TelemetryStore) []Rule {
	return []Rule{
		NewTrainingDataPoisoningRule(t), NewModelExtractionRule(t), NewPromptInjectionRule(t),
		NewAdversarialEvasionRule(t), NewPhysicsOracleDoSRule(t), NewSupplyChainRule(t, t),
		NewInsiderExfiltrationRule(t), NewAlertFatigueRule(t), NewSensorSpoofingRule(t),
		NewPartnerCompromiseRule(t), NewEdgeCompromiseRule(t),
	}
}

// deviation compares today's count with the daily average of a 30-day
// baseline total; with no baseline the count itself is the deviation factor.
func deviation(count, baseline30 int) (avg, dev float64) {
	avg = float64(baseline30) / 30.0
	dev = float64(count)
	if avg > 0 {
		dev = float64(count) / avg
	}
	return avg, dev
}
