package boltstore

import (
	"bufio"
	"context"
	"fmt"
	"math/rand/v2"
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

	"github.com/writebackhq/writeback/store"
	"github.com/writebackhq/writeback/store/boltstore/internal/lazyfs"
)

// The power-cut test's child process is this test binary, re-run with
// these variables set.
const (
	powerEnvChild  = "WRITEBACK_POWERCUT_CHILD" // the store file to write to
	powerEnvRun    = "WRITEBACK_POWERCUT_RUN"
	powerEnvNoSync = "WRITEBACK_POWERCUT_NOSYNC"
	powerEnvCuts   = "WRITEBACK_POWERCUT_CUTS" // cuts in TestPowerCut; default 20
	requireFUSE    = "WRITEBACK_REQUIRE_FUSE"  // "1": no FUSE fails instead of skipping
)

// powerCuts is what a run of power cuts found.
type powerCuts struct {
	cuts, acked, lost, duplicated, stored int
	droppedBytes                          int64
}

// TestPowerCut enqueues from many goroutines in a child process on a
// lazy file system (writes stay in memory until fsync'd), kills the child
// at a random point and drops every write not fsync'd, as a power cut
// does, then restarts it on what is left, which must open and verify.
// At the end every job whose Enqueue returned nil must be in the store,
// once.
func TestPowerCut(t *testing.T) {
	if os.Getenv(powerEnvChild) != "" {
		powerCutChild(t)
		return
	}
	if testing.Short() {
		t.Skip("re-runs the test binary")
	}
	cuts := 20
	if s := os.Getenv(powerEnvCuts); s != "" {
		var err error
		cuts, err = strconv.Atoi(s)
		require.NoError(t, err)
	}
	r := runPowerCuts(t, cuts, false)
	t.Logf("power cuts: %d, acknowledged: %d, lost: %d, duplicated: %d, stored: %d, unsynced bytes dropped: %d",
		r.cuts, r.acked, r.lost, r.duplicated, r.stored, r.droppedBytes)
	require.Positive(t, r.acked)
	require.Zero(t, r.lost, "acknowledged jobs lost")
	require.Zero(t, r.duplicated, "jobs stored twice")
}

// TestPowerCutCatchesNoSync runs the harness on a store that skips fsync
// and requires it to report lost acknowledged jobs: a harness that cannot
// see that loss proves nothing.
func TestPowerCutCatchesNoSync(t *testing.T) {
	if os.Getenv(powerEnvChild) != "" {
		powerCutChild(t)
		return
	}
	if testing.Short() {
		t.Skip("re-runs the test binary")
	}
	r := runPowerCuts(t, 5, true)
	t.Logf("NoSync: power cuts: %d, acknowledged: %d, lost: %d, duplicated: %d, stored: %d, unsynced bytes dropped: %d",
		r.cuts, r.acked, r.lost, r.duplicated, r.stored, r.droppedBytes)
	require.Positive(t, r.lost, "the harness must notice what NoSync loses")
}

// runPowerCuts runs the child cuts times on one store and checks the store
// the last cut left.
func runPowerCuts(t *testing.T, cuts int, noSync bool) powerCuts {
	backing, mnt := t.TempDir(), t.TempDir()
	var (
		mu      sync.Mutex
		mounted *lazyfs.FS
	)
	t.Cleanup(func() {
		mu.Lock()
		defer mu.Unlock()
		if mounted != nil {
			require.NoError(t, mounted.Unmount(), "never leave a mount behind")
		}
	})
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 7))
	acked := map[string]bool{}
	var res powerCuts
	for run := range cuts {
		l, err := lazyfs.Mount(backing, mnt)
		if err != nil {
			if os.Getenv(requireFUSE) == "1" {
				t.Fatalf("boltstore: power-cut test needs FUSE (/dev/fuse, root), and %s=1: %v", requireFUSE, err)
			}
			t.Skip("boltstore: power-cut test needs FUSE (/dev/fuse, root): ", err)
		}
		mu.Lock()
		mounted = l
		mu.Unlock()

		ids := powerCutRun(t, filepath.Join(mnt, "store.db"), run, noSync, rng.IntN(400)+1)
		for _, id := range ids {
			acked[id] = true
		}
		res.droppedBytes += l.Cut()
		mu.Lock()
		mounted = nil
		mu.Unlock()
		require.NoError(t, l.Unmount())
		res.cuts++
	}

	// What is left on the backing "disk" after the last cut.
	s, err := Open(filepath.Join(backing, "store.db"), nil)
	require.NoError(t, err)
	defer func() { require.NoError(t, s.Close()) }()
	require.NoError(t, s.Verify(t.Context()))
	seen := map[string]int{}
	for {
		jobs, err := s.Claim(t.Context(), farFuture, farFuture.Add(time.Hour), 500)
		require.NoError(t, err)
		if len(jobs) == 0 {
			break
		}
		for _, j := range jobs {
			seen[j.ID]++
			require.Equal(t, []byte("payload "+j.ID), j.Payload)
		}
	}
	res.acked, res.stored = len(acked), len(seen)
	for id := range acked {
		if seen[id] == 0 {
			res.lost++
		}
	}
	for _, n := range seen {
		if n > 1 {
			res.duplicated++
		}
	}
	return res
}

