// Package httpcall is the HTTP exchange shared by the provider clients: one
// JSON POST with a bounded response body, failures classified the way the
// gateway's retry layer expects.
package httpcall

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/socwarden/warden/gateway"
)

// Response is one HTTP answer with its whole body.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
}

// Post sends body to url as JSON and reads at most maxBody bytes of the
// answer. Connection failures, timeouts and bodies cut short wrap
// gateway.ErrTransport (the caller's context error stays matchable with
// errors.Is); a body over maxBody wraps gateway.ErrMalformedResponse.
func Post(ctx context.Context, c *http.Client, url string, header http.Header, body []byte, maxBody int64) (Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return Response{}, fmt.Errorf("provider: building request: %w", err)
	}
	for k, vs := range header {
		req.Header[k] = vs
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	resp, err := c.Do(req)
	if err != nil {
		return Response{}, fmt.Errorf("%w: %w", gateway.ErrTransport, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxBody+1))
	if err != nil {
		return Response{}, fmt.Errorf("%w: reading response body (HTTP %d): %w", gateway.ErrTransport, resp.StatusCode, err)
	}
	if int64(len(b)) > maxBody {
		return Response{}, fmt.Errorf("%w: response body exceeds %d bytes", gateway.ErrMalformedResponse, maxBody)
	}
	return Response{Status: resp.StatusCode, Header: resp.Header, Body: b}, nil
}

// maxRetryAfter bounds a parsed retry-after so that absurd values cannot
// overflow a duration; the gateway refuses to wait that long anyway.
const maxRetryAfter = 24 * time.Hour

// RetryAfter is the wait a provider asked for: retry-after-ms (milliseconds,
// OpenAI-compatible servers), else retry-after (seconds or an HTTP date).
// 0 when absent or unparseable.
func RetryAfter(h http.Header, now time.Time) time.Duration {
	if v := strings.TrimSpace(h.Get("Retry-After-Ms")); v != "" {
		if ms, err := strconv.ParseFloat(v, 64); err == nil && !math.IsNaN(ms) {
			switch {
			case ms <= 0:
				return 0
			case ms > float64(maxRetryAfter.Milliseconds()):
				return maxRetryAfter
			}
			return time.Duration(ms * float64(time.Millisecond))
		}
	}
	v := strings.TrimSpace(h.Get("Retry-After"))
	if v == "" {
		return 0
	}
	if s, err := strconv.ParseFloat(v, 64); err == nil {
		switch {
		case math.IsNaN(s) || s <= 0:
			return 0
		case s > maxRetryAfter.Seconds():
			return maxRetryAfter
		}
		return time.Duration(s * float64(time.Second))
	}
	if t, err := http.ParseTime(v); err == nil {
		return clampWait(t.Sub(now))
	}
	return 0
}

func clampWait(d time.Duration) time.Duration {
	switch {
	case d <= 0:
		return 0
	case d > maxRetryAfter:
		return maxRetryAfter
	}
	return d
}

// RequestID returns the first non-empty header of names.
func RequestID(h http.Header, names ...string) string {
	for _, n := range names {
		if v := h.Get(n); v != "" {
			return v
		}
	}
	return ""
}

// Snippet is a short, printable excerpt of a body for error messages.
func Snippet(b []byte) string {
	const limit = 200
	s := strings.ToValidUTF8(string(b), "\uFFFD")
	if len(s) > limit {
		cut := limit
		for cut > 0 && s[cut]&0xC0 == 0x80 {
			cut--
		}
		s = s[:cut] + "…"
	}
	return s
}

// ErrEmptyAPIKey is returned by clients that need a key and got none.
var ErrEmptyAPIKey = errors.New("provider: empty API key")
