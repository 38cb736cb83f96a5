package evidence

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"slices"
	"strconv"
	"strings"
	"sync"
)

// ObjectStore is the object storage port (S3 or compatible in production).
// Every method honours ctx. Implementations keep the SHA-256 of each body
// with it and fail a Get whose body no longer matches (ErrCorrupt).
type ObjectStore interface {
	// Put stores body under bucket/key, requesting server-side encryption
	// sse (e.g. "aws:kms"); an existing object is replaced.
	Put(ctx context.Context, bucket, key string, body []byte, sse string) error
	// Get returns the body stored under bucket/key; ErrNotFound if none.
	Get(ctx context.Context, bucket, key string) ([]byte, error)
}

// Object store errors.
var (
	// ErrNotFound reports a missing object.
	ErrNotFound = errors.New("evidence: object not found")
	// ErrCorrupt reports an object whose body does not match the hash
	// stored with it.
	ErrCorrupt = errors.New("evidence: object corrupt (content hash mismatch)")
)

// InvalidKeyError reports a bucket, key or key component that cannot be
// used: empty, ".", "..", or containing "/", "\", or a control character
// where they are not allowed.
type InvalidKeyError struct {
	Field  string // "tenant_id", "audit_id", "type", "bucket", "key"
	Value  string
	Reason string
}

func (e *InvalidKeyError) Error() string {
	return fmt.Sprintf("evidence: invalid %s %q: %s", e.Field, e.Value, e.Reason)
}

