// Package pgtest runs tests against a real, throwaway PostgreSQL server:
// one server per test binary, started from the PostgreSQL binaries on the
// machine (initdb and pg_ctl, on PATH or in /usr/lib/postgresql/*/bin) in
// a temporary directory, with durable settings (fsync on), listening only
// on a Unix socket in that directory, and removed when the tests end. Each
// test gets a database of its own, so tests can run in parallel.
//
// Wire it in TestMain and ask for databases in tests:
//
//	func TestMain(m *testing.M) { os.Exit(pgtest.Wrap(m).Run()) }
//
//	func TestSomething(t *testing.T) {
//		pool := pgtest.Pool(t) // a new database, closed when t ends
//		...
//	}
//
// With WRITEBACK_PG_URL set (a connection string to a server where the
// role may create databases), tests use that server instead. Where there
// is neither, tests that need a server skip, saying what to install; with
// WRITEBACK_REQUIRE_PG=1 they fail instead (set it in CI).
//
// As root, the server runs as the postgres user (initdb refuses root),
// which must exist.
package pgtest

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Environment variables the package reads.
const (
	// EnvURL names a server to use instead of starting one.
	EnvURL = "WRITEBACK_PG_URL"
	// EnvRequire, set to 1, turns a skip for want of PostgreSQL into a
	// failure.
	EnvRequire = "WRITEBACK_REQUIRE_PG"
)

// ErrNoPostgres reports that no PostgreSQL server binaries were found.
var ErrNoPostgres = errors.New("pgtest: no PostgreSQL server binaries (initdb, pg_ctl) on PATH or in /usr/lib/postgresql/*/bin: install PostgreSQL (Debian: apt-get install postgresql) or set " + EnvURL)

// Main wraps a test binary's testing.M so that the shared server is stopped
// and removed after the tests ran; see [Wrap].
type Main struct {
	m *testing.M
}

// Wrap returns m with a Run that stops the shared server (if a test
// started it) after m.Run. It can be handed to goleak.VerifyTestMain.
func Wrap(m *testing.M) *Main {
	wrapped.Store(true)
	return &Main{m: m}
}

// Run runs the tests, stops the shared server and returns the exit code.
func (w *Main) Run() int {
	code := w.m.Run()
	shared.mu.Lock()
	defer shared.mu.Unlock()
	if shared.srv != nil {
		if err := shared.srv.stop(); err != nil {
			fmt.Fprintln(os.Stderr, err)
			if code == 0 {
				code = 1
			}
		}
		shared.srv = nil
	}
	return code
}

var (
	wrapped atomic.Bool
	shared  struct {
		mu      sync.Mutex
		started bool
		srv     *Server
		admin   string // connection string of the admin database
		err     error
	}
	dbSeq atomic.Int64
)

// URL returns the connection string of a new, empty database on the
// shared server, starting the server on first use. The database is left
// for the server's removal (or, on an external server, dropped when tb
// ends).
func URL(tb testing.TB) string {
	tb.Helper()
	admin := sharedAdmin(tb)
	name := fmt.Sprintf("test_%d_%d", os.Getpid(), dbSeq.Add(1))
	createDatabase(tb, admin, name)
	if os.Getenv(EnvURL) != "" {
		tb.Cleanup(func() { dropDatabase(tb, admin, name) })
	}
	return withDatabase(tb, admin, name)
}

// Pool returns a pool on a new, empty database of the shared server,
// closed when tb ends.
func Pool(tb testing.TB) *pgxpool.Pool {
	tb.Helper()
	return NewPool(tb, URL(tb))
}

// NewPool opens a pool on url, closed when tb ends.
func NewPool(tb testing.TB, url string) *pgxpool.Pool {
	tb.Helper()
	pool, err := pgxpool.New(context.Background(), url)
	if err != nil {
		tb.Fatalf("pgtest: %v", err)
	}
	tb.Cleanup(pool.Close)
	return pool
}

