// Package gateway is Warden's Context Gateway: the only path from a Warden
// agent to an LLM.
//
// For every call [Gateway.Complete]:
//
//  1. screens the untrusted content for prompt injection with the shared
//     detector (internal/injection). Only the reference mapping acts on the
//     content: malicious → the call is quarantined (no model is called),
//     suspicious → the content is replaced by a lossy summary of its facts.
//     Content flagged only by Warden's additional detectors is passed on
//     unchanged inside the isolation block and audited (injection.detected,
//     stage "prompt");
//  2. pseudonymises PII (IPs, e-mail addresses, host and user names) with a
//     fresh reversible map, replacing whole tokens only and never issuing a
//     placeholder that the input already contains;
//  3. wraps the content in an escaped <evidence> block behind a fixed safety
//     system prefix;
//  4. routes the call (optional [Router]), reserves its worst-case cost with
//     the spend guard (optional [SpendGuard], router's guard), calls the
//     provider with retries and health reporting, and settles the real cost;
//  5. validates the output (light JSON schema, ATT&CK/ATLAS technique ids
//     against the pinned MITRE tables: unknown, deprecated and revoked ids
//     are stripped so they cannot drive automation) and restores the PII;
//  6. records the call in one routing.tier_selected audit event with the full
//     LLM context (provider, model, tier, tokens, cost, latency, full 64-hex
//     SHA-256 hashes of the exact prompt and response), joined to the router's
//     decision by routing_decision_id. With an evidence store
//     ([WithEvidenceStore]; an audit/evidence *Store is passed as is) the
//     pseudonymised prompt and response are stored under the record's audit
//     id and the record lists their URIs in evidence_refs.
//
// The building blocks (detector and classifier wrappers, summariser,
// redactor, prompt builders, output validator, cost table) are exported as
// plain functions. Provider clients live in sub-packages: provider/anthropic
// (Messages API), provider/openai (Chat Completions, also vLLM, Ollama,
// LiteLLM) and provider/offline (a deterministic stand-in that calls no
// model). Package gatewaytest has a scripted client and a fake clock.
//
// Hot paths (PII redaction, evidence escaping, technique-id scanning) are
// hand-written single-pass scanners; the tests keep the plain RE2 regexes of
// the specification as the oracle and fuzz the two against each other.
package gateway
