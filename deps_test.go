package writeback_test

import (
	"encoding/json"
	"os/exec"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// deps lists the packages pkg depends on, itself included.
func deps(t *testing.T, pkg string) []string {
	t.Helper()
	out, err := exec.Command("go", "list", "-json", "-deps", pkg).Output()
	require.NoError(t, err)
	dec := json.NewDecoder(strings.NewReader(string(out)))
	var all []string
	for dec.More() {
		var p struct{ ImportPath string }
		require.NoError(t, dec.Decode(&p))
		all = append(all, p.ImportPath)
	}
	return all
}

// TestDependencyRule keeps the root package free of storage engines,
// provider adapters and test libraries: callers wire those in (DESIGN §1).
// The root uses the store contract (package store); the contract depends on
// neither the root nor any store.
func TestDependencyRule(t *testing.T) {
	t.Parallel()
	const module = "github.com/writebackhq/writeback"
	for pkg, forbidden := range map[string][]string{
		".": {
			"go.etcd.io/bbolt",
			"github.com/jackc/pgx",
			module + "/providers/",
			module + "/store/",
			"github.com/stretchr/testify",
			"net/http/httptest",
		},
		"./store": {
			module + "$",
			module + "/providers/",
			module + "/store/",
			"go.etcd.io/bbolt",
			"github.com/jackc/pgx",
		},
	} {
		all := deps(t, pkg)
		for _, d := range all {
			for _, f := range forbidden {
				hit := strings.HasPrefix(d, f)
				if exact, ok := strings.CutSuffix(f, "$"); ok {
					hit = d == exact
				}
				require.False(t, hit, "%s must not depend on %s (via %s)", pkg, f, d)
			}
		}
	}
}
