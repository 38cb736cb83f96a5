// Command socpipeline runs Warden's SOC pipeline end to end on an embedded
// Kafka cluster, with no flags and no external services:
//
//	go run ./examples/socpipeline
//
// It starts an in-process Kafka broker (franz-go's kfake), creates the
// audit.events and audit.records topics, builds one audit.Emitter over the
// Kafka sink and hands it to every service. Sample alerts from five SIEMs
// are triaged, investigated and answered (a human approval gate guards every
// disruptive action), scanner findings are scored and assigned, AI-system
// telemetry runs through the ATLAS rules — and then the audit trail is read
// back from Kafka and summarised: events per type and per service, losses
// (there are none), wall time.
//
// Time that must pass in the story (approval windows, a breaker's recovery
// timeout) passes on an injected clock: the output says so, and the run
// takes seconds.
//
// Flags:
//
//	-brokers host:port,...  run against a real Kafka cluster instead
//	-approve                decide tier-2 approvals yourself at the terminal
//	-jsonl FILE             also write the audit records to FILE
//	-key FILE               Ed25519 seed signing the chain checkpoints (created if missing)
//	-llm anthropic|openai   a real model instead of the offline analyst
package main

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"os"
	"os/signal"
	"slices"
	"strings"
	"time"

	"github.com/socwarden/warden/audit"
	"github.com/socwarden/warden/audit/chain"
	"github.com/socwarden/warden/audit/chain/kafkachain"
	"github.com/socwarden/warden/audit/kafkasink"
	"github.com/socwarden/warden/examples/socpipeline/pipeline"
	"github.com/socwarden/warden/response"
)

// options are the command's flags.
type options struct {
	brokers []string
	approve bool
	jsonl   string
	timeout time.Duration
	llm     string
	// keyFile holds the Ed25519 seed that signs checkpoints; empty means a
	// fresh key per run.
	keyFile string
	// start is where the injected clock starts; zero means now. Tests fix
	// it to compare runs.
	start time.Time
	// runID names this run in investigation and approval ids; empty means a
	// random one (runs sharing a cluster need distinct ids).
	runID string
}

// closeTimeout bounds the final flush of the audit Emitter.
const closeTimeout = 10 * time.Second

func main() {
	var o options
	var brokers string
	flag.StringVar(&brokers, "brokers", "", "comma-separated seed brokers of a real Kafka cluster (default: an in-process kfake cluster)")
	flag.BoolVar(&o.approve, "approve", false, "decide tier-2 approvals at the terminal (default: a scripted reviewer)")
	flag.StringVar(&o.jsonl, "jsonl", "", "also write the audit records to this file (JSON lines)")
	flag.DurationVar(&o.timeout, "timeout", 50*time.Second, "give up after this long")
	flag.StringVar(&o.keyFile, "key", "", "file with the hex Ed25519 seed that signs chain checkpoints, created if missing "+
		"(default: a fresh key per run; give one with -brokers so later runs can verify earlier checkpoints)")
	flag.StringVar(&o.llm, "llm", pipeline.LLMOffline, "LLM provider: offline (deterministic, no network), anthropic ("+
		pipeline.EnvAnthropicKey+", "+pipeline.EnvAnthropicBase+") or openai ("+pipeline.EnvOpenAIKey+", "+pipeline.EnvOpenAIBase+")")
	flag.Parse()
	for _, b := range strings.Split(brokers, ",") {
		if b = strings.TrimSpace(b); b != "" {
			o.brokers = append(o.brokers, b)
		}
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if _, err := run(ctx, o, os.Stdin, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "socpipeline:", err)
		os.Exit(1)
	}
}

// report is what a run found, for the summary and for tests.
type report struct {
	result pipeline.Result
	stats  audit.Stats
	events *pipeline.Trail
	chain  pipeline.ChainReport
	// chainStats are the chaining service's counters.
	chainStats kafkachain.Stats
	keyID      string
	elapsed    time.Duration
}

// checkpointEvery is how many records of a tenant the chaining service
// chains between signed checkpoints (it also signs one when it stops).
const checkpointEvery = 25