// sharedAdmin returns the admin connection string of the shared server.
func sharedAdmin(tb testing.TB) string {
	tb.Helper()
	if url := os.Getenv(EnvURL); url != "" {
		return url
	}
	if !wrapped.Load() {
		tb.Fatal("pgtest: call pgtest.Wrap(m).Run() in TestMain, so that the shared server is stopped")
	}
	shared.mu.Lock()
	defer shared.mu.Unlock()
	if !shared.started {
		shared.started = true
		shared.srv, shared.err = start()
		if shared.err == nil {
			shared.admin = shared.srv.AdminURL()
		}
	}
	if shared.err != nil {
		unavailable(tb, shared.err)
	}
	return shared.admin
}

// unavailable skips tb for want of PostgreSQL, or fails it if required.
func unavailable(tb testing.TB, err error) {
	tb.Helper()
	if errors.Is(err, ErrNoPostgres) && os.Getenv(EnvRequire) != "1" {
		tb.Skip(err.Error())
		return
	}
	tb.Fatal(err.Error())
}

// Server is a throwaway PostgreSQL server in a temporary directory. Its
// methods are not safe for concurrent use.
type Server struct {
	bin     string // directory of initdb, pg_ctl and postgres
	dir     string // temporary directory: data/, the socket, the log
	cred    *syscall.Credential
	opts    string // the postgres options pg_ctl starts it with
	up      bool   // the server was started and not stopped since
	removed bool
}

// Start starts a server of tb's own (for a test that restarts or stops
// it), stopped and removed when tb ends. Most tests want [URL] or [Pool].
func Start(tb testing.TB) *Server {
	tb.Helper()
	srv, err := start()
	if err != nil {
		unavailable(tb, err)
	}
	tb.Cleanup(func() {
		if err := srv.stop(); err != nil {
			tb.Error(err)
		}
	})
	return srv
}

// Launch starts a server outside a test, for a program such as an example
// that needs a throwaway PostgreSQL; [Server.Stop] stops and removes it.
// It fails with an error wrapping [ErrNoPostgres] where the binaries are
// missing.
func Launch() (*Server, error) { return start() }

// Stop stops a server from [Launch] and removes its directory.
func (s *Server) Stop() error { return s.stop() }

// AdminURL returns the connection string of the server's postgres
// database, as superuser.
func (s *Server) AdminURL() string {
	return fmt.Sprintf("host=%s port=5432 user=postgres dbname=postgres sslmode=disable", s.dir)
}

// URL returns the connection string of a new, empty database on s.
func (s *Server) URL(tb testing.TB) string {
	tb.Helper()
	name := fmt.Sprintf("test_%d", dbSeq.Add(1))
	createDatabase(tb, s.AdminURL(), name)
	return withDatabase(tb, s.AdminURL(), name)
}

// Restart restarts the server (pg_ctl restart, fast mode: open
// connections are closed), waiting until it accepts connections again.
func (s *Server) Restart() error {
	return s.pgCtl("-o", s.opts, "-l", filepath.Join(s.dir, "log"), "-m", "fast", "-w", "-t", "60", "restart")
}

// Down stops the server (fast mode: open connections are closed) and
// keeps its data; [Server.Up] starts it again.
func (s *Server) Down() error {
	if err := s.pgCtl("-m", "fast", "-w", "-t", "60", "stop"); err != nil {
		return err
	}
	s.up = false
	return nil
}

// Up starts the server and waits until it accepts connections.
func (s *Server) Up() error {
	if err := s.pgCtl("-o", s.opts, "-l", filepath.Join(s.dir, "log"), "-w", "-t", "60", "start"); err != nil {
		return err
	}
	s.up = true
	return nil
}

// start initialises a cluster in a new temporary directory and starts it.
func start() (*Server, error) {
	bin, err := findBinaries()
	if err != nil {
		return nil, err
	}
	s := &Server{bin: bin}
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			return nil, fmt.Errorf("pgtest: running as root, the server must run as user postgres: %w", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		s.cred = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid), Groups: []uint32{}}
	}
	if s.dir, err = os.MkdirTemp("", "writeback-pg-"); err != nil {
		return nil, fmt.Errorf("pgtest: %w", err)
	}
	if s.cred != nil {
		if err := os.Chown(s.dir, int(s.cred.Uid), int(s.cred.Gid)); err != nil {
			_ = os.RemoveAll(s.dir)
			return nil, fmt.Errorf("pgtest: %w", err)
		}
	}
	data := filepath.Join(s.dir, "data")
	// --no-sync only skips syncing initdb's own files; the server runs
	// with fsync on.
	if err := s.run("initdb", "-D", data, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--locale=C", "--no-sync"); err != nil {
		_ = os.RemoveAll(s.dir)
		return nil, err
	}
	s.opts = fmt.Sprintf("-k %s -c listen_addresses='' -p 5432 -c fsync=on -c synchronous_commit=on -c max_connections=200", s.dir)
	if err := s.Up(); err != nil {
		_ = os.RemoveAll(s.dir)
		return nil, err
	}
	return s, nil
}

