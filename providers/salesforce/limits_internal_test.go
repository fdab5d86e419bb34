package salesforce

import (
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestParseLimitInfo(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 29, 7, 0, 0, 0, time.UTC)
	cases := []struct {
		header         string
		ok             bool
		max, remaining int
	}{
		{"api-usage=18/5000", true, 5000, 4982},
		{"api-usage=25/5000; per-app-api-usage=17/250(appName=sample-connected-app)", true, 5000, 4975},
		{"api-usage=110018/100000; api-bursts=1/750", true, 100000, -10018},
		{"per-app-api-usage=17/250(appName=x);  API-Usage = 7 / 10 ", true, 10, 3},
		{"", false, 0, 0},
		{"api-usage=abc/5000", false, 0, 0},
		{"api-usage=10/0", false, 0, 0},
		{"api-usage=10", false, 0, 0},
	}
	for _, tc := range cases {
		h := http.Header{}
		if tc.header != "" {
			h.Set(LimitInfoHeader, tc.header)
		}
		l, ok := parseLimitInfo(h, now)
		require.Equal(t, tc.ok, ok, tc.header)
		if !ok {
			continue
		}
		require.Equal(t, tc.max, l.DailyMax, tc.header)
		require.Equal(t, tc.remaining, l.DailyRemaining, tc.header)
		require.Equal(t, now, l.Observed)
		require.True(t, l.DailyReset.IsZero(), "Salesforce's window rolls; no reset time")
	}
}
