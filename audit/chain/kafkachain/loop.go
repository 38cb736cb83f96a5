package kafkachain

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/socwarden/warden/audit/canonical"
	"github.com/socwarden/warden/audit/chain"
	"github.com/socwarden/warden/audit/kafkasink"
)

// tenantState is a tenant's committed chain state.
type tenantState struct {
	head       chain.Head
	partition  int32
	window     []string // ring of the last audit ids
	pos        int
	set        map[string]int // id -> occurrences in window
	sinceSign  int            // records since the last checkpoint
	signedUpTo int64
	signed     bool
}

func (t *tenantState) remember(id string, n int) {
	if n == 0 || id == "" {
		return
	}
	if len(t.window) < n {
		t.window = append(t.window, id)
	} else {
		old := t.window[t.pos]
		if t.set[old]--; t.set[old] <= 0 {
			delete(t.set, old)
		}
		t.window[t.pos] = id
		t.pos = (t.pos + 1) % n
	}
	t.set[id]++
}

// pendingTenant is a tenant's state inside the open transaction.
type pendingTenant struct {
	head       chain.Head
	partition  int32
	ids        []string
	idset      map[string]struct{}
	sinceSign  int
	signedUpTo int64
	signed     bool
}

// state is owned by the Run goroutine.
type state struct {
	p         *Processor
	nparts    int
	tenants   map[string]*tenantState // committed
	recovered map[int32]bool          // partitions whose tenants are in tenants
	epoch     uint64
	pending   map[string]*pendingTenant
	linker    chain.Linker
	nextTimer time.Time

	// counters of the open transaction, added to the stats on commit
	chained, geneses, dups, malformed, rerouted, checkpoints uint64
}

func newState(p *Processor) *state {
	return &state{p: p, tenants: map[string]*tenantState{}, recovered: map[int32]bool{},
		pending: map[string]*pendingTenant{}, epoch: p.epoch.Load()}
}

// reset forgets everything: after a rebalance, partitions are recovered
// again before use.
func (s *state) reset() {
	s.tenants = map[string]*tenantState{}
	s.recovered = map[int32]bool{}
}

func (s *state) view(tenant string, partition int32) *pendingTenant {
	if v := s.pending[tenant]; v != nil {
		return v
	}
	v := &pendingTenant{partition: partition, idset: map[string]struct{}{}}
	if t := s.tenants[tenant]; t != nil {
		v.head, v.sinceSign, v.signedUpTo, v.signed = t.head, t.sinceSign, t.signedUpTo, t.signed
	}
	s.pending[tenant] = v
	return v
}

func (s *state) seen(tenant, id string) bool {
	if s.p.cfg.dedup == 0 || id == "" {
		return false
	}
	if v := s.pending[tenant]; v != nil {
		if _, ok := v.idset[id]; ok {
			return true
		}
	}
	t := s.tenants[tenant]
	if t == nil {
		return false
	}
	_, ok := t.set[id]
	return ok
}

// commit makes the transaction's state the committed state.
func (s *state) commit() {
	for tenant, v := range s.pending {
		t := s.tenants[tenant]
		if t == nil {
			t = &tenantState{set: map[string]int{}}
			s.tenants[tenant] = t
		}
		t.head, t.partition, t.sinceSign, t.signedUpTo, t.signed = v.head, v.partition, v.sinceSign, v.signedUpTo, v.signed
		for _, id := range v.ids {
			t.remember(id, s.p.cfg.dedup)
		}
	}
	p := s.p
	p.chained.Add(s.chained)
	p.geneses.Add(s.geneses)
	p.dups.Add(s.dups)
	p.malformed.Add(s.malformed)
	p.rerouted.Add(s.rerouted)
	p.checkpoints.Add(s.checkpoints)
	s.clearPending()
}

func (s *state) clearPending() {
	clear(s.pending)
	s.chained, s.geneses, s.dups, s.malformed, s.rerouted, s.checkpoints = 0, 0, 0, 0, 0, 0
}

