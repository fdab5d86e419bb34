package main

import (
	"fmt"
	"strconv"
)

// queue is "queue".
func (c *cli) queue(args []string) error {
	pos, err := parse(c.flags("queue"), args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usagef("queue: unexpected argument %q", pos[0])
	}
	s, err := c.open()
	if err != nil {
		return err
	}
	defer s.close()
	st, err := s.w.QueueStats(c.ctx)
	if err != nil {
		return err
	}
	if c.json {
		return c.printJSON(st)
	}
	now := st.At
	fmt.Fprintf(c.stdout, "Queue at %s\n\n", stamp(now))
	if len(st.Providers) == 0 {
		fmt.Fprintln(c.stdout, "Nothing queued.")
		return nil
	}
	t := newTable(c.stdout, "PROVIDER", "QUEUED", "OPEN GROUPS", "RETRYING", "IN FLIGHT", "INTERRUPTED", "DUE", "OLDEST DUE")
	for _, p := range st.Providers {
		t.row(p.Provider, strconv.Itoa(p.Queued), strconv.Itoa(p.OpenGroups), strconv.Itoa(p.Retrying),
			strconv.Itoa(p.InFlight), strconv.Itoa(p.Interrupted), strconv.Itoa(p.Due), when(p.OldestDue, now))
	}
	if err := t.flush(); err != nil {
		return err
	}
	if len(st.Groups) > 0 {
		fmt.Fprintln(c.stdout, "\nOpen auto-batch groups")
		t := newTable(c.stdout, "OPERATION", "INTEGRATION", "GROUP REF", "OBJECT", "TYPE", "RECORDS", "OPENED", "FLUSH AT")
		for _, g := range st.Groups {
			t.row(g.OperationID, g.Integration, g.GroupRef, g.Object, string(g.Type),
				fmt.Sprintf("%d/%d", g.Records, g.MaxRecords), when(g.OpenedAt, now), when(g.FlushAt, now))
		}
		if err := t.flush(); err != nil {
			return err
		}
	}
	if len(st.InFlight) > 0 {
		fmt.Fprintln(c.stdout, "\nIn flight")
		t := newTable(c.stdout, "OPERATION", "PROVIDER", "INSTALLATION", "CLAIMS", "LEASE UNTIL", "CANCEL REQUESTED")
		for _, f := range st.InFlight {
			cancel := ""
			if f.CancelRequested {
				cancel = "yes"
			}
			t.row(f.OperationID, f.Provider, f.InstallationID, strconv.Itoa(f.Claims), when(f.LeaseUntil, now), cancel)
		}
		if err := t.flush(); err != nil {
			return err
		}
	}
	return nil
}
