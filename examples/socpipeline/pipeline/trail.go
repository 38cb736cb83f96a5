package pipeline

import (
	"context"
	"fmt"
	"io"
	"maps"
	"slices"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/socwarden/warden/audit"
	"github.com/socwarden/warden/audit/kafkasink"
	"github.com/socwarden/warden/taxonomy"
)

// Trail is what a topic of the audit trail holds, read back from Kafka.
type Trail struct {
	Topic     string
	Records   []audit.Record // decoded, in partition order
	Raw       [][]byte       // the values as stored
	ByType    map[taxonomy.EventType]int
	ByService map[string]int
	ByTenant  map[string]int
	// Misplaced counts records whose key is not their tenant_id or whose
	// partition is not crc32(key) mod partitions: the chain relies on both.
	Misplaced int
	// Undecodable counts values that are not audit records.
	Undecodable int
	// Seq tracks producer_seq per producer: a gap is a lost event.
	Seq *audit.SeqTracker
}

// Missing is the number of producer_seq numbers that never arrived, over
// every producer.
func (t *Trail) Missing() uint64 {
	var n uint64
	for _, p := range t.Seq.Producers() {
		n += t.Seq.MissingCount(p)
	}
	return n
}

// ReadTrail reads an audit topic from the given offsets (nil: from the
// beginning) and tallies it.
func ReadTrail(ctx context.Context, k *Kafka, topic string, from map[int32]int64) (*Trail, error) {
	t := &Trail{Topic: topic, ByType: map[taxonomy.EventType]int{}, ByService: map[string]int{},
		ByTenant: map[string]int{}, Seq: audit.NewSeqTracker()}
	var recs []*kgo.Record
	err := k.ReadFrom(ctx, topic, from, func(r *kgo.Record) { recs = append(recs, r) })
	if err != nil {
		return nil, err
	}
	n, err := k.Partitions(ctx, topic)
	if err != nil {
		return nil, err
	}
	for _, r := range recs {
		rec, err := audit.DecodeRecord(r.Value)
		if err != nil {
			t.Undecodable++
			continue
		}
		t.Records = append(t.Records, rec)
		t.Raw = append(t.Raw, r.Value)
		t.ByType[rec.EventType]++
		t.ByService[rec.SourceService]++
		t.ByTenant[rec.TenantID]++
		t.Seq.ObserveRecord(r.Value)
		if string(r.Key) != rec.TenantID || int(r.Partition) != kafkasink.PartitionFor(r.Key, n) {
			t.Misplaced++
		}
	}
	return t, nil
}

// Partitions returns topic's partition count.
func (k *Kafka) Partitions(ctx context.Context, topic string) (int, error) {
	td, err := k.admin.ListTopics(ctx, topic)
	if err != nil {
		return 0, err
	}
	d, ok := td[topic]
	if !ok || d.Err != nil {
		return 0, fmt.Errorf("topic %s: %v", topic, d.Err)
	}
	return len(d.Partitions), nil
}

// WriteCounts writes "name count" lines sorted by name, indented.
func WriteCounts[K ~string](w io.Writer, title string, m map[K]int) {
	fmt.Fprintf(w, "%s\n", title)
	keys := slices.Sorted(maps.Keys(m))
	width := 0
	for _, k := range keys {
		width = max(width, len(k))
	}
	for _, k := range keys {
		fmt.Fprintf(w, "  %-*s %5d\n", width, string(k), m[k])
	}
}
