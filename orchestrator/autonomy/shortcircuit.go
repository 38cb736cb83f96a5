package autonomy

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"regexp"
	"sync"
	"time"

	"github.com/socwarden/warden/entityparser"
	"github.com/socwarden/warden/orchestrator"
)

// ThresholdSource supplies the FP auto-close threshold (a
// ThresholdAdjuster follows drift and evaluation feedback).
type ThresholdSource interface {
	Threshold() float64
}

// FPShortCircuit matches an alert against the tenant's approved FP patterns
// before any LLM call; it is the graph's FPChecker. Safe for concurrent
// use.
type FPShortCircuit struct {
	patterns  FPPatternStore
	kill      orchestrator.KillChecker
	threshold ThresholdSource
	now       func() time.Time
	log       *slog.Logger
	regexes   *regexCache
}

var _ orchestrator.FPChecker = (*FPShortCircuit)(nil)

// NewFPShortCircuit returns the matcher; patterns is required. Options:
// WithKillSwitches, WithThreshold.
func NewFPShortCircuit(patterns FPPatternStore, opts ...Option) (*FPShortCircuit, error) {
	cfg, err := buildConfig(opts)
	if err != nil {
		return nil, err
	}
	if patterns == nil {
		return nil, configErr("patterns", "nil pattern store")
	}
	return &FPShortCircuit{patterns: patterns, kill: cfg.kill, threshold: cfg.threshold, now: cfg.now,
		log: cfg.logger, regexes: newRegexCache(RegexCacheSize, cfg.logger)}, nil
}

// EffectiveThreshold is max(0.90, the threshold source, floor): sources and
// floors can only tighten auto-close.
func (f *FPShortCircuit) EffectiveThreshold(floor float64) float64 {
	t := DefaultThreshold
	if f.threshold != nil {
		if v := f.threshold.Threshold(); !math.IsNaN(v) && v > t {
			t = v
		}
	}
	if floor > t {
		t = floor
	}
	return min(t, 1)
}

// CheckFP returns the first matching pattern in store order. It matches
// nothing when a kill switch covers the alert (tenant, techniques,
// datasource, rule family, severity) or the pattern, or when a switch
// cannot be read. A pattern matches only if it is approved or active, has
// two distinct approvers, belongs to the tenant, is not expired, fits the
// scope and scores at least the threshold (max of 0.90, the threshold
// source, the pattern's min_confidence and q.MinThreshold). A store error
// is returned with no match.
func (f *FPShortCircuit) CheckFP(ctx context.Context, q orchestrator.FPQuery) (orchestrator.FPMatch, error) {
	var m orchestrator.FPMatch
	if f.kill != nil {
		killed, err := f.kill.IsKilled(ctx, orchestrator.KillScope{TenantID: q.TenantID, TechniqueIDs: q.Techniques,
			DataSource: q.DataSource, RuleFamily: q.RuleFamily, Severity: q.Severity})
		if killed || err != nil {
			return m, nil
		}
	}
	list, err := f.patterns.List(ctx, q.TenantID)
	m.Queries++
	if err != nil {
		return m, fmt.Errorf("autonomy: FP pattern store: %w", err)
	}
	now := f.now()
	base := f.EffectiveThreshold(q.MinThreshold)
	for _, p := range list {
		m.Queries++
		m.PatternsChecked++
		if p.Status != StatusApproved && p.Status != StatusActive {
			continue
		}
		if !p.TwoPersonApproved() || (p.TenantID != "" && p.TenantID != q.TenantID) {
			continue
		}
		if !p.ExpiryDate.IsZero() && !p.ExpiryDate.After(now) {
			continue
		}
		if !MatchesScope(p, q.RuleFamily, q.TenantID, q.AssetClass) {
			continue
		}
		if f.kill != nil {
			killed, err := f.kill.IsKilled(ctx, orchestrator.KillScope{PatternID: p.PatternID})
			if killed || err != nil {
				continue
			}
		}
		conf := f.Score(p, q.Title, q.Entities)
		threshold := base
		if !math.IsNaN(p.MinConfidence) && p.MinConfidence > threshold {
			threshold = p.MinConfidence
		}
		if conf >= threshold {
			m.Matched, m.PatternID, m.Confidence, m.Threshold = true, p.PatternID, conf, threshold
			return m, nil
		}
	}
	return m, nil
}