// checkSegment validates one path component.
func checkSegment(field, v string) error {
	switch {
	case v == "":
		return &InvalidKeyError{Field: field, Value: v, Reason: "empty"}
	case v == "." || v == "..":
		return &InvalidKeyError{Field: field, Value: v, Reason: "a relative path element"}
	case strings.ContainsAny(v, `/\`):
		return &InvalidKeyError{Field: field, Value: v, Reason: "contains a path separator"}
	}
	for _, r := range v {
		if r < 0x20 || r == 0x7f {
			return &InvalidKeyError{Field: field, Value: v, Reason: "contains a control character"}
		}
	}
	return nil
}

// checkKey validates an object key: "/"-separated valid segments.
func checkKey(bucket, key string) error {
	if err := checkSegment("bucket", bucket); err != nil {
		return err
	}
	for _, seg := range strings.Split(key, "/") {
		if err := checkSegment("key", seg); err != nil {
			return &InvalidKeyError{Field: "key", Value: key, Reason: err.(*InvalidKeyError).Reason}
		}
	}
	return nil
}

func sum(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// storedObject is one object of a MemoryObjects.
type storedObject struct {
	body []byte
	hash string
	sse  string
}

// MemoryObjects is an in-memory ObjectStore. Safe for concurrent use.
type MemoryObjects struct {
	mu      sync.RWMutex
	objects map[string]storedObject // bucket + "/" + key; guarded by mu
}

var _ ObjectStore = (*MemoryObjects)(nil)

// NewMemoryObjects returns an empty store.
func NewMemoryObjects() *MemoryObjects {
	return &MemoryObjects{objects: map[string]storedObject{}}
}

// Put implements ObjectStore; the body is copied.
func (m *MemoryObjects) Put(ctx context.Context, bucket, key string, body []byte, sse string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := checkKey(bucket, key); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.objects[bucket+"/"+key] = storedObject{body: bytes.Clone(body), hash: sum(body), sse: sse}
	return nil
}

// Get implements ObjectStore; the caller owns the returned slice.
func (m *MemoryObjects) Get(ctx context.Context, bucket, key string) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	m.mu.RLock()
	o, ok := m.objects[bucket+"/"+key]
	m.mu.RUnlock()
	if !ok {
		return nil, fmt.Errorf("%w: %s/%s", ErrNotFound, bucket, key)
	}
	if sum(o.body) != o.hash {
		return nil, fmt.Errorf("%w: %s/%s", ErrCorrupt, bucket, key)
	}
	return bytes.Clone(o.body), nil
}

// SSE returns the encryption requested for an object ("" if none or
// absent).
func (m *MemoryObjects) SSE(bucket, key string) string {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return m.objects[bucket+"/"+key].sse
}

// Keys returns every "bucket/key" stored, sorted.
func (m *MemoryObjects) Keys() []string {
	m.mu.RLock()
	defer m.mu.RUnlock()
	out := make([]string, 0, len(m.objects))
	for k := range m.objects {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// objectHeader starts every FileObjects file.
const objectHeader = "warden-object v1"

// FileObjects is an ObjectStore on a local directory: one file per object
// at <root>/<bucket>/<key>, written to a temporary file, fsynced and
// renamed into place, so a crash leaves either the old or the new object.
// Each file starts with one header line holding the body's SHA-256, size
// and requested encryption; Get checks them. All paths are resolved inside
// root (os.Root), so no key can reach outside it. Safe for concurrent use.
type FileObjects struct {
	root *os.Root
}

var _ ObjectStore = (*FileObjects)(nil)

// NewFileObjects opens (creating if needed) a store rooted at dir.
func NewFileObjects(dir string) (*FileObjects, error) {
	if dir == "" {
		return nil, errors.New("evidence: empty object directory")
	}
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("evidence: creating object directory: %w", err)
	}
	r, err := os.OpenRoot(dir)
	if err != nil {
		return nil, fmt.Errorf("evidence: opening object directory: %w", err)
	}
	return &FileObjects{root: r}, nil
}

// Close releases the directory handle.
func (f *FileObjects) Close() error { return f.root.Close() }

// Put implements ObjectStore.
func (f *FileObjects) Put(ctx context.Context, bucket, key string, body []byte, sse string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := checkKey(bucket, key); err != nil {
		return err
	}
	if strings.ContainsAny(sse, "\n\r ") {
		return fmt.Errorf("evidence: invalid sse %q", sse)
	}
	name := path.Join(bucket, key)
	dir := path.Dir(name)
	if err := f.root.MkdirAll(dir, 0o750); err != nil {
		return fmt.Errorf("evidence: creating %s: %w", dir, err)
	}
	var rnd [8]byte
	_, _ = rand.Read(rnd[:])
	tmp := path.Join(dir, "."+path.Base(name)+".tmp-"+hex.EncodeToString(rnd[:]))
	w, err := f.root.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o640)
	if err != nil {
		return fmt.Errorf("evidence: writing %s: %w", name, err)
	}
	header := fmt.Sprintf("%s sha256=%s size=%d sse=%s\n", objectHeader, sum(body), len(body), sse)
	_, err = w.Write(append([]byte(header), body...))
	if err == nil {
		err = w.Sync()
	}
	if cerr := w.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = f.root.Rename(tmp, name)
	}
	if err != nil {
		_ = f.root.Remove(tmp)
		return fmt.Errorf("evidence: writing %s: %w", name, err)
	}
	if d, err := f.root.Open(dir); err == nil {
		_ = d.Sync() // make the rename durable
		d.Close()
	}
	return nil
}

// Get implements ObjectStore.
func (f *FileObjects) Get(ctx context.Context, bucket, key string) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := checkKey(bucket, key); err != nil {
		return nil, err
	}
	name := path.Join(bucket, key)
	r, err := f.root.Open(name)
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("%w: %s", ErrNotFound, name)
	}
	if err != nil {
		return nil, fmt.Errorf("evidence: reading %s: %w", name, err)
	}
	defer r.Close()
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("evidence: reading %s: %w", name, err)
	}
	nl := bytes.IndexByte(data, '\n')
	if nl < 0 {
		return nil, fmt.Errorf("%w: %s: no header", ErrCorrupt, name)
	}
	fields := strings.Fields(string(data[:nl]))
	body := data[nl+1:]
	var wantHash string
	wantSize := -1
	if len(fields) < 2 || fields[0]+" "+fields[1] != objectHeader {
		return nil, fmt.Errorf("%w: %s: bad header", ErrCorrupt, name)
	}
	for _, fld := range fields[2:] {
		k, v, _ := strings.Cut(fld, "=")
		switch k {
		case "sha256":
			wantHash = v
		case "size":
			wantSize, _ = strconv.Atoi(v)
		}
	}
	if wantSize != len(body) || wantHash != sum(body) {
		return nil, fmt.Errorf("%w: %s", ErrCorrupt, name)
	}
	return body, nil
}
