package filekv

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestDirPutGetDeleteReopen(t *testing.T) {
	dir := t.TempDir()
	d, err := OpenDir(dir)
	require.NoError(t, err)
	require.NoError(t, d.Put("a/b:c", []byte(`{"x":1}`)))
	require.NoError(t, d.Put("a/b:c", []byte(`{"x":2}`)))
	require.NoError(t, d.Put("other", []byte(`[1]`)))
	assert.Error(t, d.Put("bad", []byte(`{not json`)))
	v, ok, err := d.Get("a/b:c")
	require.NoError(t, err)
	require.True(t, ok)
	assert.JSONEq(t, `{"x":2}`, string(v))
	removed, err := d.Delete("other")
	require.NoError(t, err)
	assert.True(t, removed)
	removed, _ = d.Delete("other")
	assert.False(t, removed)

	// A temporary file left by an interrupted write is ignored and removed.
	require.NoError(t, os.WriteFile(filepath.Join(dir, "x.json.123.tmp"), []byte("partial"), 0o600))
	require.NoError(t, d.Close())
	_, _, err = d.Get("a/b:c")
	assert.ErrorIs(t, err, ErrClosed)

	d2, err := OpenDir(dir)
	require.NoError(t, err)
	v, ok, _ = d2.Get("a/b:c")
	require.True(t, ok)
	assert.JSONEq(t, `{"x":2}`, string(v))
	_, ok, _ = d2.Get("other")
	assert.False(t, ok)
	tmps, _ := filepath.Glob(filepath.Join(dir, "*.tmp"))
	assert.Empty(t, tmps)
	n := 0
	require.NoError(t, d2.Range(func(string, []byte) bool { n++; return true }))
	assert.Equal(t, 1, n)
}

func TestDirCorruptDocumentIsAnError(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "bad.json"), []byte("garbage"), 0o600))
	_, err := OpenDir(dir)
	assert.Error(t, err)
}

func TestDirConcurrentWriters(t *testing.T) {
	d, err := OpenDir(t.TempDir())
	require.NoError(t, err)
	var wg sync.WaitGroup
	for i := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range 20 {
				key := fmt.Sprintf("k%d", (i+j)%5)
				b, _ := json.Marshal(map[string]int{"i": i, "j": j})
				if err := d.Put(key, b); err != nil {
					t.Error(err)
				}
				_, _, _ = d.Get(key)
			}
		}()
	}
	wg.Wait()
}

func TestLogTornTailAndReplay(t *testing.T) {
	path := filepath.Join(t.TempDir(), "log.jsonl")
	l, err := OpenLog(path, func([]byte) error { return nil })
	require.NoError(t, err)
	require.NoError(t, l.Append(map[string]int{"n": 1}))
	require.NoError(t, l.Append(map[string]int{"n": 2}))
	require.NoError(t, l.Close())
	// A crash mid-append leaves a partial last line.
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	require.NoError(t, err)
	_, _ = f.WriteString(`{"n":3`)
	require.NoError(t, f.Close())

	var seen []int
	l, err = OpenLog(path, func(line []byte) error {
		var v struct{ N int }
		if err := json.Unmarshal(line, &v); err != nil {
			return err
		}
		seen = append(seen, v.N)
		return nil
	})
	require.NoError(t, err)
	assert.Equal(t, []int{1, 2}, seen)
	require.NoError(t, l.Append(map[string]int{"n": 4}))
	require.NoError(t, l.Close())
	raw, _ := os.ReadFile(path)
	assert.Equal(t, "{\"n\":1}\n{\"n\":2}\n{\"n\":4}\n", string(raw))
	assert.ErrorIs(t, l.Append(1), ErrClosed)

	// A corrupt complete line is an error, not silently skipped.
	require.NoError(t, os.WriteFile(path, []byte("{\"n\":1}\nnot json\n"), 0o600))
	_, err = OpenLog(path, func(line []byte) error {
		var v any
		return json.Unmarshal(line, &v)
	})
	assert.Error(t, err)
}

func TestWriteFileAtomic(t *testing.T) {
	path := filepath.Join(t.TempDir(), "f.json")
	require.NoError(t, WriteFileAtomic(path, []byte("one")))
	require.NoError(t, WriteFileAtomic(path, []byte("two")))
	b, _ := os.ReadFile(path)
	assert.Equal(t, "two", string(b))
	assert.Error(t, WriteFileAtomic(filepath.Join(t.TempDir(), "missing", "f"), []byte("x")))
}
