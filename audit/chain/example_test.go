package chain_test

import (
	"context"
	"crypto/ed25519"
	"fmt"
	"time"

	"github.com/socwarden/warden/audit"
	"github.com/socwarden/warden/audit/chain"
	"github.com/socwarden/warden/taxonomy"
)

// An Emitter whose sink is a Chainer hash-chains each tenant's events in
// process; Verify re-checks the stored chain, and the signed checkpoints
// reveal a chain whose tail was cut off.
func Example() {
	ctx := context.Background()
	clock := func() time.Time { return time.Date(2026, 3, 2, 8, 0, 0, 0, time.UTC) }
	seed := make([]byte, ed25519.SeedSize) // the host's key; fixed here for a stable output
	key := ed25519.NewKeyFromSeed(seed)

	store := chain.NewMemoryStore()
	chainer, err := chain.New(store, chain.WithClock(clock),
		chain.WithCheckpointSigner(key), chain.WithCheckpointEvery(2))
	if err != nil {
		panic(err)
	}
	em, err := audit.New(chainer, audit.WithClock(clock))
	if err != nil {
		panic(err)
	}
	for i := range 3 {
		em.Emit(audit.Event{TenantID: "tenant-alpha", Type: taxonomy.AlertClassified,
			ActorType: taxonomy.ActorAgent, ActorID: "triage", Context: audit.Fields{"n": i}})
	}
	if err := em.Close(ctx); err != nil { // closes the Chainer too: a final checkpoint
		panic(err)
	}

	records, _ := store.Range(ctx, "tenant-alpha", 0, -1)
	for _, r := range records {
		fmt.Println(r["sequence_number"], r["event_type"])
	}
	checkpoints, _ := store.Checkpoints(ctx, "tenant-alpha")
	trusted := chain.WithPublicKeys(key.Public().(ed25519.PublicKey))

	res := chain.Verify(records, chain.VerifyFromGenesis(), chain.WithCheckpoints(checkpoints...), trusted)
	fmt.Println(res.Status, res.Checked, "records,", res.CheckpointsChecked, "checkpoints")

	res = chain.Verify(records[:3], chain.WithCheckpoints(checkpoints...), trusted)
	fmt.Println(res.Status, res.Errors[0].Kind)
	// Output:
	// 0 system.genesis
	// 1 alert.classified
	// 2 alert.classified
	// 3 alert.classified
	// valid 4 records, 2 checkpoints
	// invalid truncated
}

// LinkJSON and StreamVerifier work on encoded records, as the warden CLI
// and the Kafka processor do.
func ExampleStreamVerifier() {
	now := time.Date(2026, 3, 2, 8, 0, 0, 0, time.UTC)
	g := chain.Genesis("t1", "019cad8f-ac00-7000-8000-000000000000", now)
	head, _ := chain.HeadOf(g)
	event := []byte(`{"audit_id":"019cad8f-ac01-7000-8000-000000000001","event_type":"alert.classified","producer_id":"p","producer_seq":2,"tenant_id":"t1","timestamp":"2026-03-02T08:00:00.000Z"}`)
	rec, head, err := chain.LinkJSON(event, head, now)
	if err != nil {
		panic(err)
	}
	fmt.Println(head.Sequence, string(rec[:60])+"...")

	sv := chain.NewStreamVerifier()
	sv.AddRecord(g)
	sv.AddJSON(rec)
	rep := sv.Report()
	fmt.Println(rep.Status, rep.Records, rep.ProducerGaps[0].ProducerID, rep.ProducerGaps[0].Missing)
	// Output:
	// 1 {"audit_id":"019cad8f-ac01-7000-8000-000000000001","event_ty...
	// valid 2 p [{1 1}]
}
