package pgtest

import (
	"errors"
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"
)

// outcome records what unavailable asked of its testing.TB.
type outcome struct {
	testing.TB
	skipped, failed string
}

func (o *outcome) Helper()               {}
func (o *outcome) Skip(args ...any)      { o.skipped = fmt.Sprint(args...) }
func (o *outcome) Fatal(args ...any)     { o.failed = fmt.Sprint(args...) }
func (o *outcome) Fatalf(string, ...any) { o.failed = "fatal" }

func TestMissingPostgresSkipsUnlessRequired(t *testing.T) {
	t.Setenv(EnvRequire, "")
	var o outcome
	unavailable(&o, ErrNoPostgres)
	require.Contains(t, o.skipped, "apt-get install postgresql", "the skip says what to install")
	require.Empty(t, o.failed)

	t.Setenv(EnvRequire, "1")
	o = outcome{}
	unavailable(&o, ErrNoPostgres)
	require.Empty(t, o.skipped)
	require.Contains(t, o.failed, "install PostgreSQL", "required: a failure")

	t.Setenv(EnvRequire, "")
	o = outcome{}
	unavailable(&o, errors.New("initdb: permission denied"))
	require.Empty(t, o.skipped, "a server that fails to start is never skipped")
	require.Contains(t, o.failed, "permission denied")
}
