package pipeline

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/socwarden/warden/audit/chain"
	"github.com/socwarden/warden/audit/chain/kafkachain"
)

// TopicCheckpoints receives the chaining service's signed checkpoints.
const TopicCheckpoints = kafkachain.DefaultCheckpointsTopic

// ChainService runs the exactly-once chaining processor (audit/chain/
// kafkachain) over audit.events → audit.records in the background, signing
// a checkpoint of every tenant's chain head on each commit it is due.
type ChainService struct {
	k    *Kafka
	proc *kafkachain.Processor
	pub  ed25519.PublicKey
	done chan error // receives Run's result once
}

// chainPollEvery is how often WaitCaughtUp looks at the group's committed
// offsets; the processor offers no notification.
const chainPollEvery = 20 * time.Millisecond

// ChainCheckpointInterval is how often the processor signs a checkpoint for
// every tenant whose chain head moved since its last one.
const ChainCheckpointInterval = 100 * time.Millisecond

// StartChain starts the processor. signer signs checkpoints (every
// checkpointEvery records of a tenant and every ChainCheckpointInterval);
// its public key verifies them.
func StartChain(ctx context.Context, k *Kafka, signer ed25519.PrivateKey, checkpointEvery int, logger *slog.Logger) (*ChainService, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	proc, err := kafkachain.New(k.Seeds, kafkachain.WithCheckpointSigner(signer),
		kafkachain.WithCheckpointEvery(checkpointEvery), kafkachain.WithCheckpointInterval(ChainCheckpointInterval),
		kafkachain.WithLogger(logger))
	if err != nil {
		return nil, err
	}
	c := &ChainService{k: k, proc: proc, pub: signer.Public().(ed25519.PublicKey), done: make(chan error, 1)}
	go func() { c.done <- proc.Run(ctx) }()
	return c, nil
}

// PublicKey verifies the service's checkpoints.
func (c *ChainService) PublicKey() ed25519.PublicKey { return c.pub }

// Stats are the processor's counters.
func (c *ChainService) Stats() kafkachain.Stats { return c.proc.Stats() }

// WaitCaughtUp returns once the processor has committed every event that is
// on audit.events now (later events do not delay it) and then ended two
// more transactions, or with an error when the processor stopped or ctx
// ended first. With no events left to read, a later transaction is a timer
// transaction, which signs a checkpoint of every head that moved: the
// chains' tails are then covered.
func (c *ChainService) WaitCaughtUp(ctx context.Context) error {
	ends, err := c.k.EndOffsets(ctx, TopicEvents)
	if err != nil {
		return err
	}
	if err := c.waitFor(ctx, func(ctx context.Context) (bool, error) { return c.committed(ctx, ends) }); err != nil {
		return err
	}
	base := c.proc.Stats().Committed
	return c.waitFor(ctx, func(context.Context) (bool, error) { return c.proc.Stats().Committed >= base+2, nil })
}

// waitFor polls cond until it holds.
func (c *ChainService) waitFor(ctx context.Context, cond func(context.Context) (bool, error)) error {
	t := time.NewTicker(chainPollEvery)
	defer t.Stop()
	for {
		done, err := cond(ctx)
		if err != nil {
			return err
		}
		if done {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("chaining did not catch up: %w", ctx.Err())
		case err := <-c.done:
			c.done <- err
			return fmt.Errorf("chaining service stopped: %v", err)
		case <-t.C:
		}
	}
}

// committed reports whether the processor's group committed every offset
// below ends.
func (c *ChainService) committed(ctx context.Context, ends map[int32]int64) (bool, error) {
	committed, err := c.k.admin.FetchOffsets(ctx, kafkachain.DefaultGroup)
	if errors.Is(err, kerr.GroupIDNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	for p, end := range ends {
		o, ok := committed.Lookup(TopicEvents, p)
		if end > 0 && (!ok || o.At < end) {
			return false, nil
		}
	}
	return true, nil
}

// Stop asks the processor to finish its current transaction and waits for it.
func (c *ChainService) Stop(ctx context.Context) error {
	c.proc.Stop()
	select {
	case err := <-c.done:
		c.done <- err
		if errors.Is(err, context.Canceled) {
			return nil
		}
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// ChainReport is the verification of the whole chained trail.
type ChainReport struct {
	chain.Report
	// RecordsByTenant counts the chained records (genesis included).
	RecordsByTenant map[string]int
}

// VerifyTrail reads audit.records and audit.checkpoints and verifies every
// tenant's chain (or only tenant's, when it is not empty) from its genesis,
// every checkpoint signature against keys, and — for all tenants — the
// producers' sequences (a gap is a lost event). If out is not nil the
// records and then the checkpoints are written to it as JSON lines, the
// input of `warden verify`.
func VerifyTrail(ctx context.Context, k *Kafka, out io.Writer, tenant string, keys ...ed25519.PublicKey) (ChainReport, error) {
	v := chain.NewStreamVerifier(chain.WithPublicKeys(keys...), chain.VerifyFromGenesis())
	rep := ChainReport{RecordsByTenant: map[string]int{}}
	var werr error
	write := func(b []byte) {
		if out != nil && werr == nil {
			_, werr = out.Write(append(b[:len(b):len(b)], '\n'))
		}
	}
	// A tenant's records are in one partition, in order, which is all the
	// stream verifier needs; partitions may interleave.
	err := k.ReadAll(ctx, TopicRecords, func(r *kgo.Record) {
		if tenant != "" && string(r.Key) != tenant {
			return
		}
		v.AddJSON(r.Value)
		rep.RecordsByTenant[string(r.Key)]++
		write(r.Value)
	})
	if err != nil {
		return rep, err
	}
	err = k.ReadAll(ctx, TopicCheckpoints, func(r *kgo.Record) {
		if tenant != "" && string(r.Key) != tenant {
			return
		}
		cp, perr := chain.ParseCheckpoint(r.Value)
		if perr != nil {
			v.AddJSON(r.Value) // reported as malformed
			return
		}
		v.AddCheckpoint(cp)
		write(r.Value)
	})
	if err != nil {
		return rep, err
	}
	rep.Report = v.Report()
	return rep, werr
}
