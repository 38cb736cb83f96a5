package response

import (
	"errors"
	"fmt"
)

// Sentinel errors. Every typed error below matches one of them with
// errors.Is.
var (
	ErrNilExecutor        = errors.New("response: nil executor")
	ErrInvalidConfig      = errors.New("response: invalid configuration")
	ErrInvalidConstraints = errors.New("response: invalid constraints")
	ErrInvalidCase        = errors.New("response: invalid case")
	// ErrNotResponding: the case's approval is still awaiting a decision,
	// was denied or timed out, so nothing may execute for it.
	ErrNotResponding    = errors.New("response: case is not in its responding stage")
	ErrApproverRequired = errors.New("response: approver required")
	ErrInvalidChannel   = errors.New("response: invalid approval channel")
	ErrInvalidVerdict   = errors.New("response: invalid verdict")
	ErrInsufficientRole = errors.New("response: approver role insufficient")
	// ErrApprovalClosed: the approval was already granted, denied or timed
	// out. The orchestrator's ErrApprovalClosed is this value.
	ErrApprovalClosed   = errors.New("response: approval already closed")
	ErrApprovalNotFound = errors.New("response: approval not found")
	// ErrConflict: a store compare-and-swap lost. The responder retries; it
	// surfaces only when the retries are exhausted.
	ErrConflict          = errors.New("response: concurrent update conflict")
	ErrExecutionNotFound = errors.New("response: execution not found")
	// ErrNotRollbackable: the execution did not succeed or was already
	// rolled back.
	ErrNotRollbackable = errors.New("response: execution cannot be rolled back")
	// ErrNotReversible: the action cannot be undone (catalogue, executor
	// report, or an executor without Rollback).
	ErrNotReversible = errors.New("response: action is not reversible")
	ErrStoreClosed   = errors.New("response: store closed")
	// ErrActorRequired: Rollback was called without an actor id.
	ErrActorRequired = errors.New("response: actor required")
)

// ConfigError reports an invalid option.
type ConfigError struct {
	Option string
	Reason string
}

func (e *ConfigError) Error() string {
	return "response: invalid configuration: " + e.Option + ": " + e.Reason
}

// Is matches ErrInvalidConfig.
func (e *ConfigError) Is(target error) bool { return target == ErrInvalidConfig }

// ConstraintsError reports invalid executor constraints.
type ConstraintsError struct{ Reason string }

func (e *ConstraintsError) Error() string { return "response: invalid constraints: " + e.Reason }

// Is matches ErrInvalidConstraints.
func (e *ConstraintsError) Is(target error) bool { return target == ErrInvalidConstraints }

// RoleError reports an approver whose role does not rank high enough for an
// approval. Nothing changed and no event was emitted.
type RoleError struct {
	ApprovalID string
	Approver   string
	Role       Role
	Required   Role
}

func (e *RoleError) Error() string {
	return fmt.Sprintf("response: approver %q with role %q may not decide approval %s (requires %q)",
		e.Approver, e.Role, e.ApprovalID, e.Required)
}

// Is matches ErrInsufficientRole.
func (e *RoleError) Is(target error) bool { return target == ErrInsufficientRole }

// GateError reports why a case may not respond: its approval's state.
type GateError struct {
	ApprovalID string
	State      ApprovalState
}

func (e *GateError) Error() string {
	return "response: case is not in its responding stage: approval " + e.ApprovalID + " is " + string(e.State)
}

// Is matches ErrNotResponding.
func (e *GateError) Is(target error) bool { return target == ErrNotResponding }

func caseErr(field string) error {
	return fmt.Errorf("%w: %s is required", ErrInvalidCase, field)
}
