package ctem

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
)

// FileStore is the durable Store (DESIGN §7): an append-only JSON-lines log
// with one line per accepted write, fsynced before Update returns, replayed
// into memory on open. A restarted process therefore loses nothing that was
// accepted. A torn last line (a crash mid-write) is cut off on open; damage
// anywhere else is an error, never silently dropped. Compact rewrites the log
// with write-to-temp + fsync + rename.
type FileStore struct {
	mu      sync.Mutex
	path    string
	f       *os.File                     // guarded by mu; append handle
	size    int64                        // guarded by mu; bytes of whole lines in the log
	lines   int                          // guarded by mu; lines in the log
	records map[string]map[string]Record // guarded by mu
	closed  bool                         // guarded by mu
}

var _ Store = (*FileStore)(nil)

// ErrStoreClosed is returned by a FileStore after Close.
var ErrStoreClosed = errors.New("ctem: store closed")

// fileEntry is one log line.
type fileEntry struct {
	Tenant string `json:"tenant"`
	Key    string `json:"key"`
	Record Record `json:"record"`
}

// compactSlack is how many superseded lines the log may carry before Open
// compacts it.
const compactSlack = 1024

// OpenFileStore opens (creating if needed) the log at path and replays it.
func OpenFileStore(path string) (*FileStore, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("ctem: open file store: %w", err)
	}
	s := &FileStore{path: path, f: f, records: map[string]map[string]Record{}}
	if err := s.replay(); err != nil {
		f.Close()
		return nil, err
	}
	if _, err := f.Seek(s.size, io.SeekStart); err != nil {
		f.Close()
		return nil, fmt.Errorf("ctem: file store: %w", err)
	}
	if s.lines > 2*s.count()+compactSlack {
		if err := s.compactLocked(); err != nil {
			f.Close()
			return nil, err
		}
	}
	return s, nil
}

func (s *FileStore) replay() error {
	r := bufio.NewReader(s.f)
	var off int64
	for n := 1; ; n++ {
		line, err := r.ReadBytes('\n')
		if len(line) > 0 && line[len(line)-1] == '\n' {
			var e fileEntry
			if jerr := json.Unmarshal(bytes.TrimSpace(line), &e); jerr != nil || e.Key == "" {
				// Damage before the end of the log is not a torn write.
				if _, perr := r.Peek(1); perr == nil {
					return fmt.Errorf("ctem: file store %s: line %d is damaged: %v", s.path, n, jerr)
				}
				return s.truncateTail(off)
			}
			s.put(e.Tenant, e.Key, e.Record)
			off += int64(len(line))
			s.lines++
			continue
		}
		if err == io.EOF {
			if len(line) > 0 { // torn last line
				return s.truncateTail(off)
			}
			s.size = off
			return nil
		}
		if err != nil {
			return fmt.Errorf("ctem: file store %s: %w", s.path, err)
		}
	}
}

// truncateTail drops a torn final write.
func (s *FileStore) truncateTail(off int64) error {
	if err := s.f.Truncate(off); err != nil {
		return fmt.Errorf("ctem: file store %s: cutting torn tail: %w", s.path, err)
	}
	s.size = off
	return s.f.Sync()
}

func (s *FileStore) put(tenant, key string, r Record) {
	if s.records[tenant] == nil {
		s.records[tenant] = map[string]Record{}
	}
	s.records[tenant][key] = r
}

func (s *FileStore) count() int {
	n := 0
	for _, t := range s.records {
		n += len(t)
	}
	return n
}

// Update implements Store; the write is on disk (fsynced) before it returns.
func (s *FileStore) Update(ctx context.Context, tenantID, key string, fn func(cur *Record, exists bool) error) (Record, error) {
	if err := ctx.Err(); err != nil {
		return Record{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return Record{}, ErrStoreClosed
	}
	stored, exists := s.records[tenantID][key]
	cur := stored.clone()
	if err := fn(&cur, exists); err != nil {
		return Record{}, err
	}
	line, err := json.Marshal(fileEntry{Tenant: tenantID, Key: key, Record: cur})
	if err != nil {
		return Record{}, fmt.Errorf("ctem: file store: encoding record: %w", err)
	}
	line = append(line, '\n')
	if err := s.appendLine(line); err != nil {
		return Record{}, err
	}
	s.put(tenantID, key, cur.clone())
	return cur.clone(), nil
}

// appendLine writes and fsyncs one line; on failure the log is cut back so a
// partial line never precedes later writes.
func (s *FileStore) appendLine(line []byte) error {
	if _, err := s.f.Write(line); err != nil {
		_ = s.f.Truncate(s.size)
		_, _ = s.f.Seek(s.size, io.SeekStart)
		return fmt.Errorf("ctem: file store: write: %w", err)
	}
	if err := s.f.Sync(); err != nil {
		_ = s.f.Truncate(s.size)
		_, _ = s.f.Seek(s.size, io.SeekStart)
		return fmt.Errorf("ctem: file store: fsync: %w", err)
	}
	s.size += int64(len(line))
	s.lines++
	return nil
}

// Get implements Store.
func (s *FileStore) Get(ctx context.Context, tenantID, key string) (Record, error) {
	if err := ctx.Err(); err != nil {
		return Record{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return Record{}, ErrStoreClosed
	}
	r, ok := s.records[tenantID][key]
	if !ok {
		return Record{}, ErrNotFound
	}
	return r.clone(), nil
}

// OpenExposures implements Store.
func (s *FileStore) OpenExposures(ctx context.Context, tenantID, assetID string) ([]Exposure, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, ErrStoreClosed
	}
	return openExposures(s.records[tenantID], assetID), nil
}

// Compact rewrites the log with one line per record (write to a temporary
// file, fsync, rename, fsync the directory).
func (s *FileStore) Compact() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrStoreClosed
	}
	return s.compactLocked()
}

func (s *FileStore) compactLocked() error {
	dir := filepath.Dir(s.path)
	tmp, err := os.CreateTemp(dir, filepath.Base(s.path)+".compact-*")
	if err != nil {
		return fmt.Errorf("ctem: file store compact: %w", err)
	}
	defer os.Remove(tmp.Name()) // no-op after a successful rename
	w := bufio.NewWriter(tmp)
	var size int64
	lines := 0
	for tenant, recs := range s.records {
		for key, r := range recs {
			b, err := json.Marshal(fileEntry{Tenant: tenant, Key: key, Record: r})
			if err != nil {
				tmp.Close()
				return fmt.Errorf("ctem: file store compact: %w", err)
			}
			b = append(b, '\n')
			if _, err := w.Write(b); err != nil {
				tmp.Close()
				return fmt.Errorf("ctem: file store compact: %w", err)
			}
			size += int64(len(b))
			lines++
		}
	}
	if err := w.Flush(); err != nil {
		tmp.Close()
		return fmt.Errorf("ctem: file store compact: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("ctem: file store compact: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("ctem: file store compact: %w", err)
	}
	if err := os.Rename(tmp.Name(), s.path); err != nil {
		return fmt.Errorf("ctem: file store compact: %w", err)
	}
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		d.Close()
	}
	f, err := os.OpenFile(s.path, os.O_RDWR, 0o600)
	if err != nil {
		return fmt.Errorf("ctem: file store compact: reopen: %w", err)
	}
	if _, err := f.Seek(size, io.SeekStart); err != nil {
		f.Close()
		return fmt.Errorf("ctem: file store compact: %w", err)
	}
	s.f.Close()
	s.f, s.size, s.lines = f, size, lines
	return nil
}

// Close releases the log file. Further calls fail with ErrStoreClosed.
func (s *FileStore) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	return s.f.Close()
}