// run runs the pipeline and writes progress to stderr and the summary to
// stdout.
func run(ctx context.Context, o options, stdin io.Reader, stdout, stderr io.Writer) (*report, error) {
	began := time.Now()
	if o.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, o.timeout)
		defer cancel()
	}
	progress := func(format string, args ...any) {
		fmt.Fprintf(stderr, "[%6.3fs] "+format+"\n", append([]any{time.Since(began).Seconds()}, args...)...)
	}
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))

	k, err := pipeline.StartKafka(ctx, o.brokers)
	if err != nil {
		return nil, err
	}
	defer k.Close()
	if k.Embedded {
		progress("started an in-process Kafka cluster (kfake, 1 broker) at %s", strings.Join(k.Seeds, ","))
	} else {
		progress("using the Kafka cluster at %s", strings.Join(k.Seeds, ","))
	}
	progress("topics ready: %s, %s and %s (%d partitions, key = tenant, CRC-32 partitioner; records kept forever)",
		pipeline.TopicEvents, pipeline.TopicRecords, pipeline.TopicCheckpoints, pipeline.DefaultPartitions)

	// On a real cluster audit.events may hold earlier runs' events: the
	// summary counts this run's only (its chains, though, are verified
	// whole, from every tenant's genesis).
	from, err := k.EndOffsets(ctx, pipeline.TopicEvents)
	if err != nil {
		return nil, err
	}
	signer, err := signingKey(o.keyFile)
	if err != nil {
		return nil, err
	}
	chainSvc, err := pipeline.StartChain(ctx, k, signer, checkpointEvery, logger)
	if err != nil {
		return nil, err
	}
	progress("exactly-once chaining service started: %s → %s, checkpoints signed with Ed25519 key %s",
		pipeline.TopicEvents, pipeline.TopicRecords, chain.KeyID(chainSvc.PublicKey()))

	start := o.start
	if start.IsZero() {
		start = time.Now().UTC().Truncate(time.Second)
	}
	clock := pipeline.NewClock(start)
	progress("injected clock starts at %s; approval windows and breaker timeouts pass on it, not in real time",
		clock.Now().Format(time.RFC3339))

	sink, err := kafkasink.NewFromSeeds(k.Seeds)
	if err != nil {
		return nil, err
	}
	em, err := audit.New(sink, audit.WithClock(clock.Now), audit.WithSourceService("socpipeline"), audit.WithLogger(logger))
	if err != nil {
		_ = sink.Close(ctx)
		return nil, err
	}
	progress("audit emitter %s → kafka %s", em.ProducerID(), pipeline.TopicEvents)

	var reviewer response.Approver
	if o.approve {
		reviewer = pipeline.NewTerminalReviewer(stdin, stderr, "terminal:"+currentUser(), response.RoleSeniorAnalyst)
		progress("tier-2 approvals will be asked at this terminal; tier-0/1 review gates are auto-granted by policy")
	} else {
		progress("tier-2 approvals are answered by a scripted reviewer (%s) or left to time out; -approve asks you instead",
			pipeline.ScriptedApprover)
	}

	runID := o.runID
	if runID == "" {
		var b [3]byte
		_, _ = rand.Read(b[:])
		runID = hex.EncodeToString(b[:])
	}
	res, runErr := pipeline.Run(ctx, pipeline.Config{Producer: em, Clock: clock, Reviewer: reviewer, Publisher: k, RunID: runID,
		Progress: prefixWriter{w: stderr, began: began}, Logger: logger, LLM: o.llm})

	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), closeTimeout)
	closeErr := em.Close(cctx)
	cancel()
	if err := errors.Join(runErr, closeErr); err != nil {
		return nil, err
	}
	st := em.Stats()
	progress("audit emitter closed: %d emitted, %d delivered, %d dropped, %d failed", st.Emitted, st.Delivered, st.Dropped, st.Failed)

	events, err := pipeline.ReadTrail(ctx, k, pipeline.TopicEvents, from)
	if err != nil {
		return nil, err
	}
	progress("read back %d events from %s", len(events.Records), pipeline.TopicEvents)

	if err := chainSvc.WaitCaughtUp(ctx); err != nil {
		return nil, err
	}
	if err := chainSvc.Stop(ctx); err != nil {
		return nil, fmt.Errorf("chaining service: %w", err)
	}
	cst := chainSvc.Stats()
	progress("chaining service caught up and stopped: %d records chained, %d genesis records, %d duplicates skipped, %d transactions, %d checkpoints",
		cst.Chained, cst.Geneses, cst.Duplicates, cst.Committed, cst.Checkpoints)

	var jsonl *os.File
	var out io.Writer
	if o.jsonl != "" {
		if jsonl, err = os.Create(o.jsonl); err != nil {
			return nil, err
		}
		defer jsonl.Close()
		out = jsonl
	}
	verified, err := pipeline.VerifyTrail(ctx, k, out, "", chainSvc.PublicKey())
	if err != nil {
		return nil, err
	}
	if jsonl != nil {
		if err := jsonl.Close(); err != nil {
			return nil, err
		}
		if err := writePublicKey(o.jsonl+".pub", signer); err != nil {
			return nil, err
		}
		progress("wrote %d records and %d checkpoints to %s, the checkpoint key to %s.pub; check them with: "+
			"go run ./examples/warden verify -pubkey %s.pub %s", verified.Records, verified.Checkpoints, o.jsonl, o.jsonl, o.jsonl, o.jsonl)
	}

	rep := &report{result: res, stats: st, events: events, chain: verified, chainStats: cst,
		keyID: chain.KeyID(chainSvc.PublicKey()), elapsed: time.Since(began)}
	rep.write(stdout)
	return rep, nil
}

