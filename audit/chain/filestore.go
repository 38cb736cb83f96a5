package chain

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"sync"

	"github.com/socwarden/warden/audit/canonical"
)

// File names inside a FileStore directory.
const (
	RecordsFile     = "records.jsonl"
	CheckpointsFile = "checkpoints.jsonl"
)

// ErrClosed is returned by a FileStore after Close.
var ErrClosed = errors.New("chain: store closed")

// CorruptError reports a FileStore file whose content is not a valid
// sequence of chained records (or checkpoints): a line that does not decode,
// or a record that does not extend its tenant's chain. The store refuses to
// open rather than append to a damaged chain; move the file aside, or
// repair it with the line number given.
type CorruptError struct {
	File string
	Line int
	Err  error
}

func (e *CorruptError) Error() string {
	return fmt.Sprintf("chain: %s line %d: %v", e.File, e.Line, e.Err)
}
func (e *CorruptError) Unwrap() error { return e.Err }

// FileStore is a durable Store and CheckpointStore: append-only JSON-lines
// files (records.jsonl, checkpoints.jsonl) in one directory, one canonical
// record per line, with an in-memory index (file offsets per tenant and
// investigation) rebuilt when the store is opened. Records are read back
// from the file on demand, so memory grows with the number of records (a
// few dozen bytes each), not their size.
//
// Each Append writes its line with a single write call and, by default,
// fsyncs before returning, so an acknowledged record survives a crash or
// power loss. A line left half-written by a crash was never acknowledged;
// opening the store truncates it and logs a warning. One process at a time
// may open a directory.
type FileStore struct {
	dir  string
	cfg  fileConfig
	mu   sync.RWMutex
	recs *os.File // guarded by mu for writes; ReadAt is safe concurrently
	cps  *os.File // guarded by mu
	size int64    // guarded by mu: end of the last complete record line

	tenants     map[string]*fileTenant  // guarded by mu
	checkpoints map[string][]Checkpoint // guarded by mu
	closed      bool                    // guarded by mu
}

var (
	_ Store           = (*FileStore)(nil)
	_ CheckpointStore = (*FileStore)(nil)
)

type fileLoc struct {
	off int64
	n   int32
}

type fileTenant struct {
	locs  []fileLoc
	head  Head
	byInv map[string][]int32
}

type fileConfig struct {
	fsync  bool
	logger *slog.Logger
}

// FileOption configures OpenFileStore.
type FileOption func(*fileConfig)

// WithFsync sets whether every Append and AppendCheckpoint is fsynced
// before it returns. Without it a process crash still loses nothing (the
// data is in the OS page cache) but a power loss may. This overrides the
// default of true.
func WithFsync(on bool) FileOption { return func(c *fileConfig) { c.fsync = on } }

// WithFileLogger sets the logger for recovery warnings. This overrides the
// default of slog.Default().
func WithFileLogger(l *slog.Logger) FileOption {
	return func(c *fileConfig) {
		if l != nil {
			c.logger = l
		}
	}
}

// OpenFileStore opens (creating if needed) the store in dir.
func OpenFileStore(dir string, opts ...FileOption) (*FileStore, error) {
	cfg := fileConfig{fsync: true, logger: slog.Default()}
	for _, o := range opts {
		if o != nil {
			o(&cfg)
		}
	}
	if dir == "" {
		return nil, errors.New("chain: empty store directory")
	}
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("chain: creating store directory: %w", err)
	}
	s := &FileStore{dir: dir, cfg: cfg, tenants: map[string]*fileTenant{}, checkpoints: map[string][]Checkpoint{}}
	var err error
	if s.recs, err = os.OpenFile(filepath.Join(dir, RecordsFile), os.O_RDWR|os.O_CREATE, 0o640); err != nil {
		return nil, fmt.Errorf("chain: opening records: %w", err)
	}
	if s.cps, err = os.OpenFile(filepath.Join(dir, CheckpointsFile), os.O_RDWR|os.O_CREATE, 0o640); err != nil {
		s.recs.Close()
		return nil, fmt.Errorf("chain: opening checkpoints: %w", err)
	}
	if err = s.load(); err != nil {
		s.recs.Close()
		s.cps.Close()
		return nil, err
	}
	return s, nil
}