func (p *Processor) loop(ctx context.Context, sess *kgo.GroupTransactSession, adm *kadm.Client, st *state) error {
	// Stop interrupts a poll; it never interrupts a transaction.
	pollBase, cancelPoll := context.WithCancel(ctx)
	defer cancelPoll()
	go func() {
		select {
		case <-p.stop:
			cancelPoll()
		case <-pollBase.Done():
		}
	}()
	timer := p.cfg.signer != nil && p.cfg.interval > 0
	if timer {
		st.nextTimer = p.cfg.clock().Add(p.cfg.interval)
	}
	for {
		if p.stopping() {
			return nil
		}
		pollCtx, cancel := pollBase, context.CancelFunc(func() {})
		if timer {
			pollCtx, cancel = context.WithTimeout(pollBase, max(st.nextTimer.Sub(p.cfg.clock()), time.Millisecond))
		}
		fetches := sess.PollRecords(pollCtx, p.cfg.maxPoll)
		cancel()
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if fetches.IsClientClosed() {
			return errors.New("kafkachain: client closed")
		}
		fetches.EachError(func(topic string, part int32, err error) {
			if !errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded) {
				p.cfg.logger.Warn("kafkachain: fetch error", "topic", topic, "partition", part, "error", err)
			}
		})
		timerDue := timer && !p.cfg.clock().Before(st.nextTimer)
		if fetches.NumRecords() == 0 && !timerDue {
			continue
		}
		if err := sess.Begin(); err != nil {
			return p.exit(ctx, fmt.Errorf("kafkachain: beginning a transaction: %w", err))
		}
		ok := p.transaction(ctx, sess, adm, st, fetches, timerDue)
		if p.beforeEnd != nil {
			p.beforeEnd()
		}
		committed, err := sess.End(ctx, kgo.TransactionEndTry(ok))
		if err != nil {
			st.clearPending()
			return p.exit(ctx, fmt.Errorf("kafkachain: ending a transaction: %w", err))
		}
		if committed {
			st.commit()
			p.committed.Add(1)
		} else {
			st.clearPending()
			p.aborted.Add(1)
		}
		if p.afterEnd != nil {
			p.afterEnd()
		}
	}
}

// transaction chains the polled events into the open transaction and
// reports whether it may commit.
func (p *Processor) transaction(ctx context.Context, sess *kgo.GroupTransactSession, adm *kadm.Client, st *state, fetches kgo.Fetches, timerDue bool) bool {
	if e := p.epoch.Load(); e != st.epoch {
		st.reset()
		st.epoch = e
	}
	now := p.cfg.clock()
	var out []*kgo.Record
	failed := false
	fetches.EachPartition(func(fp kgo.FetchTopicPartition) {
		if failed || len(fp.Records) == 0 {
			return
		}
		if !st.recovered[fp.Partition] {
			if err := p.recover(ctx, adm, st, fp.Partition); err != nil {
				if ctx.Err() == nil {
					p.cfg.logger.Error("kafkachain: recovering chain heads failed; aborting", "partition", fp.Partition, "error", err)
				}
				failed = true
				return
			}
		}
		for _, r := range fp.Records {
			p.consumed.Add(1)
			out = st.process(r, now, out)
		}
	})
	if failed {
		return false
	}
	if timerDue {
		out = st.timerCheckpoints(now, out)
		st.nextTimer = now.Add(p.cfg.interval)
	}
	if len(out) == 0 {
		return true
	}
	if err := sess.ProduceSync(ctx, out...).FirstErr(); err != nil {
		if ctx.Err() == nil {
			p.cfg.logger.Warn("kafkachain: producing records failed; aborting", "error", err)
		}
		return false
	}
	return true
}

