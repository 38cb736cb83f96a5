// Package router decides which LLM model serves a task and guards the LLM
// budget around that decision. It makes no network calls: the gateway asks
// it for a [Decision], calls the provider, and reports back.
//
// # Routing
//
// [Router.Route] takes a [TaskContext] (task type, alert severity, context
// size, time budget, earlier confidence) and applies, in order: the task's
// base tier (unknown tasks: tier_1); a time budget under 3 s forces tier_0,
// else a critical alert needing reasoning lifts the tier to at least tier_1
// (by [CapabilityRank]); more than 100k context tokens lift tier_0 to tier_1;
// an earlier confidence below 0.6 on a critical or high alert escalates to
// tier_1_plus (optionally under an [EscalationManager] budget); last, the
// caller's requested minimum tier ([TaskContext.MinTier]) raises the tier to
// at least that floor. An earlier confidence sent with a tier_1_plus floor
// is an escalation the caller decided on (for example under its own
// threshold): the manager admits and counts it exactly as the rule's, so
// every escalation is counted once, in Route, and a refused one drops the
// floor. The tier's
// primary model and parameters come from the [Catalog], which hosts may
// replace ([WithCatalog], [DecodeCatalog]). Tiers are [taxonomy.ModelTier]
// values; "tier_1+" is accepted on input, "tier_1_plus" is written.
//
// Fallbacks are kept only when they satisfy the task's capabilities and their
// context window holds the prompt, so 150k tokens never go to a 128k model.
// With a [HealthChecker] (normally a [*HealthRegistry]) a primary whose
// provider is not admitted fails over to the first admitted fallback;
// extended thinking is requested only from models that support it, so a
// tier_1_plus failover to a model without it turns it off. Each decision
// emits routing.tier_selected with a routing_decision_id ([Decision.ID],
// [KeyRoutingDecisionID]) that the gateway copies into its record of the
// completed call; a failover also emits routing.provider_failover with the
// request's tenant.
//
// # Health and degradation
//
// [HealthRegistry] keeps a [CircuitBreaker] per provider. A half-open breaker
// admits exactly one probe at a time ([CircuitBreaker.Allow]); every
// transition to open or closed emits circuit_breaker.opened / closed (tenant
// "system"); [HealthRegistry.Snapshot] shows the states and
// [HealthRegistry.Reset] closes a breaker by hand. The registry owns the
// process-wide [taxonomy.DegradationLevel] and emits degradation.entered /
// degradation.exited on every change.
//
// # Spend
//
// [SpendGuard] is Warden's one spend guard. Callers reserve the most a call
// can cost before making it, then settle with the real cost or release on
// failure ([Budget]), so concurrent calls cannot push settled spend past a
// monthly hard cap. Windows are UTC calendar months; the soft alert re-arms
// every month; tenants may have their own caps in addition to the global
// one. spend.soft_limit is emitted once per month and scope,
// spend.hard_limit for every refusal.
//
// # Also here
//
// [Controller] (per-priority concurrency and per-tenant hourly quotas),
// [EscalationManager] (confidence-based escalation budget) and [Metrics]
// (outcomes per task and tier, provider selections).
//
// Every constructor takes [WithAuditProducer], [WithClock] and [WithLogger].
// Without a producer nothing is emitted and every result is identical;
// emission never changes a result. All types are safe for concurrent use.
package router