// powerCutRun starts the child on path, lets it acknowledge about acks
// jobs, kills it, and returns the IDs it acknowledged.
func powerCutRun(t *testing.T, path string, run int, noSync bool, acks int) []string {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^"+t.Name()+"$", "-test.count=1", "-test.v=false")
	cmd.Env = append(os.Environ(), powerEnvChild+"="+path, powerEnvRun+"="+strconv.Itoa(run),
		powerEnvNoSync+"="+strconv.FormatBool(noSync))
	out, err := cmd.StdoutPipe()
	require.NoError(t, err)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	require.NoError(t, cmd.Start())
	killed := false
	defer func() {
		if !killed {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
	}()

	lines := make(chan string)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			lines <- sc.Text()
		}
	}()
	var ids []string
	ready := false
	deadline := time.After(30 * time.Second)
read:
	for len(ids) < acks {
		select {
		case line, ok := <-lines:
			if !ok {
				break read
			}
			switch {
			case line == "ready":
				ready = true
			case strings.HasPrefix(line, "ack "):
				ids = append(ids, strings.TrimPrefix(line, "ack "))
			default:
				t.Logf("child %d: %s", run, line)
			}
		case <-deadline:
			break read
		}
	}
	require.NoError(t, cmd.Process.Signal(syscall.SIGKILL))
	killed = true
	for line := range lines { // printed before the kill: acknowledged
		if strings.HasPrefix(line, "ack ") {
			ids = append(ids, strings.TrimPrefix(line, "ack "))
		}
	}
	err = cmd.Wait()
	require.True(t, ready, "child %d did not open its store: %v\n%s", run, err, stderr.String())
	var exit *exec.ExitError
	require.ErrorAs(t, err, &exit)
	require.Equal(t, syscall.SIGKILL, exit.Sys().(syscall.WaitStatus).Signal(), "child %d died by the kill\n%s", run, stderr.String())
	return ids
}

// powerCutChild opens the store, verifies it, says "ready", and enqueues
// from 16 goroutines until it is killed, printing "ack <ID>" after each
// Enqueue that returned nil.
func powerCutChild(t *testing.T) {
	path, run := os.Getenv(powerEnvChild), os.Getenv(powerEnvRun)
	s, err := Open(path, &Options{noSync: os.Getenv(powerEnvNoSync) == "true", LockTimeout: 10 * time.Second})
	if err != nil {
		fmt.Println("open:", err)
		os.Exit(3)
	}
	if err := s.Verify(context.Background()); err != nil {
		fmt.Println("verify:", err)
		os.Exit(4)
	}
	var mu sync.Mutex
	say := func(line string) {
		mu.Lock()
		defer mu.Unlock()
		_, _ = os.Stdout.WriteString(line + "\n")
	}
	say("ready")
	stop := time.After(60 * time.Second) // never outlive a lost parent for long
	var wg sync.WaitGroup
	for g := range 16 {
		wg.Go(func() {
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				id := fmt.Sprintf("r%03s-g%02d-%06d", run, g, i)
				err := s.Enqueue(context.Background(),
					store.Operation{ID: id, InstallationID: "inst-1"},
					store.Job{ID: id, InstallationID: "inst-1", RunAt: dmgT0, Payload: []byte("payload " + id)}, nil, dmgT0)
				if err != nil {
					say("enqueue: " + err.Error())
					return
				}
				say("ack " + id)
			}
		})
	}
	wg.Wait()
	_ = s.Close()
	os.Exit(5)
}
