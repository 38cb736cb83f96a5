package audit

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/hashicorp/go-multierror"

	"github.com/socwarden/warden/internal/ring"
	"github.com/socwarden/warden/taxonomy"
)

var _ Producer = (*Emitter)(nil)

// closingBit is added to Emitter.inflight when Close begins; an Emit that sees
// it counts itself Closed. Below it, inflight counts Emit calls in progress.
const closingBit = 1 << 62

// Stats is a snapshot of an Emitter's counters.
//
// Invariants: calls to Emit = Emitted + Dropped + Invalid + Closed;
// LastSeq = Emitted + Dropped; after Close returns, Emitted = Delivered +
// Failed and Queued = 0.
type Stats struct {
	Emitted   uint64 // accepted into the ring
	Dropped   uint64 // ring full; the producer_seq is a visible gap
	Invalid   uint64 // rejected by validation, including oversize
	Closed    uint64 // Emit after Close began
	Sanitized uint64 // accepted events in which at least one value was rewritten
	Delivered uint64 // acknowledged by the sink
	Failed    uint64 // given up after retries, or still queued at the Close deadline
	Retries   uint64 // sink write attempts beyond the first
	Batches   uint64 // sink writes that delivered at least one message
	Queued    uint64 // accepted and not yet delivered or failed (gauge)
	LastSeq   uint64 // highest producer_seq assigned
}

// Emitter is the audit Producer: Emit stamps, validates and encodes an event
// on the caller's goroutine and puts it in a lock-free ring; one drainer
// goroutine batches the ring into the Sink.
//
// Emit never blocks, never panics and never returns an error. Every event is
// counted exactly once as Emitted, Dropped, Invalid or Closed, and every
// accepted event ends Delivered or Failed.
type Emitter struct {
	cfg        config
	sink       Sink
	async      AsyncWriter // sink, when it pipelines and maxInFlight > 1
	ring       *ring.Ring[Message]
	producerID string
	seqPrefix  []byte // `"producer_id":"<id>","producer_seq":`, read-only

	// Counters written by every Emit, each on its own cache line.
	_        [64]byte
	inflight atomic.Int64 // Emit calls in progress, plus closingBit once Close began
	_        [64]byte
	lastSeq  atomic.Uint64
	_        [64]byte
	emitted  atomic.Uint64
	_        [64]byte
	// wakeAt is the ring depth at which an Emit rings the bell; 0 while the
	// drainer is awake. The drainer sets it before it parks.
	wakeAt atomic.Uint64
	_      [64]byte

	// Counters of rarer outcomes.
	dropped, invalid, closed, sanitized atomic.Uint64

	// Counters written only by the drainer, or by Close when it abandons a
	// stuck drainer; acctMu serialises the two.
	delivered, failed, retries, batches atomic.Uint64

	acctMu    sync.Mutex
	abandoned bool        // guarded by acctMu: Close gave up; the drainer must not count
	failures  []failEntry // guarded by acctMu: recent sink errors, for Flush

	progressMu sync.Mutex
	progress   chan struct{} // guarded by progressMu; closed and replaced after each settlement

	bell    chan struct{} // one slot: an Emit that reaches wakeAt, at most once per park
	kick    chan struct{} // one slot: Flush and Close wake the drainer
	flushes atomic.Int32  // Flush calls waiting; the drainer skips linger while > 0

	closeOnce   sync.Once
	stopped     chan struct{} // closed once no Emit can enqueue any more
	deadline    chan struct{} // closed when Close's context ends
	deadlineHit atomic.Bool
	writeCtx    context.Context // passed to Sink.Write; cancelled at Close's deadline
	cancelWrite context.CancelFunc
	done        chan struct{} // closed when the drainer returns
	closeDone   chan struct{} // closed when Close has finished
	closeErr    error         // written before closeDone is closed

	// Owned by the drainer goroutine: rate limiting of loss warnings, and the
	// batches written to an AsyncWriter but not yet settled, oldest first.
	warned   [4]uint64
	warnedAt [4]time.Time
	inFlight []*inFlightBatch
	spare    [][]Message // batch buffers free for reuse
}

type failEntry struct {
	mark uint64 // Failed count after this failure
	err  error
}

// maxFailureLog bounds the sink errors kept for Flush's result.
const maxFailureLog = 32

