package main_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/writebackhq/writeback"
	"github.com/writebackhq/writeback/providers/providertest"
	"github.com/writebackhq/writeback/store"
	"github.com/writebackhq/writeback/store/boltstore"
	"github.com/writebackhq/writeback/store/pgstore"
	"github.com/writebackhq/writeback/store/pgstore/pgtest"
)

// bin is the command, built once for the tests.
var bin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "writeback-cli-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	bin = filepath.Join(dir, "writeback")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "build the command: %v\n%s", err, out)
		os.Exit(1)
	}
	code := 0
	goleak.VerifyTestMain(exitCode{pgtest.Wrap(m), &code})
	_ = os.RemoveAll(dir)
	os.Exit(code)
}

// exitCode keeps the tests' exit code for TestMain to exit with after
// cleaning up.
type exitCode struct {
	m    *pgtest.Main
	code *int
}

func (e exitCode) Run() int { *e.code = e.m.Run(); return *e.code }

// result is one run of the command.
type result struct {
	code           int
	stdout, stderr string
}

// cli runs the command with args.
func cli(t *testing.T, args ...string) result {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH")}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else {
		require.NoError(t, err)
	}
	return result{code, stdout.String(), stderr.String()}
}

// ok runs the command and requires it to succeed.
func ok(t *testing.T, args ...string) string {
	t.Helper()
	r := cli(t, args...)
	require.Equal(t, 0, r.code, "writeback %s\nstdout: %s\nstderr: %s", strings.Join(args, " "), r.stdout, r.stderr)
	return r.stdout
}

// jsonOut runs the command with --json and decodes its output into v.
func jsonOut(t *testing.T, v any, args ...string) {
	t.Helper()
	out := ok(t, append([]string{"--json"}, args...)...)
	require.NoError(t, json.Unmarshal([]byte(out), v), out)
}

const manifest = `
specVersion: 1.0.0
integrations:
  - name: crm
    provider: hubspot
    write:
      objects:
        - objectName: contacts
`

var contacts = writeback.Target{Integration: "crm", GroupRef: "cust-7", Object: "contacts"}

func contact(email string) writeback.Record {
	return writeback.Record{Fields: map[string]any{"email": email}}
}

// newWriter returns a Writer on st with a fake HubSpot.
func newWriter(t *testing.T, st store.Interface, fake *providertest.Fake) *writeback.Writer {
	t.Helper()
	m, err := writeback.ParseManifest([]byte(manifest))
	require.NoError(t, err)
	w, err := writeback.NewWriter(&writeback.Config{
		Manifest: m, Providers: []writeback.Provider{fake}, Store: st,
		TokenSourceFunc: providertest.StaticTokens("test-token"),
	})
	require.NoError(t, err)
	return w
}

// seeded is a store with operations of every status, and their IDs.
type seeded struct {
	path string
	// IDs by what they are.
	success, failure, partial, canceled, queued, retrying, inFlight, group string
}

