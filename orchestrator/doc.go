// Package orchestrator turns one normalised alert into one investigation and
// drives it through an explicit, checkpointed state machine:
//
//	received → parsing → [FP close] → enriching → reasoning → responding → closed
//	                                                  └→ awaiting_human → (approval) → responding / closed
//
// Every edge (spec E1–E12, see Edges) is one step: validate, append a
// decision entry, set the state, save the checkpoint (Repository), then emit
// investigation.state_changed and the alert.* event that explains the edge.
//
// The FP short-circuit (an FPChecker, normally orchestrator/autonomy's
// FPShortCircuit) runs before any LLM call, so a short-circuited alert costs
// nothing. IOC extraction and reasoning call a model through the LLM port
// (orchestrator/llmgateway adapts gateway and router); the context enricher,
// CTEM correlator and ATLAS mapper run in parallel on clones and are merged
// without double counting. Human review is required for destructive actions
// (the model's tier or the response catalogue through ActionPolicy), low
// confidence on severe alerts, detections resting only on untrusted
// telemetry (an LLM-added technique without a trust level cannot lift
// that), shadow mode and degraded operation. A paused investigation waits
// for the approval gate (response, through ResponseAdapter) and continues
// with Resume or ExpireApprovals.
//
// # Degradation
//
// A DegradationSource (the router's level) is applied as DESIGN §3 says:
// secondary_active → an FP match or an auto_close action needs confidence
// ≥ 0.95; deterministic_only → no LLM call (FP matches are recorded, not
// applied; the investigation goes to a human); passthrough → Run returns
// ErrPassthrough and every alert goes to a human. An unreadable level counts
// as deterministic_only.
//
// # Durability
//
// Each stage ends in a checkpoint. A process that dies anywhere resumes with
// Continue (or Resume for a paused investigation): no completed stage runs
// again, response actions are deduplicated by their idempotency keys, and
// the audit events of the last checkpoint — stored in it before they are
// emitted — are emitted again with the same audit ids (derived from the
// investigation id and an event counter), so a consumer can drop the
// duplicates. FileRepository writes checkpoints atomically (temporary
// file, fsync, rename, directory fsync).
//
// Kill switches (KillSwitches) and shadow mode (ShadowMode) fail closed: an
// unreadable brake counts as pulled, an unreadable tenant config as shadow
// mode on. Nothing here panics on any input; panics of host-supplied nodes
// and ports are recovered and handled as their errors.
//
// Audit goes through an optional audit.Producer (WithAuditProducer);
// without one every result is identical.
package orchestrator
