package providertest_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/writebackhq/writeback"
	"github.com/writebackhq/writeback/providers/providertest"
)

func TestStaticTokensGivesEveryInstallationTheToken(t *testing.T) {
	t.Parallel()
	resolve := providertest.StaticTokens("tok-1")
	for _, inst := range []*writeback.Installation{{ID: "a"}, {ID: "b"}, nil} {
		ts, err := resolve(t.Context(), inst)
		require.NoError(t, err)
		tok, err := ts.Token()
		require.NoError(t, err)
		require.Equal(t, "tok-1", tok.AccessToken)
		require.Equal(t, "Bearer", tok.TokenType)
		require.True(t, tok.Valid(), "a static token never expires")
	}
}
