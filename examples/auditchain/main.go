// Command auditchain runs Warden's exactly-once chaining service: it
// consumes audit events from Kafka's audit.events, links each tenant's
// events into its hash chain, and produces the chained records to
// audit.records (and signed checkpoints to audit.checkpoints), committing
// offsets and records in one transaction.
//
//	go run ./examples/auditchain                          # embedded kfake cluster + a demo
//	go run ./examples/auditchain -brokers kafka:9092 -key warden-key
//
// With no -brokers it starts an in-process kfake cluster, says so, emits a
// few demo events through the audit Emitter and the Kafka sink, waits for
// them to be chained, and verifies audit.records. It then keeps running
// until interrupted (or exits at once with -once). Ctrl-C stops the
// processor gracefully, after its current transaction.
package main

import (
	"context"
	"crypto"
	"crypto/ed25519"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/socwarden/warden/audit"
	"github.com/socwarden/warden/audit/chain"
	"github.com/socwarden/warden/audit/chain/kafkachain"
	"github.com/socwarden/warden/audit/kafkasink"
	"github.com/socwarden/warden/taxonomy"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "auditchain:", err)
		os.Exit(1)
	}
}

type options struct {
	brokers, group, events, records, checkpoints, txnID, keyFile string
	partitions                                                   int
	demo                                                         int
	once                                                         bool
}

