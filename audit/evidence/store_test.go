package evidence_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/socwarden/warden/audit/evidence"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var (
	quiet  = slog.New(slog.DiscardHandler)
	day    = time.Date(2026, 3, 2, 23, 59, 59, 0, time.UTC)
	dayFn  = func() time.Time { return day }
	bucket = "warden-evidence"
)

func hashOf(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}

func newStore(t testing.TB, objs evidence.ObjectStore) *evidence.Store {
	t.Helper()
	s, err := evidence.NewStore(objs, bucket, evidence.WithClock(dayFn), evidence.WithLogger(quiet))
	require.NoError(t, err)
	return s
}

// Checklists 69, 71.
func TestPutGetVerify(t *testing.T) {
	ctx := context.Background()
	objs := evidence.NewMemoryObjects()
	s := newStore(t, objs)
	ref, err := s.PutString(ctx, "t1", "aud-123", evidence.LLMResponse, "data")
	require.NoError(t, err)
	assert.Equal(t, hashOf("data"), ref.Hash)
	assert.Equal(t, "s3://warden-evidence/t1/2026/03/02/aud-123/llm_response.json", ref.URI)
	assert.Equal(t, "aws:kms", objs.SSE(bucket, "t1/2026/03/02/aud-123/llm_response.json"))

	got, err := s.Get(ctx, ref.URI)
	require.NoError(t, err)
	assert.Equal(t, "data", string(got))
	ok, err := s.Verify(ctx, ref.URI, ref.Hash)
	require.NoError(t, err)
	assert.True(t, ok)
	ok, err = s.Verify(ctx, ref.URI, strings.ToUpper(ref.Hash))
	require.NoError(t, err)
	assert.True(t, ok)
	// Someone with write access replaces the object: Verify against the
	// recorded hash fails.
	require.NoError(t, objs.Put(ctx, bucket, "t1/2026/03/02/aud-123/llm_response.json", []byte("dat4"), "aws:kms"))
	ok, err = s.Verify(ctx, ref.URI, ref.Hash)
	require.NoError(t, err)
	assert.False(t, ok)
	_, err = s.Get(ctx, "s3://warden-evidence/t1/nothing.json")
	assert.ErrorIs(t, err, evidence.ErrNotFound)
}

// Checklist 70: bytes are hashed the same; a failing store gives a zero Ref
// and an error.
func TestPutBytesAndFailure(t *testing.T) {
	ctx := context.Background()
	s := newStore(t, evidence.NewMemoryObjects())
	ref, err := s.Put(ctx, "t1", "a1", evidence.RawAlert, []byte("data"))
	require.NoError(t, err)
	assert.Equal(t, hashOf("data"), ref.Hash)
	utf, err := s.PutString(ctx, "t1", "a2", evidence.LLMPrompt, "é😀")
	require.NoError(t, err)
	assert.Equal(t, hashOf("é😀"), utf.Hash)

	failing := newStore(t, failingObjects{})
	ref, err = failing.Put(ctx, "t1", "a1", evidence.RawAlert, []byte("data"))
	assert.Error(t, err)
	assert.True(t, ref.IsZero())
}

type failingObjects struct{ failKey string }

func (f failingObjects) Put(_ context.Context, _, key string, _ []byte, _ string) error {
	if f.failKey == "" || strings.Contains(key, f.failKey) {
		return errors.New("object store down")
	}
	return nil
}

func (failingObjects) Get(context.Context, string, string) ([]byte, error) {
	return nil, errors.New("object store down")
}

// Checklist 72.
func TestPutBatch(t *testing.T) {
	s := newStore(t, failingObjects{failKey: "llm_response"})
	res := s.PutBatch(context.Background(), "t1", "a1", []evidence.Item{
		{Type: evidence.LLMPrompt, Content: []byte("p")},
		{Type: evidence.LLMResponse, Content: []byte("r")},
		{Type: evidence.RetrievalContext, Content: []byte("c")},
	})
	require.Len(t, res, 3)
	assert.NoError(t, res[0].Err)
	assert.Error(t, res[1].Err)
	assert.True(t, res[1].Ref.IsZero())
	assert.NoError(t, res[2].Err)
	uris := evidence.Refs(res[0].Ref, res[1].Ref, res[2].Ref)
	assert.Equal(t, []string{
		"s3://warden-evidence/t1/2026/03/02/a1/llm_prompt.json",
		"s3://warden-evidence/t1/2026/03/02/a1/retrieval_context.json",
	}, uris)
}