// write prints the summary.
func (r *report) write(w io.Writer) {
	fmt.Fprintf(w, "\n=== Warden SOC pipeline: summary ===\n")
	r.writeResults(w)
	pipeline.WriteCounts(w, fmt.Sprintf("\naudit.events: %d events by type", len(r.events.Records)), r.events.ByType)
	pipeline.WriteCounts(w, "\nby service (source_service)", r.events.ByService)
	pipeline.WriteCounts(w, "\nby tenant", r.events.ByTenant)
	fmt.Fprintf(w, "\nlosses: emitter dropped=%d failed=%d invalid=%d; producer_seq gaps on the topic=%d; misplaced records=%d\n",
		r.stats.Dropped, r.stats.Failed, r.stats.Invalid, r.events.Missing(), r.events.Misplaced)
	r.writeChain(w)
	fmt.Fprintf(w, "wall time: %s\n", r.elapsed.Round(time.Millisecond))
}

func (r *report) writeResults(w io.Writer) {
	res := r.result
	states := map[string]int{}
	actions := 0
	for _, inv := range res.Investigations {
		states[inv.State]++
		for _, a := range inv.Actions {
			if a.Status == string(response.ActionExecuted) {
				actions++
			}
		}
	}
	outcomes := map[string]int{}
	for _, a := range res.Approvals {
		outcomes[a.Outcome]++
	}
	fmt.Fprintf(w, "investigations: %d (%s); actions executed: %d\n", len(res.Investigations), countList(states), actions)
	fmt.Fprintf(w, "approvals: %d (%s)\n", len(res.Approvals), countList(outcomes))
	fmt.Fprintf(w, "exposures: %d; ATLAS detections: %d; FP patterns: %d (%d new candidates pending review); playbook drafts: %d\n",
		len(res.Exposures), len(res.Detections), len(res.Patterns), pending(res.Patterns), len(res.Playbooks))
}

func pending(ps []pipeline.PatternOutcome) int {
	n := 0
	for _, p := range ps {
		if p.Status == "pending_review" {
			n++
		}
	}
	return n
}

// countList writes "k1 n1, k2 n2" sorted by key.
func countList(m map[string]int) string {
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(m)) {
		parts = append(parts, fmt.Sprintf("%s %d", k, m[k]))
	}
	return strings.Join(parts, ", ")
}

func (r *report) writeChain(w io.Writer) {
	c := r.chain
	fmt.Fprintf(w, "\naudit.records: %d chained records (%d new genesis), %d signed checkpoints (key %s); this run: %d chained, %d duplicates skipped\n",
		c.Records, r.chainStats.Geneses, c.Checkpoints, r.keyID, r.chainStats.Chained, r.chainStats.Duplicates)
	for _, t := range c.Tenants {
		fmt.Fprintf(w, "  %-10s %-14s sequence 0..%d, %d checkpoints checked\n", t.TenantID, t.Status, t.LastSequence, t.CheckpointsChecked)
	}
	gaps := uint64(0)
	for _, g := range c.ProducerGaps {
		gaps += g.MissingCount
	}
	fmt.Fprintf(w, "chain verification: %s (%d tenants, producer gaps %d, malformed lines %d)\n",
		c.Status, len(c.Tenants), gaps, c.MalformedCount)
}

// signingKey reads the hex Ed25519 seed (or 64-byte private key) in path,
// as `warden keygen` writes it, creating the file with a new seed (mode
// 0600) and path.pub with its public key when it does not exist; an empty
// path gives a fresh key that is not kept.
func signingKey(path string) (ed25519.PrivateKey, error) {
	if path == "" {
		_, k, err := ed25519.GenerateKey(rand.Reader)
		return k, err
	}
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		_, k, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			return nil, err
		}
		if err := os.WriteFile(path, []byte(hex.EncodeToString(k.Seed())+"\n"), 0o600); err != nil {
			return nil, err
		}
		return k, writePublicKey(path+".pub", k)
	}
	if err != nil {
		return nil, err
	}
	raw, err := hex.DecodeString(strings.TrimSpace(string(b)))
	switch {
	case err == nil && len(raw) == ed25519.SeedSize:
		return ed25519.NewKeyFromSeed(raw), nil
	case err == nil && len(raw) == ed25519.PrivateKeySize:
		return ed25519.PrivateKey(raw), nil
	}
	return nil, fmt.Errorf("%s: want a hex Ed25519 seed (32 bytes) or private key (64 bytes)", path)
}

// writePublicKey writes k's public key in hex, the -pubkey format of
// `warden verify`.
func writePublicKey(path string, k ed25519.PrivateKey) error {
	return os.WriteFile(path, []byte(hex.EncodeToString(k.Public().(ed25519.PublicKey))+"\n"), 0o644)
}

// prefixWriter stamps each progress line of the pipeline with the elapsed
// time, like the command's own lines.
type prefixWriter struct {
	w     io.Writer
	began time.Time
}

func (p prefixWriter) Write(b []byte) (int, error) {
	if _, err := fmt.Fprintf(p.w, "[%6.3fs] %s", time.Since(p.began).Seconds(), b); err != nil {
		return 0, err
	}
	return len(b), nil
}

func currentUser() string {
	if u := os.Getenv("USER"); u != "" {
		return u
	}
	return "analyst"
}