// process chains one event, appending what it produces to out.
func (s *state) process(r *kgo.Record, now time.Time, out []*kgo.Record) []*kgo.Record {
	p := s.p
	tenant, auditID, err := s.linker.Prepare(r.Value)
	if err != nil {
		s.malformed++
		p.cfg.logger.Warn("kafkachain: skipping an event that cannot be chained",
			"partition", r.Partition, "offset", r.Offset, "error", err)
		return out
	}
	key := []byte(tenant)
	if int32(kafkasink.PartitionFor(key, s.nparts)) != r.Partition {
		s.rerouted++
		p.cfg.logger.Warn("kafkachain: event keyed to the wrong partition; re-producing it under its tenant",
			"tenant_id", tenant, "partition", r.Partition, "offset", r.Offset)
		return append(out, &kgo.Record{Topic: p.cfg.events, Key: key, Value: r.Value})
	}
	if s.seen(tenant, auditID) {
		s.dups++
		return out
	}
	v := s.view(tenant, r.Partition)
	if !v.head.Exists() {
		g := chain.Genesis(tenant, p.cfg.newID(now), now)
		b, err := canonical.Marshal(g)
		if err != nil {
			s.malformed++
			p.cfg.logger.Warn("kafkachain: cannot encode a genesis record", "tenant_id", tenant, "error", err)
			return out
		}
		out = append(out, &kgo.Record{Topic: p.cfg.records, Key: key, Value: b})
		v.head, _ = chain.HeadOf(g)
		s.geneses++
		out = s.counted(v, now, out)
	}
	rec, head, err := s.linker.LinkPrepared(v.head, now)
	if err != nil {
		s.malformed++
		p.cfg.logger.Warn("kafkachain: skipping an event that cannot be chained",
			"partition", r.Partition, "offset", r.Offset, "error", err)
		return out
	}
	out = append(out, &kgo.Record{Topic: p.cfg.records, Key: key, Value: bytes.Clone(rec)})
	v.head = head
	if auditID != "" {
		v.ids = append(v.ids, auditID)
		v.idset[auditID] = struct{}{}
	}
	s.chained++
	return s.counted(v, now, out)
}

// counted notes one more record of v's tenant and adds a checkpoint when
// one is due.
func (s *state) counted(v *pendingTenant, now time.Time, out []*kgo.Record) []*kgo.Record {
	if s.p.cfg.signer == nil {
		return out
	}
	v.sinceSign++
	if v.sinceSign < s.p.cfg.every {
		return out
	}
	return s.checkpoint(v, now, out)
}

func (s *state) checkpoint(v *pendingTenant, now time.Time, out []*kgo.Record) []*kgo.Record {
	cp, err := chain.SignCheckpoint(s.p.cfg.signer, v.head, now)
	var b []byte
	if err == nil {
		b, err = cp.MarshalJSON()
	}
	if err != nil {
		s.p.checkpointErrs.Add(1)
		s.p.cfg.logger.Warn("kafkachain: checkpoint failed", "tenant_id", v.head.TenantID, "error", err)
		return out
	}
	v.sinceSign, v.signedUpTo, v.signed = 0, v.head.Sequence, true
	s.checkpoints++
	return append(out, &kgo.Record{Topic: s.p.cfg.checkpoints, Key: []byte(v.head.TenantID), Value: b})
}

// timerCheckpoints signs every tenant whose head moved since its last
// checkpoint.
func (s *state) timerCheckpoints(now time.Time, out []*kgo.Record) []*kgo.Record {
	for tenant, t := range s.tenants {
		if !s.recovered[t.partition] {
			continue
		}
		v := s.view(tenant, t.partition)
		if v.head.Exists() && (!v.signed || v.head.Sequence > v.signedUpTo) {
			out = s.checkpoint(v, now, out)
		}
	}
	for _, v := range s.pending {
		if v.head.Exists() && (!v.signed || v.head.Sequence > v.signedUpTo) {
			out = s.checkpoint(v, now, out)
		}
	}
	return out
}

