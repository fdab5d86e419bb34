package salesforcetest

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestRecordIDs(t *testing.T) {
	t.Parallel()
	// The example ID of Salesforce's REST API guide.
	require.Equal(t, "001xx000003DGb2AAG", "001xx000003DGb2"+checksum("001xx000003DGb2"))

	id := newRecordID("003", 1)
	require.Len(t, id, 18)
	require.Equal(t, "0035g0000000001AAA", id)
	require.NotEqual(t, id, newRecordID("003", 2))
	require.Equal(t, "003", newRecordID("003", 62*62*62)[:3])

	for _, in := range []string{"001xx000003DGb2", "001xx000003DGb2AAG", "001XX000003dgB2AAG", "001xx000003dgb2aag"} {
		got, ok := canonicalID(in)
		require.True(t, ok, in)
		require.Equal(t, "001xx000003DGb2AAG", got, in)
	}
	for _, in := range []string{"", "001xx000003DGb", "001xx000003DGb2AAB", "001xx000003DGb2-AG", strings.Repeat("0", 19), "../../services"} {
		_, ok := canonicalID(in)
		require.False(t, ok, in)
	}
}