// New starts an Emitter that writes to sink. The configuration is validated
// once; a bad value returns an error matching ErrInvalidConfig.
func New(sink Sink, opts ...Option) (*Emitter, error) {
	cfg := defaultConfig()
	if sink == nil {
		cfg.invalid("nil sink")
	}
	for _, o := range opts {
		if o != nil {
			o(&cfg)
		}
	}
	if len(cfg.errs) > 0 {
		return nil, errors.Join(cfg.errs...)
	}
	if cfg.logger == nil {
		cfg.logger = slog.Default()
	}
	if cfg.producerID == "" {
		cfg.producerID = NewID()
	}
	e := &Emitter{
		cfg:        cfg,
		sink:       sink,
		ring:       ring.New[Message](cfg.ringSize),
		producerID: cfg.producerID,
		progress:   make(chan struct{}),
		bell:       make(chan struct{}, 1),
		kick:       make(chan struct{}, 1),
		stopped:    make(chan struct{}),
		deadline:   make(chan struct{}),
		done:       make(chan struct{}),
		closeDone:  make(chan struct{}),
	}
	if aw, ok := sink.(AsyncWriter); ok && cfg.maxInFlight > 1 {
		e.async = aw
	}
	enc := &encoder{}
	e.seqPrefix = append(enc.str([]byte(`"producer_id":`), cfg.producerID), `,"producer_seq":`...)
	e.writeCtx, e.cancelWrite = context.WithCancel(context.Background())
	go e.drain()
	return e, nil
}

// ProducerID is the producer_id written on every event of this Emitter.
func (e *Emitter) ProducerID() string {
	if e == nil {
		return ""
	}
	return e.producerID
}

// Stats returns a snapshot of the counters.
func (e *Emitter) Stats() Stats {
	if e == nil {
		return Stats{}
	}
	s := Stats{
		Dropped:   e.dropped.Load(),
		Invalid:   e.invalid.Load(),
		Closed:    e.closed.Load(),
		Sanitized: e.sanitized.Load(),
		Retries:   e.retries.Load(),
		Batches:   e.batches.Load(),
		LastSeq:   e.lastSeq.Load(),
	}
	// Read the settled counters before Emitted so that Queued never
	// underflows for an event settled between the two reads.
	s.Delivered, s.Failed = e.delivered.Load(), e.failed.Load()
	s.Emitted = e.emitted.Load()
	if s.Emitted > s.Delivered+s.Failed {
		s.Queued = s.Emitted - s.Delivered - s.Failed
	}
	return s
}

// Emit validates, stamps and encodes ev and enqueues it for the sink. It
// returns the record's audit_id and true if the event was accepted; a
// dropped event (ring full) still returns its id, whose producer_seq is then
// a visible gap downstream. Emit on a nil *Emitter returns ("", false).
func (e *Emitter) Emit(ev Event) (auditID string, ok bool) {
	if e == nil {
		return "", false
	}
	if e.inflight.Add(1) >= closingBit {
		e.inflight.Add(-1)
		e.closed.Add(1)
		return "", false
	}
	defer func() {
		if r := recover(); r != nil {
			// Only caller-supplied Marshalers can panic in here; such an event
			// is invalid, and the caller must not notice.
			e.invalid.Add(1)
			auditID, ok = "", false
		}
		e.inflight.Add(-1)
	}()
	return e.emit(&ev)
}

func (e *Emitter) emit(ev *Event) (string, bool) {
	category := ev.Type.Category() // "" for an unknown type
	if !valid(ev, category) {
		e.invalid.Add(1)
		return "", false
	}
	now := e.cfg.clock()
	enc := getEncoder(e.cfg.redact, e.cfg.maxEventBytes)
	idOff := e.encode(enc, ev, category, now)
	next := e.lastSeq.Load() + 1
	size := len(enc.head) + digits(next) + len(enc.tail)
	if enc.tooLarge || size > e.cfg.maxEventBytes {
		putEncoder(enc)
		e.invalid.Add(1)
		return "", false
	}
	seq := e.lastSeq.Add(1)
	value := make([]byte, 0, len(enc.head)+digits(seq)+len(enc.tail))
	value = append(value, enc.head...)
	value = strconv.AppendUint(value, seq, 10)
	value = append(value, enc.tail...)
	sanitized := enc.sanitized
	putEncoder(enc)

	auditID := ev.AuditID
	if idOff >= 0 {
		// The id is already in the value; share its bytes rather than
		// allocate a copy. Value is immutable once built (the Sink contract
		// forbids modifying it, and its capacity equals its length so an
		// append cannot write into it).
		auditID = unsafe.String(&value[idOff], 36)
	}
	if !e.ring.Push(Message{TenantID: ev.TenantID, AuditID: auditID, Seq: seq, Value: value}) {
		e.dropped.Add(1)
		return auditID, false
	}
	if sanitized {
		e.sanitized.Add(1)
	}
	e.emitted.Add(1)
	if w := e.wakeAt.Load(); w != 0 && uint64(e.ring.Len()) >= w && e.wakeAt.CompareAndSwap(w, 0) {
		// The drainer is parked and has asked to be woken at this depth.
		// This is the only channel operation on the Emit path, and it
		// cannot block: the bell has one slot and at most one Emit per park
		// wins the compare-and-swap.
		select {
		case e.bell <- struct{}{}:
		default:
		}
	}
	return auditID, true
}

