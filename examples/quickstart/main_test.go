package main

import (
	"bytes"
	"regexp"
	"testing"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/writebackhq/writeback/providers/hubspot/hubspottest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// TestQuickstart runs the quickstart against the simulator and checks what
// it reports.
func TestQuickstart(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	require.NoError(t, run(t.Context(), &out, func(string) string { return "" }))
	got := out.String()
	for _, want := range []*regexp.Regexp{
		regexp.MustCompile(`HubSpot: simulated account at http://127\.0\.0\.1:\d+`),
		regexp.MustCompile(`1\. Create ada@example\.com\n   created contact (\d+) \(success\)\n   HubSpot now has: email=ada@example\.com firstname=Ada lifecyclestage=lead hs_lead_status=NEW\n`),
		// The create-only first name and the never-overwritten stage keep their values.
		regexp.MustCompile(`2\. Update \d+: .*\n   success\n   HubSpot now has: email=ada@example\.com firstname=Ada lifecyclestage=lead hs_lead_status=OPEN\n`),
		regexp.MustCompile(`3\. Batch create of 3 \(all or nothing\): 3 succeeded, 0 failed\n`),
		regexp.MustCompile(`edsger@example\.com\s+-> contact \d+, stage customer\n`),
		regexp.MustCompile(`grace@example\.com\s+-> contact \d+, stage lead\n`),
		regexp.MustCompile(`4\. Dry run of an update \(nothing sent\):\n   PATCH http://127\.0\.0\.1:\d+/crm/v3/objects/contacts/\d+\n   \{"properties":\{"hs_lead_status":"CONNECTED"\}\}\n`),
		regexp.MustCompile(`5\. Delete contact \d+: success\n`),
		regexp.MustCompile(`Operation \S+: delete contacts, success\n`),
	} {
		require.Regexp(t, want, got)
	}
}

// TestQuickstartRealAccountPath runs the real-account path against a
// simulator standing in for HubSpot: unique emails, and nothing left
// behind.
func TestQuickstartRealAccountPath(t *testing.T) {
	t.Parallel()
	srv := hubspottest.NewServer(hubspottest.Options{Tokens: []string{"pat-test"}})
	defer srv.Close()
	env := map[string]string{"HUBSPOT_TOKEN": "pat-test", "HUBSPOT_BASE_URL": srv.URL}
	var out bytes.Buffer
	require.NoError(t, run(t.Context(), &out, func(k string) string { return env[k] }))
	require.Contains(t, out.String(), "HubSpot: real account at "+srv.URL)
	require.Regexp(t, `1\. Create ada\+\d+@example\.com`, out.String())
	require.Zero(t, srv.Count("contacts"), "every contact created is deleted")
	require.NotEmpty(t, srv.CallsTo("DELETE", "/crm/v3/objects/contacts/"))
}
