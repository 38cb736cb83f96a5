package response

import (
	"bytes"
	"errors"
	"log/slog"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestTypedErrorsMatchTheirSentinels(t *testing.T) {
	for err, sentinel := range map[error]error{
		&ConfigError{Option: "WithX", Reason: "bad"}:                                          ErrInvalidConfig,
		&ConstraintsError{Reason: "bad"}:                                                      ErrInvalidConstraints,
		&RoleError{ApprovalID: "a1", Approver: "eve", Role: RoleAnalyst, Required: RoleAdmin}: ErrInsufficientRole,
		&GateError{ApprovalID: "a1", State: StateDenied}:                                      ErrNotResponding,
	} {
		assert.ErrorIs(t, err, sentinel)
		assert.NotContains(t, err.Error(), "%!", "formatting")
		assert.Contains(t, err.Error(), "response: ")
		assert.False(t, errors.Is(err, ErrConflict))
	}
	assert.Equal(t, `response: approver "eve" with role "analyst" may not decide approval a1 (requires "admin")`,
		(&RoleError{ApprovalID: "a1", Approver: "eve", Role: RoleAnalyst, Required: RoleAdmin}).Error())
}

// Problems that do not fail a call are logged through WithLogger.
func TestLogger(t *testing.T) {
	var buf bytes.Buffer
	e := newEnv(t, WithLogger(slog.New(slog.NewTextHandler(&buf, nil))),
		WithPlaybooks(&countingPlaybooks{err: errors.New("db down")}))
	_, err := e.r.Respond(bg, testCase("low", act("DROP TABLE;", "", 0), act("monitor", "h", 0)))
	require.NoError(t, err)
	assert.Contains(t, buf.String(), "skipping malformed action")
	assert.Contains(t, buf.String(), "playbook selection failed")
}
