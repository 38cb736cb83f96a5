// Package entityparser turns raw SIEM and EDR alerts into normalized alerts
// for Warden's orchestrator.
//
// Five source adapters (Normalize: Microsoft Sentinel, Elastic Security,
// Splunk ES, CrowdStrike Falcon, Microsoft Defender for Endpoint) map
// vendor events to CanonicalAlert, the one alert type of Warden. A Parser
// then validates each alert, extracts its entities (Sentinel-style entity
// arrays structurally; free text through the IOC extractor of package
// entityparser/ioc), scans the untrusted fields for prompt injection
// (internal/injection), emits injection.detected and alert.classified audit
// events, and publishes the alert plus its parsed entities; invalid
// messages go to a dead-letter topic.
//
// The package is usable as pure functions (Normalize, ParseEntities,
// SanitizeValue, ScanInjection, ParseAlerts), one message at a time
// (Parser.Process) or as a consume → parse → publish loop over host ports
// (Parser.Run with a Consumer and a Publisher; MemoryBus is the in-memory
// implementation). Sanitisation never mangles indicators: URLs, paths,
// hashes and addresses keep every character, since escaping belongs where a
// query is built.
package entityparser
