package batch

import (
	"errors"
	"strconv"
	"time"
)

// Sentinel errors; every typed error below matches one of them with
// errors.Is.
var (
	// ErrInvalidTask: a task failed validation (see InvalidTaskError).
	ErrInvalidTask = errors.New("batch: invalid task")
	// ErrDuplicateTaskID: the task id is already queued (or appears twice in
	// one submission).
	ErrDuplicateTaskID = errors.New("batch: duplicate task id")
	// ErrQueueFull: the scheduler's queue is at its bound; the task was not
	// queued and the overflow was counted.
	ErrQueueFull = errors.New("batch: task queue full")
	// ErrEmptyBatch: Submit without tasks.
	ErrEmptyBatch = errors.New("batch: cannot submit empty batch")
	// ErrBatchTooLarge: more tasks or bytes than one provider batch may hold.
	ErrBatchTooLarge = errors.New("batch: batch size exceeds maximum")
	// ErrSubmitFailed: nothing or not everything reached the provider
	// (provider error or spend refusal); the job says which tasks to retry.
	ErrSubmitFailed = errors.New("batch: submission failed")
	// ErrContentRejected: the content gate refused a task's content (for
	// example a prompt injection); such a task is never submitted or retried.
	ErrContentRejected = errors.New("batch: content rejected by the gate")
	// ErrPollFailed: the provider could not report a batch's status.
	ErrPollFailed = errors.New("batch: poll failed")
	// ErrRetrieveFailed: the provider could not return a batch's results.
	ErrRetrieveFailed = errors.New("batch: result retrieval failed")
	// ErrSLAExceeded: a batch was still running 24 h after submission.
	ErrSLAExceeded = errors.New("batch: 24h SLA exceeded")
	// ErrInvalidArgument: a method got an argument it cannot accept.
	ErrInvalidArgument = errors.New("batch: invalid argument")
	// ErrInvalidConfig: a constructor got a missing port, an invalid option
	// value, or an option it does not read.
	ErrInvalidConfig = errors.New("batch: invalid configuration")
)

// InvalidTaskError says which field of which task failed validation.
type InvalidTaskError struct {
	TaskID string
	Field  string
	Reason string
}

func (e *InvalidTaskError) Error() string {
	return "batch: invalid task " + strconv.Quote(e.TaskID) + ": " + e.Field + ": " + e.Reason
}

// Is matches ErrInvalidTask.
func (e *InvalidTaskError) Is(target error) bool { return target == ErrInvalidTask }

// Retryable is false: resubmitting an invalid task cannot help.
func (e *InvalidTaskError) Retryable() bool { return false }

// SLAExceededError is returned by PollStatus for a batch that passed the
// 24-hour SLA; the job is then expired.
type SLAExceededError struct {
	JobID   string
	Elapsed time.Duration
}

func (e *SLAExceededError) Error() string {
	return "batch: job " + e.JobID + " exceeded the 24h SLA (" + e.Elapsed.String() + " since submission)"
}

// Is matches ErrSLAExceeded.
func (e *SLAExceededError) Is(target error) bool { return target == ErrSLAExceeded }

// ConfigError names the option or constructor argument at fault.
type ConfigError struct {
	Option string
	Reason string
}

func (e *ConfigError) Error() string {
	return "batch: invalid configuration: " + e.Option + ": " + e.Reason
}

// Is matches ErrInvalidConfig.
func (e *ConfigError) Is(target error) bool { return target == ErrInvalidConfig }

// retryable reports whether a failed submission may succeed if simply tried
// again. Errors say so by implementing Retryable() bool anywhere in their
// chain (the anthropicbatch adapter's API errors do); every other error —
// network failures, timeouts, spend refusals — counts as retryable.
func retryable(err error) bool {
	var r interface{ Retryable() bool }
	if errors.As(err, &r) {
		return r.Retryable()
	}
	return true
}
