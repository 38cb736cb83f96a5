package main

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/socwarden/warden/audit"
	"github.com/socwarden/warden/audit/kafkasink"
	"github.com/socwarden/warden/examples/socpipeline/pipeline"
)

// hostConfig configures a host.
type hostConfig struct {
	tokens  tokenTable
	brokers []string // empty: in-process kfake
	llm     string
	// goLive are the tenants whose shadow mode is switched off at start
	// (go-live signed off by goLiveBy); other tenants stay in shadow mode,
	// as Warden treats every new tenant.
	goLive   []string
	goLiveBy string
	maxBody  int64
	// maxInFlight bounds concurrent investigations; further alert posts
	// wait for a slot (or for their request to end).
	maxInFlight int
	logger      *slog.Logger
}

// Defaults of the host.
const (
	DefaultMaxInFlight = 64
	// DefaultRingSize is the audit ring: a burst of thousands of alerts,
	// each some twenty events, must fit while the sink catches up.
	DefaultRingSize = 1 << 17
	// verifyWait bounds how long the verify endpoint waits for the chain to
	// catch up with what was emitted before the request.
	verifyWait = 15 * time.Second
	// checkpointEvery is the records per tenant between signed checkpoints.
	checkpointEvery = 500
)

// host owns the Kafka cluster, the audit emitter, the chaining service and
// the pipeline's services. Fields are set by newHost and never reassigned.
type host struct {
	kafka   *pipeline.Kafka
	emitter *audit.Emitter
	chain   *pipeline.ChainService
	svc     *pipeline.Services
	cancel  context.CancelFunc // stops the chaining service's context
}

// newHost starts everything a server needs.
func newHost(ctx context.Context, cfg hostConfig) (_ *host, err error) {
	if cfg.logger == nil {
		cfg.logger = slog.New(slog.DiscardHandler)
	}
	h := &host{}
	defer func() {
		if err != nil {
			h.close(context.Background())
		}
	}()
	if h.kafka, err = pipeline.StartKafka(ctx, cfg.brokers); err != nil {
		return h, err
	}
	_, signer, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return h, err
	}
	cctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	h.cancel = cancel
	if h.chain, err = pipeline.StartChain(cctx, h.kafka, signer, checkpointEvery, cfg.logger); err != nil {
		return h, err
	}
	sink, err := kafkasink.NewFromSeeds(h.kafka.Seeds)
	if err != nil {
		return h, err
	}
	if h.emitter, err = audit.New(sink, audit.WithSourceService("httphost"), audit.WithLogger(cfg.logger),
		audit.WithRingSize(DefaultRingSize)); err != nil {
		_ = sink.Close(ctx)
		return h, err
	}
	// The host's clock is the wall clock; approvals are decided through
	// the API (NoReviewer leaves tier-2 gates open for it).
	// Investigation ids (and the audit ids the orchestrator derives from
	// them) must differ from every earlier process's on the same cluster.
	var run [4]byte
	if _, err := rand.Read(run[:]); err != nil {
		return h, err
	}
	if h.svc, err = pipeline.NewServices(pipeline.Config{Producer: h.emitter, Clock: pipeline.NewWallClock(),
		Reviewer: pipeline.NoReviewer, Publisher: h.kafka, Logger: cfg.logger, LLM: cfg.llm,
		RunID: hex.EncodeToString(run[:])}); err != nil {
		return h, err
	}
	for _, t := range cfg.goLive {
		if err := h.svc.Shadow.GoLive(ctx, t, cfg.goLiveBy, time.Now().UTC().Format(time.DateOnly)); err != nil {
			return h, fmt.Errorf("go-live %s: %w", t, err)
		}
	}
	return h, nil
}

// close flushes and closes the emitter (everything accepted reaches the
// topic, or is counted failed at ctx's deadline), lets the chaining service
// finish its transaction, and closes Kafka. Safe on a partly built host.
func (h *host) close(ctx context.Context) error {
	var errs []error
	if h.emitter != nil {
		errs = append(errs, h.emitter.Close(ctx))
	}
	if h.chain != nil {
		errs = append(errs, h.chain.Stop(ctx))
	}
	if h.cancel != nil {
		h.cancel()
	}
	if h.kafka != nil {
		h.kafka.Close()
	}
	return errors.Join(errs...)
}