// seed writes a bbolt store with an installation and operations of every
// status: a sync success, a refused sync create, a partial batch, a
// canceled write, a queued one, one waiting for its retry, one in flight
// (claimed by an app that is still running it) and an open auto-batch
// group.
func seed(t *testing.T) seeded {
	t.Helper()
	ctx := t.Context()
	s := seeded{path: filepath.Join(t.TempDir(), "app.db")}
	st, err := boltstore.Open(s.path, nil)
	require.NoError(t, err)
	fake := providertest.NewFake("hubspot", writeback.Capabilities{})
	fake.FailRecords(func(_ *writeback.ProviderRequest, i int, rec writeback.Record) *writeback.ProviderError {
		if rec.Fields["email"] == "bad@example.com" {
			return &writeback.ProviderError{Provider: "hubspot", Class: writeback.ClassInvalid, StatusCode: 400, Code: "VALIDATION_ERROR",
				Message: "Property values were not valid", CorrelationID: "corr-bad-1", RecordIndex: i,
				FieldErrors: []writeback.FieldError{{ProviderField: "email", Field: "email", Code: "INVALID_EMAIL", Message: "not an email"}}}
		}
		return nil
	})
	fake.FailCalls(func(req *writeback.ProviderRequest) error {
		if req.Records[0].Fields["email"] == "later@example.com" {
			return &writeback.ProviderError{Provider: "hubspot", Class: writeback.ClassRateLimited, StatusCode: 429, Code: "DAILY",
				Message: "daily limit", CorrelationID: "corr-429", RetryAfter: time.Hour, RecordIndex: writeback.NoRecord}
		}
		return nil
	})
	w := newWriter(t, st, fake)
	_, err = w.CreateInstallation(ctx, &writeback.Installation{
		Integration: "crm", GroupRef: "cust-7", Connection: writeback.Connection{Provider: "hubspot"},
		Config: writeback.InstallationConfig{Write: writeback.WriteConfig{Objects: map[string]writeback.WriteObject{
			"contacts": {ObjectName: "contacts"},
		}}},
	})
	require.NoError(t, err)
	res, err := w.Create(ctx, contacts, contact("ada@example.com"), nil)
	require.NoError(t, err)
	s.success = res.OperationID
	res, err = w.Create(ctx, contacts, contact("bad@example.com"), nil)
	require.Error(t, err)
	s.failure = res.OperationID
	res, err = w.Batch(ctx, contacts, writeback.WriteTypeCreate, []writeback.Record{contact("a@example.com"), contact("bad@example.com")},
		&writeback.WriteOpts{BatchPolicy: writeback.BatchPartial})
	require.NoError(t, err)
	s.partial = res.OperationID

	// Waiting for its retry: a Writer ran its first attempt.
	res, err = w.Create(ctx, contacts, contact("later@example.com"), &writeback.WriteOpts{Mode: writeback.ModeAsync})
	require.NoError(t, err)
	s.retrying = res.OperationID
	require.NoError(t, w.Start(ctx))
	for deadline := time.Now().Add(time.Minute); ; {
		op, err := w.Operation(ctx, s.retrying)
		require.NoError(t, err)
		if op.Attempts == 1 {
			break
		}
		require.True(t, time.Now().Before(deadline), "the first attempt never ended")
		time.Sleep(5 * time.Millisecond)
	}
	require.NoError(t, w.Stop(ctx))

	// In flight: claimed by an app still running it (the only job due).
	idle := newWriter(t, st, fake)
	res, err = idle.Create(ctx, contacts, contact("busy@example.com"), &writeback.WriteOpts{Mode: writeback.ModeAsync})
	require.NoError(t, err)
	s.inFlight = res.OperationID
	now := time.Now()
	jobs, err := st.Claim(ctx, now, now.Add(time.Hour), 10)
	require.NoError(t, err)
	require.Len(t, jobs, 1)

	res, err = idle.Create(ctx, contacts, contact("queued@example.com"), &writeback.WriteOpts{Mode: writeback.ModeAsync})
	require.NoError(t, err)
	s.queued = res.OperationID
	res, err = idle.Create(ctx, contacts, contact("canceled@example.com"), &writeback.WriteOpts{Mode: writeback.ModeAsync})
	require.NoError(t, err)
	s.canceled = res.OperationID
	_, err = idle.Cancel(ctx, s.canceled)
	require.NoError(t, err)
	for _, email := range []string{"g1@example.com", "g2@example.com"} {
		res, err = idle.Create(ctx, contacts, contact(email), &writeback.WriteOpts{Mode: writeback.ModeAsync, AutoBatch: &writeback.AutoBatchPolicy{MaxDelay: time.Hour}})
		require.NoError(t, err)
		s.group = res.OperationID
	}
	require.NoError(t, st.Close())
	return s
}

// listing is the JSON of ops list.
type listing struct {
	Operations    []writeback.Operation `json:"operations"`
	NextPageToken string                `json:"nextPageToken"`
	Done          bool                  `json:"done"`
}

func ids(l listing) []string {
	var out []string
	for _, op := range l.Operations {
		out = append(out, op.ID)
	}
	return out
}

