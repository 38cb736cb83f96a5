package batch

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/socwarden/warden/orchestrator/autonomy"
	"github.com/socwarden/warden/taxonomy"
)

// Candidates go to the autonomy pattern store; two distinct approvers
// activate them there and autonomy, not batch, emits fp_pattern.approved.
func TestAutonomyStoreLifecycle(t *testing.T) {
	patterns := autonomy.NewMemoryFPPatterns()
	store, err := NewAutonomyStore(patterns)
	require.NoError(t, err)
	batchEvents := &recorder{}
	p := newTestProcessor(t, store, WithAuditProducer(batchEvents))
	sum, err := p.ProcessJob(bg, jobWith([]Task{fpTask("t1", "acme", "inv-1")}, okResult("t1", validFP)))
	require.NoError(t, err)
	require.Equal(t, 1, sum.FPPatternsStored)

	list, err := patterns.List(bg, "acme")
	require.NoError(t, err)
	require.Len(t, list, 1)
	fp := list[0]
	assert.Equal(t, autonomy.StatusPendingReview, fp.Status)
	assert.Equal(t, "acme", fp.TenantID)
	assert.Equal(t, "acme", fp.ScopeTenantID)
	assert.Equal(t, "Test.*", fp.AlertNameRegex)
	assert.Equal(t, []autonomy.EntityPattern{{Type: "ip", ValueRegex: `^10\.0\.0\.5$`}}, fp.EntityPatterns)
	assert.Empty(t, fp.ApprovedBy1)
	assert.False(t, fp.CreatedAt.IsZero())

	autonomyEvents := &recorder{}
	gov, err := autonomy.NewGovernance(patterns, nil, nil, autonomy.WithAuditProducer(autonomyEvents), autonomy.WithLogger(quiet))
	require.NoError(t, err)
	_, err = gov.Approve(bg, fp, "alice")
	require.NoError(t, err)

	// Re-mined while half-approved: the stored pattern is not rewritten.
	sum, _ = p.ProcessJob(bg, jobWith([]Task{fpTask("t2", "acme", "inv-2")}, okResult("t2", validFP)))
	assert.Equal(t, 1, sum.Duplicates)
	cur, _, _ := patterns.Get(bg, "acme", fp.PatternID)
	assert.Equal(t, "alice", cur.ApprovedBy1, "a first approval is never erased by batch")

	approved, err := gov.Approve(bg, fp, "bob")
	require.NoError(t, err)
	assert.Equal(t, autonomy.StatusApproved, approved.Status)
	sum, _ = p.ProcessJob(bg, jobWith([]Task{fpTask("t3", "acme")}, okResult("t3", validFP)))
	assert.Equal(t, 1, sum.Duplicates)
	cur, _, _ = patterns.Get(bg, "acme", fp.PatternID)
	assert.Equal(t, autonomy.StatusApproved, cur.Status, "an approved pattern stays approved")

	assert.Len(t, batchEvents.ofType(taxonomy.FPPatternCreated), 1)
	assert.Empty(t, batchEvents.ofType(taxonomy.FPPatternApproved), "batch never emits approvals")
	assert.Len(t, autonomyEvents.ofType(taxonomy.FPPatternApproved), 1)
}

func TestAutonomyStorePlatformWideCandidate(t *testing.T) {
	patterns := autonomy.NewMemoryFPPatterns()
	store, _ := NewAutonomyStore(patterns)
	created, err := store.UpsertCandidate(bg, PatternCandidate{PatternID: "p", AlertNameRegex: "Test", CreatedAt: t0})
	require.NoError(t, err)
	assert.True(t, created)
	got, ok, _ := patterns.Get(bg, "system", "p")
	require.True(t, ok)
	assert.Empty(t, got.ScopeTenantID)

	_, err = store.UpsertCandidate(bg, PatternCandidate{PatternID: "bad", AlertNameRegex: "Test", ScopeTenantID: "t",
		EntityPatterns: []EntityPattern{{Type: "registry", ValueRegex: "x"}}})
	require.Error(t, err, "autonomy validates what it stores")
	_, err = NewAutonomyStore(nil)
	require.ErrorIs(t, err, ErrInvalidConfig)
}