// Checklist 73: names that would escape or corrupt a key are refused and
// nothing is stored.
func TestInvalidKeys(t *testing.T) {
	ctx := context.Background()
	objs := evidence.NewMemoryObjects()
	s := newStore(t, objs)
	for _, tc := range []struct{ tenant, audit, typ string }{
		{"t1", "a1", "../x"}, {"t1", "a1", "note"}, {"a/b", "a1", "raw_alert"}, {`a\b`, "a1", "raw_alert"},
		{"", "a1", "raw_alert"}, {"..", "a1", "raw_alert"}, {".", "a1", "raw_alert"}, {"t1", "", "raw_alert"},
		{"t1", "..", "raw_alert"}, {"t1", "a\x00", "raw_alert"}, {"t\n", "a1", "raw_alert"}, {"t1", "a/../../x", "raw_alert"},
	} {
		_, err := s.Put(ctx, tc.tenant, tc.audit, evidence.Type(tc.typ), []byte("x"))
		var ike *evidence.InvalidKeyError
		assert.ErrorAs(t, err, &ike, "%+v", tc)
	}
	assert.Empty(t, objs.Keys())
	_, err := evidence.NewStore(objs, "a/b")
	assert.ErrorIs(t, err, evidence.ErrInvalidConfig)
	_, err = evidence.NewStore(nil, "b")
	assert.ErrorIs(t, err, evidence.ErrInvalidConfig)
	_, err = evidence.NewStore(objs, "b", evidence.WithClock(nil))
	assert.ErrorIs(t, err, evidence.ErrInvalidConfig)
}

func TestParseURI(t *testing.T) {
	b, k, err := evidence.ParseURI("s3://bkt/t1/2026/x.json")
	require.NoError(t, err)
	assert.Equal(t, "bkt", b)
	assert.Equal(t, "t1/2026/x.json", k)
	for _, bad := range []string{"", "bkt/key", "s3://", "s3://bkt", "s3://bkt/", "s3:///key", "s3://s3://bkt/key", "http://bkt/key"} {
		_, _, err := evidence.ParseURI(bad)
		assert.ErrorIs(t, err, evidence.ErrBadURI, bad)
	}
}

// FileObjects: durable, hash-checked on read, confined to its root.
func TestFileObjects(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	fo, err := evidence.NewFileObjects(dir)
	require.NoError(t, err)
	defer fo.Close()
	s := newStore(t, fo)
	ref, err := s.PutString(ctx, "t1", "a1", evidence.LLMPrompt, "the prompt\nwith lines")
	require.NoError(t, err)
	got, err := s.Get(ctx, ref.URI)
	require.NoError(t, err)
	assert.Equal(t, "the prompt\nwith lines", string(got))
	ok, err := s.Verify(ctx, ref.URI, ref.Hash)
	require.NoError(t, err)
	assert.True(t, ok)

	// Bit rot on disk is an error, never wrong evidence.
	path := filepath.Join(dir, bucket, "t1/2026/03/02/a1/llm_prompt.json")
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.True(t, strings.HasPrefix(string(data), "warden-object v1 sha256="+ref.Hash))
	require.NoError(t, os.WriteFile(path, []byte(strings.Replace(string(data), "prompt", "promPt", 1)), 0o600))
	_, err = s.Get(ctx, ref.URI)
	assert.ErrorIs(t, err, evidence.ErrCorrupt)
	require.NoError(t, os.WriteFile(path, []byte("no header"), 0o600))
	_, err = s.Get(ctx, ref.URI)
	assert.ErrorIs(t, err, evidence.ErrCorrupt)

	// Overwrite is atomic and leaves no temporary files.
	require.NoError(t, fo.Put(ctx, bucket, "t1/2026/03/02/a1/llm_prompt.json", []byte("v2"), "aws:kms"))
	got, err = fo.Get(ctx, bucket, "t1/2026/03/02/a1/llm_prompt.json")
	require.NoError(t, err)
	assert.Equal(t, "v2", string(got))
	entries, _ := os.ReadDir(filepath.Dir(path))
	assert.Len(t, entries, 1)

	_, err = fo.Get(ctx, bucket, "t1/none.json")
	assert.ErrorIs(t, err, evidence.ErrNotFound)
	for _, key := range []string{"../escape", "a/../../escape", "/abs", "a//b", "a/./b", `a\b`} {
		var ike *evidence.InvalidKeyError
		assert.ErrorAs(t, fo.Put(ctx, bucket, key, []byte("x"), ""), &ike, key)
		_, err = fo.Get(ctx, bucket, key)
		assert.ErrorAs(t, err, &ike, key)
	}
	var ike *evidence.InvalidKeyError
	assert.ErrorAs(t, fo.Put(ctx, "..", "k", []byte("x"), ""), &ike)
	_, err = os.Stat(filepath.Join(filepath.Dir(dir), "escape"))
	assert.True(t, os.IsNotExist(err))
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	assert.ErrorIs(t, fo.Put(cancelled, bucket, "k", nil, ""), context.Canceled)
}

func TestObjectStoresConcurrent(t *testing.T) {
	fo, err := evidence.NewFileObjects(t.TempDir())
	require.NoError(t, err)
	defer fo.Close()
	for name, objs := range map[string]evidence.ObjectStore{"memory": evidence.NewMemoryObjects(), "file": fo} {
		t.Run(name, func(t *testing.T) {
			s := newStore(t, objs)
			var wg sync.WaitGroup
			for g := range 16 {
				wg.Go(func() {
					for i := range 20 {
						content := strings.Repeat(string(rune('a'+g)), i+1)
						ref, err := s.PutString(context.Background(), "t1", "a"+string(rune('a'+g)), evidence.RawAlert, content)
						if !assert.NoError(t, err) {
							return
						}
						got, err := s.Get(context.Background(), ref.URI)
						// Another goroutine never writes this key, so the
						// content is ours.
						assert.NoError(t, err)
						assert.Equal(t, content, string(got))
					}
				})
			}
			wg.Wait()
		})
	}
}
