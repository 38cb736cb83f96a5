package response

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// The file stores are the durable stores of DESIGN §7: an append-only JSON
// lines log, one full record per accepted write, fsynced before the write
// returns and replayed into memory on open, so a restarted process loses no
// pending approval and no execution record. A torn final line (a crash in
// mid-write) is cut off on open; damage anywhere else is an error, never
// silently dropped. When superseded lines dominate, open rewrites the log
// with write-to-temp + fsync + rename.
//
// One process owns a log at a time: the compare-and-swap is enforced in
// memory, so two processes sharing a file would not see each other's writes.

// compactSlack is how many superseded lines a log may carry before open
// compacts it.
const compactSlack = 1024

// jsonlLog is the append handle of a store's log. Its owner serialises every
// call (the store's mutex).
type jsonlLog struct {
	path  string
	f     *os.File
	size  int64 // bytes of whole lines
	lines int
}

// openLog opens or creates path and feeds each complete line to apply.
func openLog(path string, apply func(line []byte) error) (*jsonlLog, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("response: open store %s: %w", path, err)
	}
	l := &jsonlLog{path: path, f: f}
	if err := l.replay(apply); err != nil {
		f.Close()
		return nil, err
	}
	if _, err := f.Seek(l.size, io.SeekStart); err != nil {
		f.Close()
		return nil, fmt.Errorf("response: store %s: %w", path, err)
	}
	return l, nil
}

func (l *jsonlLog) replay(apply func([]byte) error) error {
	r := bufio.NewReader(l.f)
	var off int64
	for n := 1; ; n++ {
		line, err := r.ReadBytes('\n')
		if len(line) > 0 && line[len(line)-1] == '\n' {
			if aerr := apply(bytes.TrimSpace(line)); aerr != nil {
				if _, perr := r.Peek(1); perr == nil {
					return fmt.Errorf("response: store %s: line %d is damaged: %w", l.path, n, aerr)
				}
				return l.truncate(off) // a damaged final line is a torn write
			}
			off += int64(len(line))
			l.lines++
			continue
		}
		if err == io.EOF {
			if len(line) > 0 {
				return l.truncate(off)
			}
			l.size = off
			return nil
		}
		if err != nil {
			return fmt.Errorf("response: store %s: %w", l.path, err)
		}
	}
}

func (l *jsonlLog) truncate(off int64) error {
	if err := l.f.Truncate(off); err != nil {
		return fmt.Errorf("response: store %s: cutting torn tail: %w", l.path, err)
	}
	l.size = off
	return l.f.Sync()
}

// append writes one record as a line and fsyncs it; on failure the log is
// cut back so a partial line never precedes later writes.
func (l *jsonlLog) append(v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("response: store %s: encoding: %w", l.path, err)
	}
	b = append(b, '\n')
	if _, err := l.f.Write(b); err != nil {
		l.rewind()
		return fmt.Errorf("response: store %s: write: %w", l.path, err)
	}
	if err := l.f.Sync(); err != nil {
		l.rewind()
		return fmt.Errorf("response: store %s: fsync: %w", l.path, err)
	}
	l.size += int64(len(b))
	l.lines++
	return nil
}

func (l *jsonlLog) rewind() {
	_ = l.f.Truncate(l.size)
	_, _ = l.f.Seek(l.size, io.SeekStart)
}

// rewrite replaces the log with one line per record (temp + fsync + rename +
// directory fsync) and reopens it for appending.
func (l *jsonlLog) rewrite(records []any) error {
	tmp := l.path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return fmt.Errorf("response: compact %s: %w", l.path, err)
	}
	w := bufio.NewWriter(f)
	var size int64
	for _, r := range records {
		b, err := json.Marshal(r)
		if err == nil {
			b = append(b, '\n')
			_, err = w.Write(b)
		}
		if err != nil {
			f.Close()
			os.Remove(tmp)
			return fmt.Errorf("response: compact %s: %w", l.path, err)
		}
		size += int64(len(b))
	}
	if err := errors.Join(w.Flush(), f.Sync()); err != nil {
		f.Close()
		os.Remove(tmp)
		return fmt.Errorf("response: compact %s: %w", l.path, err)
	}
	if err := os.Rename(tmp, l.path); err != nil {
		f.Close()
		os.Remove(tmp)
		return fmt.Errorf("response: compact %s: %w", l.path, err)
	}
	syncDir(filepath.Dir(l.path))
	l.f.Close()
	l.f, l.size, l.lines = f, size, len(records)
	_, err = f.Seek(size, io.SeekStart)
	return err
}

// syncDir makes a rename durable; platforms that cannot fsync a directory
// are left to their own guarantees.
func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		d.Close()
	}
}

func (l *jsonlLog) close() error { return l.f.Close() }

func (l *jsonlLog) shouldCompact(records int) bool { return l.lines > 2*records+compactSlack }

// FileApprovals is the durable ApprovalStore. Safe for concurrent use within
// one process.
type FileApprovals struct {
	*MemoryApprovals
	log *jsonlLog // guarded by MemoryApprovals.mu
}

var _ ApprovalStore = (*FileApprovals)(nil)

// OpenFileApprovals opens (creating if needed) the approval log at path and
// replays it.
func OpenFileApprovals(path string) (*FileApprovals, error) {
	m := NewMemoryApprovals()
	log, err := openLog(path, func(line []byte) error {
		var a Approval
		if err := json.Unmarshal(line, &a); err != nil {
			return err
		}
		if a.ApprovalID == "" || a.InvestigationID == "" {
			return errors.New("record without approval_id or investigation_id")
		}
		m.apply(a)
		return nil
	})
	if err != nil {
		return nil, err
	}
	s := &FileApprovals{MemoryApprovals: m, log: log}
	if log.shouldCompact(len(m.byID)) {
		snap := m.snapshot()
		recs := make([]any, len(snap))
		for i := range snap {
			recs[i] = snap[i]
		}
		if err := log.rewrite(recs); err != nil {
			log.close()
			return nil, err
		}
	}
	m.persist = func(a Approval) error { return s.log.append(a) }
	return s, nil
}

// Close closes the log; later calls return ErrStoreClosed.
func (s *FileApprovals) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	return s.log.close()
}

// FileExecutions is the durable ExecutionStore. Safe for concurrent use
// within one process.
type FileExecutions struct {
	*MemoryExecutions
	log *jsonlLog // guarded by MemoryExecutions.mu
}

var _ ExecutionStore = (*FileExecutions)(nil)

// OpenFileExecutions opens (creating if needed) the execution log at path
// and replays it.
func OpenFileExecutions(path string) (*FileExecutions, error) {
	m := NewMemoryExecutions()
	log, err := openLog(path, func(line []byte) error {
		var e Execution
		if err := json.Unmarshal(line, &e); err != nil {
			return err
		}
		if e.ExecutionID == "" {
			return errors.New("record without execution_id")
		}
		m.apply(e)
		return nil
	})
	if err != nil {
		return nil, err
	}
	s := &FileExecutions{MemoryExecutions: m, log: log}
	if log.shouldCompact(len(m.byID)) {
		snap := m.snapshot()
		recs := make([]any, len(snap))
		for i := range snap {
			recs[i] = snap[i]
		}
		if err := log.rewrite(recs); err != nil {
			log.close()
			return nil, err
		}
	}
	m.persist = func(e Execution) error { return s.log.append(e) }
	return s, nil
}

// Close closes the log; later calls return ErrStoreClosed.
func (s *FileExecutions) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	return s.log.close()
}