// load rebuilds the index from both files.
func (s *FileStore) load() error {
	var p recordParser
	end, err := scanLines(s.recs, RecordsFile, s.cfg.logger, func(off int64, line []byte, n int) error {
		f, err := p.parse(line)
		if err != nil {
			return err
		}
		if f.tenantBad {
			return &FieldError{Key: KeyTenantID, Want: "a string"}
		}
		var expect Head
		if t := s.tenants[f.tenant]; t != nil {
			expect = t.head
		}
		h, err := checkFields(f.tenant, expect, &f)
		if err != nil {
			return err
		}
		s.index(f.tenant, h, f.investigation, fileLoc{off: off, n: int32(len(line))})
		return nil
	})
	if err != nil {
		return err
	}
	s.size = end
	_, err = scanLines(s.cps, CheckpointsFile, s.cfg.logger, func(_ int64, line []byte, _ int) error {
		cp, err := ParseCheckpoint(line)
		if err != nil {
			return err
		}
		s.checkpoints[cp.TenantID] = insertCheckpoint(s.checkpoints[cp.TenantID], cp)
		return nil
	})
	return err
}

// scanLines calls fn for every complete line of f (without its newline)
// and truncates a trailing partial line. It returns the end offset of the
// last complete line and leaves f positioned there.
func scanLines(f *os.File, name string, log *slog.Logger, fn func(off int64, line []byte, n int) error) (int64, error) {
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return 0, err
	}
	br := bufio.NewReaderSize(f, 256<<10)
	var off int64
	for n := 1; ; n++ {
		line, err := br.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			// A line longer than the buffer: collect it whole.
			buf := append([]byte(nil), line...)
			for errors.Is(err, bufio.ErrBufferFull) {
				line, err = br.ReadSlice('\n')
				buf = append(buf, line...)
			}
			line = buf
		}
		if err == io.EOF {
			if len(line) > 0 {
				log.Warn("chain: truncating a partial last line left by an interrupted write",
					"file", filepath.Join(filepath.Dir(f.Name()), name), "offset", off, "bytes", len(line))
				if terr := f.Truncate(off); terr != nil {
					return off, terr
				}
			}
			_, serr := f.Seek(off, io.SeekStart)
			return off, serr
		}
		if err != nil {
			return off, err
		}
		body := bytes.TrimRight(line, "\r\n")
		if len(bytes.TrimSpace(body)) > 0 {
			if ferr := fn(off, body, n); ferr != nil {
				return off, &CorruptError{File: name, Line: n, Err: ferr}
			}
		}
		off += int64(len(line))
	}
}

func (s *FileStore) index(tenant string, h Head, inv string, loc fileLoc) {
	t := s.tenants[tenant]
	if t == nil {
		t = &fileTenant{byInv: map[string][]int32{}}
		s.tenants[tenant] = t
	}
	if inv != "" {
		t.byInv[inv] = append(t.byInv[inv], int32(len(t.locs)))
	}
	t.locs = append(t.locs, loc)
	t.head = h
}

// Head implements Store.
func (s *FileStore) Head(ctx context.Context, tenant string) (Head, bool, error) {
	if err := ctx.Err(); err != nil {
		return Head{}, false, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return Head{}, false, ErrClosed
	}
	t := s.tenants[tenant]
	if t == nil {
		return Head{}, false, nil
	}
	return t.head, true, nil
}

// Append implements Store.
func (s *FileStore) Append(ctx context.Context, tenant string, expect Head, rec canonical.Object) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	h, f, err := checkAppend(tenant, expect, rec)
	if err != nil {
		return err
	}
	line, err := canonical.Marshal(rec)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrBadAppend, err)
	}
	line = append(line, '\n')
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	var cur Head
	if t := s.tenants[tenant]; t != nil {
		cur = t.head
	}
	if !cur.same(expect) {
		return ErrHeadMoved
	}
	if err := s.writeLine(s.recs, s.size, line); err != nil {
		return err
	}
	s.index(tenant, h, f.investigation, fileLoc{off: s.size, n: int32(len(line) - 1)})
	s.size += int64(len(line))
	return nil
}

// writeLine appends line at off with one write, undoing a partial write.
func (s *FileStore) writeLine(f *os.File, off int64, line []byte) error {
	if _, err := f.WriteAt(line, off); err != nil {
		_ = f.Truncate(off)
		return fmt.Errorf("chain: writing %s: %w", filepath.Base(f.Name()), err)
	}
	if s.cfg.fsync {
		if err := f.Sync(); err != nil {
			return fmt.Errorf("chain: syncing %s: %w", filepath.Base(f.Name()), err)
		}
	}
	return nil
}

