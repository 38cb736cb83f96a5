package audit

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"maps"
	"strconv"

	"github.com/socwarden/warden/taxonomy"
)

// Fields is the content of an event's context, decision or outcome object.
//
// Values may be nil, bool, string, any Go integer kind, float32/float64,
// json.Number, time.Time, Fields or map[string]T of these, slices and arrays
// of these, and anything encoding/json can marshal. Emit snapshots and
// encodes the map before it returns, so the caller may reuse or mutate it
// afterwards.
type Fields map[string]any

// With returns a new map holding f's entries overridden by other's. Neither
// input is modified; a nil f yields a non-nil map.
func (f Fields) With(other Fields) Fields {
	out := make(Fields, len(f)+len(other))
	maps.Copy(out, f)
	maps.Copy(out, other)
	return out
}

// Event is what a service hands to Producer.Emit.
//
// TenantID, Type, ActorType and ActorID are required. Empty optional strings
// and nil slices are left out of the record; a nil Context, Decision or
// Outcome is left out, a non-nil empty one is written as {}.
type Event struct {
	TenantID         string
	Type             taxonomy.EventType
	Severity         taxonomy.Severity // empty means info
	ActorType        taxonomy.ActorType
	ActorID          string
	ActorPermissions []string
	InvestigationID  string
	AlertID          string
	EntityIDs        []string
	Context          Fields
	Decision         Fields
	Outcome          Fields
	// AuditID presets the record's id (for example to key evidence objects
	// before emitting). It must be a syntactically valid UUID; empty means a
	// new UUIDv7.
	AuditID string
	// SourceService overrides the producer's default source_service.
	SourceService string
}

// Producer is the port every Warden service emits through. Emit never blocks,
// never panics and never fails the caller: it returns the record's audit id
// and whether the event was accepted. A service given no producer emits
// nothing and behaves identically.
//
// Emit must not retain the event's maps or slices after it returns: callers
// may reuse them for their next event (the router does). An implementation
// that keeps events, such as a test fake, must copy what it keeps.
type Producer interface {
	Emit(e Event) (auditID string, ok bool)
}

// Emit sends e to p if p is non-nil. It is the one-line guard services use so
// that a nil Producer (including a typed nil *Emitter) is a no-op.
func Emit(p Producer, e Event) (auditID string, ok bool) {
	if p == nil {
		return "", false
	}
	return p.Emit(e)
}

// Message is one encoded event as a Sink receives it.
type Message struct {
	TenantID string // also the Kafka key
	AuditID  string
	Seq      uint64 // producer_seq
	// Value is the event's canonical JSON: pure ASCII, no trailing newline.
	// Sinks must not modify it.
	Value []byte
}

// Sink receives batches of messages from the Emitter's drainer goroutine.
//
// A nil error acknowledges the whole batch. To fail only some messages return
// a *multierror.Error whose entries are *RecordError values; only those
// messages are retried. Any other error retries the whole batch. Write is
// called by one goroutine at a time.
type Sink interface {
	Write(ctx context.Context, batch []Message) error
}

// Flusher is implemented by sinks that buffer; Emitter.Flush calls it after
// its own queue is drained.
type Flusher interface {
	Flush(ctx context.Context) error
}

// Closer is implemented by sinks that hold resources; Emitter.Close calls it
// once, after the final drain.
type Closer interface {
	Close(ctx context.Context) error
}

// AsyncWriter is implemented by sinks that can take the next batch before the
// previous one is acknowledged (kafkasink does). The drainer then keeps up to
// WithMaxInFlight batches in flight, which hides the broker round trip.
//
// WriteAsync starts writing batch, ordered after every batch started before
// it, and returns at once. The returned wait blocks until the batch is
// settled and returns what Write would have returned for it. The Emitter
// calls wait exactly once, from a goroutine of its own, and does not reuse
// batch before wait returns; results are counted in the order the batches
// were started. Messages that fail are retried with
// Write, after later batches: order is kept except across a failure.
type AsyncWriter interface {
	Sink
	WriteAsync(ctx context.Context, batch []Message) (wait func() error)
}

// RecordError fails the message at Index of the batch passed to Sink.Write.
type RecordError struct {
	Index int
	Err   error
}

func (e *RecordError) Error() string {
	return "audit: message " + strconv.Itoa(e.Index) + ": " + errString(e.Err)
}

func (e *RecordError) Unwrap() error { return e.Err }

func errString(err error) string {
	if err == nil {
		return "<nil>"
	}
	return err.Error()
}

// LLMCall is the input of LLMContext.
type LLMCall struct {
	Provider     taxonomy.Provider
	ModelID      string
	Tier         taxonomy.ModelTier
	InputTokens  int
	OutputTokens int
	CostUSD      float64
	LatencyMS    int
	PromptHash   string // full 64-hex SHA-256; see HashText
	ResponseHash string // full 64-hex SHA-256; see HashText
}

// LLMContext returns the nine LLM context keys, always all present, as the
// reference helper writes them. Merge service keys in with Fields.With.
func LLMContext(c LLMCall) Fields {
	return Fields{
		KeyLLMProvider:         string(c.Provider),
		KeyLLMModelID:          c.ModelID,
		KeyLLMModelTier:        string(c.Tier),
		KeyLLMInputTokens:      c.InputTokens,
		KeyLLMOutputTokens:     c.OutputTokens,
		KeyLLMCostUSD:          c.CostUSD,
		KeyLLMLatencyMS:        c.LatencyMS,
		KeyLLMSystemPromptHash: c.PromptHash,
		KeyLLMRawResponseHash:  c.ResponseHash,
	}
}

// HashText returns the full lowercase hex SHA-256 of s's UTF-8 bytes (64
// characters). Warden never truncates prompt or response hashes.
func HashText(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}
