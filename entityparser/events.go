package entityparser

import (
	"fmt"
	"strconv"

	"github.com/socwarden/warden/audit"
	"github.com/socwarden/warden/taxonomy"
)

// Context keys this package adds to its events (the well-known ones come
// from package audit).
const (
	keyStage                   = "stage"
	keySource                  = "source"
	keyDataSource              = "data_source"
	keyRuleFamily              = "rule_family"
	keyAssetClass              = "asset_class"
	keyProduct                 = "product"
	keyDetectionCount          = "detection_count"
	keyDetections              = "detections"
	keyFields                  = "fields"
	keyMatchCount              = "match_count"
	keyInjectionRisk           = "injection_risk"
	keyInjectionConfidence     = "injection_confidence"
	keyInjectionScore          = "injection_score"
	keyInjectionLabels         = "injection_labels"
	keyExtractionMode          = "extraction_mode"
	keyEntityCounts            = "entity_counts"
	keyEntityCount             = "entity_count"
	keyIOCCount                = "ioc_count"
	keyParseErrorCount         = "parse_error_count"
	keyInjectionDetectionCount = "injection_detection_count"
	keyTactics                 = "tactics"
	stageIngest                = "ingest"
)

func tenantOf(a CanonicalAlert) string {
	if a.TenantID == "" {
		return DefaultTenant
	}
	return a.TenantID
}

// injectionEvent is injection.detected (spec §5, DESIGN §4: stage ingest).
func injectionEvent(r *Result) audit.Event {
	s := r.Injection
	return audit.Event{
		TenantID:  tenantOf(r.Alert),
		Type:      taxonomy.InjectionDetected,
		Severity:  taxonomy.SeverityWarning,
		ActorType: taxonomy.ActorSystem,
		ActorID:   actorID,
		AlertID:   r.Alert.AlertID,
		Context: audit.Fields{
			keyStage:               stageIngest,
			keyDetectionCount:      s.DetectionCount,
			keyDetections:          s.Detections,
			keyFields:              s.Fields,
			keyMatchCount:          s.MatchCount,
			keyInjectionRisk:       s.Risk,
			keyInjectionConfidence: s.Confidence,
			keyInjectionScore:      s.Score,
			keyInjectionLabels:     s.Labels,
			keySource:              r.Alert.Source,
		},
	}
}

// classifiedEvent is the deterministic, pre-investigation alert.classified
// (spec §3.9, §5). It carries no investigation id and no
// decision.classification, so it is never mistaken for the verdict.
func classifiedEvent(r *Result) audit.Event {
	a, e := r.Alert, r.Entities
	counts := map[string]int{}
	for _, c := range e.categories() {
		counts[c.key] = len(*c.list)
	}
	n := e.Count()
	return audit.Event{
		TenantID:  tenantOf(a),
		Type:      taxonomy.AlertClassified,
		Severity:  taxonomy.SeverityInfo,
		ActorType: taxonomy.ActorAgent,
		ActorID:   actorID,
		AlertID:   a.AlertID,
		EntityIDs: entityIDs(e),
		Context: audit.Fields{
			keyStage:                      stageIngest,
			keySource:                     a.Source,
			keyDataSource:                 a.DataSource,
			keyRuleFamily:                 a.RuleFamily,
			keyAssetClass:                 a.AssetClass,
			keyProduct:                    a.Product,
			keyExtractionMode:             string(r.Mode),
			keyEntityCounts:               counts,
			keyEntityCount:                n,
			keyIOCCount:                   len(e.RawIOCs),
			keyParseErrorCount:            len(e.ParseErrors),
			keyInjectionDetectionCount:    r.Injection.DetectionCount,
			audit.KeyTechniquesIdentified: a.Techniques,
			keyTactics:                    a.Tactics,
		},
		Decision: audit.Fields{
			audit.KeyDecisionType:     string(taxonomy.DecisionClassify),
			audit.KeySeverityAssigned: string(a.Severity),
			audit.KeyConfidenceBasis:  string(r.Mode),
			audit.KeyReasoningSummary: strconv.Itoa(n) + " entities, " + strconv.Itoa(len(e.RawIOCs)) + " IOCs, " +
				strconv.Itoa(len(e.ParseErrors)) + " parse errors, " + strconv.Itoa(r.Injection.DetectionCount) + " injection detections",
		},
	}
}

// entityIDs are the distinct primary values over the entity lists in wire
// order, the first maxEntityIDs; nil when there are none.
func entityIDs(e Entities) []string {
	var ids []string
	seen := map[string]bool{}
	for _, c := range e.categories() {
		for _, x := range *c.list {
			if !seen[x.PrimaryValue] {
				seen[x.PrimaryValue] = true
				ids = append(ids, x.PrimaryValue)
				if len(ids) == maxEntityIDs {
					return ids
				}
			}
		}
	}
	return ids
}

// emit hands ev to the producer; a panicking producer is recovered and
// logged. Emission never changes a result.
func (p *Parser) emit(ev audit.Event) {
	defer func() {
		if r := recover(); r != nil {
			p.cfg.logger.Warn("entityparser: audit producer panicked", "event", string(ev.Type), "panic", fmt.Sprint(r))
		}
	}()
	if _, ok := audit.Emit(p.cfg.producer, ev); !ok && p.cfg.producer != nil {
		p.cfg.logger.Warn("entityparser: audit event not accepted", "event", string(ev.Type))
	}
}
