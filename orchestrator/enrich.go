package orchestrator

import (
	"context"
	"sync"

	"github.com/socwarden/warden/taxonomy"
)

// enrichResult is one enrichment node's outcome on its own clone.
type enrichResult struct {
	role  AgentRole
	clone *Investigation
	err   error
}

// enrich is the enriching stage: the context enricher, CTEM correlator and
// ATLAS mapper run concurrently, each on its own clone; the graph merges
// their results and counter deltas in a fixed order, emits
// investigation.enriched and performs E4. Node failures are recorded and
// never stop the pipeline.
func (g *Graph) enrich(ctx context.Context, inv *Investigation, lvl taxonomy.DegradationLevel) error {
	nodes := []struct {
		role AgentRole
		n    Node
	}{
		{RoleContextEnricher, g.agents.ContextEnricher},
		{RoleCTEMCorrelator, g.agents.CTEMCorrelator},
		{RoleATLASMapper, g.agents.ATLASMapper},
	}
	baseQ, baseL, baseC := inv.QueriesExecuted, inv.LLMCalls, inv.TotalCostUSD
	results := make([]enrichResult, len(nodes))
	var wg sync.WaitGroup
	for i, nd := range nodes {
		if nd.n == nil {
			continue
		}
		results[i] = enrichResult{role: nd.role, clone: inv.Clone()}
		wg.Add(1)
		go func(r *enrichResult, n Node) {
			defer wg.Done()
			r.err = runNode(ctx, n, r.clone)
		}(&results[i], nd.n)
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return err
	}

	var failures []string
	for _, r := range results {
		if r.clone == nil {
			continue
		}
		if r.err != nil {
			e := NewDecisionEntry(string(r.role), "node_failed", g.cfg.now())
			e.Step, e.Error = "enrichment", r.err.Error()
			inv.DecisionChain = append(inv.DecisionChain, e)
			failures = append(failures, string(r.role)+": "+r.err.Error())
			g.log.Warn("orchestrator: enrichment node failed", "investigation_id", inv.InvestigationID,
				"role", string(r.role), "error", r.err)
			continue
		}
		c := r.clone
		switch r.role {
		case RoleContextEnricher:
			inv.IOCMatches, inv.UEBAContext, inv.SimilarIncidents = c.IOCMatches, c.UEBAContext, c.SimilarIncidents
			inv.RiskState, inv.CaseFacts = c.RiskState, c.CaseFacts
		case RoleCTEMCorrelator:
			inv.CTEMExposures = c.CTEMExposures
		case RoleATLASMapper:
			inv.ATLASTechniques = c.ATLASTechniques
		}
		// Each clone started from the same base: only its own delta counts.
		inv.QueriesExecuted += c.QueriesExecuted - baseQ
		inv.LLMCalls += c.LLMCalls - baseL
		inv.TotalCostUSD += c.TotalCostUSD - baseC
	}
	return g.checkpointWith(ctx, inv, lvl, StateReasoning, NewDecisionEntry(string(RoleReasoningAgent), "start_reasoning", g.cfg.now()),
		agentActor, func(es *events) { es.enriched(failures) }, nil)
}