func parseFlags(args []string, stderr io.Writer) (options, error) {
	var o options
	fs := flag.NewFlagSet("auditchain", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.brokers, "brokers", "", "comma-separated seed brokers; empty starts an embedded kfake cluster")
	fs.StringVar(&o.group, "group", kafkachain.DefaultGroup, "consumer group")
	fs.StringVar(&o.events, "events", kafkachain.DefaultEventsTopic, "topic of audit events to chain")
	fs.StringVar(&o.records, "records", kafkachain.DefaultRecordsTopic, "topic of chained records")
	fs.StringVar(&o.checkpoints, "checkpoints", kafkachain.DefaultCheckpointsTopic, "topic of signed checkpoints")
	fs.StringVar(&o.txnID, "transactional-id", "", "transactional id (default: the group; unique per running instance)")
	fs.StringVar(&o.keyFile, "key", "", "Ed25519 private key file (hex seed, see 'warden keygen') to sign checkpoints; the embedded demo makes one")
	fs.IntVar(&o.partitions, "partitions", kafkasink.DefaultPartitions, "partitions when the topics have to be created")
	fs.IntVar(&o.demo, "demo", 20, "demo events to emit when running on the embedded cluster")
	fs.BoolVar(&o.once, "once", false, "stop after the demo (embedded cluster) or at once after start-up")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	return o, nil
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	o, err := parseFlags(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	if err != nil {
		return err
	}
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	embedded := o.brokers == ""
	var seeds []string
	if embedded {
		cluster, err := kfake.NewCluster(kfake.NumBrokers(1))
		if err != nil {
			return fmt.Errorf("starting the embedded cluster: %w", err)
		}
		defer cluster.Close()
		seeds = cluster.ListenAddrs()
		fmt.Fprintf(stdout, "no -brokers given: started an embedded kfake cluster at %s (data is lost on exit)\n", strings.Join(seeds, ","))
	} else {
		seeds = strings.Split(o.brokers, ",")
	}

	signer, pub, err := loadSigner(o.keyFile, embedded, stdout)
	if err != nil {
		return err
	}
	admClient, err := kgo.NewClient(kgo.SeedBrokers(seeds...))
	if err != nil {
		return err
	}
	defer admClient.Close()
	adm := kadm.NewClient(admClient)
	topicOpts := []kafkachain.Option{kafkachain.WithEventsTopic(o.events), kafkachain.WithRecordsTopic(o.records),
		kafkachain.WithCheckpointsTopic(o.checkpoints)}
	if err := kafkachain.EnsureTopics(ctx, adm, int32(o.partitions), topicOpts...); err != nil {
		return fmt.Errorf("creating topics: %w", err)
	}

	opts := append(topicOpts, kafkachain.WithGroup(o.group), kafkachain.WithLogger(logger),
		kafkachain.WithClientOptions(kgo.FetchMaxWait(time.Second)))
	if o.txnID != "" {
		opts = append(opts, kafkachain.WithTransactionalID(o.txnID))
	}
	if signer != nil {
		opts = append(opts, kafkachain.WithCheckpointSigner(signer))
		if embedded {
			opts = append(opts, kafkachain.WithCheckpointEvery(5))
		}
	}
	p, err := kafkachain.New(seeds, opts...)
	if err != nil {
		return err
	}
	// The processor's own context is not the signal context: Ctrl-C asks
	// for a graceful Stop instead of abandoning a transaction.
	runCtx, cancelRun := context.WithCancel(context.Background())
	defer cancelRun()
	done := make(chan error, 1)
	go func() { done <- p.Run(runCtx) }()
	fmt.Fprintf(stdout, "chaining %s -> %s (group %s)\n", o.events, o.records, o.group)

	if embedded && o.demo > 0 {
		if err := demo(ctx, seeds, adm, p, o, pub, stdout, done); err != nil {
			p.Stop()
			<-done
			return err
		}
	}
	if !o.once {
		select {
		case <-ctx.Done():
			fmt.Fprintln(stdout, "stopping after the current transaction")
		case err := <-done:
			return err
		}
	}
	p.Stop()
	err = <-done
	st := p.Stats()
	fmt.Fprintf(stdout, "stopped: %d records chained, %d geneses, %d transactions, %d checkpoints\n",
		st.Chained, st.Geneses, st.Committed, st.Checkpoints)
	return err
}

// loadSigner reads the checkpoint key, or makes a throwaway one for the
// embedded demo.
func loadSigner(path string, embedded bool, stdout io.Writer) (crypto.Signer, ed25519.PublicKey, error) {
	if path == "" {
		if !embedded {
			return nil, nil, nil
		}
		pub, priv, err := ed25519.GenerateKey(nil)
		if err != nil {
			return nil, nil, err
		}
		fmt.Fprintf(stdout, "signing checkpoints with a throwaway key %s (use -key with a real one)\n", chain.KeyID(pub))
		return priv, pub, nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, err
	}
	seed, err := hex.DecodeString(strings.TrimSpace(string(b)))
	if err != nil || len(seed) != ed25519.SeedSize {
		return nil, nil, fmt.Errorf("%s: not a hex Ed25519 seed", path)
	}
	priv := ed25519.NewKeyFromSeed(seed)
	return priv, priv.Public().(ed25519.PublicKey), nil
}

// demo emits events, waits until they are chained, and verifies the
// records and checkpoints on the topics.
func demo(ctx context.Context, seeds []string, adm *kadm.Client, p *kafkachain.Processor, o options,
	pub ed25519.PublicKey, stdout io.Writer, done <-chan error) error {
	sink, err := kafkasink.NewFromSeeds(seeds, kafkasink.WithTopic(o.events))
	if err != nil {
		return err
	}
	em, err := audit.New(sink, audit.WithSourceService("auditchain-demo"))
	if err != nil {
		return err
	}
	tenants := []string{"tenant-alpha", "tenant-beta", "system"}
	for i := range o.demo {
		em.Emit(audit.Event{TenantID: tenants[i%len(tenants)], Type: taxonomy.AlertClassified,
			ActorType: taxonomy.ActorAgent, ActorID: "triage", InvestigationID: fmt.Sprintf("inv-%d", i%4),
			Decision: audit.Fields{audit.KeyClassification: "true_positive", audit.KeyConfidence: 0.9}})
	}
	if err := em.Close(ctx); err != nil {
		return fmt.Errorf("emitting demo events: %w", err)
	}
	fmt.Fprintf(stdout, "emitted %d demo events to %s\n", o.demo, o.events)
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for p.Stats().Chained < uint64(o.demo) {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case err := <-done:
			return fmt.Errorf("processor stopped: %v", err)
		case <-tick.C:
		}
	}
	sv := chain.NewStreamVerifier(chain.VerifyFromGenesis(), chain.WithPublicKeys(pub))
	for _, topic := range []string{o.checkpoints, o.records} {
		if err := readTopic(ctx, seeds, adm, topic, sv.AddJSON); err != nil {
			return err
		}
	}
	rep := sv.Report()
	fmt.Fprintf(stdout, "%s: %s, %d records of %d tenants, %d checkpoints\n", o.records, rep.Status, rep.Records, len(rep.Tenants), rep.Checkpoints)
	if rep.Status != chain.StatusValid {
		return fmt.Errorf("audit.records does not verify: %+v", rep)
	}
	return nil
}

// readTopic passes every committed record of a topic to fn, partition by
// partition, up to the end offsets at the time of the call.
func readTopic(ctx context.Context, seeds []string, adm *kadm.Client, topic string, fn func([]byte)) error {
	ends, err := adm.ListEndOffsets(ctx, topic)
	if err != nil {
		return err
	}
	var rerr error
	ends.Each(func(e kadm.ListedOffset) {
		if rerr != nil || e.Offset == 0 {
			return
		}
		cl, err := kgo.NewClient(kgo.SeedBrokers(seeds...), kgo.FetchIsolationLevel(kgo.ReadCommitted()),
			kgo.KeepControlRecords(),
			kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{topic: {e.Partition: kgo.NewOffset().AtStart()}}))
		if err != nil {
			rerr = err
			return
		}
		defer cl.Close()
		for reached := false; !reached; {
			fs := cl.PollFetches(ctx)
			if err := fs.Err0(); err != nil {
				rerr = err
				return
			}
			fs.EachRecord(func(r *kgo.Record) {
				if !r.Attrs.IsControl() {
					fn(r.Value)
				}
				reached = reached || r.Offset >= e.Offset-1
			})
		}
	})
	return rerr
}