func TestOpsList(t *testing.T) {
	t.Parallel()
	s := seed(t)
	all := []string{s.success, s.failure, s.partial, s.retrying, s.inFlight, s.queued, s.canceled, s.group}

	out := ok(t, "--db", s.path, "ops", "list")
	require.Contains(t, out, "ID ")
	require.Contains(t, out, "SUMMARY")
	for _, id := range all {
		require.Contains(t, out, id)
	}
	require.Contains(t, out, "auto-batch")
	require.Contains(t, out, "1/2", "the partial batch's records")

	var l listing
	jsonOut(t, &l, "ops", "list", "--db", s.path)
	require.Equal(t, all, ids(l), "every operation, oldest first")
	require.True(t, l.Done)

	for _, tc := range []struct {
		args []string
		want []string
	}{
		{[]string{"--status", "failure"}, []string{s.failure}},
		{[]string{"--status", "canceled"}, []string{s.canceled}},
		{[]string{"--status", "in_progress"}, []string{s.retrying, s.inFlight, s.queued, s.group}},
		{[]string{"--status", "success", "--integration", "crm", "--group-ref", "cust-7", "--object", "contacts", "--type", "create"}, []string{s.success, s.partial}},
		{[]string{"--type", "update"}, nil},
		{[]string{"--since", "1h"}, all},
		{[]string{"--until", "2020-01-01"}, nil},
	} {
		var l listing
		jsonOut(t, &l, append([]string{"ops", "list", "--db", s.path}, tc.args...)...)
		require.Equal(t, tc.want, ids(l), "%v", tc.args)
	}

	// Pages.
	out = ok(t, "--db", s.path, "ops", "list", "--limit", "3")
	require.Contains(t, out, "More: add --page-token "+s.partial)
	jsonOut(t, &l, "ops", "list", "--db", s.path, "--limit", "3", "--page-token", s.partial)
	require.Equal(t, all[3:6], ids(l))
	require.Equal(t, s.queued, l.NextPageToken)
	jsonOut(t, &l, "ops", "list", "--db", s.path, "--limit", "1", "--all")
	require.Equal(t, all, ids(l))

	for _, args := range [][]string{
		{"--status", "lost"},
		{"--type", "merge"},
		{"--since", "yesterday"},
		{"--limit", "0"},
		{"extra"},
	} {
		r := cli(t, append([]string{"--db", s.path, "ops", "list"}, args...)...)
		require.Equal(t, 2, r.code, "%v: %s", args, r.stderr)
	}
}

func TestOpsShow(t *testing.T) {
	t.Parallel()
	s := seed(t)
	out := ok(t, "--db", s.path, "ops", "show", s.failure)
	for _, want := range []string{"Status       failure", "VALIDATION_ERROR", "corr-bad-1", "400", "Property values were not valid",
		"record 0 fields: email INVALID_EMAIL: not an email", "Log", "ERROR"} {
		require.Contains(t, out, want)
	}

	out = ok(t, "--db", s.path, "ops", "show", s.retrying)
	require.Contains(t, out, "waiting for its next attempt")
	require.Contains(t, out, "corr-429")
	require.Contains(t, out, "the provider asked to wait 1h0m0s")
	out = ok(t, "--db", s.path, "ops", "show", s.inFlight)
	require.Contains(t, out, "an attempt is in flight; its lease ends")
	out = ok(t, "--db", s.path, "ops", "show", s.partial)
	require.Contains(t, out, "1 written, 1 not written")

	var op struct {
		writeback.Operation
		Queue *struct {
			State  string `json:"state"`
			Claims int    `json:"claims"`
		} `json:"queue"`
	}
	jsonOut(t, &op, "ops", "show", s.retrying, "--db", s.path)
	require.Equal(t, writeback.OperationInProgress, op.Status)
	require.Equal(t, "retrying", op.Queue.State)
	require.Equal(t, 1, op.Queue.Claims)

	r := cli(t, "--db", s.path, "ops", "show", "0000-missing")
	require.Equal(t, 3, r.code)
	require.Contains(t, r.stderr, "not found")
	require.Equal(t, 2, cli(t, "--db", s.path, "ops", "show").code)
}

