package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"regexp"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/writebackhq/writeback/store/pgstore/pgtest"
)

// TestMain runs the test binary as a replica when the parent asks for one.
func TestMain(m *testing.M) {
	if role := os.Getenv(envRole); role != "" {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := replica(ctx, role, os.Stdin, os.Stdout); err != nil {
			os.Stderr.WriteString(err.Error() + "\n")
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(pgtest.Wrap(m).Run())
}

// TestReplicas runs the example: writes accepted by one process are
// completed by the other, and Wait returns on the first.
func TestReplicas(t *testing.T) {
	url := pgtest.URL(t)
	exe, err := os.Executable()
	require.NoError(t, err)
	var out bytes.Buffer
	require.NoError(t, run(t.Context(), &out, url, func() *exec.Cmd { return exec.Command(exe) }))
	require.Regexp(t, regexp.MustCompile(`api: waited \S+: success, contact \d+`), out.String())
	require.Contains(t, out.String(), "The api replica accepted 20 writes and its Wait returned for 20;\nthe worker replica completed 20 of them; HubSpot holds 20 contacts.\n")
}
