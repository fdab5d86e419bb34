package writeback_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/writebackhq/writeback"
	"github.com/writebackhq/writeback/providers/hubspot"
	"github.com/writebackhq/writeback/providers/hubspot/hubspottest"
	"github.com/writebackhq/writeback/store/boltstore"
)

// The crash test's child process is this test binary, re-run with these
// variables set.
const (
	crashEnvMode  = "WRITEBACK_CRASH_CHILD" // "write" or "drain"
	crashEnvDB    = "WRITEBACK_CRASH_DB"
	crashEnvURL   = "WRITEBACK_CRASH_URL"
	crashEnvRun   = "WRITEBACK_CRASH_RUN"
	crashEnvKills = "WRITEBACK_CRASH_KILLS" // kills in the parent; default 20
)

// TestCrashSafety kills a process making async writes at random points,
// restarts it on the same bbolt file each time, and checks at the provider
// that every acknowledged write was delivered exactly once, except creates
// whose outcome was unknown at a kill, which must say so on their operation
// and be delivered at most once.
//
// The child prints "ack <operation ID> <email>" after each async Create
// returns. It writes through the HubSpot adapter to the HubSpot simulator,
// which runs in this process: contact emails are unique there, so a create
// delivered twice shows as a 409 CONFLICT. Each run injects a 429, a
// connection dropped after the create took effect, and slow answers, so
// that kills land mid-call.
func TestCrashSafety(t *testing.T) {
	if mode := os.Getenv(crashEnvMode); mode != "" {
		asyncCrashChild(t, mode)
		return
	}
	if testing.Short() {
		t.Skip("re-runs the test binary")
	}
	t.Parallel()
	kills := 20
	if s := os.Getenv(crashEnvKills); s != "" {
		var err error
		kills, err = strconv.Atoi(s)
		require.NoError(t, err)
	}
	srv := hubspottest.NewServer(hubspottest.Options{Tokens: []string{testToken}, TenSecondLimit: -1, DailyLimit: -1})
	defer srv.Close()
	sim := hubspotSim{srv}
	db := filepath.Join(t.TempDir(), "crash.db")

	acks := map[string]string{} // operation ID -> email
	var mu sync.Mutex
	run := func(mode string, i int, kill time.Duration) {
		cmd := exec.Command(os.Args[0], "-test.run=^TestCrashSafety$", "-test.count=1", "-test.v=false")
		cmd.Env = append(os.Environ(), crashEnvMode+"="+mode, crashEnvDB+"="+db, crashEnvURL+"="+srv.URL, crashEnvRun+"="+strconv.Itoa(i))
		var output syncBuffer // the child test's own output
		first := make(chan struct{})
		var once sync.Once
		cmd.Stdout = &lineWriter{line: func(line string) {
			f := strings.Fields(line)
			if len(f) == 3 && f[0] == "ack" {
				mu.Lock()
				acks[f[1]] = f[2]
				mu.Unlock()
				once.Do(func() { close(first) })
				return
			}
			output.WriteString(line + "\n")
		}}
		cmd.Stderr = &output
		cmd.WaitDelay = 5 * time.Second
		if mode == "write" {
			sim.faults()
		} else {
			srv.ClearFaults()
		}
		require.NoError(t, cmd.Start())
		exited := make(chan error, 1)
		go func() { exited <- cmd.Wait() }()
		if mode == "write" {
			select {
			case <-first:
			case <-time.After(20 * time.Second):
			}
			time.Sleep(kill) // the random point of the kill
			_ = cmd.Process.Signal(syscall.SIGKILL)
		}
		var err error
		select {
		case err = <-exited:
		case <-time.After(60 * time.Second):
			_ = cmd.Process.Kill()
			t.Fatalf("run %d (%s) did not exit: %s", i, mode, output.String())
		}
		if mode == "drain" {
			require.NoError(t, err, "drain run: %s", output.String())
			return
		}
		var exit *exec.ExitError
		require.True(t, errors.As(err, &exit), "killed run %d: %v: %s", i, err, output.String())
		ws, ok := exit.Sys().(syscall.WaitStatus)
		require.True(t, ok && ws.Signaled() && ws.Signal() == syscall.SIGKILL, "run %d ended by %v, not the kill: %s", i, err, output.String())
	}
	for i := range kills {
		run("write", i, time.Duration(1+rand.IntN(250))*time.Millisecond)
	}
	run("drain", kills, 0)

	// Check the operations the child acknowledged against the provider.
	st, err := boltstore.Open(db, nil)
	require.NoError(t, err)
	defer func() { require.NoError(t, st.Close()) }()
	w := setup(t, withStore(st), asyncWorld(srv.URL)).w
	ctx := t.Context()
	inst, err := w.InstallationByGroup(ctx, contacts.Integration, contacts.GroupRef)
	require.NoError(t, err)
	ops := map[string]*writeback.Operation{}
	for token := ""; ; {
		page, err := w.Operations(ctx, &writeback.OperationListParams{InstallationID: inst.ID, PageToken: token, PageSize: writeback.MaxPageSize})
		require.NoError(t, err)
		for _, op := range page.Operations {
			ops[op.ID] = op
		}
		if page.Done {
			break
		}
		token = page.NextPageToken
	}
	created := sim.created()
	for email, n := range created {
		require.Equal(t, 1, n, "%s created %d times", email, n)
	}
	unknown := 0
	for id, email := range acks {
		op, ok := ops[id]
		require.True(t, ok, "acknowledged operation %s was not stored", id)
		require.True(t, op.Status.Terminal(), "operation %s still %s after the drain", id, op.Status)
		if op.Status == writeback.OperationFailure {
			perr := op.Results[0].Err
			require.NotNil(t, perr)
			require.Equal(t, writeback.ClassUnknownOutcome, perr.Class, "operation %s failed: %v", id, perr)
			require.LessOrEqual(t, created[email], 1)
			unknown++
			continue
		}
		require.Equal(t, 1, created[email], "acknowledged %s (operation %s) not delivered", email, id)
		require.Equal(t, sim.id(email), op.Results[0].ID)
	}
	t.Logf("%d kills, %d acknowledged writes, %d operations, %d contacts created, %d reported as unknown outcome",
		kills, len(acks), len(ops), len(created), unknown)
	require.NotEmpty(t, acks)
}

