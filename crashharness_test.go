package writeback_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/writebackhq/writeback/store"
	"github.com/writebackhq/writeback/store/boltstore"
)

// The crash tests run a Writer in a child process (this test binary,
// re-run on TestCrashChild), kill it with SIGKILL at random points,
// restart it on the same bbolt file, let a last child drain the queue,
// and then hold every write the children acknowledged to its promise:
// the provider, which lives in the parent and so survives the kills,
// holds it exactly once and its operation says so with its own result, or
// — for a create that was in flight at a kill — its operation reports an
// unknown outcome and the provider holds it at most once.
//
// A SIGKILL ends the process, not the machine: what the child wrote is in
// the page cache and survives, so these tests cannot tell a store that
// syncs from one that never does. Power cuts are the store's tests
// (store/boltstore); these check the engine's claims, leases, records
// and recovery.

// Variables that make this test binary a crash test's child, and configure it.
const (
	childEnvMode  = "WRITEBACK_CRASH_CHILD" // see TestCrashChild
	childEnvDir   = "WRITEBACK_CRASH_DIR"   // the directory of the bbolt file
	childEnvURL   = "WRITEBACK_CRASH_URL"   // the provider in the parent
	childEnvRun   = "WRITEBACK_CRASH_RUN"   // the run's number, for unique record names
	childEnvBreak = "WRITEBACK_CRASH_BREAK" // a deliberately broken store; see brokenStore
	childEnvSize  = "WRITEBACK_CRASH_SIZE"  // the provider's batch size
	childEnvType  = "WRITEBACK_CRASH_TYPE"  // "list" mode's write type
	childEnvKeyed = "WRITEBACK_CRASH_KEYED" // "1": the contacts have an upsert key
)

// drainClockAhead is how far ahead of the real clock a drain child runs:
// past every lease, flush time and retry backoff (at most 5 minutes) a
// killed child left behind, and well before any retry deadline (1 hour),
// as if the application came back ten minutes after its last crash.
const drainClockAhead = 10 * time.Minute

// TestCrashChild is the child process of the crash tests; it is skipped
// unless one of them started it. Modes: "async", "autobatch" and "pg"
// write until they are killed (asyncChild, autoBatchChild, pgChild); the
// "-drain" modes resume the queue and exit once it is empty (drainChild);
// "list" auto-batches the records named on stdin (listChild).
func TestCrashChild(t *testing.T) {
	switch mode := os.Getenv(childEnvMode); mode {
	case "":
		t.Skip("run by the crash tests")
	case "async":
		asyncChild(t)
	case "autobatch":
		autoBatchChild(t)
	case "async-drain":
		st, bolt := childStore(t)
		drainChild(t, st, bolt.Close, asyncWorld(os.Getenv(childEnvURL)))
	case "autobatch-drain":
		st, bolt := childStore(t)
		drainChild(t, st, bolt.Close, autoBatchWorld(os.Getenv(childEnvURL), childSize(t)))
	case "pg":
		pgChild(t)
	case "pg-drain":
		st, pg := pgChildStore(t)
		drainChild(t, st, pg.Close, asyncWorld(os.Getenv(childEnvURL)))
	case "list":
		listChild(t)
	default:
		t.Fatalf("unknown child mode %q", mode)
	}
}

// childSize returns the child's provider batch size.
func childSize(t *testing.T) int {
	n, err := strconv.Atoi(os.Getenv(childEnvSize))
	require.NoError(t, err)
	return n
}

// openBolt opens the bbolt file in dir, closed when the test ends. A
// killed child's lock is gone at once, but the previous child of a run
// may still be exiting.
func openBolt(t *testing.T, dir string) *boltstore.Store {
	t.Helper()
	st, err := boltstore.Open(filepath.Join(dir, "writeback.db"), &boltstore.Options{LockTimeout: 10 * time.Second})
	require.NoError(t, err)
	t.Cleanup(func() { _ = st.Close() })
	return st
}

// childStore opens the child's store, broken as WRITEBACK_CRASH_BREAK
// asks, and returns it with the bbolt store under it.
func childStore(t *testing.T) (store.Interface, *boltstore.Store) {
	st := openBolt(t, os.Getenv(childEnvDir))
	return breakStore(t, st), st
}

// breakStore returns st, broken as WRITEBACK_CRASH_BREAK asks.
func breakStore(t *testing.T, st store.Interface) store.Interface {
	switch b := os.Getenv(childEnvBreak); b {
	case "":
		return st
	case "drop-job":
		return &droppingStore{Interface: st}
	case "skip-member":
		return &skippingStore{Interface: st, last: map[string]store.JoinResult{}}
	default:
		t.Fatalf("unknown broken store %q", b)
		return nil
	}
}

