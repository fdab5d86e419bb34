package writeback_test

import (
	"testing"

	"go.uber.org/goleak"

	"github.com/writebackhq/writeback/store/pgstore/pgtest"
)

// TestMain fails the package's tests if any goroutine outlives them, such
// as a dispatcher or worker left running by a Writer that was not stopped,
// and stops the PostgreSQL server the tests on it started (pgtest).
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(pgtest.Wrap(m))
}
