// Package evidence keeps the large artifacts behind audit records — full
// prompts and responses, retrieval sets, raw alerts, investigation state —
// in object storage, builds the evidence package an auditor receives for
// one investigation, and exports the cold archive.
//
// Records carry only an artifact's SHA-256 and URI (context.evidence_refs),
// so the chain stays small and the artifact stays verifiable: Store.Put
// returns both, keyed <tenant>/<YYYY>/<MM>/<DD>/<audit_id>/<type>.json, and
// Store.Verify re-hashes what comes back. Object stores sit behind the
// ObjectStore port; MemoryObjects and FileObjects ship, and both keep the
// content hash with the object and check it on every read, so storage
// corruption is an error rather than silently wrong evidence.
//
// PackageBuilder.Build gathers an investigation's records from a
// chain.Store, sorts them into the reference's sections (state transitions,
// LLM interactions, approvals, actions, the final classification) and
// verifies the tenant's whole chain segment the investigation spans — not
// just the investigation's own records, which interleave with others' and
// would always show gaps. Raw evidence is attached to copies, after
// verification, so it can never disturb the hashes. The package carries
// its own package_hash.
//
// ExportCold, ExportMonth, PartitionName and CanDrop implement the
// retention tiers: a verified, hashed canonical JSON-lines archive per
// month under cold/YYYY-MM/, and the rule for when a warm partition may be
// dropped.
package evidence
