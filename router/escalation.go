package router

import (
	"log/slog"
	"math"
	"strings"
	"sync"
	"time"

	"github.com/socwarden/warden/taxonomy"
)

// Escalation defaults.
const (
	DefaultEscalationThreshold    = 0.6
	DefaultMaxEscalationsPerHour  = 10
	DefaultExtendedThinkingBudget = 8192
	escalationWindow              = time.Hour
)

// EscalationPolicy governs confidence-based escalation to tier_1_plus.
type EscalationPolicy struct {
	// ConfidenceThreshold: confidences strictly below it may escalate.
	ConfidenceThreshold float64 `json:"confidence_threshold"`
	// ApplicableSeverities are the alert severities that may escalate
	// (matched case-insensitively).
	ApplicableSeverities []string `json:"applicable_severities"`
	// MaxEscalationsPerHour is the rolling-hour budget; 0 disables escalation.
	MaxEscalationsPerHour int `json:"max_escalations_per_hour"`
	// ExtendedThinkingBudget is informational, for callers building the
	// tier_1_plus request (tokens).
	ExtendedThinkingBudget int `json:"extended_thinking_budget"`
}

// DefaultEscalationPolicy returns threshold 0.6, severities critical and
// high, 10 escalations per hour, an 8,192-token thinking budget.
func DefaultEscalationPolicy() EscalationPolicy {
	return EscalationPolicy{
		ConfidenceThreshold:    DefaultEscalationThreshold,
		ApplicableSeverities:   []string{SeverityCritical, SeverityHigh},
		MaxEscalationsPerHour:  DefaultMaxEscalationsPerHour,
		ExtendedThinkingBudget: DefaultExtendedThinkingBudget,
	}
}

// EscalationManager enforces an [EscalationPolicy] with a rolling-hour
// budget. It keeps at most MaxEscalationsPerHour timestamps, so
// EscalationsThisHour saturates at the maximum. Safe for concurrent use.
type EscalationManager struct {
	// Immutable after construction.
	policy     EscalationPolicy
	severities map[string]bool
	now        func() time.Time
	logger     *slog.Logger

	// mu guards stamps: escalation times, oldest first.
	mu     sync.Mutex
	stamps []time.Time
}

// NewEscalationManager validates p (threshold finite in [0, 1], budget and
// thinking budget >= 0) and returns a manager. Only the common options apply.
func NewEscalationManager(p EscalationPolicy, opts ...Option) (*EscalationManager, error) {
	c, err := buildConfig(forEscalation, opts)
	if err != nil {
		return nil, err
	}
	switch {
	case math.IsNaN(p.ConfidenceThreshold) || p.ConfidenceThreshold < 0 || p.ConfidenceThreshold > 1:
		return nil, configErr("EscalationPolicy.ConfidenceThreshold", "must be a finite number in [0, 1]")
	case p.MaxEscalationsPerHour < 0:
		return nil, configErr("EscalationPolicy.MaxEscalationsPerHour", "must be >= 0")
	case p.ExtendedThinkingBudget < 0:
		return nil, configErr("EscalationPolicy.ExtendedThinkingBudget", "must be >= 0")
	}
	m := &EscalationManager{now: c.now, logger: c.logger, severities: map[string]bool{}}
	p.ApplicableSeverities = append([]string(nil), p.ApplicableSeverities...)
	for _, s := range p.ApplicableSeverities {
		m.severities[strings.ToLower(strings.TrimSpace(s))] = true
	}
	m.policy = p
	return m, nil
}

// Policy returns a copy of the manager's policy.
func (m *EscalationManager) Policy() EscalationPolicy {
	p := m.policy
	p.ApplicableSeverities = append([]string(nil), p.ApplicableSeverities...)
	return p
}

// EscalationTier is the tier escalations go to: tier_1_plus.
func (m *EscalationManager) EscalationTier() taxonomy.ModelTier { return taxonomy.Tier1Plus }

func (m *EscalationManager) pruneLocked(now time.Time) {
	i := 0
	for i < len(m.stamps) && now.Sub(m.stamps[i]) >= escalationWindow {
		i++
	}
	if i > 0 {
		m.stamps = append(m.stamps[:0], m.stamps[i:]...)
	}
}

func (m *EscalationManager) eligible(confidence float64, severity string) bool {
	if math.IsNaN(confidence) || confidence >= m.policy.ConfidenceThreshold {
		return false
	}
	return m.severities[strings.ToLower(strings.TrimSpace(severity))]
}

func (m *EscalationManager) budgetLocked(now time.Time) bool {
	m.pruneLocked(now)
	if n := len(m.stamps); n >= m.policy.MaxEscalationsPerHour {
		m.logger.Warn("router: escalation budget exhausted", "this_hour", n, "max", m.policy.MaxEscalationsPerHour)
		return false
	}
	return true
}

// ShouldEscalate reports whether an answer with this confidence for an alert
// of this severity should be escalated: confidence below the threshold, an
// applicable severity, and budget left this hour. It records nothing.
func (m *EscalationManager) ShouldEscalate(confidence float64, severity string) bool {
	if !m.eligible(confidence, severity) {
		return false
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.budgetLocked(m.now())
}

// tryEscalate is ShouldEscalate and RecordEscalation in one step, so
// concurrent routes cannot both take the last unit of budget.
func (m *EscalationManager) tryEscalate(confidence float64, severity string) bool {
	if !m.eligible(confidence, severity) {
		return false
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.now()
	if !m.budgetLocked(now) {
		return false
	}
	m.recordLocked(now)
	return true
}

// RecordEscalation records an escalation now.
func (m *EscalationManager) RecordEscalation() {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.now()
	m.pruneLocked(now)
	m.recordLocked(now)
}

func (m *EscalationManager) recordLocked(now time.Time) {
	limit := m.policy.MaxEscalationsPerHour
	if limit == 0 {
		return
	}
	if len(m.stamps) >= limit {
		m.stamps = append(m.stamps[:0], m.stamps[len(m.stamps)-limit+1:]...)
	}
	m.stamps = append(m.stamps, now)
}

// EscalationsThisHour counts escalations in the last hour (saturating at
// MaxEscalationsPerHour).
func (m *EscalationManager) EscalationsThisHour() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.pruneLocked(m.now())
	return len(m.stamps)
}

// BudgetRemaining is MaxEscalationsPerHour minus EscalationsThisHour.
func (m *EscalationManager) BudgetRemaining() int {
	return max(0, m.policy.MaxEscalationsPerHour-m.EscalationsThisHour())
}
