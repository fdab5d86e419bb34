package main

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/writebackhq/writeback"
)

// listLimit is the page size of ops list without --limit.
const listLimit = 50

// list is "ops list".
func (c *cli) list(args []string) error {
	fs := c.flags("ops list")
	var (
		p                         writeback.OperationListParams
		status, typ, since, until string
		limit                     int
		all                       bool
	)
	fs.StringVar(&status, "status", "", "in_progress, success, failure or canceled")
	fs.StringVar(&p.Integration, "integration", "", "manifest integration")
	fs.StringVar(&p.GroupRef, "group-ref", "", "customer's groupRef")
	fs.StringVar(&p.InstallationID, "installation", "", "installation ID")
	fs.StringVar(&p.Object, "object", "", "write object")
	fs.StringVar(&typ, "type", "", "create, update, upsert or delete")
	fs.StringVar(&since, "since", "", "created at or after: a time (RFC 3339 or 2006-01-02) or an age (90m, 24h, 7d)")
	fs.StringVar(&until, "until", "", "created before: a time or an age")
	fs.IntVar(&limit, "limit", listLimit, "most operations to print")
	fs.StringVar(&p.PageToken, "page-token", "", "continue after a previous listing")
	fs.BoolVar(&all, "all", false, "every matching operation")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usagef("ops list: unexpected argument %q", pos[0])
	}
	if limit < 1 || limit > writeback.MaxPageSize {
		return usagef("ops list: --limit %d is outside 1 to %d", limit, writeback.MaxPageSize)
	}
	p.Status, p.Type = writeback.OperationStatus(status), writeback.WriteType(typ)
	now := time.Now()
	if p.Since, err = parseTime("--since", since, now); err != nil {
		return err
	}
	if p.Until, err = parseTime("--until", until, now); err != nil {
		return err
	}
	s, err := c.open()
	if err != nil {
		return err
	}
	defer s.close()

	// Pages may come back short (a rare filter over many operations):
	// keep reading until the page is full or the list ends.
	var ops []*writeback.Operation
	done := false
	for !done && (all || len(ops) < limit) {
		p.PageSize = limit - len(ops)
		if all {
			p.PageSize = writeback.MaxPageSize
		}
		page, err := s.w.Operations(c.ctx, &p)
		if err != nil {
			return err
		}
		ops = append(ops, page.Operations...)
		done, p.PageToken = page.Done, page.NextPageToken
	}
	if c.json {
		if ops == nil {
			ops = []*writeback.Operation{}
		}
		return c.printJSON(struct {
			Operations    []*writeback.Operation `json:"operations"`
			NextPageToken string                 `json:"nextPageToken,omitempty"`
			Done          bool                   `json:"done"`
		}{ops, p.PageToken, done})
	}
	t := newTable(c.stdout, "ID", "CREATED", "STATUS", "TYPE", "MODE", "INTEGRATION", "GROUP REF", "OBJECT", "RECORDS", "ATTEMPTS", "SUMMARY")
	for _, op := range ops {
		t.row(op.ID, stamp(op.CreatedAt), string(op.Status), string(op.Type), mode(op), op.Integration, op.GroupRef, op.Object,
			records(op), strconv.Itoa(op.Attempts), clip(summary(op), 72))
	}
	if err := t.flush(); err != nil {
		return err
	}
	switch {
	case len(ops) == 0 && done:
		fmt.Fprintln(c.stdout, "No operations.")
	case !done:
		fmt.Fprintf(c.stdout, "More: add --page-token %s\n", p.PageToken)
	}
	return nil
}

// mode says how an operation runs.
func mode(op *writeback.Operation) string {
	switch {
	case op.AutoBatch:
		return "auto-batch"
	case op.Mode == writeback.ModeAsync:
		return "async"
	}
	return "sync"
}

// summary is an operation's summary, or while it has none its latest log
// line.
func summary(op *writeback.Operation) string {
	if op.Summary == "" && len(op.Logs) > 0 {
		return op.Logs[len(op.Logs)-1].Message
	}
	return op.Summary
}

// records says how many of an operation's records were written.
func records(op *writeback.Operation) string {
	if len(op.Results) == 0 {
		return "-"
	}
	return fmt.Sprintf("%d/%d", op.SuccessCount(), len(op.Results))
}

// parseTime reads a time flag: RFC 3339, a date, or an age before now
// (a Go duration, or whole days as 7d).
func parseTime(flag, s string, now time.Time) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04", "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, nil
		}
	}
	d, err := parseAge(s)
	if err != nil {
		return time.Time{}, usagef("%s %q: want a time (2026-03-14T15:09:26Z, 2026-03-14) or an age (90m, 24h, 7d)", flag, s)
	}
	return now.Add(-d), nil
}

// parseAge reads a duration, accepting whole days as "7d".
func parseAge(s string) (time.Duration, error) {
	if days, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.Atoi(days)
		if err != nil || n < 0 {
			return 0, fmt.Errorf("bad number of days %q", s)
		}
		return time.Duration(n) * 24 * time.Hour, nil
	}
	d, err := time.ParseDuration(s)
	if err == nil && d < 0 {
		return 0, fmt.Errorf("negative duration %q", s)
	}
	return d, err
}
