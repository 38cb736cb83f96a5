// Package ctem turns exposure findings from four scanners — Wiz (cloud
// posture), Snyk (dependency vulnerabilities), garak (LLM probes) and the
// Adversarial Robustness Toolbox (adversarial ML tests) — into one normalised
// [Exposure], scores it with a consequence-weighted matrix (how exploitable ×
// what physically happens if it is exploited), stamps a remediation SLA
// deadline, and stores it idempotently per (tenant, exposure key) so that a
// re-scan updates rather than duplicates and never resets remediation
// progress. It also owns the two audited remediation steps: assigning an
// exposure to an owner ([Service.Assign]) and verifying its fix
// ([Service.Verify]).
//
// # Inputs
//
// Two entry points accept findings:
//
//   - [Service.Process] / [Service.Ingest] take one flat JSON finding (the
//     shape of the per-source Kafka topics ctem.raw.<source>) through the full
//     pipeline: normalise, score, upsert, auto-assign, publish to
//     ctem.normalized, audit. Failures are dead-lettered to
//     ctem.normalized.dlq.
//   - [Service.NormaliseStream] and [Service.IngestStream] take a whole scanner
//     export — Wiz CSV reports and wizcli JSON, `snyk test --json` (single
//     project, --all-projects, container) and Snyk REST issues pages, garak
//     report.jsonl and hit logs, or JSON lines / arrays of flat findings — and
//     return every good exposure together with one [RecordError] (record
//     index, location, reason) per bad record. This is what the
//     `warden ctem -source wiz|snyk|garak|art` command calls.
//
// # Technique ids
//
// ATLAS ids come from the pinned table in internal/mitre. Ids the reference
// platform used that do not exist in ATLAS 5.6.0 are corrected here and in
// package atlas together, so exposures and detections still correlate; see
// [TechniqueCorrections].
//
// # Audit
//
// With [WithAuditProducer] the service emits ctem.exposure_scored,
// ctem.remediation_assigned and ctem.remediation_verified after each
// successful store write. Emission is fire-and-forget: a nil producer, a
// refusing producer or a panicking producer never changes a business result.
package ctem
