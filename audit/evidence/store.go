package evidence

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"
)

// Type is the kind of an evidence object; it names the object's file.
type Type string

// The evidence types (the only ones accepted).
const (
	LLMPrompt          Type = "llm_prompt"
	LLMResponse        Type = "llm_response"
	RetrievalContext   Type = "retrieval_context"
	RawAlert           Type = "raw_alert"
	InvestigationState Type = "investigation_state"
)

// Valid reports whether t is one of the evidence types.
func (t Type) Valid() bool {
	switch t {
	case LLMPrompt, LLMResponse, RetrievalContext, RawAlert, InvestigationState:
		return true
	}
	return false
}

// Ref identifies a stored evidence object: its content hash (lowercase hex
// SHA-256) and its URI (s3://bucket/key). Records carry the URI in
// context.evidence_refs.
type Ref struct {
	Hash string `json:"hash"`
	URI  string `json:"uri"`
}

// IsZero reports whether r is the zero Ref of a failed Put.
func (r Ref) IsZero() bool { return r == Ref{} }

// DefaultSSE is the server-side encryption requested on every put.
const DefaultSSE = "aws:kms"

// ErrBadURI reports a URI that is not s3://bucket/key.
var ErrBadURI = errors.New("evidence: not an s3://bucket/key URI")

// ErrInvalidConfig is matched by errors.Is for every configuration error.
var ErrInvalidConfig = errors.New("evidence: invalid configuration")

// Store puts and gets evidence objects. Safe for concurrent use.
type Store struct {
	objects ObjectStore
	bucket  string
	cfg     storeConfig
}

type storeConfig struct {
	clock  func() time.Time
	logger *slog.Logger
	sse    string
	errs   []error
}

// Option configures a Store.
type Option func(*storeConfig)

// WithClock sets the clock whose UTC date goes into object keys. This
// overrides the default of time.Now.
func WithClock(now func() time.Time) Option {
	return func(c *storeConfig) {
		if now == nil {
			c.errs = append(c.errs, fmt.Errorf("%w: nil clock", ErrInvalidConfig))
			return
		}
		c.clock = now
	}
}

// WithLogger sets the logger for failed puts (which return an error and a
// zero Ref; callers continue). This overrides the default of
// slog.Default().
func WithLogger(l *slog.Logger) Option {
	return func(c *storeConfig) {
		if l != nil {
			c.logger = l
		}
	}
}

// WithSSE sets the server-side encryption requested on every put. This
// overrides the default of "aws:kms".
func WithSSE(sse string) Option {
	return func(c *storeConfig) {
		if strings.ContainsAny(sse, "\n\r ") {
			c.errs = append(c.errs, fmt.Errorf("%w: sse %q", ErrInvalidConfig, sse))
			return
		}
		c.sse = sse
	}
}

// NewStore returns an evidence store writing to bucket of objects.
func NewStore(objects ObjectStore, bucket string, opts ...Option) (*Store, error) {
	cfg := storeConfig{clock: time.Now, logger: slog.Default(), sse: DefaultSSE}
	for _, o := range opts {
		if o != nil {
			o(&cfg)
		}
	}
	if objects == nil {
		cfg.errs = append(cfg.errs, fmt.Errorf("%w: nil object store", ErrInvalidConfig))
	}
	if err := checkSegment("bucket", bucket); err != nil {
		cfg.errs = append(cfg.errs, fmt.Errorf("%w: %w", ErrInvalidConfig, err))
	}
	if err := errors.Join(cfg.errs...); err != nil {
		return nil, err
	}
	return &Store{objects: objects, bucket: bucket, cfg: cfg}, nil
}

// Bucket returns the bucket the store writes to.
func (s *Store) Bucket() string { return s.bucket }

