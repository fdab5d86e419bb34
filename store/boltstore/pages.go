package boltstore

import (
	"encoding/binary"
	"fmt"
	"os"
)

// bbolt's page flags, and the flag of a leaf element that is a bucket.
const (
	branchPageFlag = 0x01
	leafPageFlag   = 0x02
	bucketLeafFlag = 0x01
	elementSize    = 16
	bucketHdrSize  = 16
)

// checkPages walks the pages of the file f from its current meta page, with
// its own bounds-checked reads (bbolt's own check can crash the process on
// a damaged page): every page below the high-water mark must be either
// reachable from the root exactly once, as a branch or leaf page whose
// header names it, or in the freelist, never both. The file must not change
// while it runs. It reports at most limit problems.
func checkPages(f *os.File, limit int) []error {
	var errs []error
	report := func(format string, args ...any) bool {
		errs = append(errs, &CorruptError{Reason: fmt.Sprintf(format, args...)})
		return len(errs) < limit
	}
	m, ok := readMeta(f)
	if !ok {
		report("no valid meta page")
		return errs
	}
	ps := m.pageSize
	used := make(map[uint64]bool)
	free := make(map[uint64]bool)
	// readPage returns page id with its overflow, or nil after reporting
	// why it cannot be used.
	readPage := func(id uint64) []byte {
		if id < 2 || id >= m.pgid {
			report("page %d is out of range [2, %d)", id, m.pgid)
			return nil
		}
		hdr := make([]byte, pageHeaderSize)
		if _, err := f.ReadAt(hdr, int64(id*ps)); err != nil {
			report("page %d: %v", id, err)
			return nil
		}
		ne := binary.NativeEndian
		if got := ne.Uint64(hdr); got != id {
			report("page %d: header names page %d", id, got)
			return nil
		}
		overflow := uint64(ne.Uint32(hdr[12:]))
		if id+overflow >= m.pgid {
			report("page %d: overflow %d runs past the high-water mark", id, overflow)
			return nil
		}
		p := make([]byte, (overflow+1)*ps)
		if _, err := f.ReadAt(p, int64(id*ps)); err != nil {
			report("page %d: %v", id, err)
			return nil
		}
		for i := id; i <= id+overflow; i++ {
			if used[i] {
				report("page %d is referenced twice", i)
				return nil
			}
			used[i] = true
		}
		return p
	}

	if m.freelist != noFreelist {
		p := readPage(m.freelist)
		if p == nil {
			return errs
		}
		ne := binary.NativeEndian
		if flags := ne.Uint16(p[8:]); flags != freelistPageFlag {
			report("freelist page %d has flags %#x", m.freelist, flags)
			return errs
		}
		count, start := uint64(ne.Uint16(p[10:])), uint64(pageHeaderSize)
		if count == 0xFFFF {
			count, start = ne.Uint64(p[pageHeaderSize:]), pageHeaderSize+8
		}
		if start+count*8 > uint64(len(p)) {
			report("freelist of %d pages does not fit its page", count)
			return errs
		}
		for i := range count {
			id := ne.Uint64(p[start+i*8:])
			switch {
			case id < 2 || id >= m.pgid:
				if !report("freelist names page %d, out of range [2, %d)", id, m.pgid) {
					return errs
				}
			case free[id]:
				if !report("freelist names page %d twice", id) {
					return errs
				}
			}
			free[id] = true
		}
	}

	var walk func(id uint64, depth int) bool
	walk = func(id uint64, depth int) bool {
		if depth > 64 {
			return report("page %d: tree deeper than 64 levels", id)
		}
		p := readPage(id)
		if p == nil {
			return len(errs) < limit
		}
		ne := binary.NativeEndian
		flags, count := ne.Uint16(p[8:]), int(ne.Uint16(p[10:]))
		if flags != branchPageFlag && flags != leafPageFlag {
			return report("page %d: flags %#x, not a branch or leaf page", id, flags)
		}
		if pageHeaderSize+count*elementSize > len(p) {
			return report("page %d: %d elements do not fit", id, count)
		}
		for i := range count {
			off := pageHeaderSize + i*elementSize
			e := p[off : off+elementSize]
			if flags == branchPageFlag {
				pos, ksize := int(ne.Uint32(e)), int(ne.Uint32(e[4:]))
				if off+pos+ksize > len(p) {
					return report("page %d: element %d points past the page", id, i)
				}
				if !walk(ne.Uint64(e[8:]), depth+1) {
					return false
				}
				continue
			}
			eflags, pos, ksize, vsize := ne.Uint32(e), int(ne.Uint32(e[4:])), int(ne.Uint32(e[8:])), int(ne.Uint32(e[12:]))
			if off+pos+ksize+vsize > len(p) {
				return report("page %d: element %d points past the page", id, i)
			}
			if eflags&bucketLeafFlag == 0 {
				continue
			}
			if vsize < bucketHdrSize {
				return report("page %d: bucket element %d is too short", id, i)
			}
			v := p[off+pos+ksize:]
			if root := ne.Uint64(v); root != 0 && !walk(root, depth+1) {
				return false
			}
		}
		return true
	}
	if !walk(m.root, 0) {
		return errs
	}
	for id := uint64(2); id < m.pgid; id++ {
		switch {
		case used[id] && free[id]:
			if !report("page %d is both in use and free", id) {
				return errs
			}
		case !used[id] && !free[id]:
			if !report("page %d is neither in use nor free", id) {
				return errs
			}
		}
	}
	return errs
}
