package hubspot

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// TestEchoes checks that a value counts as echoed in a message only as a
// whole word, so that a conflict is never pinned on an input whose value
// merely appears inside another.
func TestEchoes(t *testing.T) {
	t.Parallel()
	const msg = "A contact with email Ada@Example.com already exists. Existing ID: 12"
	for value, want := range map[string]bool{
		"ada@example.com":   true,
		"da@example.com":    false,
		"ada@example.co":    false,
		"example.com":       false,
		"contact":           true,
		"12":                true,
		"1":                 false,
		"exists":            true,
		"with email ada@ex": false,
	} {
		require.Equal(t, want, echoes(msg, value), "%q", value)
	}
	require.True(t, echoes("email is a@b.io.", "a@b.io"), "a sentence's full stop ends the word")
	require.False(t, echoes("email is x.a@b.io", "a@b.io"))
}
