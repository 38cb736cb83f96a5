package router

import (
	"strings"
	"sync"
	"time"
)

// Priority is an LLM job's scheduling priority.
type Priority string

// Priorities, most urgent first.
const (
	PriorityCritical Priority = "critical"
	PriorityHigh     Priority = "high"
	PriorityNormal   Priority = "normal"
	PriorityLow      Priority = "low"
)

// Priorities returns the four priorities, most urgent first.
func Priorities() []Priority {
	return []Priority{PriorityCritical, PriorityHigh, PriorityNormal, PriorityLow}
}

// RateLimit bounds one priority's concurrent calls and acquisitions per
// rolling minute.
type RateLimit struct {
	MaxConcurrent int `json:"max_concurrent"`
	MaxRPM        int `json:"max_rpm"`
}

// DefaultPriorityLimits returns critical 8/200, high 6/100, normal 4/50,
// low 2/20 (concurrent / per minute).
func DefaultPriorityLimits() map[Priority]RateLimit {
	return map[Priority]RateLimit{
		PriorityCritical: {8, 200},
		PriorityHigh:     {6, 100},
		PriorityNormal:   {4, 50},
		PriorityLow:      {2, 20},
	}
}

// DefaultTenantQuotas returns LLM calls per rolling hour by tenant tier:
// premium 500, standard 100, trial 20.
func DefaultTenantQuotas() map[string]int {
	return map[string]int{"premium": 500, DefaultTenantTier: 100, "trial": 20}
}

// QueueTopicPrefix starts every queue name QueueForSeverity returns.
const QueueTopicPrefix = "jobs.llm.priority."

// QueueForSeverity returns the job queue for an alert severity (trimmed,
// case-insensitive); ok is false for an unknown severity.
func QueueForSeverity(severity string) (string, bool) {
	s, ok := normalizeSeverity(severity)
	if !ok || strings.TrimSpace(severity) == "" {
		return "", false
	}
	return QueueTopicPrefix + string(priorityFor(s)), true
}

// PriorityForSeverity maps an alert severity to a priority; unknown
// severities get normal.
func PriorityForSeverity(severity string) Priority {
	s, ok := normalizeSeverity(severity)
	if !ok || strings.TrimSpace(severity) == "" {
		return PriorityNormal
	}
	return priorityFor(s)
}

func priorityFor(canonicalSeverity string) Priority {
	switch canonicalSeverity {
	case SeverityCritical:
		return PriorityCritical
	case SeverityHigh:
		return PriorityHigh
	case SeverityLow, SeverityInformational:
		return PriorityLow
	}
	return PriorityNormal
}

// Utilisation is one priority's current load.
type Utilisation struct {
	Active        int     `json:"active"`
	MaxConcurrent int     `json:"max_concurrent"`
	Utilisation   float64 `json:"utilisation"`
}

const (
	rpmWindow   = time.Minute
	quotaWindow = time.Hour
)

// Controller limits concurrent LLM calls per priority and calls per hour per
// tenant. Check and record are separate steps: a caller acquires a slot (or
// checks the quota), makes the call, then releases (or records). Memory is
// bounded: per priority at most MaxRPM timestamps, per tenant at most the
// largest quota (TenantCalls saturates there). Safe for concurrent use.
type Controller struct {
	// Immutable after construction.
	limits   map[Priority]RateLimit
	quotas   map[string]int
	maxQuota int
	now      func() time.Time

	// mu guards the maps below.
	mu      sync.Mutex
	active  map[Priority]int
	stamps  map[Priority][]time.Time
	tenants map[string][]time.Time
}

