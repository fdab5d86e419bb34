package salesforce_test

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/writebackhq/writeback"
	"github.com/writebackhq/writeback/providers/salesforce"
	"github.com/writebackhq/writeback/providers/salesforce/salesforcetest"
)

// spend writes single records until a call fails, and returns the writes
// that succeeded and the error that stopped them.
func spend(t *testing.T, e *env, max int) (int, *writeback.ProviderError) {
	t.Helper()
	for i := range max {
		_, err := e.p.Write(t.Context(), e.write("Account", writeback.WriteTypeCreate, false, rec("Name", "Acme")))
		if err != nil {
			var pe *writeback.ProviderError
			require.ErrorAs(t, err, &pe)
			return i, pe
		}
	}
	t.Fatalf("no refusal after %d writes", max)
	return 0, nil
}

func TestDailyReserveIsKeptForOtherIntegrations(t *testing.T) {
	t.Parallel()
	const limit, usedByOthers = 1000, 880

	// Default reserve (10%): the pacer stops at 900 of 1000 and says why.
	e := newEnv(t, salesforcetest.Options{DailyLimit: limit, DailyUsed: usedByOthers}, salesforce.Config{})
	writes, pe := spend(t, e, 500)
	used, max := e.srv.APIUsage()
	require.Equal(t, limit, max)
	require.Equal(t, 900, used, "the last 10% is left for the customer's other integrations")
	require.Equal(t, used-usedByOthers, writes)
	require.Equal(t, writeback.ClassQuota, pe.Class)
	require.True(t, pe.Retryable())
	require.Positive(t, pe.RetryAfter)
	require.Zero(t, pe.StatusCode, "refused without sending")
	require.Contains(t, pe.Message, "other integrations")
	require.True(t, errors.Is(pe, salesforce.ErrDailyReserve))
	require.Equal(t, writes, e.srv.Count("Account"))
	callsAtRefusal := e.srv.CallCount()
	_, err := e.p.Write(t.Context(), e.write("Account", writeback.WriteTypeCreate, false, rec("Name", "Acme")))
	require.ErrorIs(t, err, salesforce.ErrDailyReserve)
	require.Equal(t, callsAtRefusal, e.srv.CallCount(), "still nothing sent")
	pUsed, pLimit, ok := e.p.APIUsage("inst-1")
	require.True(t, ok)
	require.Equal(t, [2]int{used, limit}, [2]int{pUsed, pLimit})

	// Baseline, no reserve: writes run until Salesforce refuses the org's
	// calls, leaving nothing for anyone else.
	base := newEnv(t, salesforcetest.Options{DailyLimit: limit, DailyUsed: usedByOthers}, salesforce.Config{Reserve: -1})
	baseWrites, basePE := spend(t, base, 500)
	baseUsed, _ := base.srv.APIUsage()
	require.Equal(t, limit, baseUsed)
	require.Equal(t, writeback.ClassQuota, basePE.Class)
	require.Contains(t, basePE.Message, "spent")
	require.False(t, errors.Is(basePE, salesforce.ErrDailyReserve))

	t.Logf("daily budget %d, %d used by other integrations: with the default 10%% reserve writeback made %d writes and left %d calls (%.0f%%) for the others; without a reserve it made %d writes and left %d",
		limit, usedByOthers, writes, limit-used, 100*float64(limit-used)/limit, baseWrites, limit-baseUsed)
}
