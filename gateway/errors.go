package gateway

import (
	"errors"
	"fmt"
	"strconv"
	"time"
)

// Sentinel errors. Typed errors below match one of them with errors.Is.
var (
	ErrInvalidRequest      = errors.New("gateway: invalid request")
	ErrTransport           = errors.New("gateway: transport failure")
	ErrNoClient            = errors.New("gateway: no client for provider")
	ErrNilClient           = errors.New("gateway: nil LLM client")
	ErrUnsupportedProvider = errors.New("gateway: unsupported provider")
	ErrInvalidKey          = errors.New("gateway: redaction map key must be 32 bytes")
	ErrRedactionMapDecrypt = errors.New("gateway: cannot decrypt redaction map")
	ErrInvalidConfig       = errors.New("gateway: invalid configuration")
	// ErrMalformedResponse is wrapped by clients around a provider answer
	// that arrived complete but cannot be understood (invalid JSON, missing
	// fields). It is not transient: the same request would get the same
	// answer.
	ErrMalformedResponse = errors.New("gateway: malformed provider response")
)

// RequestError reports the Request field that failed validation.
type RequestError struct {
	Field  string
	Reason string
}

func (e *RequestError) Error() string {
	return "gateway: invalid request: " + e.Field + ": " + e.Reason
}

// Is makes errors.Is(err, ErrInvalidRequest) true.
func (e *RequestError) Is(target error) bool { return target == ErrInvalidRequest }

// ConfigError reports an option that New rejected.
type ConfigError struct {
	Option string
	Reason string
}

func (e *ConfigError) Error() string { return "gateway: invalid option " + e.Option + ": " + e.Reason }

// Is makes errors.Is(err, ErrInvalidConfig) true.
func (e *ConfigError) Is(target error) bool { return target == ErrInvalidConfig }

// ProviderError is an HTTP-level failure reported by a provider. Clients
// return it (wrapped or not); the gateway retries it when it is transient
// and reports transient ones to the health registry.
type ProviderError struct {
	StatusCode int
	Err        error
	// Type is the provider's error type ("rate_limit_error",
	// "overloaded_error", "server_error", …), empty when unknown.
	Type string
	// RetryAfter is the wait the provider asked for (retry-after or
	// retry-after-ms headers); 0 when it gave none.
	RetryAfter time.Duration
	// RequestID is the provider's id of the failed request, for support
	// tickets and log correlation.
	RequestID string
	// NoRetry is set by clients when the provider said that waiting will
	// not help whatever the status (Anthropic's 429 for an exhausted
	// monthly spend limit).
	NoRetry bool
}

func (e *ProviderError) Error() string {
	msg := "gateway: provider returned HTTP " + strconv.Itoa(e.StatusCode)
	if e.Type != "" {
		msg += " (" + e.Type + ")"
	}
	if e.RequestID != "" {
		msg += " [request " + e.RequestID + "]"
	}
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	return msg
}

func (e *ProviderError) Unwrap() error { return e.Err }

// overloadedTypes are provider error types that mean "try again later"
// whatever the status code (Anthropic reports overload as HTTP 529, but a
// proxy may rewrite the status).
var overloadedTypes = map[string]bool{
	"overloaded_error": true,
	"rate_limit_error": true,
}

// Transient reports whether retrying the same request later can succeed:
// HTTP 429, any 5xx, or an overloaded/rate-limit error type, unless the
// client marked the error NoRetry.
func (e *ProviderError) Transient() bool {
	return !e.NoRetry && (e.StatusCode == 429 || e.StatusCode >= 500 || overloadedTypes[e.Type])
}

// LLMError is the final failure of a call after the gateway's retries.
type LLMError struct {
	Attempts int
	Err      error
}

func (e *LLMError) Error() string {
	return fmt.Sprintf("gateway: llm call failed after %d attempt(s): %v", e.Attempts, e.Err)
}

func (e *LLMError) Unwrap() error { return e.Err }