// NewController returns a controller. Options: the common ones,
// [WithPriorityLimits], [WithTenantQuotas].
func NewController(opts ...Option) (*Controller, error) {
	c, err := buildConfig(forController, opts)
	if err != nil {
		return nil, err
	}
	limits := c.priorityLimits
	if limits == nil {
		limits = DefaultPriorityLimits()
	}
	for p, l := range limits {
		if l.MaxConcurrent < 1 || l.MaxRPM < 1 {
			return nil, configErr("WithPriorityLimits", "priority "+quoteTrunc(string(p))+": values must be >= 1")
		}
	}
	quotas := c.tenantQuotas
	if quotas == nil {
		quotas = DefaultTenantQuotas()
	}
	if _, ok := quotas[DefaultTenantTier]; !ok {
		return nil, configErr("WithTenantQuotas", `must contain "standard" (the quota of unknown tiers)`)
	}
	maxQuota := 0
	for t, q := range quotas {
		if q < 1 {
			return nil, configErr("WithTenantQuotas", "tier "+quoteTrunc(t)+": quota must be >= 1")
		}
		maxQuota = max(maxQuota, q)
	}
	return &Controller{
		limits: limits, quotas: quotas, maxQuota: maxQuota, now: c.now,
		active: map[Priority]int{}, stamps: map[Priority][]time.Time{}, tenants: map[string][]time.Time{},
	}, nil
}

// prune drops the leading timestamps at least window old.
func prune(ts []time.Time, now time.Time, window time.Duration) []time.Time {
	i := 0
	for i < len(ts) && now.Sub(ts[i]) >= window {
		i++
	}
	if i == 0 {
		return ts
	}
	return append(ts[:0], ts[i:]...)
}

// Acquire takes a slot of priority p: false when p's acquisitions in the
// last minute reached MaxRPM or its active calls reached MaxConcurrent. An
// unknown priority is not tracked and always succeeds.
func (c *Controller) Acquire(p Priority) bool {
	l, ok := c.limits[p]
	if !ok {
		return true
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.now()
	ts := prune(c.stamps[p], now, rpmWindow)
	c.stamps[p] = ts
	if len(ts) >= l.MaxRPM || c.active[p] >= l.MaxConcurrent {
		return false
	}
	c.active[p]++
	c.stamps[p] = append(ts, now)
	return true
}

// Release gives back a slot of priority p; never below zero.
func (c *Controller) Release(p Priority) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.active[p] > 0 {
		c.active[p]--
	}
}

// Active returns p's active calls.
func (c *Controller) Active(p Priority) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.active[p]
}

// Utilisation returns every configured priority's load.
func (c *Controller) Utilisation() map[Priority]Utilisation {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make(map[Priority]Utilisation, len(c.limits))
	for p, l := range c.limits {
		a := c.active[p]
		out[p] = Utilisation{Active: a, MaxConcurrent: l.MaxConcurrent, Utilisation: float64(a) / float64(l.MaxConcurrent)}
	}
	return out
}

func (c *Controller) quotaFor(tier string) int {
	if q, ok := c.quotas[strings.ToLower(strings.TrimSpace(tier))]; ok {
		return q
	}
	return c.quotas[DefaultTenantTier]
}

// CheckTenantQuota returns a *QuotaExceededError when tenantID made at least
// its tier's quota of calls in the last hour (unknown tiers get the standard
// quota).
func (c *Controller) CheckTenantQuota(tenantID, tenantTier string) error {
	quota := c.quotaFor(tenantTier)
	c.mu.Lock()
	defer c.mu.Unlock()
	used := len(c.pruneTenantLocked(tenantID))
	if used >= quota {
		return &QuotaExceededError{TenantID: tenantID, TenantTier: tenantTier, Quota: quota, Used: used}
	}
	return nil
}

func (c *Controller) pruneTenantLocked(tenantID string) []time.Time {
	ts, ok := c.tenants[tenantID]
	if !ok {
		return nil
	}
	ts = prune(ts, c.now(), quotaWindow)
	if len(ts) == 0 {
		delete(c.tenants, tenantID)
		return nil
	}
	c.tenants[tenantID] = ts
	return ts
}

// RecordTenantCall records a call by tenantID now.
func (c *Controller) RecordTenantCall(tenantID string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	ts := c.pruneTenantLocked(tenantID)
	if len(ts) >= c.maxQuota {
		ts = append(ts[:0], ts[len(ts)-c.maxQuota+1:]...)
	}
	c.tenants[tenantID] = append(ts, c.now())
}

// TenantCalls returns tenantID's calls in the last hour (saturating at the
// largest quota).
func (c *Controller) TenantCalls(tenantID string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.pruneTenantLocked(tenantID))
}