// recover reads records partition part (and checkpoints partition part) to
// its end and installs every tenant's head, dedup window and checkpoint
// position.
func (p *Processor) recover(ctx context.Context, adm *kadm.Client, st *state, part int32) error {
	rctx, cancel := context.WithTimeout(ctx, p.cfg.recoveryTimeout)
	defer cancel()
	for tenant, t := range st.tenants {
		if t.partition == part {
			delete(st.tenants, tenant)
		}
	}
	err := p.scan(rctx, adm, p.cfg.records, part, func(r *kgo.Record) error {
		head, id, err := chain.RecordInfo(r.Value)
		if err != nil {
			return fmt.Errorf("%s/%d offset %d: %w", p.cfg.records, part, r.Offset, err)
		}
		t := st.tenants[head.TenantID]
		if t == nil {
			t = &tenantState{set: map[string]int{}, partition: part}
			st.tenants[head.TenantID] = t
		}
		t.head = head
		t.remember(id, p.cfg.dedup)
		return nil
	})
	if err != nil {
		return err
	}
	if p.cfg.signer != nil {
		err = p.scan(rctx, adm, p.cfg.checkpoints, part, func(r *kgo.Record) error {
			cp, err := chain.ParseCheckpoint(r.Value)
			if err != nil {
				return nil // not ours to judge; the verifier reports it
			}
			if t := st.tenants[cp.TenantID]; t != nil && (!t.signed || cp.Sequence > t.signedUpTo) {
				t.signedUpTo, t.signed = cp.Sequence, true
			}
			return nil
		})
		if err != nil {
			return err
		}
		for _, t := range st.tenants {
			if t.partition != part {
				continue
			}
			if t.signed {
				t.sinceSign = int(max(t.head.Sequence-t.signedUpTo, 0))
			} else {
				t.sinceSign = int(t.head.Sequence + 1)
			}
		}
	}
	st.recovered[part] = true
	p.recoveries.Add(1)
	return nil
}

// scan calls fn for every committed data record of topic/part, from the
// start to the end offset at the time of the call. It first waits until the
// partition has no open transaction (its last stable offset reaches the
// high watermark): only this processor writes the partition and its own
// earlier incarnations were fenced, so that happens at once unless some
// other producer misbehaves.
func (p *Processor) scan(ctx context.Context, adm *kadm.Client, topic string, part int32, fn func(*kgo.Record) error) error {
	var start, end int64
	for {
		starts, err := adm.ListStartOffsets(ctx, topic)
		if err != nil {
			return fmt.Errorf("listing start offsets: %w", err)
		}
		ends, err := adm.ListEndOffsets(ctx, topic)
		if err != nil {
			return fmt.Errorf("listing end offsets: %w", err)
		}
		stables, err := adm.ListCommittedOffsets(ctx, topic)
		if err != nil {
			return fmt.Errorf("listing stable offsets: %w", err)
		}
		s, ok1 := starts.Lookup(topic, part)
		e, ok2 := ends.Lookup(topic, part)
		l, ok3 := stables.Lookup(topic, part)
		if !ok1 || !ok2 || !ok3 || s.Err != nil || e.Err != nil || l.Err != nil {
			return fmt.Errorf("no offsets for %s/%d: %v", topic, part, errors.Join(s.Err, e.Err, l.Err))
		}
		start, end = s.Offset, e.Offset
		if l.Offset >= e.Offset {
			break
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s/%d has an open transaction from another producer: %w", topic, part, ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
	if start >= end {
		return nil
	}
	opts := append([]kgo.Opt{
		kgo.SeedBrokers(p.cfg.seeds...),
		kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{topic: {part: kgo.NewOffset().AtStart()}}),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()),
		kgo.KeepControlRecords(),
	}, p.cfg.clientOpts...)
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return err
	}
	defer cl.Close()
	for {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			return fmt.Errorf("reading %s/%d: %w", topic, part, ctx.Err())
		}
		if err := fs.Err0(); err != nil {
			return fmt.Errorf("reading %s/%d: %w", topic, part, err)
		}
		done := false
		var ferr error
		fs.EachRecord(func(r *kgo.Record) {
			if done || ferr != nil || r.Offset >= end {
				done = true
				return
			}
			if !r.Attrs.IsControl() {
				ferr = fn(r)
			}
			if r.Offset == end-1 {
				done = true
			}
		})
		if ferr != nil {
			return ferr
		}
		if done {
			return nil
		}
	}
}
