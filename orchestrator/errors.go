package orchestrator

import (
	"errors"
	"fmt"

	"github.com/socwarden/warden/response"
)

// Sentinel errors, comparable with errors.Is.
var (
	// ErrMissingTenant: Run was given an alert without a tenant; nothing was
	// created.
	ErrMissingTenant = errors.New("orchestrator: alert has no tenant_id")
	// ErrInvalidAlert wraps the decode error of a message DecodeAlert cannot
	// read.
	ErrInvalidAlert = errors.New("orchestrator: invalid alert")
	// ErrInvalidState: an investigation names a state that is not one of the
	// eight.
	ErrInvalidState = errors.New("orchestrator: invalid investigation state")
	// ErrNotFound: no investigation (or pattern) with that id.
	ErrNotFound = errors.New("orchestrator: not found")
	// ErrNotAwaitingHuman: Resume on an investigation that is not paused for
	// a human; the unchanged investigation is returned with it.
	ErrNotAwaitingHuman = errors.New("orchestrator: investigation is not awaiting a human decision")
	// ErrAwaitingHuman: Continue on a paused investigation (use Resume).
	ErrAwaitingHuman = errors.New("orchestrator: investigation is awaiting a human decision")
	// ErrTerminal: Continue on a closed or failed investigation.
	ErrTerminal = errors.New("orchestrator: investigation is closed or failed")
	// ErrInvalidTransition indicates a bug: an edge that is not in the state
	// table. It is never expected at run time.
	ErrInvalidTransition = errors.New("orchestrator: invalid state transition")
	// ErrInvalidVerdict: a human decision whose verdict is not approve, deny
	// or timeout.
	ErrInvalidVerdict = errors.New("orchestrator: invalid verdict")
	// ErrApproverRequired: approve or deny without an approver identity.
	ErrApproverRequired = errors.New("orchestrator: approver required")
	// ErrMissingNode: New without a reasoner or a responder.
	ErrMissingNode = errors.New("orchestrator: missing required node")
	// ErrInvalidDimension: a kill-switch dimension that is not one of the six.
	ErrInvalidDimension = errors.New("orchestrator: invalid kill-switch dimension")
	// ErrEmptyValue: a kill switch without a value.
	ErrEmptyValue = errors.New("orchestrator: empty kill-switch value")
	// ErrGoLiveNotSignedOff: shadow mode may only be switched off after the
	// go-live sign-off.
	ErrGoLiveNotSignedOff = errors.New("orchestrator: shadow mode can only be disabled after go-live sign-off")
	// ErrPermissionDenied: an agent role may not perform an action.
	ErrPermissionDenied = errors.New("orchestrator: permission denied")
	// ErrPassthrough: the platform is in passthrough degradation; Run created
	// nothing and the host must hand the alert to a human.
	ErrPassthrough = errors.New("orchestrator: passthrough degradation: alert goes to a human")
	// ErrNotReopenable: Reopen on an investigation that was not closed by the
	// named FP pattern.
	ErrNotReopenable = errors.New("orchestrator: investigation was not closed by this pattern")
	// ErrInvalidConfig: an option value New or a constructor cannot accept.
	ErrInvalidConfig = errors.New("orchestrator: invalid configuration")
	// ErrNilInvestigation: a function that needs an investigation got nil.
	ErrNilInvestigation = errors.New("orchestrator: nil investigation")
)

// ErrApprovalClosed is the response package's error for a decision on an
// approval that was already granted, denied or timed out. The graph
// recognises it in Resume: the approval was decided but the decision never
// reached the investigation (a crash between the two), so it applies the
// recorded outcome.
var ErrApprovalClosed = response.ErrApprovalClosed

// ConfigError reports an invalid option or constructor argument.
type ConfigError struct {
	Option string
	Reason string
}

func (e *ConfigError) Error() string {
	return "orchestrator: invalid configuration: " + e.Option + ": " + e.Reason
}

// Is matches ErrInvalidConfig.
func (e *ConfigError) Is(target error) bool { return target == ErrInvalidConfig }

// TransitionError is an edge outside the state table (a bug).
type TransitionError struct {
	From, To State
}

func (e *TransitionError) Error() string {
	return fmt.Sprintf("orchestrator: invalid state transition %s → %s", e.From, e.To)
}

// Is matches ErrInvalidTransition.
func (e *TransitionError) Is(target error) bool { return target == ErrInvalidTransition }

// PermissionError names the role and action that were denied.
type PermissionError struct {
	Role   AgentRole
	Action string
}

func (e *PermissionError) Error() string {
	return fmt.Sprintf("orchestrator: permission denied: role %q may not %q", e.Role, e.Action)
}

// Is matches ErrPermissionDenied.
func (e *PermissionError) Is(target error) bool { return target == ErrPermissionDenied }

// DimensionError names an invalid kill-switch dimension and the valid ones.
type DimensionError struct {
	Dimension string
}

func (e *DimensionError) Error() string {
	return fmt.Sprintf("orchestrator: invalid kill-switch dimension %q (valid: tenant, pattern, technique, datasource, rule_family, severity)", e.Dimension)
}

// Is matches ErrInvalidDimension.
func (e *DimensionError) Is(target error) bool { return target == ErrInvalidDimension }