// drainChild runs a Writer of the given world on st, its clock
// drainClockAhead ahead, until the store's queue is empty: every
// acknowledged write has its outcome. Then it closes the store under st
// with closeStore and exits. The parent kills it if that takes longer
// than its budget.
func drainChild(t *testing.T, st store.Interface, closeStore func() error, world option) {
	ctx := context.Background()
	w := setup(t, withStore(st), world, withClock(func() time.Time { return time.Now().Add(drainClockAhead) })).w
	require.NoError(t, w.Start(ctx))
	for {
		_, queued, err := st.NextDue(ctx)
		require.NoError(t, err)
		if !queued {
			break
		}
		time.Sleep(20 * time.Millisecond) // polling; the parent's budget is the deadline
	}
	require.NoError(t, w.Stop(ctx))
	require.NoError(t, closeStore())
	os.Exit(0)
}

// crashKills returns the number of kills a crash test makes: the value of
// the variable env, or def.
func crashKills(t *testing.T, env string, def int) int {
	s := os.Getenv(env)
	if s == "" {
		return def
	}
	n, err := strconv.Atoi(s)
	require.NoError(t, err, "%s", env)
	require.Positive(t, n, "%s", env)
	return n
}

// drainBudget is how long a drain child may take after kills kills: the
// work the kills left grows with them.
func drainBudget(kills int) time.Duration {
	return time.Minute + time.Duration(kills)*time.Second
}

// crashChildRun is one child process of a crash test.
type crashChildRun struct {
	// mode and run set the child's mode and run number; env adds variables.
	mode string
	run  int
	env  []string
	// ack receives the fields of every line the child prints that starts
	// with "ack"; everything else it prints is kept for the failure message.
	ack func(fields []string)
}

// killed runs the child until kill after its first ack (or after 20 s
// without any), SIGKILLs it, and fails the test, showing the child's
// output, if it ended any other way.
func (c crashChildRun) killed(t *testing.T, kill time.Duration) {
	t.Helper()
	require.NoError(t, c.kill(kill))
}

// kill is killed for a goroutine other than the test's: it returns what
// went wrong instead of failing the test.
func (c crashChildRun) kill(kill time.Duration) error {
	first := make(chan struct{})
	var once sync.Once
	cmd, output, exited, err := c.start(func(f []string) {
		c.ack(f)
		once.Do(func() { close(first) })
	})
	if err != nil {
		return err
	}
	select {
	case <-first:
	case err := <-exited:
		return fmt.Errorf("run %d (%s) ended by %v before it was killed; its output:\n%s", c.run, c.mode, err, output)
	case <-time.After(20 * time.Second):
	}
	time.Sleep(kill) // the random point of the kill
	_ = cmd.Process.Signal(syscall.SIGKILL)
	err = c.wait(cmd, output, exited, time.Minute)
	var exit *exec.ExitError
	if !errors.As(err, &exit) {
		return fmt.Errorf("run %d (%s) ended by %v, not the kill; its output:\n%s", c.run, c.mode, err, output)
	}
	if ws, ok := exit.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
		return fmt.Errorf("run %d (%s) ended by %v, not the kill; its output:\n%s", c.run, c.mode, err, output)
	}
	return nil
}

// drained runs the child to its end, which must be a clean exit within
// budget, and fails the test, showing the child's output, otherwise.
func (c crashChildRun) drained(t *testing.T, budget time.Duration) {
	t.Helper()
	cmd, output, exited, err := c.start(c.ack)
	require.NoError(t, err)
	err = c.wait(cmd, output, exited, budget)
	require.NoError(t, err, "%s did not end cleanly; its output:\n%s", c.mode, output)
}

