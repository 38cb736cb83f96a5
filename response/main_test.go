package response

import (
	"testing"

	"go.uber.org/goleak"
)

// No test may leave a goroutine behind (sweepers, executors, emitters).
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
