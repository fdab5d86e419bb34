package writeback_test

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"

	"github.com/writebackhq/writeback"
)

// FuzzParseManifest checks that ParseManifest never panics, that every
// error is a ValidationError wrapping ErrInvalidManifest, that a parsed
// manifest validates, and that marshalling it back to YAML parses to an
// equal manifest.
func FuzzParseManifest(f *testing.F) {
	f.Add([]byte(fullManifest))
	f.Add([]byte(""))
	f.Add([]byte("specVersion: 1.0.0\nintegrations:\n  - name: a\n    provider: hubspot\n"))
	f.Add([]byte("specVersion: 1.0.0\nintegrations:\n  - name: a\n    provider: hubspot\n    write: &w\n      objects:\n        - objectName: c\n  - name: b\n    provider: hubspot\n    write: *w\n"))
	f.Add([]byte("specVersion: 1.0.0\nintegrations:\n  - name: a\n    provider: hubspot\n    read:\n      objects:\n        - objectName: x\n          requiredFields: []\n          optionalFields:\n            - {mapToName: \"m\\x01\"}\n"))
	f.Add([]byte("specVersion: 1.0.0\n---\nx: 1\n"))
	f.Add([]byte("a: &a [*a]\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := writeback.ParseManifest(data)
		if err != nil {
			require.Nil(t, m)
			require.ErrorIs(t, err, writeback.ErrInvalidManifest)
			var ve *writeback.ValidationError
			require.True(t, errors.As(err, &ve), "error %v is not a ValidationError", err)
			return
		}
		require.NoError(t, m.Validate())
		out, err := yaml.Marshal(m)
		require.NoError(t, err)
		again, err := writeback.ParseManifest(out)
		require.NoError(t, err, "marshalled:\n%s", out)
		// Ignored keys are not marshalled back.
		require.Equal(t, m.SpecVersion, again.SpecVersion)
		require.Equal(t, m.Integrations, again.Integrations)
	})
}
