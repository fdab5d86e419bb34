package main

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
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
	require.NoError(t, run(t.Context(), &out, func(string) string { return "" }, false))
	got := out.String()
	for _, want := range []*regexp.Regexp{
		regexp.MustCompile(`HubSpot: simulated account at http://127\.0\.0\.1:\d+`),
		regexp.MustCompile(`1\. Create ada@example\.com\n   created contact (\d+) \(success\)\n   HubSpot now has: email=ada@example\.com firstname=Ada lifecyclestage=lead hs_lead_status=NEW\n`),
		// The create-only first name and the never-overwritten stage keep their values.
		regexp.MustCompile(`2\. Update \d+: .*\n   success\n   HubSpot now has: email=ada@example\.com firstname=Ada lifecyclestage=lead hs_lead_status=OPEN\n`),
		regexp.MustCompile(`3\. Batch create of 3 \(all or nothing\): 3 succeeded, 0 failed\n`),
		regexp.MustCompile(`edsger@example\.com\s+-> contact \d+, stage customer\n`),
		regexp.MustCompile(`grace@example\.com\s+-> contact \d+, stage lead\n`),
		regexp.MustCompile(`4\. Dry run of an update \(nothing sent\):\n   input .*\n   the rules keep .*\n   PATCH http://127\.0\.0\.1:\d+/crm/v3/objects/contacts/\d+\n   \{"properties":\{"hs_lead_status":"CONNECTED"\}\}\n`),
		regexp.MustCompile(`5\. Delete contact \d+: success\n`),
		regexp.MustCompile(`operation \S+: delete contacts, success\n`),
		regexp.MustCompile(`6\. Async create barbara@example\.com: accepted as operation \S+ \(in_progress\)\n   operation \S+: success, 1 attempt\(s\), 1 succeeded, 0 failed\n   record 0: contact \d+\n`),
		// 500 writes in 5 groups of 100: 5 calls.
		regexp.MustCompile(`7\. 500 auto-batched creates: 500 written in 5 groups, 5 HubSpot calls\n`),
		regexp.MustCompile(`one by one: 500 calls, and at the account's limit of 100 requests per 10 s at least 50 s of waiting\n`),
		regexp.MustCompile(`8\. The first group's operation:\n   operation \S+: success, 1 attempt\(s\), 100 succeeded, 0 failed\n(   record \d: contact \d+\n){3}   \.\.\. 97 more records\n`),
		// The input next to what the rules made of it.
		regexp.MustCompile(`input \{firstName=Ada leadStatus=CONNECTED stage=customer\}`),
		regexp.MustCompile(`sent \{email=edsger@example\.com firstName=Edsger stage=customer\}\n      HubSpot has \{firstname=Edsger lifecyclestage=customer\}`),
	} {
		require.Regexp(t, want, got)
	}
}

// TestQuickstartKeep keeps the store, says where it is and prints the ops
// CLI command to look at it, which works.
func TestQuickstartKeep(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	require.NoError(t, run(t.Context(), &out, func(string) string { return "" }, true))
	m := regexp.MustCompile(`The store is kept at (\S+)\n`).FindStringSubmatch(out.String())
	require.Len(t, m, 2)
	require.FileExists(t, m[1])
	defer func() { require.NoError(t, os.RemoveAll(filepath.Dir(m[1]))) }()

	cmd := regexp.MustCompile(`\n  go run \./cmd/writeback (--db \S+ ops list)\n`).FindStringSubmatch(out.String())
	require.Len(t, cmd, 2, out.String())
	args := append([]string{"run", "./cmd/writeback", "--json"}, strings.Fields(cmd[1])...)
	run := exec.Command("go", args...)
	run.Dir = filepath.Join("..", "..")
	listing, err := run.Output()
	require.NoError(t, err, "go %s", strings.Join(args, " "))
	var page struct {
		Operations []struct {
			Status string `json:"status"`
		} `json:"operations"`
	}
	require.NoError(t, json.Unmarshal(listing, &page))
	require.NotEmpty(t, page.Operations, "the quickstart's operations")
	for _, op := range page.Operations {
		require.NotEqual(t, "in_progress", op.Status)
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
	require.NoError(t, run(t.Context(), &out, func(k string) string { return env[k] }, false))
	require.Contains(t, out.String(), "HubSpot: real account at "+srv.URL)
	require.Regexp(t, `1\. Create ada\+\d+@example\.com`, out.String())
	require.Zero(t, srv.Count("contacts"), "every contact created is deleted")
	require.NotContains(t, out.String(), "auto-batched", "no 500 contacts in a real account")
	require.NotEmpty(t, srv.CallsTo("DELETE", "/crm/v3/objects/contacts/"))
}
