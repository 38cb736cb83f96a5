package kafkaio_test

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/socwarden/warden/entityparser"
	"github.com/socwarden/warden/entityparser/kafkaio"
)

// The entity parser between Kafka topics: raw alerts are consumed from
// alerts.raw by the parser's consumer group, valid ones are published to
// alerts.normalized keyed by alert id, the invalid one goes to
// alerts.raw.dlq, and the group commits exactly the handled records. An
// in-process kfake cluster stands in for the brokers; in production the
// clients get the real seed brokers (plus TLS/SASL options).
func Example() {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cluster, err := kfake.NewCluster(kfake.NumBrokers(1),
		kfake.SeedTopics(1, entityparser.DefaultRawTopic, entityparser.DefaultNormalizedTopic, entityparser.DefaultDeadLetterTopic))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer cluster.Close()
	seeds := kgo.SeedBrokers(cluster.ListenAddrs()...)

	producer, err := kgo.NewClient(seeds)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer producer.Close()
	alert := func(id, ip string) []byte {
		b, _ := json.Marshal(map[string]any{"alert_id": id, "source": "sentinel", "timestamp": "2025-01-15T10:00:00Z",
			"title": "Suspicious sign-in", "description": "d", "severity": "medium",
			"entities_raw": `[{"Type":"ip","Address":"` + ip + `"}]`})
		return b
	}
	for _, v := range [][]byte{alert("a-1", "10.0.0.1"), []byte("not json"), alert("a-2", "10.0.0.2")} {
		if err := producer.ProduceSync(ctx, &kgo.Record{Topic: entityparser.DefaultRawTopic, Value: v}).FirstErr(); err != nil {
			fmt.Println(err)
			return
		}
	}

	consumerClient, err := kgo.NewClient(append(kafkaio.ConsumerOpts(kafkaio.Config{}), seeds)...)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer consumerClient.Close()
	consumer, _ := kafkaio.NewConsumer(consumerClient)
	publisher, _ := kafkaio.NewPublisher(producer)
	parser, _ := entityparser.New()

	// parser.Run(ctx, consumer, publisher) runs this loop until ctx ends; the
	// example drives it by hand so that it stops after the three records.
	for handled := 0; handled < 3; {
		recs, err := consumer.Poll(ctx)
		if err != nil {
			fmt.Println(err)
			return
		}
		for _, rec := range recs {
			if err := parser.Handle(ctx, rec, consumer, publisher); err != nil {
				fmt.Println(err)
				return
			}
			handled++
		}
	}
	st := parser.Stats()
	fmt.Println("published", st.Published, "dead-lettered", st.DeadLettered)

	reader, err := kgo.NewClient(seeds, kgo.ConsumeTopics(entityparser.DefaultNormalizedTopic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer reader.Close()
	for read := 0; read < 2; {
		fetches := reader.PollFetches(ctx)
		if ctx.Err() != nil {
			fmt.Println(ctx.Err())
			return
		}
		fetches.EachRecord(func(r *kgo.Record) {
			var out struct {
				ParsedEntities json.RawMessage `json:"parsed_entities"`
			}
			_ = json.Unmarshal(r.Value, &out)
			var ents entityparser.Entities
			_ = json.Unmarshal(out.ParsedEntities, &ents)
			fmt.Print(r.Topic, " ", string(r.Key))
			for _, ip := range ents.IPs {
				fmt.Print(" ", ip.PrimaryValue)
			}
			fmt.Println()
			read++
		})
	}

	offsets, err := kadm.NewClient(producer).FetchOffsets(ctx, kafkaio.DefaultGroup)
	if err != nil {
		fmt.Println(err)
		return
	}
	committed, _ := offsets.Lookup(entityparser.DefaultRawTopic, 0)
	fmt.Println("committed offset of", kafkaio.DefaultGroup, committed.At)
	// Output:
	// published 2 dead-lettered 1
	// alerts.normalized a-1 10.0.0.1
	// alerts.normalized a-2 10.0.0.2
	// committed offset of aluskort.entity-parser 3
}
