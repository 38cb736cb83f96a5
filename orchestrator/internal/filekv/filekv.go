// Package filekv holds the durable file stores behind the orchestrator's
// and autonomy's file-backed ports: a directory of JSON documents written by
// write-to-temp + fsync + rename (+ directory fsync), and an append-only
// JSON-lines log with fsync per record. A process that crashes at any point
// leaves every document either at its previous or at its new content, and
// every acknowledged log record on disk.
package filekv

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
)

// ErrClosed is returned by a closed store or log.
var ErrClosed = errors.New("filekv: closed")

// Dir is a directory of keyed JSON documents, all held in memory and
// written through to disk. Safe for concurrent use.
type Dir struct {
	path string

	mu     sync.RWMutex // guards docs and closed
	docs   map[string][]byte
	closed bool

	writeMu [64]sync.Mutex // per-key write order (striped by key hash)
}

type envelope struct {
	Key   string          `json:"k"`
	Value json.RawMessage `json:"v"`
}

// OpenDir opens (creating if needed) the directory and loads every
// document. Left-over temporary files of an interrupted write are removed.
func OpenDir(path string) (*Dir, error) {
	if err := os.MkdirAll(path, 0o700); err != nil {
		return nil, fmt.Errorf("filekv: %w", err)
	}
	entries, err := os.ReadDir(path)
	if err != nil {
		return nil, fmt.Errorf("filekv: %w", err)
	}
	d := &Dir{path: path, docs: map[string][]byte{}}
	for _, e := range entries {
		name := e.Name()
		full := filepath.Join(path, name)
		if strings.HasSuffix(name, ".tmp") {
			_ = os.Remove(full)
			continue
		}
		if !strings.HasSuffix(name, ".json") || e.IsDir() {
			continue
		}
		b, err := os.ReadFile(full)
		if err != nil {
			return nil, fmt.Errorf("filekv: %w", err)
		}
		var env envelope
		if err := json.Unmarshal(b, &env); err != nil || env.Key == "" {
			return nil, fmt.Errorf("filekv: corrupt document %s", name)
		}
		d.docs[env.Key] = append([]byte(nil), env.Value...)
	}
	return d, nil
}

func fileName(key string) string {
	sum := sha256.Sum256([]byte(key))
	return hex.EncodeToString(sum[:20]) + ".json"
}

func (d *Dir) stripe(key string) *sync.Mutex {
	sum := sha256.Sum256([]byte(key))
	return &d.writeMu[sum[0]%64]
}

// Put stores value (a JSON document) under key durably before returning.
func (d *Dir) Put(key string, value []byte) error {
	if !json.Valid(value) {
		return errors.New("filekv: value is not JSON")
	}
	env, err := json.Marshal(envelope{Key: key, Value: value})
	if err != nil {
		return fmt.Errorf("filekv: %w", err)
	}
	mu := d.stripe(key)
	mu.Lock()
	defer mu.Unlock()
	if d.isClosed() {
		return ErrClosed
	}
	if err := WriteFileAtomic(filepath.Join(d.path, fileName(key)), env); err != nil {
		return err
	}
	d.mu.Lock()
	d.docs[key] = append([]byte(nil), value...)
	d.mu.Unlock()
	return nil
}

// Get returns a copy of the document under key.
func (d *Dir) Get(key string) ([]byte, bool, error) {
	d.mu.RLock()
	defer d.mu.RUnlock()
	if d.closed {
		return nil, false, ErrClosed
	}
	v, ok := d.docs[key]
	if !ok {
		return nil, false, nil
	}
	return append([]byte(nil), v...), true, nil
}

// Delete removes key durably; it reports whether the key existed.
func (d *Dir) Delete(key string) (bool, error) {
	mu := d.stripe(key)
	mu.Lock()
	defer mu.Unlock()
	if d.isClosed() {
		return false, ErrClosed
	}
	d.mu.RLock()
	_, ok := d.docs[key]
	d.mu.RUnlock()
	if !ok {
		return false, nil
	}
	if err := os.Remove(filepath.Join(d.path, fileName(key))); err != nil && !errors.Is(err, os.ErrNotExist) {
		return false, fmt.Errorf("filekv: %w", err)
	}
	syncDir(d.path)
	d.mu.Lock()
	delete(d.docs, key)
	d.mu.Unlock()
	return true, nil
}

