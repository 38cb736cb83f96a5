// Package warden is an embeddable Go SDK that gives teams building AI-driven
// security operations the reasoning services of a SOC as library packages,
// with a complete, non-blocking, tamper-evident audit trail through all of
// them.
//
// This root package holds no code; it documents the SDK. The packages:
//
//	taxonomy        the controlled vocabulary: event types, categories, actor types,
//	                severities, decision types, outcome statuses, tiers, degradation levels
//	audit           Event, Producer, the lock-free Emitter, sinks (JSON lines, Recorder),
//	                SeqTracker for producer-side gap detection
//	audit/canonical the Python-compatible canonical JSON that record hashes are computed over
//	audit/kafkasink the franz-go sink for the audit.events topic
//	audit/chain     per-tenant sequence numbers, SHA-256 hash chain, verifier
//	audit/evidence  evidence objects and evidence packages
//	entityparser    SIEM alert adapters, entity and IOC extraction, injection detection
//	gateway         the gate in front of every LLM call
//	router          model tiers, failover, circuit breakers, spend guard, degradation
//	orchestrator    the investigation graph
//	response        response actions and human approval
//	ctem            exposure findings from scanners, scored by network zone
//	atlas           MITRE ATLAS detections over AI-system telemetry
//	batch           batch LLM jobs: FP patterns and playbooks
//
// The flow of one alert:
//
//	SIEM alert → entityparser → orchestrator → gateway/router (LLM) → response
//
// Every service takes an audit.Producer through its WithAuditProducer option
// and emits one record per decision, action and system event. The host
// builds one audit.Emitter over a sink — Kafka's audit.events topic in
// production — and a chaining service turns audit.events into the per-tenant
// hash chain on audit.records, which `warden verify` and evidence packages
// check. A nil producer means no audit and identical behaviour.
package warden
