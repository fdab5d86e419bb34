package writeback_test

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package's tests if any goroutine outlives them, such
// as a dispatcher or worker left running by a Writer that was not stopped.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
