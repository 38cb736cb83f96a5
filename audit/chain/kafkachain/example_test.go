package kafkachain_test

import (
	"context"
	"fmt"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/socwarden/warden/audit"
	"github.com/socwarden/warden/audit/chain/kafkachain"
	"github.com/socwarden/warden/audit/kafkasink"
	"github.com/socwarden/warden/taxonomy"
)

// Producers emit to audit.events through the Kafka sink; the processor
// chains every tenant's events into audit.records, exactly once.
func Example() {
	ctx := context.Background()
	cluster, _ := kfake.NewCluster(kfake.NumBrokers(1)) // a real cluster's seeds in production
	defer cluster.Close()
	seeds := cluster.ListenAddrs()
	admClient, _ := kgo.NewClient(kgo.SeedBrokers(seeds...))
	defer admClient.Close()
	if err := kafkachain.EnsureTopics(ctx, kadm.NewClient(admClient), 4); err != nil {
		panic(err)
	}

	sink, _ := kafkasink.NewFromSeeds(seeds)
	em, _ := audit.New(sink)
	for i := range 10 {
		em.Emit(audit.Event{TenantID: []string{"tenant-alpha", "tenant-beta"}[i%2], Type: taxonomy.AlertClassified,
			ActorType: taxonomy.ActorAgent, ActorID: "triage"})
	}
	_ = em.Close(ctx)

	p, err := kafkachain.New(seeds, kafkachain.WithClientOptions(kgo.FetchMaxWait(100*time.Millisecond)))
	if err != nil {
		panic(err)
	}
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	for p.Stats().Chained < 10 {
		time.Sleep(10 * time.Millisecond) // a host would watch its metrics instead
	}
	p.Stop()
	if err := <-done; err != nil {
		panic(err)
	}
	st := p.Stats()
	fmt.Println("chained", st.Chained, "geneses", st.Geneses)
	// Output: chained 10 geneses 2
}