// Key returns the object key of an evidence object stored at t:
// <tenant_id>/<YYYY>/<MM>/<DD>/<audit_id>/<type>.json (UTC date).
func Key(tenantID, auditID string, typ Type, t time.Time) (string, error) {
	if err := checkSegment("tenant_id", tenantID); err != nil {
		return "", err
	}
	if err := checkSegment("audit_id", auditID); err != nil {
		return "", err
	}
	if !typ.Valid() {
		return "", &InvalidKeyError{Field: "type", Value: string(typ), Reason: "not an evidence type"}
	}
	t = t.UTC()
	return fmt.Sprintf("%s/%04d/%02d/%02d/%s/%s.json", tenantID, t.Year(), int(t.Month()), t.Day(), auditID, typ), nil
}

// Put stores content as the evidence of type typ for the record auditID of
// tenantID and returns its Ref. Invalid names are an *InvalidKeyError and
// nothing is stored. Storage is fail-open: if the object store fails, Put
// returns a zero Ref and the error, and the caller records the event
// without the reference.
func (s *Store) Put(ctx context.Context, tenantID, auditID string, typ Type, content []byte) (Ref, error) {
	key, err := Key(tenantID, auditID, typ, s.cfg.clock())
	if err != nil {
		return Ref{}, err
	}
	if err := s.objects.Put(ctx, s.bucket, key, content, s.cfg.sse); err != nil {
		s.cfg.logger.Warn("evidence: put failed", "tenant_id", tenantID, "audit_id", auditID, "type", string(typ), "error", err)
		return Ref{}, fmt.Errorf("evidence: storing %s: %w", key, err)
	}
	h := sha256.Sum256(content)
	return Ref{Hash: hex.EncodeToString(h[:]), URI: "s3://" + s.bucket + "/" + key}, nil
}

// PutString is Put for text (stored as its UTF-8 bytes).
func (s *Store) PutString(ctx context.Context, tenantID, auditID string, typ Type, content string) (Ref, error) {
	return s.Put(ctx, tenantID, auditID, typ, []byte(content))
}

// Item is one object of a PutBatch.
type Item struct {
	Type    Type
	Content []byte
}

// Result is the outcome of one Item.
type Result struct {
	Ref Ref
	Err error
}

// PutBatch stores items in order; a failed item leaves its Ref zero and the
// rest continue.
func (s *Store) PutBatch(ctx context.Context, tenantID, auditID string, items []Item) []Result {
	out := make([]Result, len(items))
	for i, it := range items {
		out[i].Ref, out[i].Err = s.Put(ctx, tenantID, auditID, it.Type, it.Content)
	}
	return out
}

// Refs returns the non-empty URIs of refs, in order: the value for
// context.evidence_refs.
func Refs(refs ...Ref) []string {
	out := make([]string, 0, len(refs))
	for _, r := range refs {
		if r.URI != "" {
			out = append(out, r.URI)
		}
	}
	return out
}

// ParseURI splits s3://bucket/key. The bucket is the text up to the first
// "/", and there must be exactly one "s3://" prefix.
func ParseURI(uri string) (bucket, key string, err error) {
	rest, ok := strings.CutPrefix(uri, "s3://")
	if !ok || strings.HasPrefix(rest, "s3://") {
		return "", "", fmt.Errorf("%w: %q", ErrBadURI, uri)
	}
	bucket, key, ok = strings.Cut(rest, "/")
	if !ok || bucket == "" || key == "" {
		return "", "", fmt.Errorf("%w: %q", ErrBadURI, uri)
	}
	return bucket, key, nil
}

// Get fetches the object a URI names.
func (s *Store) Get(ctx context.Context, uri string) ([]byte, error) {
	bucket, key, err := ParseURI(uri)
	if err != nil {
		return nil, err
	}
	return s.objects.Get(ctx, bucket, key)
}

// Verify reports whether the object a URI names has SHA-256 wantHash
// (lowercase or uppercase hex).
func (s *Store) Verify(ctx context.Context, uri, wantHash string) (bool, error) {
	body, err := s.Get(ctx, uri)
	if err != nil {
		return false, err
	}
	h := sha256.Sum256(body)
	return strings.EqualFold(hex.EncodeToString(h[:]), wantHash), nil
}