// Score is the pattern's confidence for an alert: 1.0 for a title match
// (0 without a title regex); with entity patterns, the mean of that and the
// share of entity patterns satisfied.
func (f *FPShortCircuit) Score(p FPPattern, title string, ents *entityparser.Entities) float64 {
	alert := 0.0
	if p.AlertNameRegex != "" && f.regexes.match(p.AlertNameRegex, title) {
		alert = 1.0
	}
	if len(p.EntityPatterns) == 0 {
		return alert
	}
	satisfied := 0
	for _, ep := range p.EntityPatterns {
		if f.satisfied(ep, ents) {
			satisfied++
		}
	}
	return (alert + float64(satisfied)/float64(len(p.EntityPatterns))) / 2
}

func (f *FPShortCircuit) satisfied(ep EntityPattern, ents *entityparser.Entities) bool {
	if ents == nil || (ep.ValueRegex == "" && ep.ValueCIDR == "") {
		return false
	}
	for _, e := range EntitiesOfType(ents, ep.Type) {
		v := e.PrimaryValue
		if v == "" {
			continue
		}
		if ep.ValueRegex != "" && f.regexes.match(ep.ValueRegex, v) {
			return true
		}
		if ep.ValueCIDR != "" && InCIDR(v, ep.ValueCIDR) {
			return true
		}
	}
	return false
}

// EntitiesOfType returns the entity list a pattern type reads:
// account→accounts, host→hosts, ip→ips, file→files, process→processes,
// url→urls, dns→dns_records, filehash→file_hashes, mailbox→mailboxes,
// anything else → other (the reference's "type + s" rule missed dns and
// filehash).
func EntitiesOfType(e *entityparser.Entities, typ string) []entityparser.Entity {
	switch typ {
	case EntityAccount:
		return e.Accounts
	case EntityHost:
		return e.Hosts
	case EntityIP:
		return e.IPs
	case EntityFile:
		return e.Files
	case EntityProcess:
		return e.Processes
	case EntityURL:
		return e.URLs
	case EntityDNS:
		return e.DNSRecords
	case EntityFileHash:
		return e.FileHashes
	case EntityMailbox:
		return e.Mailboxes
	}
	return e.Other
}

// MatchRegex reports whether text matches pattern with the reference's
// semantics (case-insensitive, anchored at the start only). A pattern RE2
// cannot compile never matches.
func MatchRegex(pattern, text string) bool {
	re, err := regexp.Compile(anchored(pattern))
	return err == nil && re.MatchString(text)
}

// regexCache keeps compiled patterns (nil for ones that do not compile,
// which are logged once). It is bounded: when full it is cleared, which
// costs a recompile, never a wrong answer.
type regexCache struct {
	limit int
	log   *slog.Logger

	mu sync.RWMutex // guards m
	m  map[string]*regexp.Regexp
}

func newRegexCache(limit int, log *slog.Logger) *regexCache {
	return &regexCache{limit: limit, log: log, m: map[string]*regexp.Regexp{}}
}

func (c *regexCache) match(pattern, text string) bool {
	c.mu.RLock()
	re, ok := c.m[pattern]
	c.mu.RUnlock()
	if !ok {
		compiled, err := regexp.Compile(anchored(pattern))
		if err != nil {
			c.log.Warn("autonomy: FP pattern regex does not compile; it never matches", "pattern", truncate(pattern, 128), "error", err)
			compiled = nil
		}
		c.mu.Lock()
		if len(c.m) >= c.limit {
			clear(c.m)
		}
		c.m[pattern] = compiled
		c.mu.Unlock()
		re = compiled
	}
	return re != nil && re.MatchString(text)
}
