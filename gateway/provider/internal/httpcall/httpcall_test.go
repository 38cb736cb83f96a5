package httpcall

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/socwarden/warden/gateway"
)

func TestRetryAfter(t *testing.T) {
	now := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	h := func(kv ...string) http.Header {
		out := http.Header{}
		for i := 0; i < len(kv); i += 2 {
			out.Set(kv[i], kv[i+1])
		}
		return out
	}
	for _, tc := range []struct {
		h    http.Header
		want time.Duration
	}{
		{h(), 0},
		{h("Retry-After", "2"), 2 * time.Second},
		{h("Retry-After", "1.5"), 1500 * time.Millisecond},
		{h("Retry-After", "0"), 0},
		{h("Retry-After", "-3"), 0},
		{h("Retry-After", "NaN"), 0},
		{h("Retry-After", "1e30"), maxRetryAfter},
		{h("Retry-After", "soon"), 0},
		{h("Retry-After", "Sun, 01 Mar 2026 00:01:00 GMT"), time.Minute},
		{h("Retry-After", "Sat, 28 Feb 2026 23:00:00 GMT"), 0},
		{h("Retry-After-Ms", "250", "Retry-After", "9"), 250 * time.Millisecond},
		{h("Retry-After-Ms", "x", "Retry-After", "9"), 9 * time.Second},
		{h("Retry-After-Ms", "1e300"), maxRetryAfter},
	} {
		assert.Equal(t, tc.want, RetryAfter(tc.h, now), "%v", tc.h)
	}
}

func TestPostAndHelpers(t *testing.T) {
	var seen http.Header
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen = r.Header.Clone()
		w.Header().Set("X-Request-Id", "rid")
		_, _ = w.Write([]byte(`{"ok":true}`))
	}))
	defer srv.Close()
	resp, err := Post(context.Background(), srv.Client(), srv.URL, http.Header{"X-Extra": {"v"}}, []byte(`{}`), 1024)
	require.NoError(t, err)
	assert.Equal(t, 200, resp.Status)
	assert.Equal(t, "application/json", seen.Get("Content-Type"))
	assert.Equal(t, "v", seen.Get("X-Extra"))
	assert.Equal(t, `{"ok":true}`, string(resp.Body))
	assert.Equal(t, "rid", RequestID(resp.Header, "request-id", "x-request-id"))
	assert.Equal(t, "", RequestID(resp.Header, "nope"))

	_, err = Post(context.Background(), srv.Client(), srv.URL, nil, nil, 3)
	require.ErrorIs(t, err, gateway.ErrMalformedResponse)
	_, err = Post(context.Background(), srv.Client(), "http://\x7f", nil, nil, 3)
	require.Error(t, err)

	long := strings.Repeat("é", 300)
	s := Snippet([]byte(long))
	assert.True(t, strings.HasSuffix(s, "…"))
	assert.LessOrEqual(t, len(s), 204)
	assert.Equal(t, "a\uFFFDb", Snippet([]byte("a\xffb")))
}
