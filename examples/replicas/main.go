// Command replicas shows two replicas of one app sharing writeback's state
// in PostgreSQL: each is its own process with its own Writer on
// store/pgstore. The "api" replica accepts async writes and waits for
// them; the "worker" replica writes them to a simulated HubSpot account.
// The api replica never runs a write itself, yet its Wait returns as soon
// as the worker completes one.
//
//	go run ./examples/replicas
//
// It starts a throwaway PostgreSQL from the binaries on the machine
// (initdb, pg_ctl; Debian: apt-get install postgresql), or uses the
// database in DATABASE_URL.
package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"golang.org/x/oauth2"

	"github.com/writebackhq/writeback"
	"github.com/writebackhq/writeback/providers/hubspot"
	"github.com/writebackhq/writeback/providers/hubspot/hubspottest"
	"github.com/writebackhq/writeback/store/pgstore"
	"github.com/writebackhq/writeback/store/pgstore/pgtest"
)

// Environment of a replica process.
const (
	envRole    = "WRITEBACK_REPLICA" // "api" or "worker"
	envDB      = "WRITEBACK_DB_URL"  // the shared database
	envHubSpot = "WRITEBACK_HUBSPOT" // the simulator's URL
	envWrites  = "WRITEBACK_WRITES"  // how many writes the api replica makes
	writes     = 20                  // default number of writes
	manifest   = `
specVersion: 1.0.0
integrations:
  - name: hubspot-crm
    provider: hubspot
    write:
      objects:
        - objectName: contacts
`
)

func main() {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var err error
	if role := os.Getenv(envRole); role != "" {
		err = replica(ctx, role, os.Stdin, os.Stdout)
	} else {
		err = run(ctx, os.Stdout, os.Getenv("DATABASE_URL"), nil)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "replicas:", err)
		os.Exit(1)
	}
}

// run starts the database (unless url names one), the simulator and the
// two replica processes, and reports what they did. self runs this
// program as a replica; nil means the running executable.
func run(ctx context.Context, out io.Writer, url string, self func() *exec.Cmd) error {
	if url == "" {
		srv, err := pgtest.Launch()
		if err != nil {
			return err
		}
		defer srv.Stop()
		url = srv.AdminURL()
		fmt.Fprintln(out, "PostgreSQL: a throwaway server (set DATABASE_URL to use yours)")
	}
	pool, err := pgxpool.New(ctx, url)
	if err != nil {
		return err
	}
	defer pool.Close()
	if err := pgstore.Migrate(ctx, pool, nil); err != nil {
		return err
	}
	sim := hubspottest.NewServer(hubspottest.Options{})
	defer sim.Close()
	fmt.Fprintf(out, "HubSpot: simulated account at %s\n\n", sim.URL)
	if self == nil {
		exe, err := os.Executable()
		if err != nil {
			return err
		}
		self = func() *exec.Cmd { return exec.Command(exe) }
	}

	start := func(role string) (*exec.Cmd, io.WriteCloser, *bufio.Scanner, error) {
		cmd := self()
		cmd.Env = append(os.Environ(), envRole+"="+role, envDB+"="+url, envHubSpot+"="+sim.URL, fmt.Sprintf("%s=%d", envWrites, writes))
		cmd.Stderr = os.Stderr
		stdin, err := cmd.StdinPipe()
		if err != nil {
			return nil, nil, nil, err
		}
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			return nil, nil, nil, err
		}
		if err := cmd.Start(); err != nil {
			return nil, nil, nil, err
		}
		return cmd, stdin, bufio.NewScanner(stdout), nil
	}
	worker, stopWorker, workerOut, err := start("worker")
	if err != nil {
		return err
	}
	completed := 0
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for workerOut.Scan() {
			if strings.HasPrefix(workerOut.Text(), "completed ") {
				completed++
			}
		}
	}()
	api, stopAPI, apiOut, err := start("api")
	if err != nil {
		stopWorker.Close()
		return errors.Join(err, worker.Wait())
	}
	accepted, waited := 0, 0
	for apiOut.Scan() {
		line := apiOut.Text()
		switch {
		case strings.HasPrefix(line, "accepted "):
			accepted++
		case strings.HasPrefix(line, "waited "):
			waited++
		}
		if (accepted <= 3 && strings.HasPrefix(line, "accepted ")) || (waited <= 3 && strings.HasPrefix(line, "waited ")) {
			fmt.Fprintf(out, "api: %s\n", line)
		}
	}
	stopAPI.Close()
	err = api.Wait()
	stopWorker.Close() // the worker stops once its input ends
	wg.Wait()
	if werr := worker.Wait(); err == nil {
		err = werr
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "\nThe api replica accepted %d writes and its Wait returned for %d;\n", accepted, waited)
	fmt.Fprintf(out, "the worker replica completed %d of them; HubSpot holds %d contacts.\n", completed, sim.Count("contacts"))
	return nil
}

