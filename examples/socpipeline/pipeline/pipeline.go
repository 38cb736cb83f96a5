// Package pipeline is the SOC pipeline behind examples/socpipeline and
// examples/httphost.
//
// NewServices builds every Warden service over one audit Producer and one
// clock: entityparser, the orchestrator with its LLM port through
// orchestrator/llmgateway, gateway and router (health registry, spend
// guard, escalation budget), response with an approval policy, ctem and
// the FP pattern store of orchestrator/autonomy. Services.Ingest takes one
// raw SIEM alert through all of them.
//
// Run plays the demo story over Services on an injected clock: tenants go
// live, scanner findings are scored (ctem), AI-system telemetry runs through
// the ATLAS rules, ten sample alerts from five SIEMs are investigated (with a
// simulated provider outage, an exhausted tenant budget, a prompt injection
// and an approved FP pattern), approval windows run out, and one batch cycle
// mines the closed investigations. Kafka (embedded kfake or a real cluster),
// the exactly-once chaining service and chain verification are here too
// (StartKafka, StartChain, VerifyTrail), for the commands to assemble.
//
// The same Run with a nil Producer returns identical results: audit emission
// never changes a decision. The end-to-end tests check exactly that.
package pipeline

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/socwarden/warden/audit"
	"github.com/socwarden/warden/response"
)

// DefaultStart is where the demo clock starts when Config.Start is zero.
var DefaultStart = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)

// Config configures a pipeline run.
type Config struct {
	// Producer receives every service's audit events (each stamped with its
	// service's source_service). Nil runs the same pipeline with no audit.
	Producer audit.Producer
	// Clock is the injected clock shared by every service; nil means a new
	// clock at Start.
	Clock *Clock
	// Start is the demo clock's start when Clock is nil; zero means
	// DefaultStart.
	Start time.Time
	// Reviewer decides approval gates that hold a tier-2 action; gates
	// with only tier-0/1 actions are auto-granted by policy. Nil means the
	// story's scripted reviewer (ScriptedReviewer).
	Reviewer response.Approver
	// Publisher receives what ctem and atlas publish (ctem.normalized,
	// alerts.raw); nil publishes nothing.
	Publisher Publisher
	// Progress receives one human-readable line per step; nil is silent.
	Progress io.Writer
	// Logger receives the services' warnings; nil discards.
	Logger *slog.Logger
	// LLM is the provider mode: LLMOffline (default), LLMAnthropic or
	// LLMOpenAI.
	LLM string
	// Getenv reads the provider's API key and base URL; nil means os.Getenv.
	Getenv func(string) string
	// RunID goes into every investigation and approval id
	// (inv-<RunID>-0001). Runs that share a Kafka cluster need distinct
	// ones: the orchestrator derives audit ids from investigation ids, and
	// the chain drops an event whose audit id it has already chained as a
	// redelivery. Empty gives inv-0001, the same in every run.
	RunID string
}

// Publisher is the publishing port of ctem and atlas; *Kafka implements it.
type Publisher interface {
	Publish(ctx context.Context, topic string, key, value []byte) error
}

// Result holds the business results of a run: what was decided and done,
// never how it was audited. Two runs from the same start with and without a
// Producer must return equal Results.
type Result struct {
	Investigations []InvestigationOutcome
	Approvals      []ApprovalOutcome
	Exposures      []ExposureOutcome
	Detections     []DetectionOutcome
	Patterns       []PatternOutcome
	Playbooks      []PlaybookOutcome
}

// PatternOutcome is one FP pattern in the autonomy store after the run.
type PatternOutcome struct {
	PatternID      string
	TenantID       string
	AlertNameRegex string
	Status         string
}

// PlaybookOutcome is one playbook drafted by the batch cycle.
type PlaybookOutcome struct {
	TenantID   string
	Name       string
	Techniques []string
	Sources    []string
}

// InvestigationOutcome is where one alert's investigation ended.
type InvestigationOutcome struct {
	InvestigationID   string
	AlertID           string
	TenantID          string
	State             string
	Classification    string
	Confidence        float64
	Severity          string
	Escalations       []string
	RecommendedAction []string
	Actions           []ActionOutcome
	LLMCalls          int
	CostUSD           float64
}

// ApprovalOutcome is the final state of one approval gate.
type ApprovalOutcome struct {
	ApprovalID      string
	InvestigationID string
	TenantID        string
	Severity        string
	Actions         []string
	State           string
	Outcome         string
	DecidedBy       string
	RequiredRole    string
}

// ActionOutcome is one response action's result.
type ActionOutcome struct {
	Action     string
	Target     string
	Tier       int
	Status     string
	ApprovedBy string
	Blocked    string
}

// ExposureOutcome is one stored CTEM exposure.
type ExposureOutcome struct {
	Key        string
	TenantID   string
	Source     string
	Title      string
	Severity   string
	Score      float64
	AssignedTo string
	SLA        time.Time
}

// DetectionOutcome is one ATLAS detection.
type DetectionOutcome struct {
	RuleID     string
	Technique  string
	Title      string
	Confidence float64
	Trust      string
	AlertID    string
	Suppressed bool
}

// seqIDs returns a generator of deterministic ids (prefix-[runID-]0001,
// ...), so two runs with the same run id produce the same ids and their
// results compare equal.
func seqIDs(prefix, runID string) func() string {
	if runID != "" {
		prefix += "-" + runID
	}
	var n atomic.Int64
	return func() string { return fmt.Sprintf("%s-%04d", prefix, n.Add(1)) }
}
