// Package chain links each tenant's audit records into a SHA-256 hash chain
// that is byte-compatible with the reference platform's, and verifies such
// chains.
//
// Every tenant's chain starts with a genesis record (sequence 0, previous
// hash of 64 zeros). Each further record is the producer's event, whole, plus
// four keys: sequence_number (previous + 1), previous_hash (the previous
// record's record_hash), ingested_at, and record_hash — the lowercase hex
// SHA-256 of the canonical JSON (audit/canonical) of the record without
// record_hash. Changing, deleting, inserting or reordering any record
// therefore breaks a hash, a link or the sequence.
//
// A bare hash chain cannot show that its tail was cut off or that the whole
// chain was rewritten and re-hashed. Signed checkpoints close that gap: the
// Chainer signs (tenant, sequence, head hash, time) with the host's Ed25519
// key every N records and on a timer and publishes the Checkpoint beside the
// records; the verifier reports a chain that ends before its last checkpoint
// or disagrees with one.
//
// The pieces:
//
//   - Hash, Genesis and Link build records as canonical.Object values; the
//     JSON variants HashJSON and LinkJSON work on encoded bytes and take a
//     fast path when the input is already canonical (as Warden's producer
//     writes it), which is what the CLI and the Kafka processor use.
//   - Verify judges one tenant's records, in the order given (ascending
//     sequence, as stores and streams deliver them), with a three-state
//     Result: valid, invalid (typed errors, first bad sequence) or cannot
//     verify (a record lacks the chain keys, so what follows cannot be
//     judged). StreamVerifier does the same for an interleaved multi-tenant
//     stream with O(1) state per tenant and adds the producer-gap report:
//     per producer_id, the producer_seq numbers that never reached the
//     chain.
//   - Chainer assigns sequences per tenant over a Store (MemoryStore,
//     FileStore or the host's database) with optimistic concurrency, so
//     several Chainers may share a store without forking a chain. A Chainer
//     is also an audit.Sink: an Emitter can chain in process.
//   - Scheduler runs the reference's verification cadence (continuous,
//     daily full, hourly lag, weekly cold) and reports results and metrics.
//
// The exactly-once Kafka service that chains audit.events into audit.records
// lives in the kafkachain sub-package, which keeps franz-go out of this one.
package chain
