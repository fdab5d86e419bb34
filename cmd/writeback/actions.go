package main

import (
	"fmt"
	"time"

	"github.com/writebackhq/writeback"
)

// cancel is "cancel ID".
func (c *cli) cancel(args []string) error {
	id, err := c.oneID("cancel", args)
	if err != nil {
		return err
	}
	s, err := c.open()
	if err != nil {
		return err
	}
	defer s.close()
	op, err := s.w.Cancel(c.ctx, id)
	if err != nil {
		return err
	}
	if c.json {
		return c.printJSON(op)
	}
	if op.Status == writeback.OperationInProgress {
		fmt.Fprintf(c.stdout, "Cancel requested for %s: an attempt is in flight. It finishes and its outcome is kept; the operation is not retried after it.\n", id)
		return nil
	}
	fmt.Fprintf(c.stdout, "Canceled %s: %s\n", id, op.Summary)
	return nil
}

// retry is "retry ID".
func (c *cli) retry(args []string) error {
	id, err := c.oneID("retry", args)
	if err != nil {
		return err
	}
	s, err := c.open()
	if err != nil {
		return err
	}
	defer s.close()
	op, err := s.w.Retry(c.ctx, id)
	if err != nil {
		return err
	}
	if c.json {
		return c.printJSON(op)
	}
	fmt.Fprintf(c.stdout, "Queued %s again: %s; retries until %s. A started Writer of the app runs it.\n", id, op.Summary, stamp(op.Deadline))
	return nil
}

// prune is "prune".
func (c *cli) prune(args []string) error {
	fs := c.flags("prune")
	olderThan := fs.String("older-than", "30d", "delete operations that finished longer ago than this (720h, 30d)")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usagef("prune: unexpected argument %q", pos[0])
	}
	d, err := parseAge(*olderThan)
	if err != nil || d <= 0 {
		return usagef("prune: --older-than %q: want a positive age (720h, 30d)", *olderThan)
	}
	s, err := c.open()
	if err != nil {
		return err
	}
	defer s.close()
	res, err := s.w.Prune(c.ctx, &writeback.PruneOptions{OlderThan: d})
	if err != nil {
		return err
	}
	if c.json {
		return c.printJSON(res)
	}
	fmt.Fprintf(c.stdout, "Deleted %d operations that finished before %s, and %d expired idempotency keys.\n",
		res.Operations, stamp(time.Now().Add(-d)), res.Keys)
	return nil
}
