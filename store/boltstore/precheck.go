package boltstore

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"math"
	"os"
)

// bbolt's on-disk layout, as far as precheck reads it: every page starts
// with a 16-byte header (id u64, flags u16, count u16, overflow u32), and
// the two meta pages (0 and 1) hold magic u32, version u32, pageSize u32,
// flags u32, root bucket (pgid u64, sequence u64), freelist pgid u64,
// high-water pgid u64, txid u64 and an FNV-64a checksum of the rest, in the
// machine's byte order.
const (
	pageHeaderSize   = 16
	metaSize         = 64
	boltMagic        = 0xED0CDAED
	boltVersion      = 2
	freelistPageFlag = 0x10
	noFreelist       = math.MaxUint64
)

// meta is what precheck needs of a bbolt meta page.
type meta struct {
	pageSize uint64
	root     uint64
	freelist uint64
	pgid     uint64
	txid     uint64
}

// precheck reads the meta pages of the file and checks what bbolt would
// otherwise trust blindly while opening it: that the file is not empty
// (unless initEmpty), that both meta pages are intact, that the file holds
// every page up to the high-water mark (it was not truncated), and that the
// freelist page is a freelist page that fits, naming pages in range, in
// order.
//
// bbolt falls back to the other meta page when one fails its checksum,
// which is right after a torn write of an unacknowledged commit; but the
// meta fields lie within the page's first sector, which disks write
// atomically, so a meta page that fails its checksum was damaged, and the
// fallback could silently drop the last acknowledged commit. It is refused.
func precheck(f *os.File, initEmpty bool) error {
	info, err := f.Stat()
	if err != nil {
		return err
	}
	size := uint64(info.Size())
	if size == 0 {
		if initEmpty {
			return nil
		}
		return fmt.Errorf("%w: file is empty (0 bytes); Options.InitEmptyFile makes a new store in it", ErrCorrupt)
	}
	m0, ok0 := readMetaAt(f, 0, 0)
	if !ok0 {
		for ps := uint64(1024); ps <= 65536; ps *= 2 {
			if _, ok := readMetaAt(f, ps, ps); ok {
				return fmt.Errorf("%w: meta page 0 is damaged", ErrCorrupt)
			}
		}
		return fmt.Errorf("%w: not a bbolt file, or both its meta pages are damaged", ErrCorrupt)
	}
	m1, ok1 := readMetaAt(f, m0.pageSize, m0.pageSize)
	if !ok1 {
		return fmt.Errorf("%w: meta page 1 is damaged or missing (file of %d bytes)", ErrCorrupt, size)
	}
	m := m0
	if m1.txid > m0.txid {
		m = m1
	}
	if m.pgid > size/m.pageSize {
		return fmt.Errorf("%w: file is %d bytes, its pages need %d (truncated?)", ErrCorrupt, size, m.pgid*m.pageSize)
	}
	if m.root < 2 || m.root >= m.pgid {
		return fmt.Errorf("%w: root page %d out of range", ErrCorrupt, m.root)
	}
	if m.freelist == noFreelist {
		return nil
	}
	if m.freelist < 2 || m.freelist >= m.pgid {
		return fmt.Errorf("%w: freelist page %d out of range", ErrCorrupt, m.freelist)
	}
	var hdr [pageHeaderSize + 8]byte
	if _, err := f.ReadAt(hdr[:], int64(m.freelist*m.pageSize)); err != nil {
		return fmt.Errorf("%w: freelist page: %w", ErrCorrupt, err)
	}
	ne := binary.NativeEndian
	flags, count, overflow := ne.Uint16(hdr[8:]), uint64(ne.Uint16(hdr[10:])), uint64(ne.Uint32(hdr[12:]))
	if flags != freelistPageFlag {
		return fmt.Errorf("%w: freelist page %d has flags %#x", ErrCorrupt, m.freelist, flags)
	}
	if m.freelist+overflow >= m.pgid {
		return fmt.Errorf("%w: freelist overflows the file", ErrCorrupt)
	}
	room, start := ((overflow+1)*m.pageSize-pageHeaderSize)/8, uint64(pageHeaderSize)
	if count == math.MaxUint16 {
		count, start = ne.Uint64(hdr[pageHeaderSize:]), pageHeaderSize+8
		room--
	}
	if count > room {
		return fmt.Errorf("%w: freelist of %d pages does not fit its page", ErrCorrupt, count)
	}
	ids := make([]byte, count*8)
	if _, err := f.ReadAt(ids, int64(m.freelist*m.pageSize+start)); err != nil {
		return fmt.Errorf("%w: freelist page: %w", ErrCorrupt, err)
	}
	prev := uint64(1)
	for i := range count {
		id := ne.Uint64(ids[i*8:])
		if id <= prev || id >= m.pgid {
			return fmt.Errorf("%w: freelist page %d: entry %d names page %d (out of order or range)", ErrCorrupt, m.freelist, i, id)
		}
		prev = id
	}
	return nil
}

// readMeta returns the meta page bbolt would use: the valid one with the
// higher txid.
func readMeta(f *os.File) (meta, bool) {
	m0, ok0 := readMetaAt(f, 0, 0)
	var m1 meta
	ok1 := false
	if ok0 {
		m1, ok1 = readMetaAt(f, m0.pageSize, m0.pageSize)
	} else {
		for ps := uint64(1024); ps <= 65536 && !ok1; ps *= 2 {
			m1, ok1 = readMetaAt(f, ps, ps)
		}
	}
	switch {
	case ok0 && ok1 && m1.txid > m0.txid:
		return m1, true
	case ok0:
		return m0, true
	default:
		return m1, ok1
	}
}

// readMetaAt decodes the meta page at off; with pageSize non-zero, the page
// must declare that size.
func readMetaAt(f *os.File, off, pageSize uint64) (meta, bool) {
	var b [pageHeaderSize + metaSize]byte
	if _, err := f.ReadAt(b[:], int64(off)); err != nil && !errors.Is(err, io.EOF) {
		return meta{}, false
	}
	ne := binary.NativeEndian
	p := b[pageHeaderSize:]
	h := fnv.New64a()
	_, _ = h.Write(p[:56])
	m := meta{
		pageSize: uint64(ne.Uint32(p[8:])),
		root:     ne.Uint64(p[16:]),
		freelist: ne.Uint64(p[32:]),
		pgid:     ne.Uint64(p[40:]),
		txid:     ne.Uint64(p[48:]),
	}
	ok := ne.Uint32(p[0:]) == boltMagic && ne.Uint32(p[4:]) == boltVersion && ne.Uint64(p[56:]) == h.Sum64() &&
		m.pageSize >= 512 && (pageSize == 0 || m.pageSize == pageSize)
	return m, ok
}
