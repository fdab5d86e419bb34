package main

import (
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/writebackhq/writeback"
)

// installations is "installations".
func (c *cli) installations(args []string) error {
	fs := c.flags("installations")
	integration := fs.String("integration", "", "manifest integration")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usagef("installations: unexpected argument %q", pos[0])
	}
	s, err := c.open()
	if err != nil {
		return err
	}
	defer s.close()
	insts, err := s.w.Installations(c.ctx, *integration)
	if err != nil {
		return err
	}
	if c.json {
		if insts == nil {
			insts = []*writeback.Installation{}
		}
		return c.printJSON(insts)
	}
	t := newTable(c.stdout, "ID", "INTEGRATION", "GROUP REF", "PROVIDER", "WRITE OBJECTS", "REVISION", "UPDATED")
	for _, in := range insts {
		objects := slices.Sorted(maps.Keys(in.Config.Write.Objects))
		t.row(in.ID, in.Integration, in.GroupRef, in.Connection.Provider, strings.Join(objects, ", "),
			strconv.FormatInt(in.Revision, 10), stamp(in.UpdatedAt))
	}
	return t.flush()
}