// lineWriter calls line with every complete line written to it.
type lineWriter struct {
	buf  []byte
	line func(string)
}

func (w *lineWriter) Write(p []byte) (int, error) {
	w.buf = append(w.buf, p...)
	for {
		i := bytes.IndexByte(w.buf, '\n')
		if i < 0 {
			return len(p), nil
		}
		w.line(string(w.buf[:i]))
		w.buf = w.buf[i+1:]
	}
}

// syncBuffer is a bytes.Buffer safe for concurrent use.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) WriteString(p string) {
	_, _ = s.Write([]byte(p))
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// asyncCrashChild is the child process: "write" makes async creates until it is
// killed; "drain" makes none and exits once every operation is terminal.
func asyncCrashChild(t *testing.T, mode string) {
	ctx := context.Background()
	st, err := boltstore.Open(os.Getenv(crashEnvDB), &boltstore.Options{LockTimeout: 10 * time.Second})
	require.NoError(t, err)
	w := setup(t, withStore(st), asyncWorld(os.Getenv(crashEnvURL))).w
	require.NoError(t, w.Start(ctx))
	if mode == "drain" {
		inst, err := w.InstallationByGroup(ctx, contacts.Integration, contacts.GroupRef)
		require.NoError(t, err)
		wctx, cancel := context.WithTimeout(ctx, time.Minute)
		defer cancel()
		for token := ""; ; {
			page, err := w.Operations(ctx, &writeback.OperationListParams{InstallationID: inst.ID, PageToken: token, PageSize: writeback.MaxPageSize})
			require.NoError(t, err)
			for _, op := range page.Operations {
				if !op.Status.Terminal() {
					_, err := w.Wait(wctx, op.ID)
					if err != nil {
						last, _ := w.Operation(ctx, op.ID)
						require.NoError(t, err, "operation %+v", last)
					}
				}
			}
			if page.Done {
				break
			}
			token = page.NextPageToken
		}
		require.NoError(t, w.Stop(ctx))
		require.NoError(t, st.Close())
		os.Exit(0)
	}
	var out sync.Mutex
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := 0; ; i++ {
				email := fmt.Sprintf("r%s-g%d-%d@crash.test", os.Getenv(crashEnvRun), g, i)
				res, err := w.Create(ctx, contacts, contact(email), async)
				if err != nil {
					fmt.Fprintln(os.Stderr, "create:", err)
					os.Exit(3)
				}
				out.Lock()
				fmt.Fprintf(os.Stdout, "ack %s %s\n", res.OperationID, email)
				out.Unlock()
				time.Sleep(time.Duration(rand.IntN(5)) * time.Millisecond)
			}
		})
	}
	wg.Wait()
}

// asyncWorld is the world of TestCrashSafety's children: the async
// tests' installation, written through the HubSpot adapter to the
// simulator at url, four calls at a time; work a kill interrupted
// resumes in the next run.
func asyncWorld(url string) option {
	return func(s *writerSpec) {
		asyncContacts(hubspot.New(hubspot.Config{BaseURL: url}))(s)
		s.concurrency = 4
		s.lease = 500 * time.Millisecond
	}
}

// hubspotSim is the HubSpot simulator with what the crash test counts.
type hubspotSim struct{ *hubspottest.Server }

// faults sets up a run's faults on contact creates: one 429 and one
// connection dropped after the create took effect (an unknown outcome),
// each at a random point, and slow answers (15 ms) after them, so that
// kills land mid-call.
func (s hubspotSim) faults() {
	const path = "/crm/v3/objects/contacts"
	s.ClearFaults()
	s.InjectFault(hubspottest.Fault{Method: http.MethodPost, Path: path, Status: http.StatusTooManyRequests, Skip: rand.IntN(40)})
	s.InjectFault(hubspottest.Fault{Method: http.MethodPost, Path: path, DropAfterProcessing: true, Skip: rand.IntN(40)})
	s.InjectFault(hubspottest.Fault{Method: http.MethodPost, Path: path, Delay: 15 * time.Millisecond, Times: 1 << 30})
}

// created returns, per email, how many contact creates took effect: the
// contact, plus every create refused with 409 CONFLICT because it already
// existed (HubSpot's unique email hides a second delivery that way).
func (s hubspotSim) created() map[string]int {
	out := map[string]int{}
	for _, r := range s.Records("contacts") {
		out[r.Properties["email"]]++
	}
	for _, c := range s.CallsTo(http.MethodPost, "/crm/v3/objects/contacts") {
		if c.Status != http.StatusConflict {
			continue
		}
		var body struct {
			Properties map[string]string `json:"properties"`
		}
		if json.Unmarshal(c.Body, &body) == nil {
			out[body.Properties["email"]]++
		}
	}
	return out
}

// id returns the ID of the contact with the given email.
func (s hubspotSim) id(email string) string {
	for _, r := range s.Records("contacts") {
		if r.Properties["email"] == email {
			return r.ID
		}
	}
	return ""
}