// replica runs one replica: its own pool and Store on the shared database,
// its own Writer. The api replica is never started: it accepts writes and
// waits for them. The worker runs the queue until its input ends.
func replica(ctx context.Context, role string, in io.Reader, out io.Writer) error {
	pool, err := pgxpool.New(ctx, os.Getenv(envDB))
	if err != nil {
		return err
	}
	defer pool.Close()
	st, err := pgstore.New(ctx, pool, nil)
	if err != nil {
		return err
	}
	defer st.Close()
	m, err := writeback.ParseManifest([]byte(manifest))
	if err != nil {
		return err
	}
	var outMu sync.Mutex
	say := func(format string, args ...any) {
		outMu.Lock()
		defer outMu.Unlock()
		fmt.Fprintf(out, format+"\n", args...)
	}
	w, err := writeback.NewWriter(&writeback.Config{
		Manifest:  m,
		Providers: []writeback.Provider{hubspot.New(hubspot.Config{BaseURL: os.Getenv(envHubSpot)})},
		Store:     st,
		TokenSourceFunc: func(context.Context, *writeback.Installation) (oauth2.TokenSource, error) {
			return hubspot.StaticToken(hubspottest.DefaultToken), nil
		},
		PollInterval: 250 * time.Millisecond,
		OnComplete:   func(op *writeback.Operation) { say("completed %s: %s", op.ID, op.Status) },
	})
	if err != nil {
		return err
	}
	if role == "worker" {
		if err := w.Start(ctx); err != nil {
			return err
		}
		_, _ = io.Copy(io.Discard, in) // until the parent closes our input
		return w.Stop(context.WithoutCancel(ctx))
	}

	inst, err := w.CreateInstallation(ctx, &writeback.Installation{
		Integration: "hubspot-crm", GroupRef: "customer-42",
		Config: writeback.InstallationConfig{Write: writeback.WriteConfig{Objects: map[string]writeback.WriteObject{
			"contacts": {ObjectName: "contacts"},
		}}},
	})
	if err != nil {
		return err
	}
	target := writeback.Target{Integration: inst.Integration, GroupRef: inst.GroupRef, Object: "contacts"}
	var n int
	fmt.Sscan(os.Getenv(envWrites), &n)
	ids := make([]string, 0, n)
	for i := range n {
		res, err := w.Create(ctx, target, writeback.Record{Fields: map[string]any{"email": fmt.Sprintf("replica-%02d@example.com", i)}},
			&writeback.WriteOpts{Mode: writeback.ModeAsync})
		if err != nil {
			return err
		}
		say("accepted %s", res.OperationID)
		ids = append(ids, res.OperationID)
	}
	for _, id := range ids {
		op, err := w.Wait(ctx, id)
		if err != nil {
			return err
		}
		say("waited %s: %s, contact %s", op.ID, op.Status, op.Results[0].ID)
	}
	return nil
}
