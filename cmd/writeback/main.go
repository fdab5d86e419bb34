// Command writeback looks after a writeback store: it lists and shows
// operations (per-record results, errors, provider correlation IDs, log),
// reports the async queue, cancels and retries operations, prunes old ones
// and lists installations.
//
//	go install github.com/writebackhq/writeback/cmd/writeback@latest
//
//	writeback --db app.db ops list --status failure --since 24h
//	writeback --db app.db ops show 0190a4c2-...
//	writeback --db app.db queue
//	writeback --db app.db cancel 0190a4c2-...
//	writeback --db app.db retry 0190a4c2-...
//	writeback --db app.db prune --older-than 30d
//	writeback --db app.db installations
//	writeback --pg postgres://... queue
//
// It opens a bbolt file (--db, or WRITEBACK_DB) of an app that is stopped:
// bbolt lets one process open a file at a time, so a running app's file is
// locked. It opens a PostgreSQL store (--pg, or WRITEBACK_PG_URL; --schema)
// at any time, alongside the app's replicas. Tables are for people; --json
// prints JSON for scripts. Exit codes: 0 done, 1 failed, 2 bad usage, 3 no
// such operation, 4 not possible in the operation's state (cancel of a
// finished operation, retry of one with nothing to send), 5 the store
// cannot be opened (missing, locked by a running app, not migrated).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"

	"github.com/writebackhq/writeback"
)

// Exit codes.
const (
	exitOK          = 0
	exitFailed      = 1
	exitUsage       = 2
	exitNotFound    = 3
	exitState       = 4
	exitUnavailable = 5
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr, os.Getenv)
	stop()
	os.Exit(code)
}

const usage = `Usage: writeback [flags] command [arguments]

Commands:
  ops list        list operations (filters: --status, --integration,
                  --group-ref, --installation, --object, --type, --since,
                  --until; --limit, --page-token, --all)
  ops show ID     one operation: per-record results, errors, provider
                  correlation IDs and its log
  queue           the async queue: queued, retrying and in-flight work per
                  provider, open auto-batch groups, leases
  cancel ID       cancel a queued operation or one waiting for a retry
  retry ID        send a finished operation's unwritten records again
  prune           delete finished operations older than --older-than (30d)
                  and expired idempotency keys
  installations   list installations (--integration)

Store (one of):
  --db FILE       a bbolt file of a stopped app (or WRITEBACK_DB)
  --pg URL        a PostgreSQL store (or WRITEBACK_PG_URL); --schema NAME

Output:
  --json          JSON for scripts instead of tables

Exit codes: 0 done, 1 failed, 2 bad usage, 3 no such operation, 4 not
possible in the operation's state, 5 the store cannot be opened.
`

// cli is one run of the command.
type cli struct {
	ctx    context.Context
	stdout io.Writer
	stderr io.Writer
	getenv func(string) string

	db, pg, schema string
	json           bool
}

// usageError reports bad usage: exit code 2.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error {
	return &usageError{fmt.Sprintf(format, args...)}
}

// run runs the command line args and returns the exit code.
func run(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) int {
	c := &cli{ctx: ctx, stdout: stdout, stderr: stderr, getenv: getenv}
	err := c.dispatch(args)
	if err == nil {
		return exitOK
	}
	if errors.Is(err, flag.ErrHelp) {
		fmt.Fprint(stdout, usage)
		return exitOK
	}
	msg := err.Error()
	if !strings.HasPrefix(msg, "writeback: ") {
		msg = "writeback: " + msg
	}
	fmt.Fprintln(stderr, msg)
	var ue *usageError
	var ve *writeback.ValidationError
	var oe *openError
	switch {
	case errors.As(err, &ue):
		fmt.Fprintln(stderr, "Run 'writeback help' for usage.")
		return exitUsage
	case errors.As(err, &oe):
		return exitUnavailable
	case errors.Is(err, writeback.ErrNotFound):
		return exitNotFound
	case errors.Is(err, writeback.ErrCannotCancel), errors.Is(err, writeback.ErrCannotRetry):
		return exitState
	case errors.As(err, &ve):
		return exitUsage
	}
	return exitFailed
}

// flags returns a flag set for a command, with the store and output flags
// every command takes.
func (c *cli) flags(name string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.StringVar(&c.db, "db", c.db, "bbolt store file")
	fs.StringVar(&c.pg, "pg", c.pg, "PostgreSQL store URL")
	fs.StringVar(&c.schema, "schema", c.schema, "PostgreSQL schema")
	fs.BoolVar(&c.json, "json", c.json, "print JSON")
	return fs
}

// parse parses args with fs, flags and positional arguments in any order,
// and returns the positional ones.
func parse(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, err
			}
			return nil, usagef("%s: %v", fs.Name(), err)
		}
		if fs.NArg() == 0 {
			return pos, nil
		}
		pos = append(pos, fs.Arg(0))
		args = fs.Args()[1:]
	}
}

// dispatch runs the command args name.
func (c *cli) dispatch(args []string) error {
	top := c.flags("writeback")
	if err := top.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return usagef("%v", err)
	}
	args = top.Args()
	if len(args) == 0 {
		return usagef("no command")
	}
	name, rest := args[0], args[1:]
	if name == "ops" {
		if len(rest) == 0 {
			return usagef("ops: want 'ops list' or 'ops show ID'")
		}
		name, rest = "ops "+rest[0], rest[1:]
	}
	cmds := map[string]func([]string) error{
		"ops list":      c.list,
		"ops show":      c.show,
		"queue":         c.queue,
		"cancel":        c.cancel,
		"retry":         c.retry,
		"prune":         c.prune,
		"installations": c.installations,
		"help":          func([]string) error { return flag.ErrHelp },
	}
	cmd, ok := cmds[name]
	if !ok {
		return usagef("unknown command %q", name)
	}
	return cmd(rest)
}

// oneID parses a command that takes one operation ID.
func (c *cli) oneID(name string, args []string) (string, error) {
	pos, err := parse(c.flags(name), args)
	if err != nil {
		return "", err
	}
	if len(pos) != 1 || strings.TrimSpace(pos[0]) == "" {
		return "", usagef("%s: want one operation ID", name)
	}
	return pos[0], nil
}
