// Package autonomy owns how much the orchestrator may decide on its own over
// time: false-positive patterns and their two-person approval, expiry and
// revocation; the FP short-circuit that matches them before any LLM call;
// canaries for new patterns and for auto-close rollouts; drift detection;
// and the evaluation feedback that tightens the auto-close threshold.
//
// # FP patterns (the API batch uses)
//
// [FPPattern] is Warden's one false-positive pattern type and
// [FPPatternStore] its one store port ([MemoryFPPatterns],
// [OpenFileFPPatterns]). A generator such as batch turns a model's
// suggestion into a candidate with [NewCandidate] (validated, status
// pending_review, no approvals), Puts it in the store and emits
// fp_pattern.created itself. Everything after that happens here and is
// audited here: [Governance.Approve] needs two distinct people
// (fp_pattern.approved on the second), [FPCanary.Promote] activates a
// shadow pattern only with two distinct approvers (fp_pattern.activated),
// [Governance.Revoke] revokes it and re-opens the investigations it closed
// (fp_pattern.revoked, then E12 per investigation). Governance always works
// on the stored record, never on the caller's copy.
//
// # Matching
//
// [FPShortCircuit] is the orchestrator's FPChecker. A pattern matches only
// when it is approved or active, has two distinct approvers (whatever a
// store says), belongs to the alert's tenant, is not expired, fits the scope
// (rule family, tenant, asset class) and scores at least the threshold —
// max(0.90, the [ThresholdSource], the pattern's min_confidence, the
// graph's degradation floor). Regexes have the reference's semantics
// (case-insensitive, anchored at the start); patterns RE2 cannot compile
// never match. Kill switches ([orchestrator.KillSwitches]) are honoured per
// tenant, technique, data source, rule family, severity and pattern, and
// an unreadable switch blocks auto-close.
//
// # Over time
//
// [CanaryRollout] promotes or rolls back slices of an auto-close rollout (a
// rollback pulls a kill switch on the slice's own dimension);
// [JSDivergence] and [DriftDetector] measure drift; [ThresholdAdjuster]
// raises the threshold while drift lasts; [FeedbackLoop] and
// [AutonomyGuard] raise the normal threshold when precision or the
// false-negative rate miss their targets (config.changed).
//
// Every constructor takes [WithAuditProducer], [WithClock] and
// [WithLogger]; without a producer nothing is emitted and every result is
// identical.
package autonomy
