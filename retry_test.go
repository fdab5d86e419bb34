package writeback

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestNextAttemptQuotaAfterDeadlineFailsAtOnce(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 29, 22, 0, 0, 0, time.UTC)
	deadline := now.Add(time.Hour)

	perr := &ProviderError{Provider: "hubspot", Class: ClassQuota, Code: "DAILY", Message: "You have reached your daily limit.", RetryAfter: 2 * time.Hour}
	_, retry := nextAttempt(WriteTypeCreate, perr, 1, now, deadline)
	require.False(t, retry, "the quota comes back after the deadline")
	require.Contains(t, perr.Message, "comes back at 2026-11-30T00:00:00Z (in 2h0m0s)")
	require.Contains(t, perr.Message, "deadline 2026-11-29T23:00:00Z")

	perr = &ProviderError{Provider: "hubspot", Class: ClassQuota, RetryAfter: 30 * time.Minute}
	runAt, retry := nextAttempt(WriteTypeCreate, perr, 1, now, deadline)
	require.True(t, retry, "the quota comes back before the deadline")
	require.Equal(t, now.Add(30*time.Minute), runAt)

	perr = &ProviderError{Provider: "hubspot", Class: ClassRateLimited, RetryAfter: 2 * time.Hour}
	runAt, retry = nextAttempt(WriteTypeCreate, perr, 1, now, deadline)
	require.True(t, retry, "a rate limit is clamped to the deadline, as before")
	require.Equal(t, deadline, runAt)
}