// read loads and decodes the records at locs.
func (s *FileStore) read(locs []fileLoc) ([]canonical.Object, error) {
	out := make([]canonical.Object, len(locs))
	var buf []byte
	for i, l := range locs {
		if cap(buf) < int(l.n) {
			buf = make([]byte, l.n)
		}
		buf = buf[:l.n]
		if _, err := s.recs.ReadAt(buf, l.off); err != nil {
			return nil, fmt.Errorf("chain: reading record: %w", err)
		}
		obj, err := canonical.DecodeObject(buf)
		if err != nil {
			return nil, fmt.Errorf("chain: stored record unreadable at offset %d: %w", l.off, err)
		}
		out[i] = obj
	}
	return out, nil
}

// pick selects locations under the read lock and reads them after; the file
// is append-only, so the selected bytes cannot change.
func (s *FileStore) pick(ctx context.Context, tenant string, sel func(t *fileTenant) []fileLoc) ([]canonical.Object, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.RLock()
	if s.closed {
		s.mu.RUnlock()
		return nil, ErrClosed
	}
	var locs []fileLoc
	if t := s.tenants[tenant]; t != nil {
		locs = sel(t)
	}
	s.mu.RUnlock()
	return s.read(locs)
}

// Range implements Store.
func (s *FileStore) Range(ctx context.Context, tenant string, from, to int64) ([]canonical.Object, error) {
	return s.pick(ctx, tenant, func(t *fileTenant) []fileLoc {
		a, z := rangeIndex(len(t.locs), from, to)
		return slices.Clone(t.locs[a:z])
	})
}

// Recent implements Store.
func (s *FileStore) Recent(ctx context.Context, tenant string, n int) ([]canonical.Object, error) {
	return s.pick(ctx, tenant, func(t *fileTenant) []fileLoc {
		n = min(max(n, 0), len(t.locs))
		return slices.Clone(t.locs[len(t.locs)-n:])
	})
}

// Sample implements Store.
func (s *FileStore) Sample(ctx context.Context, tenant string, n int) ([]canonical.Object, error) {
	return s.pick(ctx, tenant, func(t *fileTenant) []fileLoc {
		idx := sampleIndexes(len(t.locs), n)
		out := make([]fileLoc, len(idx))
		for i, j := range idx {
			out[i] = t.locs[j]
		}
		return out
	})
}

// ByInvestigation implements Store.
func (s *FileStore) ByInvestigation(ctx context.Context, tenant, investigationID string) ([]canonical.Object, error) {
	return s.pick(ctx, tenant, func(t *fileTenant) []fileLoc {
		idx := t.byInv[investigationID]
		out := make([]fileLoc, len(idx))
		for i, j := range idx {
			out[i] = t.locs[j]
		}
		return out
	})
}

// Tenants implements Store.
func (s *FileStore) Tenants(ctx context.Context) ([]string, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return nil, ErrClosed
	}
	out := make([]string, 0, len(s.tenants))
	for t := range s.tenants {
		out = append(out, t)
	}
	slices.Sort(out)
	return out, nil
}

// AppendCheckpoint implements CheckpointStore.
func (s *FileStore) AppendCheckpoint(ctx context.Context, cp Checkpoint) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	line, err := cp.MarshalJSON()
	if err != nil {
		return err
	}
	line = append(line, '\n')
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	end, err := s.cps.Seek(0, io.SeekEnd)
	if err != nil {
		return err
	}
	if err := s.writeLine(s.cps, end, line); err != nil {
		return err
	}
	s.checkpoints[cp.TenantID] = insertCheckpoint(s.checkpoints[cp.TenantID], cp)
	return nil
}

// Checkpoints implements CheckpointStore.
func (s *FileStore) Checkpoints(ctx context.Context, tenant string) ([]Checkpoint, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return nil, ErrClosed
	}
	return slices.Clone(s.checkpoints[tenant]), nil
}

// Close syncs and closes the files. It is idempotent.
func (s *FileStore) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	return errors.Join(s.recs.Sync(), s.cps.Sync(), s.recs.Close(), s.cps.Close())
}
