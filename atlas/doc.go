// Package atlas runs MITRE ATLAS detection rules over the telemetry of the AI
// systems a SOC protects — training-platform audit logs, model-registry and
// CI/CD events, LLM query logs, edge inference and physics-oracle logs,
// OPC-UA sensor telemetry, partner API logs — and turns each firing into a
// canonical alert on alerts.raw, the same entry point as SIEM alerts.
//
// Eleven built-in rules (ATLAS-DETECT-001 … 011, [DefaultRules]) each target
// one threat-model entry and one ATLAS technique with fixed statistical
// thresholds. Safety-relevant rules (004, 005, 009) are marked so downstream
// reasoning cannot dismiss them as false positives, and a trust model lowers
// the confidence of detections built on telemetry an attacker on the edge
// could forge (OPC-UA and edge-node telemetry).
//
// A [Runner] schedules rules by their frequency ([Runner.RunDue],
// [Runner.Run]), suppresses a detection key for one lookback window after it
// was published, gives every alert a deterministic id (rule, dedup key and
// window — never the wall clock), carries entities and trust fields into the
// alert, and never lets one bad rule abort a run. With [WithAuditProducer] it
// emits atlas.detection_fired for each published (or attempted) detection.
//
// Technique ids come from the pinned ATLAS 5.6.0 table of internal/mitre; the
// two ids the reference used that never existed are corrected together with
// package ctem ([TechniqueCorrections]).
//
// Telemetry is read through small per-source ports; [MemoryTelemetry]
// implements them all in memory.
package atlas