func valid(ev *Event, category taxonomy.Category) bool {
	return category != "" && ev.Type != taxonomy.SystemGenesis &&
		ev.TenantID != "" && ev.ActorID != "" && ev.ActorType.Valid() &&
		(ev.Severity == "" || ev.Severity.Valid()) &&
		(ev.AuditID == "" || ValidUUID(ev.AuditID))
}

func digits(n uint64) int {
	d := 1
	for n >= 10 {
		n /= 10
		d++
	}
	return d
}

// encode writes the event's canonical JSON into enc.head and enc.tail, split
// around the producer_seq digits, which are assigned only once the event is
// known to be valid. Top-level keys are written in canonical (sorted) order.
// It returns the offset of a generated audit id in head, or -1 for a preset
// one.
func (e *Emitter) encode(enc *encoder, ev *Event, category taxonomy.Category, now time.Time) (idOff int) {
	red := enc.redact
	b := append(enc.head, `{"actor_id":`...)
	if red != nil && red.keys["actor_id"] {
		b = enc.hmacString(b, ev.ActorID)
	} else {
		b = enc.str(b, ev.ActorID)
	}
	if len(ev.ActorPermissions) > 0 {
		b = append(b, `,"actor_permissions":`...)
		b = enc.strList(b, ev.ActorPermissions, false)
	}
	b = append(b, `,"actor_type":"`...)
	b = append(b, ev.ActorType...) // validated: plain ASCII
	b = append(b, '"')
	if ev.AlertID != "" {
		b = append(b, `,"alert_id":`...)
		b = e.maybeRedacted(enc, b, "alert_id", ev.AlertID)
	}
	b = append(b, `,"audit_id":`...)
	ts := now
	idOff = -1
	if ev.AuditID != "" {
		b = enc.str(b, ev.AuditID)
	} else {
		b = append(b, '"')
		idOff = len(b)
		b = append(b, "123456789012345678901234567890123456"...)
		// The timestamp is the id's millisecond: the clock's, except after
		// a counter overflow, so that id and timestamp always agree.
		ts = time.UnixMilli(newV7(b[idOff:], now, enc.random8()))
		b = append(b, '"')
	}
	if ev.Context != nil {
		b = append(b, `,"context":`...)
		b = enc.object(b, ev.Context, 1)
	}
	if ev.Decision != nil {
		b = append(b, `,"decision":`...)
		b = enc.object(b, ev.Decision, 1)
	}
	if len(ev.EntityIDs) > 0 {
		b = append(b, `,"entity_ids":`...)
		b = enc.strList(b, ev.EntityIDs, red != nil && red.keys["entity_ids"])
	}
	b = append(b, `,"event_category":"`...)
	b = append(b, category...)
	b = append(b, `","event_type":"`...)
	b = append(b, ev.Type...)
	b = append(b, '"')
	if ev.InvestigationID != "" {
		b = append(b, `,"investigation_id":`...)
		b = e.maybeRedacted(enc, b, "investigation_id", ev.InvestigationID)
	}
	if ev.Outcome != nil {
		b = append(b, `,"outcome":`...)
		b = enc.object(b, ev.Outcome, 1)
	}
	b = append(b, ',')
	enc.head = append(b, e.seqPrefix...)

	sev := ev.Severity
	if sev == "" {
		sev = taxonomy.SeverityInfo
	}
	t := append(enc.tail, `,"severity":"`...)
	t = append(t, sev...)
	t = append(t, `","source_service":`...)
	if ev.SourceService != "" {
		t = enc.str(t, ev.SourceService)
	} else {
		t = enc.str(t, e.cfg.sourceService)
	}
	t = append(t, `,"tenant_id":`...)
	t = enc.str(t, ev.TenantID)
	t = append(t, `,"timestamp":"`...)
	t = appendTimestamp(t, ts)
	enc.tail = append(t, `"}`...)
	return idOff
}

func (e *Emitter) maybeRedacted(enc *encoder, b []byte, key, v string) []byte {
	if enc.redact != nil && enc.redact.keys[key] {
		return enc.hmacString(b, v)
	}
	return enc.str(b, v)
}

