// Package batch runs Warden's Tier 2 (offline, batch-priced) LLM work: it
// mines closed investigations for recurring false positives and recurring
// techniques, submits them as one provider message batch, and turns the
// answers into FP pattern candidates and playbook drafts for review.
//
// # Flow
//
// A [Generator] groups closed investigations per tenant — false positives
// by alert title, others by primary technique — and builds one task per
// group. A [Scheduler] queues tasks (bounded; overflow is refused and
// counted) and flushes when a count or time trigger fires (optionally only
// inside a daily submit window), at most [MaxBatchSize] tasks and the
// provider's byte limit per batch. Its [Client] passes every task's content
// through a [ContentGate] ([GatewayGate]: the gateway's prompt-injection
// scan, PII pseudonymisation and evidence isolation) and reserves each
// task's worst-case cost at batch prices on the router's spend guard
// ([SpendReserver]) before the batch is created — no batch call bypasses
// either. Tasks the provider or the spend guard refused go back to the
// front of the queue and automatic flushes back off exponentially, so no
// task is lost; batches the provider keeps rejecting as invalid end on a
// dead-letter list. The scheduler polls each batch (24 h SLA), collects its
// results and settles each task's reservation with its real cost.
//
// A [Processor] matches every result to its task by request id (providers
// do not keep order), restores pseudonymised values, and parses the model's
// JSON answer: an array (or object) of FP pattern candidates, or a playbook
// object. Candidates are validated — RE2 regexes that compile, do not match
// everything (".*") and contain a specific literal; entity types from the
// entityparser vocabulary (user → account, domain → dns, hash → filehash);
// confidence at least 0.8 — and get a deterministic fingerprint id, so the
// same pattern mined in every cycle is stored once. Keys such as status or
// scope in the answer are ignored: the model can never approve or scope its
// own pattern; the scope is the task's tenant. Candidates go to a
// [CandidateStore]: [NewAutonomyStore] puts them in orchestrator/autonomy's
// FP pattern store as pending_review, where two distinct approvers activate
// them. Playbook drafts go to a [DraftStore] and the playbooks.draft topic.
//
// A [Migrator] re-embeds a vector collection with a new model, with
// checkpoints and a rate limit.
//
// [New] wires the pipeline into a [Service]; the parts can also be used on
// their own. Package anthropicbatch is the HTTP adapter for the Anthropic
// Message Batches API; package offline a deterministic provider for
// examples and tests.
//
// # Audit
//
// With [WithAuditProducer] the package emits fp_pattern.created (one per
// new candidate), playbook.generated (one per new draft) and
// embedding.reindexed (one per migration run that moved points), with
// actor system/batch-scheduler and the task's tenant (or "system"). It
// emits nothing else — fp_pattern.approved, activated and revoked belong to
// orchestrator/autonomy — and never writes to the audit topic itself.
// Without a producer every result is identical; a failing producer changes
// nothing.
package batch