// Range calls f with a copy of every document until f returns false.
func (d *Dir) Range(f func(key string, value []byte) bool) error {
	d.mu.RLock()
	if d.closed {
		d.mu.RUnlock()
		return ErrClosed
	}
	type kv struct {
		k string
		v []byte
	}
	all := make([]kv, 0, len(d.docs))
	for k, v := range d.docs {
		all = append(all, kv{k, v})
	}
	d.mu.RUnlock()
	for _, e := range all {
		if !f(e.k, append([]byte(nil), e.v...)) {
			return nil
		}
	}
	return nil
}

func (d *Dir) isClosed() bool {
	d.mu.RLock()
	defer d.mu.RUnlock()
	return d.closed
}

// Close releases the store; later calls return ErrClosed.
func (d *Dir) Close() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.closed = true
	return nil
}

// WriteFileAtomic writes data to path so that a crash leaves either the old
// or the new content: temp file in the same directory, fsync, rename, fsync
// of the directory.
func WriteFileAtomic(path string, data []byte) error {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, filepath.Base(path)+".*.tmp")
	if err != nil {
		return fmt.Errorf("filekv: %w", err)
	}
	tmp := f.Name()
	_, werr := f.Write(data)
	if werr == nil {
		werr = f.Sync()
	}
	if cerr := f.Close(); werr == nil {
		werr = cerr
	}
	if werr == nil {
		werr = os.Rename(tmp, path)
	}
	if werr != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("filekv: %w", werr)
	}
	syncDir(dir)
	return nil
}

// syncDir makes a rename or removal durable; platforms that cannot sync a
// directory are left to their own guarantees.
func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		_ = d.Close()
	}
}

// Log is an append-only JSON-lines file. Each Append is fsynced before it
// returns. A torn last line (a crash mid-write) is cut off at open. Safe for
// concurrent use.
type Log struct {
	mu     sync.Mutex // guards f and closed
	f      *os.File
	closed bool
}

// OpenLog opens (creating if needed) the log at path and calls apply with
// every complete record in order. A record apply rejects is an error; a
// trailing partial line is truncated away.
func OpenLog(path string, apply func(line []byte) error) (*Log, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("filekv: %w", err)
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("filekv: %w", err)
	}
	data, err := io.ReadAll(f)
	if err != nil {
		_ = f.Close()
		return nil, fmt.Errorf("filekv: %w", err)
	}
	good := 0
	for good < len(data) {
		nl := bytes.IndexByte(data[good:], '\n')
		if nl < 0 {
			break // torn tail
		}
		line := data[good : good+nl]
		if len(bytes.TrimSpace(line)) > 0 {
			if err := apply(line); err != nil {
				_ = f.Close()
				return nil, fmt.Errorf("filekv: %s: record at byte %d: %w", path, good, err)
			}
		}
		good += nl + 1
	}
	if good < len(data) {
		if err := f.Truncate(int64(good)); err != nil {
			_ = f.Close()
			return nil, fmt.Errorf("filekv: %w", err)
		}
	}
	if _, err := f.Seek(int64(good), io.SeekStart); err != nil {
		_ = f.Close()
		return nil, fmt.Errorf("filekv: %w", err)
	}
	return &Log{f: f}, nil
}

// Append writes v as one JSON line and fsyncs it.
func (l *Log) Append(v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("filekv: %w", err)
	}
	b = append(b, '\n')
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return ErrClosed
	}
	off, err := l.f.Seek(0, io.SeekCurrent)
	if err != nil {
		return fmt.Errorf("filekv: %w", err)
	}
	if _, err := l.f.Write(b); err != nil {
		// Cut the partial line so the next record starts on a fresh line.
		_ = l.f.Truncate(off)
		_, _ = l.f.Seek(off, io.SeekStart)
		return fmt.Errorf("filekv: %w", err)
	}
	if err := l.f.Sync(); err != nil {
		return fmt.Errorf("filekv: %w", err)
	}
	return nil
}

// Close closes the file.
func (l *Log) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return nil
	}
	l.closed = true
	return l.f.Close()
}
