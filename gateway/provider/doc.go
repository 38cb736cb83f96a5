// Package provider is the parent of Warden's LLM provider clients, each a
// gateway.LLMClient over net/http with no SDK dependency:
//
//   - provider/anthropic: the Anthropic Messages API;
//   - provider/openai: OpenAI-compatible Chat Completions (OpenAI, vLLM,
//     Ollama, LiteLLM proxy and other compatible servers);
//   - provider/offline: a deterministic stand-in that calls no model, for
//     examples and tests.
//
// A client performs exactly one attempt per Complete: the gateway owns the
// one retry layer. Clients classify failures for it: HTTP errors become
// *gateway.ProviderError (with the provider's error type, retry-after and
// request id), connection failures and truncated bodies wrap
// gateway.ErrTransport, and answers that arrived whole but cannot be parsed
// wrap gateway.ErrMalformedResponse.
package provider