func TestQueue(t *testing.T) {
	t.Parallel()
	s := seed(t)
	out := ok(t, "--db", s.path, "queue")
	for _, want := range []string{"PROVIDER", "hubspot", "Open auto-batch groups", s.group, "2/100", "In flight", s.inFlight} {
		require.Contains(t, out, want)
	}
	var st writeback.QueueStats
	jsonOut(t, &st, "queue", "--db", s.path)
	require.Len(t, st.Providers, 1)
	p := st.Providers[0]
	require.Equal(t, writeback.ProviderQueue{Provider: "hubspot", Queued: 1, OpenGroups: 1, Retrying: 1, InFlight: 1, Due: 1, OldestDue: p.OldestDue}, p)
	require.Len(t, st.Groups, 1)
	require.Equal(t, 2, st.Groups[0].Records)
	require.Len(t, st.InFlight, 1)
	require.Equal(t, s.inFlight, st.InFlight[0].OperationID)
}

func TestCancelAndRetry(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	s := seed(t)
	out := ok(t, "--db", s.path, "cancel", s.queued)
	require.Contains(t, out, "Canceled "+s.queued+": canceled: 1 of 1 records not written")
	r := cli(t, "--db", s.path, "cancel", s.queued)
	require.Equal(t, 4, r.code, r.stderr)
	require.Contains(t, r.stderr, "operation cannot be canceled")
	out = ok(t, "--db", s.path, "cancel", s.inFlight)
	require.Contains(t, out, "Cancel requested")
	var op writeback.Operation
	jsonOut(t, &op, "cancel", s.group, "--db", s.path)
	require.Equal(t, writeback.OperationCanceled, op.Status)
	require.Len(t, op.Results, 2)

	out = ok(t, "--db", s.path, "retry", s.failure)
	require.Contains(t, out, "Queued "+s.failure+" again")
	jsonOut(t, &op, "retry", s.partial, "--db", s.path)
	require.Equal(t, "retry requested: 1 of 2 records are sent again", op.Summary)
	r = cli(t, "--db", s.path, "retry", s.success)
	require.Equal(t, 4, r.code)
	require.Contains(t, r.stderr, "wrote every record")
	require.Equal(t, 3, cli(t, "--db", s.path, "retry", "0000-missing").code)
	require.Equal(t, 2, cli(t, "--db", s.path, "retry").code)

	// The app, started again, runs what the command queued.
	st, err := boltstore.Open(s.path, nil)
	require.NoError(t, err)
	defer st.Close()
	fake := providertest.NewFake("hubspot", writeback.Capabilities{})
	w := newWriter(t, st, fake)
	require.NoError(t, w.Start(ctx))
	defer w.Stop(context.WithoutCancel(ctx))
	wctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	for _, id := range []string{s.failure, s.partial} {
		done, err := w.Wait(wctx, id)
		require.NoError(t, err)
		require.Equal(t, writeback.OperationSuccess, done.Status, done.Summary)
		require.Zero(t, done.FailureCount())
	}
}

func TestPrune(t *testing.T) {
	t.Parallel()
	s := seed(t)
	var res writeback.PruneResult
	jsonOut(t, &res, "prune", "--db", s.path)
	require.Equal(t, writeback.PruneResult{}, res, "nothing is 30 days old")

	// Operations that finished 40 and 20 days ago.
	st, err := boltstore.Open(s.path, nil)
	require.NoError(t, err)
	old := time.Now().Add(-40 * 24 * time.Hour)
	for i, age := range []time.Duration{40, 20} {
		at := time.Now().Add(-age * 24 * time.Hour)
		ms := at.UnixMilli()
		id := fmt.Sprintf("%08x-%04x-7000-8000-%012x", ms>>16, ms&0xffff, i)
		data, err := json.Marshal(map[string]any{"v": 2, "id": id, "installationId": "inst", "status": "success", "createTime": at, "updateTime": at})
		require.NoError(t, err)
		require.NoError(t, st.CreateOperation(t.Context(), store.Operation{ID: id, InstallationID: "inst", Data: data}, nil, old))
	}
	require.NoError(t, st.Close())
	out := ok(t, "--db", s.path, "prune")
	require.Contains(t, out, "Deleted 1 operations that finished before")
	jsonOut(t, &res, "prune", "--db", s.path, "--older-than", "10d")
	require.Equal(t, writeback.PruneResult{Operations: 1}, res)
	var l listing
	jsonOut(t, &l, "ops", "list", "--db", s.path)
	require.Len(t, l.Operations, 8, "the seeded operations are recent")
	require.Equal(t, 2, cli(t, "--db", s.path, "prune", "--older-than", "soon").code)
}

