package pipeline

import (
	"context"
	"encoding/json"
	"time"

	"github.com/socwarden/warden/batch"
	"github.com/socwarden/warden/batch/offline"
	"github.com/socwarden/warden/orchestrator"
	"github.com/socwarden/warden/orchestrator/autonomy"
)

// batchStage runs one batch cycle with the offline batch provider: the
// closed investigations are mined for recurring false positives (FP pattern
// candidates, pending two-person review in the autonomy store) and recurring
// techniques (playbook drafts), submitted through the gateway's content gate
// and the spend guard, and the answers processed.
func (st *story) batchStage(ctx context.Context) error {
	s := st.svc
	drafts := batch.NewMemoryDraftStore()
	svc, err := batch.New(offline.New(), batch.GatewayGate(), s.Spend, fpCandidates{store: s.Patterns, now: s.Clock.Now},
		batch.WithAuditProducer(s.producer("batch")), batch.WithClock(s.Clock.Now), batch.WithLogger(s.logger),
		batch.WithSleeper(clockSleeper(s.Clock)), batch.WithInvestigationSource(closedInvestigations{s.Repo}),
		batch.WithDraftStore(drafts), batch.WithCountThreshold(1))
	if err != nil {
		return err
	}
	mined, err := svc.Mine(ctx)
	if err != nil {
		return err
	}
	s.say("  mined %d tasks from the closed investigations (%d queued)", mined.Generated, mined.Enqueued)
	rep, err := svc.Cycle(ctx)
	if err != nil {
		return err
	}
	if rep.FlushError != "" {
		s.say("  batch submission refused: %s", rep.FlushError)
	}
	for _, sum := range rep.Summaries {
		s.say("  batch %s: %d FP pattern candidates, %d playbook drafts, %d rejected", sum.JobID,
			sum.FPPatternsStored, sum.PlaybooksPublished, len(sum.Rejections))
	}
	for _, t := range []string{TenantAcme, TenantGlobex} {
		ps, err := s.Patterns.List(ctx, t)
		if err != nil {
			return err
		}
		for _, p := range ps {
			st.res.Patterns = append(st.res.Patterns, PatternOutcome{PatternID: p.PatternID, TenantID: p.TenantID,
				AlertNameRegex: p.AlertNameRegex, Status: p.Status})
			if p.Status == autonomy.StatusPendingReview {
				s.say("      FP pattern candidate %s for %q: %s (needs two approvers)", p.PatternID, p.AlertNameRegex, p.Status)
			}
		}
	}
	for _, d := range drafts.Drafts() {
		st.res.Playbooks = append(st.res.Playbooks, PlaybookOutcome{TenantID: d.TenantID, Name: d.Name,
			Techniques: d.Techniques, Sources: d.SourceInvestigations})
		s.say("      playbook draft %q for %v from %v", d.Name, d.Techniques, d.SourceInvestigations)
	}
	return nil
}

// closedInvestigations is batch's InvestigationSource over the
// orchestrator's repository: the closed investigations updated in the
// window, with the graph state batch reads (the investigation JSON plus
// alert_title).
type closedInvestigations struct{ repo orchestrator.Repository }

var _ batch.InvestigationSource = closedInvestigations{}

// maxClosedListed bounds one listing; the demo has a handful.
const maxClosedListed = 10_000

func (c closedInvestigations) ClosedInvestigations(ctx context.Context, from, to time.Time) ([]batch.ClosedInvestigation, error) {
	sums, err := c.repo.ListByState(ctx, orchestrator.StateClosed, maxClosedListed)
	if err != nil {
		return nil, err
	}
	var out []batch.ClosedInvestigation
	for _, sm := range sums {
		inv, err := c.repo.Load(ctx, sm.InvestigationID)
		if err != nil {
			return nil, err
		}
		if inv.UpdatedAt.Before(from) || !inv.UpdatedAt.Before(to) {
			continue
		}
		state, err := json.Marshal(inv)
		if err != nil {
			return nil, err
		}
		var m map[string]json.RawMessage
		if err := json.Unmarshal(state, &m); err != nil {
			return nil, err
		}
		m["alert_title"], _ = json.Marshal(inv.Title)
		state, err = json.Marshal(m)
		if err != nil {
			return nil, err
		}
		chain := make([]map[string]any, 0, len(inv.DecisionChain))
		for _, e := range inv.DecisionChain {
			var em map[string]any
			b, _ := json.Marshal(e)
			if json.Unmarshal(b, &em) == nil {
				chain = append(chain, em)
			}
		}
		out = append(out, batch.ClosedInvestigation{InvestigationID: inv.InvestigationID, AlertID: inv.AlertID,
			TenantID: inv.TenantID, GraphState: state, DecisionChain: chain, UpdatedAt: inv.UpdatedAt})
	}
	return out, nil
}

// fpCandidates is batch's CandidateStore over orchestrator/autonomy's
// pattern store: a new candidate is stored pending review
// (autonomy.NewCandidate); a candidate still pending review takes the new
// alert name, confidence and sources; a reviewed pattern is never touched.
type fpCandidates struct {
	store autonomy.FPPatternStore
	now   func() time.Time
}

var _ batch.CandidateStore = fpCandidates{}

func (f fpCandidates) UpsertCandidate(ctx context.Context, c batch.PatternCandidate) (bool, error) {
	old, ok, err := f.store.Get(ctx, c.ScopeTenantID, c.PatternID)
	if err != nil {
		return false, err
	}
	if ok && old.Status != autonomy.StatusPendingReview {
		return false, nil
	}
	eps := make([]autonomy.EntityPattern, len(c.EntityPatterns))
	for i, e := range c.EntityPatterns {
		eps[i] = autonomy.EntityPattern{Type: e.Type, ValueRegex: e.ValueRegex, ValueCIDR: e.ValueCIDR}
	}
	p := autonomy.FPPattern{PatternID: c.PatternID, TenantID: c.ScopeTenantID, AlertName: c.AlertName,
		AlertNameRegex: c.AlertNameRegex, EntityPatterns: eps, Severity: c.Severity, Confidence: c.Confidence,
		ScopeTenantID: c.ScopeTenantID}
	if ok {
		p.CreatedAt = old.CreatedAt
	}
	if p, err = autonomy.NewCandidate(p, f.now()); err != nil {
		return false, err
	}
	return !ok, f.store.Put(ctx, p)
}