// Flush waits until every event accepted before the call has been delivered
// or has failed, then flushes the sink if it implements Flusher (possibly
// concurrently with a Write). It returns an error wrapping ctx.Err() if ctx
// ends first — nothing is dropped by that, the events stay queued — or the
// sink errors that made events fail while it waited.
func (e *Emitter) Flush(ctx context.Context) error {
	if e == nil {
		return nil
	}
	target := e.emitted.Load()
	failedAtStart := e.failed.Load()
	e.flushes.Add(1)
	defer e.flushes.Add(-1)
	e.wake()
	for e.delivered.Load()+e.failed.Load() < target {
		ch := e.progressChan()
		if e.delivered.Load()+e.failed.Load() >= target {
			break
		}
		select {
		case <-ch:
		case <-e.closeDone:
			// Close has settled every accepted event.
		case <-ctx.Done():
			return fmt.Errorf("audit: flush: %w", ctx.Err())
		}
	}
	var errs *multierror.Error
	errs = multierror.Append(errs, e.failuresSince(failedAtStart)...)
	if f, ok := e.sink.(Flusher); ok {
		if err := f.Flush(ctx); err != nil {
			errs = multierror.Append(errs, err)
		}
	}
	return errs.ErrorOrNil()
}

// Close stops intake (later Emits count as Closed), delivers everything
// queued until ctx ends, counts what is still queued or in retry at that
// point as Failed, and then closes the sink if it implements Closer. It is
// idempotent and safe to call concurrently with Emit and with itself; the
// sink is closed once. The error joins ctx's error (if the deadline cut the
// drain short) and the sink's close error.
func (e *Emitter) Close(ctx context.Context) error {
	if e == nil {
		return nil
	}
	e.closeOnce.Do(func() { e.shutdown(ctx) })
	select {
	case <-e.closeDone:
		return e.closeErr
	case <-ctx.Done():
		return fmt.Errorf("audit: close: %w", ctx.Err())
	}
}

func (e *Emitter) shutdown(ctx context.Context) {
	var errs *multierror.Error
	e.inflight.Add(closingBit)
	// Emits in progress never block; wait for them so that everything they
	// enqueue is drained.
	for e.inflight.Load() != closingBit && ctx.Err() == nil {
		runtime.Gosched()
	}
	close(e.stopped)
	stopDeadline := context.AfterFunc(ctx, func() {
		e.deadlineHit.Store(true)
		close(e.deadline)
		e.cancelWrite()
	})
	defer stopDeadline()
	e.wake()

	cutShort := false
	select {
	case <-e.done:
		// The drainer finished; a deadline that passed while it retried
		// made it count the rest Failed.
		cutShort = e.deadlineHit.Load()
	case <-ctx.Done():
		// The sink has not returned by the deadline: what is left is lost,
		// and counted.
		e.abandon()
		cutShort = true
	}
	if cutShort {
		errs = multierror.Append(errs, fmt.Errorf("audit: close: %w", ctx.Err()))
	}
	if c, ok := e.sink.(Closer); ok {
		if err := c.Close(ctx); err != nil {
			errs = multierror.Append(errs, fmt.Errorf("audit: closing sink: %w", err))
		}
	}
	e.cancelWrite()
	st := e.Stats()
	if st.Dropped+st.Failed+st.Invalid > 0 {
		e.cfg.logger.Warn("audit: emitter closed with losses",
			"producer_id", e.producerID, "dropped", st.Dropped, "failed", st.Failed,
			"invalid", st.Invalid, "delivered", st.Delivered)
	}
	e.closeErr = errs.ErrorOrNil()
	close(e.closeDone)
}

// abandon counts every accepted, unsettled event as Failed and stops the
// drainer from counting anything after it.
func (e *Emitter) abandon() {
	e.acctMu.Lock()
	if !e.abandoned {
		e.abandoned = true
		if out := e.emitted.Load() - e.delivered.Load() - e.failed.Load(); out > 0 {
			e.failed.Add(out)
		}
	}
	e.acctMu.Unlock()
	e.notifyProgress()
}

func (e *Emitter) wake() {
	select {
	case e.kick <- struct{}{}:
	default:
	}
}

func (e *Emitter) progressChan() chan struct{} {
	e.progressMu.Lock()
	defer e.progressMu.Unlock()
	return e.progress
}

func (e *Emitter) notifyProgress() {
	e.progressMu.Lock()
	close(e.progress)
	e.progress = make(chan struct{})
	e.progressMu.Unlock()
}

func (e *Emitter) failuresSince(mark uint64) []error {
	e.acctMu.Lock()
	defer e.acctMu.Unlock()
	var out []error
	for _, f := range e.failures {
		if f.mark > mark {
			out = append(out, f.err)
		}
	}
	return out
}

func isClosed(ch chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}
