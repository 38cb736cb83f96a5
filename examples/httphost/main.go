// Command httphost serves Warden's SOC pipeline over HTTP, the way a host
// application embeds it:
//
//	go run ./examples/httphost -tokens tokens.json
//
// Routes (every /v1 route needs "Authorization: Bearer <token>" from the
// token file; identity and approver role come only from the token):
//
//	POST /v1/alerts?source=sentinel|elastic|splunk|crowdstrike|defender   raw alert → investigation (201)
//	GET  /v1/investigations/{id}
//	POST /v1/approvals/{id}/grant   and   /v1/approvals/{id}/deny         (channel api; 401/403 otherwise)
//	GET  /v1/audit/verify?tenant=...                                     verify the tenant's hash chain
//	GET  /debug/vars                                                     expvar with the audit emitter's Stats
//
// Like examples/socpipeline it starts an in-process Kafka cluster unless
// -brokers names a real one, emits every decision to audit.events and runs
// the exactly-once chaining service into audit.records. On SIGINT or
// SIGTERM it stops accepting requests, finishes the ones in flight and
// flushes the audit emitter, all within -shutdown-timeout.
//
// A token file for a local try (see tokens.go for the format):
//
//	[{"token": "local-analyst-token-0001", "subject": "alice@acme-corp.example",
//	  "role": "senior_analyst", "tenants": ["acme-corp"]}]
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"
)

// DefaultShutdownTimeout bounds the graceful shutdown: in-flight requests
// and the final audit flush.
const DefaultShutdownTimeout = 10 * time.Second

func main() {
	var (
		addr, tokens, brokers, llm, goLive string
		shutdown                           time.Duration
		maxInFlight                        int
	)
	flag.StringVar(&addr, "addr", "127.0.0.1:8080", "listen address")
	flag.StringVar(&tokens, "tokens", "", "token file (JSON): bearer tokens, subjects, roles, tenants (required)")
	flag.StringVar(&brokers, "brokers", "", "comma-separated seed brokers of a real Kafka cluster (default: in-process kfake)")
	flag.StringVar(&llm, "llm", "offline", "LLM provider: offline, anthropic (ANTHROPIC_API_KEY) or openai (OPENAI_API_KEY / OPENAI_BASE_URL)")
	flag.StringVar(&goLive, "go-live", "", "comma-separated tenants to take out of shadow mode at start (go-live sign-off)")
	flag.DurationVar(&shutdown, "shutdown-timeout", DefaultShutdownTimeout, "graceful shutdown deadline")
	flag.IntVar(&maxInFlight, "max-inflight", DefaultMaxInFlight, "concurrent investigations")
	flag.Parse()

	logger := slog.New(slog.NewTextHandler(os.Stderr, nil))
	if err := serve(addr, tokens, brokers, llm, goLive, shutdown, maxInFlight, logger); err != nil {
		fmt.Fprintln(os.Stderr, "httphost:", err)
		os.Exit(1)
	}
}

func serve(addr, tokenFile, brokers, llm, goLive string, shutdown time.Duration, maxInFlight int, logger *slog.Logger) error {
	if tokenFile == "" {
		return errors.New("-tokens is required")
	}
	tt, err := loadTokens(tokenFile)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	cfg := hostConfig{tokens: tt, brokers: splitList(brokers), llm: llm, goLive: splitList(goLive),
		goLiveBy: "httphost -go-live", maxInFlight: maxInFlight, logger: logger}
	h, err := newHost(ctx, cfg)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		_ = h.close(context.Background())
		return err
	}
	logger.Info("httphost: listening", "addr", ln.Addr().String(), "kafka", strings.Join(h.kafka.Seeds, ","))
	err = run(ctx, ln, h, newServer(h, cfg), shutdown)
	st := h.emitter.Stats()
	logger.Info("httphost: stopped", "audit_emitted", st.Emitted, "audit_delivered", st.Delivered,
		"audit_failed", st.Failed, "audit_dropped", st.Dropped)
	return err
}

// run serves until ctx ends, then shuts down gracefully: no new
// connections, in-flight requests finish, the audit emitter is flushed and
// closed — all before the deadline.
func run(ctx context.Context, ln net.Listener, h *host, s *server, shutdown time.Duration) error {
	srv := &http.Server{Handler: s.handler(), ReadHeaderTimeout: 10 * time.Second,
		BaseContext: func(net.Listener) context.Context { return context.WithoutCancel(ctx) }}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		_ = h.close(context.Background())
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), shutdown)
	defer cancel()
	err := srv.Shutdown(sctx)
	if serr := <-errc; !errors.Is(serr, http.ErrServerClosed) {
		err = errors.Join(err, serr)
	}
	return errors.Join(err, h.close(sctx))
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}
