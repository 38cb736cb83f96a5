package main

import (
	"context"
	"encoding/json"
	"errors"
	"expvar"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync/atomic"
)

// DefaultMaxBodyBytes bounds a request body (a raw SIEM alert is a few KB;
// a Sentinel alert with many entities stays well under this).
const DefaultMaxBodyBytes = 1 << 20

// server is the HTTP face of a host's services. Its fields are set once by
// newServer and read concurrently by handlers.
type server struct {
	h       *host
	tokens  tokenTable
	logger  *slog.Logger
	maxBody int64
	// slots bounds concurrent investigations (a counting semaphore).
	slots chan struct{}

	// Request counters for /debug/vars, by outcome class.
	requests, clientErrors, serverErrors atomic.Uint64
}

func newServer(h *host, cfg hostConfig) *server {
	if cfg.maxBody <= 0 {
		cfg.maxBody = DefaultMaxBodyBytes
	}
	if cfg.maxInFlight <= 0 {
		cfg.maxInFlight = DefaultMaxInFlight
	}
	if cfg.logger == nil {
		cfg.logger = slog.New(slog.DiscardHandler)
	}
	return &server{h: h, tokens: cfg.tokens, logger: cfg.logger, maxBody: cfg.maxBody,
		slots: make(chan struct{}, cfg.maxInFlight)}
}

// handler returns the routes. Every /v1 route needs a bearer token from the
// token file; the caller's identity and role come only from it.
//
//	POST /v1/alerts?source=sentinel|elastic|splunk|crowdstrike|defender   raw SIEM alert → investigation
//	GET  /v1/investigations/{id}                                          an investigation
//	POST /v1/approvals/{id}/grant|deny                                    decide an approval (channel api)
//	GET  /v1/audit/verify?tenant=...                                      verify a tenant's audit chain
//	GET  /debug/vars                                                      expvar, with the audit emitter's Stats
func (s *server) handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/alerts", s.authed(s.postAlert))
	mux.HandleFunc("GET /v1/investigations/{id}", s.authed(s.getInvestigation))
	mux.HandleFunc("POST /v1/approvals/{id}/{verdict}", s.authed(s.decide))
	mux.HandleFunc("GET /v1/audit/verify", s.authed(s.verify))
	mux.HandleFunc("GET /debug/vars", s.debugVars)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, "not_found", "no such endpoint: "+r.Method+" "+r.URL.Path)
	})
	return s.recoverer(mux)
}

// apiError is the body of every error response.
type apiError struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

func writeError(w http.ResponseWriter, status int, code, msg string) {
	var e apiError
	e.Error.Code, e.Error.Message = code, msg
	if status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="warden"`)
	}
	writeJSON(w, status, e)
}

// statusRecorder remembers the status a handler wrote, for the counters.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *statusRecorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	return r.ResponseWriter.Write(b)
}

// recoverer turns a handler panic into a logged 500 with a JSON body (the
// tests make sure no bad request ever gets here) and counts outcomes.
func (s *server) recoverer(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := &statusRecorder{ResponseWriter: w}
		s.requests.Add(1)
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler { //nolint:errorlint // sentinel value, compared as net/http does
					panic(v)
				}
				s.logger.Error("httphost: handler panic", "method", r.Method, "path", r.URL.Path, "panic", fmt.Sprint(v))
				if rec.status == 0 {
					writeError(rec, http.StatusInternalServerError, "internal", "internal error")
				}
			}
			switch {
			case rec.status >= 500:
				s.serverErrors.Add(1)
			case rec.status >= 400:
				s.clientErrors.Add(1)
			}
		}()
		next.ServeHTTP(rec, r)
	})
}

type principalKey struct{}

// authed requires a valid bearer token and passes its principal in the
// request context.
func (s *server) authed(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		p, ok := s.tokens.authenticate(r.Header.Get("Authorization"))
		if !ok {
			writeError(w, http.StatusUnauthorized, "unauthorized", "a valid bearer token is required")
			return
		}
		h(w, r.WithContext(context.WithValue(r.Context(), principalKey{}, p)))
	}
}

func principalOf(r *http.Request) principal {
	p, _ := r.Context().Value(principalKey{}).(principal)
	return p
}

// readBody reads at most maxBody bytes; a larger body is an error the caller
// answers with 413.
func (s *server) readBody(w http.ResponseWriter, r *http.Request) ([]byte, bool) {
	b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.maxBody))
	var tooLarge *http.MaxBytesError
	switch {
	case errors.As(err, &tooLarge):
		writeError(w, http.StatusRequestEntityTooLarge, "body_too_large", fmt.Sprintf("request body exceeds %d bytes", s.maxBody))
		return nil, false
	case err != nil:
		writeError(w, http.StatusBadRequest, "unreadable_body", "cannot read request body")
		return nil, false
	}
	return b, true
}

// debugVars serves the process's expvar variables plus this server's:
// warden_audit (the emitter's Stats) and warden_http (request counters).
// It is built per server rather than with expvar.Publish, which is global
// and panics on a second registration.
func (s *server) debugVars(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	var b strings.Builder
	b.WriteString("{\n")
	expvar.Do(func(kv expvar.KeyValue) {
		fmt.Fprintf(&b, "%q: %s,\n", kv.Key, kv.Value)
	})
	st, _ := json.Marshal(s.h.emitter.Stats())
	fmt.Fprintf(&b, "%q: %s,\n", "warden_audit", st)
	cs, _ := json.Marshal(s.h.chain.Stats())
	fmt.Fprintf(&b, "%q: %s,\n", "warden_chain", cs)
	httpStats, _ := json.Marshal(map[string]uint64{"requests": s.requests.Load(),
		"client_errors": s.clientErrors.Load(), "server_errors": s.serverErrors.Load()})
	fmt.Fprintf(&b, "%q: %s\n}\n", "warden_http", httpStats)
	_, _ = io.WriteString(w, b.String())
}