// start starts the child, passing its ack lines to ack.
func (c crashChildRun) start(ack func([]string)) (*exec.Cmd, *syncBuffer, chan error, error) {
	cmd := exec.Command(os.Args[0], "-test.run=^TestCrashChild$", "-test.count=1", "-test.v=false")
	cmd.Env = append(os.Environ(), childEnvMode+"="+c.mode, childEnvRun+"="+strconv.Itoa(c.run))
	cmd.Env = append(cmd.Env, c.env...)
	output := &syncBuffer{}
	cmd.Stdout = &lineWriter{line: func(line string) {
		if f := strings.Fields(line); len(f) > 0 && f[0] == "ack" && ack != nil {
			ack(f[1:])
			return
		}
		output.WriteString(line + "\n")
	}}
	cmd.Stderr = output
	cmd.WaitDelay = 5 * time.Second
	if err := cmd.Start(); err != nil {
		return nil, nil, nil, fmt.Errorf("run %d (%s): %w", c.run, c.mode, err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	return cmd, output, exited, nil
}

// wait waits for the child to exit and returns how it ended, killing it
// and returning an error if it takes longer than budget.
func (c crashChildRun) wait(cmd *exec.Cmd, output *syncBuffer, exited chan error, budget time.Duration) error {
	select {
	case err := <-exited:
		return err
	case <-time.After(budget):
		_ = cmd.Process.Kill()
		<-exited
		return fmt.Errorf("run %d (%s) did not end within %s; its output:\n%s", c.run, c.mode, budget, output)
	}
}

// crashReport is what a crash test found: its figures, and every
// acknowledged write that broke its promise.
type crashReport struct {
	kills, acked int
	// delivered counts acknowledged writes the provider holds exactly once
	// and whose operation reports that record as written; refused, those
	// the provider refused as invalid, as the test meant it to.
	delivered, refused int
	// unknown counts acknowledged creates reported as unknown outcomes;
	// unknownReceived, those of them the provider received (its log shows
	// the request), and unknownCreated, those it holds.
	unknown, unknownReceived, unknownCreated int
	// lost lists acknowledged writes neither delivered nor reported;
	// duplicated, records the provider holds more than once; wrong, any
	// other broken promise (a result that is another record's, a failure
	// of the wrong class).
	lost, duplicated, wrong []string
}

func (r *crashReport) lose(format string, args ...any) {
	r.lost = append(r.lost, fmt.Sprintf(format, args...))
}

func (r *crashReport) duplicate(format string, args ...any) {
	r.duplicated = append(r.duplicated, fmt.Sprintf(format, args...))
}

func (r *crashReport) mismatch(format string, args ...any) {
	r.wrong = append(r.wrong, fmt.Sprintf(format, args...))
}

// String returns the report's figures.
func (r *crashReport) String() string {
	return fmt.Sprintf("%d kills: %d acknowledged, %d delivered exactly once, %d refused as invalid, %d unknown outcomes (%d received by the provider, %d not; %d created), %d lost, %d duplicated, %d wrong",
		r.kills, r.acked, r.delivered, r.refused, r.unknown, r.unknownReceived, r.unknown-r.unknownReceived, r.unknownCreated, len(r.lost), len(r.duplicated), len(r.wrong))
}

// problems lists the first broken promises of each kind.
func (r *crashReport) problems() string {
	var b strings.Builder
	for _, list := range []struct {
		name  string
		items []string
	}{{"lost", r.lost}, {"duplicated", r.duplicated}, {"wrong", r.wrong}} {
		for i, s := range list.items {
			if i == 10 {
				fmt.Fprintf(&b, "%s: ... %d more\n", list.name, len(list.items)-i)
				break
			}
			fmt.Fprintf(&b, "%s: %s\n", list.name, s)
		}
	}
	return b.String()
}

// requireKept fails the test unless every acknowledged write kept its
// promise, and unless there was something to check.
func (r *crashReport) requireKept(t *testing.T) {
	t.Helper()
	t.Log(r)
	require.Positive(t, r.acked, "the children acknowledged nothing")
	require.True(t, len(r.lost)+len(r.duplicated)+len(r.wrong) == 0, "%s\n%s", r, r.problems())
}

// droppingStore is a deliberately broken store: it acknowledges every
// tenth async write with its operation stored but its job dropped, so the
// write never runs.
type droppingStore struct {
	store.Interface
	n atomic.Int64
}

func (s *droppingStore) Enqueue(ctx context.Context, op store.Operation, job store.Job, key *store.IdempotencyKey, now time.Time) error {
	if s.n.Add(1)%10 == 0 {
		return s.CreateOperation(ctx, op, key, now)
	}
	return s.Interface.Enqueue(ctx, op, job, key, now)
}

// skippingStore is a deliberately broken store: it acknowledges the
// third record of an auto-batch group as joined without storing it.
type skippingStore struct {
	store.Interface
	mu   sync.Mutex
	last map[string]store.JoinResult // per group key, the latest join
}

func (s *skippingStore) Join(ctx context.Context, req store.JoinRequest) (store.JoinResult, error) {
	s.mu.Lock()
	last, ok := s.last[req.Group]
	if ok && !last.Sealed && last.Size == 2 {
		last.Size = 3
		s.last[req.Group] = last
		s.mu.Unlock()
		return store.JoinResult{JobID: last.JobID, Size: 3}, nil
	}
	s.mu.Unlock()
	res, err := s.Interface.Join(ctx, req)
	if err == nil {
		s.mu.Lock()
		s.last[req.Group] = res
		s.mu.Unlock()
	}
	return res, err
}

// joinSlot is the context key under which a test passes an *int for
// joinRecorder to set.
type joinSlot struct{}

// joinRecorder tells the caller of an auto-batched write the position its
// record took in its group, which is the position of its result in the
// group's Operation.Results: the Writer passes the caller's context to
// the store's Join, and joinRecorder sets the *int under joinSlot.
type joinRecorder struct{ store.Interface }

func (s joinRecorder) Join(ctx context.Context, req store.JoinRequest) (store.JoinResult, error) {
	res, err := s.Interface.Join(ctx, req)
	if p, ok := ctx.Value(joinSlot{}).(*int); ok && err == nil {
		*p = res.Size - 1
	}
	return res, err
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
