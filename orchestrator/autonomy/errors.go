package autonomy

import (
	"errors"
	"strconv"

	"github.com/socwarden/warden/orchestrator"
)

// Sentinel errors, comparable with errors.Is.
var (
	// ErrSameApprover: the second approval came from the first approver.
	ErrSameApprover = errors.New("autonomy: Same person cannot approve twice: two-person approval requires distinct approvers")
	// ErrAlreadyApproved: the pattern already has two approvals.
	ErrAlreadyApproved = errors.New("autonomy: pattern already has two approvals")
	// ErrEmptyApprover: an approval, reaffirmation or revocation without an
	// identity.
	ErrEmptyApprover = errors.New("autonomy: approver identity required")
	// ErrAlreadyRunning: RunScheduler is already running on this manager.
	ErrAlreadyRunning = errors.New("autonomy: scheduler already running")
	// ErrNotApproved: activation needs two distinct approvers.
	ErrNotApproved = errors.New("autonomy: pattern lacks two distinct approvals")
	// ErrInvalidStatus: the operation does not apply to the pattern's status.
	ErrInvalidStatus = errors.New("autonomy: operation not allowed in the pattern's status")
	// ErrInvalidPattern: a pattern fails Validate.
	ErrInvalidPattern = errors.New("autonomy: invalid pattern")
	// ErrNotFound is the orchestrator's: no such pattern.
	ErrNotFound = orchestrator.ErrNotFound
	// ErrInvalidConfig: an option or argument a constructor cannot accept.
	ErrInvalidConfig = orchestrator.ErrInvalidConfig
)

func invalid(reason string) error { return &PatternError{Reason: reason} }

// PatternError says why a pattern is invalid.
type PatternError struct{ Reason string }

func (e *PatternError) Error() string { return "autonomy: invalid pattern: " + e.Reason }

// Is matches ErrInvalidPattern.
func (e *PatternError) Is(target error) bool { return target == ErrInvalidPattern }

func configErr(option, reason string) error {
	return &orchestrator.ConfigError{Option: option, Reason: reason}
}

func quote(s string) string { return strconv.Quote(s) }
