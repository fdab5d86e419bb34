package main

import (
	"bytes"
	"testing"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

func TestRunAgainstTheSimulator(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	noEnv := func(string) string { return "" }
	require.NoError(t, run(t.Context(), &out, noEnv))
	require.Equal(t, `installation for cust-42 on the simulated org
created Contact 003… (18 chars): success
updated Contact: success
dry run of a second update (Title is set, so ifEmpty drops it): PATCH {"Department":"Mathematics"}
second update: success
created Lead 00Q… (18 chars) with Sforce-Auto-Assign: FALSE: success
  its owner is a user (005), not an assignment queue (00G): 005… (18 chars)
all-or-nothing batch: failure
  record 0: rolled_back ALL_OR_NONE_OPERATION_ROLLED_BACK []
  record 1: invalid REQUIRED_FIELD_MISSING [LastName]
  record 2: rolled_back ALL_OR_NONE_OPERATION_ROLLED_BACK []
partial batch: 2 written, 1 failed
deleted 3 Contacts
org API usage: 13 of 15000 daily calls
`, out.String())
}

func TestRunNeedsAllCredentialsForARealOrg(t *testing.T) {
	t.Parallel()
	env := map[string]string{"SALESFORCE_INSTANCE_URL": "https://example.my.salesforce.com"}
	err := run(t.Context(), &bytes.Buffer{}, func(k string) string { return env[k] })
	require.ErrorContains(t, err, "SALESFORCE_REFRESH_TOKEN")
}
