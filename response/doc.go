// Package response decides what an investigation's recommended actions may
// do, runs the human approval gate, executes allowed actions through a
// host-supplied Executor and rolls them back on request. It is the
// RESPONDING stage of the orchestrator (Responder), its approval policy
// (RequiresApproval) and its approval gate (Open, Resolve, Expire); every
// preparation, approval step, execution and rollback is an audit event.
//
// # Grading
//
// Every action gets an effective tier = max(model tier, catalogue floor, zone
// floor). The catalogue is code ([DefaultCatalogue]); a name it does not
// know is tier 2, so an injected "isolate_host, tier 0" or "wipe_disk, tier
// 0" never runs unattended. Intrusive actions on targets in a safety_life or
// equipment zone (the shared internal/zone table) are tier 2 as well; a zone
// resolver error counts as the worst case. The model's tier can only raise
// the grade.
//
// # The approval gate
//
// Tier-2 actions execute only after a granted approval. [Responder.Open]
// persists an approval record in the [ApprovalStore] (in memory, or
// [OpenFileApprovals] so a restart loses no pending approval) with a
// deadline by severity: critical 1 h, high 2 h, medium 4 h, low 8 h. A
// sweep ([Responder.Expire], [Responder.RunSweeper]) sends one reminder at
// half-time and, at the deadline, closes medium/low approvals and re-routes
// critical/high ones once to the escalated role (admin) before leaving them
// open: a timeout never executes anything. Grant, deny and timeout are
// distinct outcomes; who may decide is checked against the approver's role
// ([RoleError]); exactly one of any number of concurrent decisions wins. The
// reviewer side is a port ([Approver]) so a host can plug a terminal prompt,
// an HTTP handler ([Responder.Decide]) or a policy such as [AutoGrantBelow].
//
// # Execution
//
// Executions carry idempotency keys (case, action identity, authorising
// approval) and are recorded in the [ExecutionStore] before the executor is
// called, so a replayed approval, a repeated Respond or a resumed
// investigation never executes an action twice. Each call is bounded by the
// action's timeout; reversible executions can be rolled back
// ([Responder.Rollback]), others return [ErrNotReversible]. Executor
// constraints (playbook allow-list, auto-close criteria, no routing-policy or
// guardrail changes) are applied after the gate: an approval never lifts
// them.
//
// # Audit
//
// Events go through an optional [audit.Producer] (WithAuditProducer):
// response.prepared, approval.requested, approval.granted, approval.denied,
// approval.timed_out, approval.escalated, response.executed,
// response.rolled_back and playbook.selected, with approver identity, role,
// channel and approval latency. Without a producer the behaviour is
// identical.
//
// # Types shared with the orchestrator
//
// The orchestrator imports this package for its types only: [Case] is the
// view of an investigation the responder reads, [Action] and [ActionResult]
// are what it stores, [Decision], [Outcome] and [ExpiredApproval] are its
// human-decision types and [Approval] the gate record.
package response
