package router

import (
	"errors"
	"strconv"
)

// Sentinel errors; every typed error below matches one of them with
// [errors.Is].
var (
	ErrInvalidTaskContext = errors.New("router: invalid task context")
	ErrInvalidConfig      = errors.New("router: invalid configuration")
	ErrSpendLimitExceeded = errors.New("router: spend limit exceeded")
	ErrQuotaExceeded      = errors.New("router: tenant quota exceeded")
	ErrInvalidCost        = errors.New("router: invalid cost")
	// ErrUnknownReservation is returned by Settle for a reservation that was
	// never issued by this guard or was already settled or released.
	ErrUnknownReservation = errors.New("router: unknown or closed spend reservation")
)

// InvalidTaskContextError reports which TaskContext field failed validation.
type InvalidTaskContextError struct {
	Field  string
	Reason string
}

func (e *InvalidTaskContextError) Error() string {
	return "router: invalid task context: " + e.Field + ": " + e.Reason
}

// Is matches ErrInvalidTaskContext.
func (e *InvalidTaskContextError) Is(target error) bool { return target == ErrInvalidTaskContext }

// ConfigError reports an invalid option or catalogue entry.
type ConfigError struct {
	// Option is the option or catalogue path at fault, e.g. "WithMonthlyHardCap"
	// or "models[tier_2]".
	Option string
	Reason string
}

func (e *ConfigError) Error() string {
	return "router: invalid configuration: " + e.Option + ": " + e.Reason
}

// Is matches ErrInvalidConfig.
func (e *ConfigError) Is(target error) bool { return target == ErrInvalidConfig }

func configErr(option, reason string) error { return &ConfigError{Option: option, Reason: reason} }

// SpendScope says which limit refused a reservation.
type SpendScope string

// Spend scopes.
const (
	ScopeGlobal SpendScope = "global"
	ScopeTenant SpendScope = "tenant"
)

// SpendLimitError is returned when a reservation or budget check would take a
// monthly hard cap's committed spend (settled plus reserved) above the cap, or
// the cap is already reached.
type SpendLimitError struct {
	Scope    SpendScope
	TenantID string // the requesting tenant ("" for an anonymous request)
	Month    string // YYYY-MM (UTC)
	// MonthlyTotalUSD is the settled spend of the scope this month.
	MonthlyTotalUSD float64
	// ReservedUSD is the spend held by in-flight reservations of the scope.
	ReservedUSD float64
	// RequestedUSD is the refused reservation's estimate (0 for CheckBudget).
	RequestedUSD float64
	HardCapUSD   float64
}

func (e *SpendLimitError) Error() string {
	prefix := "router: monthly spend $"
	if e.Scope == ScopeTenant {
		prefix = "router: tenant " + strconv.Quote(e.TenantID) + " monthly spend $"
	}
	return prefix + usd2(e.MonthlyTotalUSD) + " + $" + usd2(e.ReservedUSD) + " reserved + $" +
		usd2(e.RequestedUSD) + " requested reaches or passes hard cap $" + usd2(e.HardCapUSD)
}

// Is matches ErrSpendLimitExceeded.
func (e *SpendLimitError) Is(target error) bool { return target == ErrSpendLimitExceeded }

func usd2(v float64) string { return strconv.FormatFloat(v, 'f', 2, 64) }

// QuotaExceededError is returned by [Controller.CheckTenantQuota].
type QuotaExceededError struct {
	TenantID   string
	TenantTier string
	Quota      int
	Used       int
}

func (e *QuotaExceededError) Error() string {
	return "tenant " + e.TenantID + " (" + e.TenantTier + ") exceeded " + strconv.Itoa(e.Quota) +
		" calls/hour (" + strconv.Itoa(e.Used) + " used)"
}

// Is matches ErrQuotaExceeded.
func (e *QuotaExceededError) Is(target error) bool { return target == ErrQuotaExceeded }
