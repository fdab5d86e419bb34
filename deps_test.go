package writeback_test

import (
	"encoding/json"
	"os/exec"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestDependencyRule keeps the root package free of storage engines,
// provider adapters and test libraries: callers wire those in (DESIGN §1).
func TestDependencyRule(t *testing.T) {
	t.Parallel()
	out, err := exec.Command("go", "list", "-json", "-deps", ".").Output()
	require.NoError(t, err)
	dec := json.NewDecoder(strings.NewReader(string(out)))
	var deps []string
	for dec.More() {
		var p struct{ ImportPath string }
		require.NoError(t, dec.Decode(&p))
		deps = append(deps, p.ImportPath)
	}
	require.Contains(t, deps, "github.com/writebackhq/writeback")
	forbidden := []string{
		"go.etcd.io/bbolt",
		"github.com/writebackhq/writeback/providers/",
		"github.com/writebackhq/writeback/store/",
		"github.com/stretchr/testify",
		"net/http/httptest",
	}
	for _, d := range deps {
		for _, f := range forbidden {
			require.False(t, d == strings.TrimSuffix(f, "/") || strings.HasPrefix(d, f),
				"the root package must not depend on %s (via %s)", f, d)
		}
	}
}
