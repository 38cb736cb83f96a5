package response

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

// Checklist 15.
func TestNewGateRecord(t *testing.T) {
	c := Case{InvestigationID: "inv-001", TenantID: "t", AlertID: "a"}
	now := at(10, 0)
	a := NewGateRecord(c, []Action{act("isolate_endpoint", "h1", 2)}, PolicyFor("", nil), now)
	assert.Equal(t, "inv-001", a.InvestigationID)
	assert.Equal(t, StateAwaitingApproval, a.State)
	assert.Len(t, a.PendingActions, 1)
	assert.Empty(t, a.AssignedTo)
	assert.Equal(t, now.Add(4*time.Hour), a.Deadline)
	assert.Equal(t, "medium", a.Severity)
	assert.Equal(t, BehaviorClose, a.TimeoutBehavior)
	assert.Equal(t, int64(4*3600), a.TimeoutSeconds)
}

// Checklist 16.
func TestExpired(t *testing.T) {
	now := at(10, 0)
	assert.False(t, Expired(now.Add(4*time.Hour), now))
	assert.True(t, Expired(now.Add(-time.Hour), now))
	assert.True(t, Expired(time.Time{}, now))
	assert.True(t, Expired(now, now), "at the deadline")
}

// Checklist 19, 22.
func TestTimeoutFor(t *testing.T) {
	got := map[string]time.Duration{}
	for _, s := range []string{"critical", "high", "medium", "low", "unknown"} {
		got[s] = TimeoutFor(s, nil)
	}
	assert.Equal(t, map[string]time.Duration{"critical": time.Hour, "high": 2 * time.Hour,
		"medium": 4 * time.Hour, "low": 8 * time.Hour, "unknown": 4 * time.Hour}, got)
	assert.Equal(t, map[string]int{"critical": 1, "high": 2, "medium": 4, "low": 8}, DefaultTimeoutHours())
	assert.Equal(t, time.Hour, TimeoutFor("  CRITICAL ", nil), "severity is normalised")
}

// Checklist 20, 29.
func TestTimeoutOverrides(t *testing.T) {
	o := map[string]int{"critical": 2, "high": 3}
	assert.Equal(t, 2*time.Hour, TimeoutFor("critical", o))
	assert.Equal(t, 3*time.Hour, TimeoutFor("high", o))
	assert.Equal(t, 4*time.Hour, TimeoutFor("medium", o))
	assert.Equal(t, time.Hour, TimeoutFor("critical", map[string]int{"critical": 0}))
	assert.Equal(t, time.Hour, TimeoutFor("high", map[string]int{"high": -5}))
	// A corrupt huge override is capped instead of overflowing.
	assert.Equal(t, time.Duration(maxOverrideHours)*time.Hour, TimeoutFor("low", map[string]int{"low": 1 << 40}))
}

// Checklist 21, 30.
func TestPolicyFor(t *testing.T) {
	assert.Equal(t, time.Hour, PolicyFor("critical", nil).Timeout)
	assert.Equal(t, 3*time.Hour, PolicyFor("critical", map[string]int{"critical": 3}).Timeout)
	p := PolicyFor("", nil)
	assert.Equal(t, Policy{Severity: "medium", Timeout: 4 * time.Hour, Behavior: BehaviorClose}, p)
	assert.Equal(t, DefaultApprovalTimeout, p.Timeout)
	assert.Equal(t, at(14, 0), p.Deadline(at(10, 0)))
}

// Checklist 28.
func TestBehaviorFor(t *testing.T) {
	var got []TimeoutBehavior
	for _, s := range []string{"critical", "high", "medium", "low", "weird"} {
		got = append(got, BehaviorFor(s))
	}
	assert.Equal(t, []TimeoutBehavior{BehaviorEscalate, BehaviorEscalate, BehaviorClose, BehaviorClose, BehaviorClose}, got)
}

// Checklist 23, 25.
func TestHalfwayReached(t *testing.T) {
	p := PolicyFor("critical", nil)
	now := at(10, 0)
	assert.True(t, p.HalfwayReached(now.Add(10*time.Minute), now), "83% elapsed")
	assert.False(t, p.HalfwayReached(now.Add(55*time.Minute), now), "8% elapsed")
	assert.True(t, p.HalfwayReached(now.Add(30*time.Minute), now), "exactly half")
	assert.True(t, p.HalfwayReached(time.Time{}, now), "25: no deadline")
}