func TestInstallations(t *testing.T) {
	t.Parallel()
	s := seed(t)
	out := ok(t, "--db", s.path, "installations")
	require.Contains(t, out, "cust-7")
	require.Contains(t, out, "contacts")
	var insts []writeback.Installation
	jsonOut(t, &insts, "installations", "--db", s.path, "--integration", "crm")
	require.Len(t, insts, 1)
	require.Equal(t, "cust-7", insts[0].GroupRef)
	jsonOut(t, &insts, "installations", "--db", s.path, "--integration", "other")
	require.Empty(t, insts)
}

// TestLockedStore runs the command on the file of an app that is running:
// it says so, with the alternatives, and exits with 5.
func TestLockedStore(t *testing.T) {
	t.Parallel()
	s := seed(t)
	st, err := boltstore.Open(s.path, nil)
	require.NoError(t, err)
	defer st.Close()
	r := cli(t, "--db", s.path, "queue")
	require.Equal(t, 5, r.code)
	for _, want := range []string{"is locked: a running app has it open", "Stop the app", "ops page", "PostgreSQL store", "--pg URL"} {
		require.Contains(t, r.stderr, want)
	}
}

func TestUsage(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{{}, {"frobnicate"}, {"ops"}, {"ops", "delete"}, {"queue"}, {"--db", "a", "--pg", "b", "queue"}, {"--nope", "queue"}} {
		r := cli(t, args...)
		require.Equal(t, 2, r.code, "%v: %s", args, r.stderr)
		require.Contains(t, r.stderr, "writeback: ")
	}
	r := cli(t, "help")
	require.Equal(t, 0, r.code)
	require.Contains(t, r.stdout, "Usage: writeback")
	require.Contains(t, r.stdout, "Exit codes")
	r = cli(t, "--db", filepath.Join(t.TempDir(), "none.db"), "queue")
	require.Equal(t, 5, r.code)
	require.Contains(t, r.stderr, "no store file at")
}

// TestPostgres runs the command on a PostgreSQL store while the app's
// Writer has it open too.
func TestPostgres(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	url := pgtest.URL(t)
	pool := pgtest.NewPool(t, url)
	opts := &pgstore.Options{Schema: "cli"}
	require.NoError(t, pgstore.Migrate(ctx, pool, opts))
	st, err := pgstore.New(ctx, pool, opts)
	require.NoError(t, err)
	defer st.Close()
	w := newWriter(t, st, providertest.NewFake("hubspot", writeback.Capabilities{}))
	_, err = w.CreateInstallation(ctx, &writeback.Installation{
		Integration: "crm", GroupRef: "cust-7", Connection: writeback.Connection{Provider: "hubspot"},
		Config: writeback.InstallationConfig{Write: writeback.WriteConfig{Objects: map[string]writeback.WriteObject{
			"contacts": {ObjectName: "contacts"},
		}}},
	})
	require.NoError(t, err)
	done, err := w.Create(ctx, contacts, contact("ada@example.com"), nil)
	require.NoError(t, err)
	queued, err := w.Create(ctx, contacts, contact("bob@example.com"), &writeback.WriteOpts{Mode: writeback.ModeAsync})
	require.NoError(t, err)

	var l listing
	jsonOut(t, &l, "--pg", url, "--schema", "cli", "ops", "list")
	require.Equal(t, []string{done.OperationID, queued.OperationID}, ids(l))
	out := ok(t, "--pg", url, "--schema", "cli", "cancel", queued.OperationID)
	require.Contains(t, out, "Canceled")
	op, err := w.Operation(ctx, queued.OperationID)
	require.NoError(t, err)
	require.Equal(t, writeback.OperationCanceled, op.Status, "the app sees the cancel")

	r := cli(t, "--pg", url, "--schema", "nothing_here", "queue")
	require.Equal(t, 5, r.code)
	require.Contains(t, r.stderr, "schema")
}
