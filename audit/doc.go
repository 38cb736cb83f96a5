// Package audit is the spine of Warden's audit trail: every autonomous
// decision, human action and system event a Warden service makes becomes one
// audit record, and emitting it never slows or breaks the work it records.
//
// Services depend only on the small Producer interface and accept it through
// their WithAuditProducer option; a nil Producer means no audit and identical
// behaviour. The host builds one Emitter over a Sink — kafkasink for Kafka's
// audit.events topic, JSONLines for files and pipes, a Recorder in tests, or
// an audit/chain Chainer to hash-chain in process — and passes it to every
// service.
//
// Emit validates the event against the taxonomy, stamps it (UUIDv7 id,
// millisecond UTC timestamp, producer_id and a per-producer sequence number),
// encodes it once to the canonical JSON that record hashes are computed over
// (see audit/canonical), and puts it into a lock-free ring buffer. A single
// drainer goroutine batches the ring into the Sink with retries. When the
// ring is full the new event is dropped and counted, and its producer_seq
// becomes a gap that SeqTracker finds downstream: losses are never silent.
// Stats exposes every counter; Flush and Close honour their contexts.
package audit