// stop stops the server and removes its directory.
func (s *Server) stop() error {
	if s.removed {
		return nil
	}
	s.removed = true
	var err error
	if s.up {
		err = s.Down()
	}
	if rmErr := os.RemoveAll(s.dir); err == nil && rmErr != nil {
		err = fmt.Errorf("pgtest: %w", rmErr)
	}
	return err
}

// pgCtl runs pg_ctl on the server's data directory.
func (s *Server) pgCtl(args ...string) error {
	return s.run("pg_ctl", append([]string{"-D", filepath.Join(s.dir, "data")}, args...)...)
}

// run runs one of the server's binaries, as the postgres user when root.
func (s *Server) run(name string, args ...string) error {
	cmd := exec.Command(filepath.Join(s.bin, name), args...)
	cmd.Dir = s.dir
	cmd.Env = append(slices.DeleteFunc(os.Environ(), func(kv string) bool { return strings.HasPrefix(kv, "PG") }), "LC_ALL=C")
	// The server pg_ctl starts must not hold the output pipe (it logs to
	// a file); if it does, stop waiting for the pipe once pg_ctl exited.
	cmd.WaitDelay = 5 * time.Second
	if s.cred != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: s.cred}
	}
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("pgtest: %s %s: %w\n%s", name, strings.Join(args, " "), err, out)
	}
	return nil
}

// findBinaries returns the directory holding initdb, pg_ctl and postgres:
// from PATH (following symlinks), else the newest
// /usr/lib/postgresql/*/bin.
func findBinaries() (string, error) {
	if p, err := exec.LookPath("initdb"); err == nil {
		if real, err := filepath.EvalSymlinks(p); err == nil {
			p = real
		}
		dir := filepath.Dir(p)
		if hasBinaries(dir) {
			return dir, nil
		}
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	slices.SortFunc(dirs, func(a, b string) int { return versionOf(b) - versionOf(a) })
	for _, dir := range dirs {
		if hasBinaries(dir) {
			return dir, nil
		}
	}
	return "", ErrNoPostgres
}

func hasBinaries(dir string) bool {
	for _, name := range []string{"initdb", "pg_ctl", "postgres"} {
		if _, err := os.Stat(filepath.Join(dir, name)); err != nil {
			return false
		}
	}
	return true
}

// versionOf returns the major version in /usr/lib/postgresql/NN/bin.
func versionOf(dir string) int {
	v, _ := strconv.Atoi(filepath.Base(filepath.Dir(dir)))
	return v
}

// createDatabase creates database name through the admin connection.
func createDatabase(tb testing.TB, admin, name string) {
	tb.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, admin)
	if err != nil {
		tb.Fatalf("pgtest: %v", err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
		tb.Fatalf("pgtest: create database %s: %v", name, err)
	}
}

// dropDatabase drops database name, closing its connections.
func dropDatabase(tb testing.TB, admin, name string) {
	tb.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, admin)
	if err != nil {
		tb.Errorf("pgtest: %v", err)
		return
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)"); err != nil {
		tb.Errorf("pgtest: drop database %s: %v", name, err)
	}
}

// withDatabase returns admin with its database replaced by name.
func withDatabase(tb testing.TB, admin, name string) string {
	tb.Helper()
	if !strings.Contains(admin, "://") {
		return admin + " dbname=" + name
	}
	u, err := url.Parse(admin)
	if err != nil {
		tb.Fatalf("pgtest: %s: %v", EnvURL, err)
	}
	u.Path = "/" + name
	return u.String()
}
