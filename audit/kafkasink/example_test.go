package kafkasink_test

import (
	"context"
	"fmt"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/socwarden/warden/audit"
	"github.com/socwarden/warden/audit/kafkasink"
	"github.com/socwarden/warden/taxonomy"
)

// The host builds one Emitter over the Kafka sink and hands it to every
// service. Here the broker is kfake, in process; in production only the
// seed brokers change.
func Example() {
	cluster, err := kfake.NewCluster(kfake.NumBrokers(1))
	if err != nil {
		panic(err)
	}
	defer cluster.Close()
	seeds := cluster.ListenAddrs()
	ctx := context.Background()

	admin, err := kgo.NewClient(kgo.SeedBrokers(seeds...))
	if err != nil {
		panic(err)
	}
	defer admin.Close()
	if err := kafkasink.EnsureTopic(ctx, kadm.NewClient(admin)); err != nil {
		panic(err)
	}

	sink, err := kafkasink.NewFromSeeds(seeds)
	if err != nil {
		panic(err)
	}
	em, err := audit.New(sink, audit.WithSourceService("example"))
	if err != nil {
		panic(err)
	}
	for _, tenant := range []string{"tenant-alpha", "tenant-beta"} {
		em.Emit(audit.Event{TenantID: tenant, Type: taxonomy.AlertClassified,
			ActorType: taxonomy.ActorAgent, ActorID: "orchestrator"})
	}
	if err := em.Close(ctx); err != nil { // flushes, then closes the sink's client
		panic(err)
	}
	st := em.Stats()
	fmt.Println("delivered", st.Delivered, "dropped", st.Dropped, "failed", st.Failed)
	// Each tenant always lands in the same partition, as with the reference
	// platform's producers.
	fmt.Println("tenant-alpha → partition", kafkasink.PartitionFor([]byte("tenant-alpha"), kafkasink.DefaultPartitions))
	fmt.Println("tenant-beta  → partition", kafkasink.PartitionFor([]byte("tenant-beta"), kafkasink.DefaultPartitions))
	// Output:
	// delivered 2 dropped 0 failed 0
	// tenant-alpha → partition 0
	// tenant-beta  → partition 3
}
