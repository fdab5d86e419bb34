// Package lazyfs is a FUSE file system for power-cut tests, after LazyFS:
// a passthrough to a backing directory that keeps every write to a file in
// memory until the file is fsync'd, and can drop everything not yet
// fsync'd, as a power cut does to a disk's volatile cache.
//
// Directory operations (create, rename, unlink) pass through at once;
// only file contents and sizes are held back. Mounting needs /dev/fuse
// and root (it uses mount(2) directly, not fusermount).
package lazyfs

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"
)

// FS is a mounted lazy file system.
type FS struct {
	backing string
	server  *fuse.Server

	mu    sync.Mutex
	files map[string]*file // by backing path
}

// Mount mounts a lazy view of the directory backing at mountpoint.
func Mount(backing, mountpoint string) (*FS, error) {
	l := &FS{backing: backing, files: map[string]*file{}}
	root := &fs.LoopbackRoot{Path: backing}
	var st syscall.Stat_t
	if err := syscall.Stat(backing, &st); err != nil {
		return nil, err
	}
	root.Dev = st.Dev
	rootNode := &node{LoopbackNode: &fs.LoopbackNode{RootData: root}, lfs: l}
	root.RootNode = rootNode
	zero := time.Duration(0)
	server, err := fs.Mount(mountpoint, rootNode, &fs.Options{
		EntryTimeout: &zero,
		AttrTimeout:  &zero,
		MountOptions: fuse.MountOptions{
			DirectMountStrict: true,
			FsName:            "lazyfs",
			Name:              "lazyfs",
		},
	})
	if err != nil {
		return nil, fmt.Errorf("lazyfs: mount %s: %w", mountpoint, err)
	}
	l.server = server
	return l, nil
}

// Unmount unmounts the file system; pending writes stay pending (see Cut).
func (l *FS) Unmount() error {
	var err error
	for range 50 {
		if err = l.server.Unmount(); err == nil {
			l.server.Wait()
			return nil
		}
		time.Sleep(20 * time.Millisecond) // the kernel releases a dead process's files asynchronously
	}
	return fmt.Errorf("lazyfs: unmount: %w", err)
}

// Cut drops every write not yet fsync'd, as a power cut would, and
// returns how many bytes of writes were dropped.
func (l *FS) Cut() int64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	var n int64
	for _, f := range l.files {
		n += f.cut()
	}
	return n
}

// file returns the state of the file at backing path p.
func (l *FS) file(p string) *file {
	l.mu.Lock()
	defer l.mu.Unlock()
	f := l.files[p]
	if f == nil {
		f = &file{path: p}
		l.files[p] = f
	}
	return f
}

// node is a loopback node whose files hold writes back.
type node struct {
	*fs.LoopbackNode
	lfs *FS
}

var (
	_ fs.NodeWrapChilder = (*node)(nil)
	_ fs.NodeOpener      = (*node)(nil)
	_ fs.NodeCreater     = (*node)(nil)
	_ fs.NodeGetattrer   = (*node)(nil)
	_ fs.NodeSetattrer   = (*node)(nil)
)

// WrapChild implements fs.NodeWrapChilder: every node of the tree holds
// writes back.
func (n *node) WrapChild(_ context.Context, ops fs.InodeEmbedder) fs.InodeEmbedder {
	return &node{LoopbackNode: ops.(*fs.LoopbackNode), lfs: n.lfs}
}

func (n *node) backingPath() string {
	return filepath.Join(n.RootData.Path, n.Path(n.Root()))
}

// Open implements fs.NodeOpener.
func (n *node) Open(ctx context.Context, flags uint32) (fs.FileHandle, uint32, syscall.Errno) {
	if flags&syscall.O_TRUNC != 0 {
		return nil, 0, syscall.ENOTSUP
	}
	fh, fl, errno := n.LoopbackNode.Open(ctx, flags)
	if errno != 0 {
		return nil, 0, errno
	}
	return &handle{inner: fh, f: n.lfs.file(n.backingPath())}, fl, 0
}

// Create implements fs.NodeCreater.
func (n *node) Create(ctx context.Context, name string, flags, mode uint32, out *fuse.EntryOut) (*fs.Inode, fs.FileHandle, uint32, syscall.Errno) {
	ch, fh, fl, errno := n.LoopbackNode.Create(ctx, name, flags, mode, out)
	if errno != 0 {
		return nil, nil, 0, errno
	}
	return ch, &handle{inner: fh, f: n.lfs.file(filepath.Join(n.backingPath(), name))}, fl, 0
}

// Getattr implements fs.NodeGetattrer: the size is the file's with its
// pending writes.
func (n *node) Getattr(ctx context.Context, fh fs.FileHandle, out *fuse.AttrOut) syscall.Errno {
	if errno := n.LoopbackNode.Getattr(ctx, nil, out); errno != 0 {
		return errno
	}
	if out.Mode&syscall.S_IFREG != 0 {
		if size, ok := n.lfs.file(n.backingPath()).size(); ok {
			out.Size = uint64(size)
		}
	}
	return 0
}

// Setattr implements fs.NodeSetattrer: a size change is held back like a
// write.
func (n *node) Setattr(ctx context.Context, fh fs.FileHandle, in *fuse.SetAttrIn, out *fuse.AttrOut) syscall.Errno {
	if size, ok := in.GetSize(); ok {
		if err := n.lfs.file(n.backingPath()).truncate(int64(size)); err != nil {
			return fs.ToErrno(err)
		}
		in.Valid &^= fuse.FATTR_SIZE
	}
	if in.Valid&(fuse.FATTR_MODE|fuse.FATTR_UID|fuse.FATTR_GID|fuse.FATTR_ATIME|fuse.FATTR_MTIME) != 0 {
		if errno := n.LoopbackNode.Setattr(ctx, nil, in, out); errno != 0 {
			return errno
		}
	}
	return n.Getattr(ctx, nil, out)
}

// handle is an open file: reads and writes go to the file's state, locks
// and closing to the backing file.
type handle struct {
	inner fs.FileHandle
	f     *file
}

var (
	_ fs.FileReader   = (*handle)(nil)
	_ fs.FileWriter   = (*handle)(nil)
	_ fs.FileFsyncer  = (*handle)(nil)
	_ fs.FileFlusher  = (*handle)(nil)
	_ fs.FileReleaser = (*handle)(nil)
	_ fs.FileGetlker  = (*handle)(nil)
	_ fs.FileSetlker  = (*handle)(nil)
	_ fs.FileSetlkwer = (*handle)(nil)
)

// Read implements fs.FileReader.
func (h *handle) Read(_ context.Context, dest []byte, off int64) (fuse.ReadResult, syscall.Errno) {
	n, err := h.f.readAt(dest, off)
	if err != nil {
		return nil, fs.ToErrno(err)
	}
	return fuse.ReadResultData(dest[:n]), 0
}

// Write implements fs.FileWriter.
func (h *handle) Write(_ context.Context, data []byte, off int64) (uint32, syscall.Errno) {
	if err := h.f.writeAt(data, off); err != nil {
		return 0, fs.ToErrno(err)
	}
	return uint32(len(data)), 0
}

// Fsync implements fs.FileFsyncer: the file's pending writes reach the
// backing file, which is fsync'd.
func (h *handle) Fsync(_ context.Context, _ uint32) syscall.Errno {
	return fs.ToErrno(h.f.sync())
}

// Flush implements fs.FileFlusher; closing persists nothing.
func (h *handle) Flush(ctx context.Context) syscall.Errno {
	return h.inner.(fs.FileFlusher).Flush(ctx)
}

// Release implements fs.FileReleaser.
func (h *handle) Release(ctx context.Context) syscall.Errno {
	return h.inner.(fs.FileReleaser).Release(ctx)
}

// Getlk implements fs.FileGetlker.
func (h *handle) Getlk(ctx context.Context, owner uint64, lk *fuse.FileLock, flags uint32, out *fuse.FileLock) syscall.Errno {
	return h.inner.(fs.FileGetlker).Getlk(ctx, owner, lk, flags, out)
}

// Setlk implements fs.FileSetlker.
func (h *handle) Setlk(ctx context.Context, owner uint64, lk *fuse.FileLock, flags uint32) syscall.Errno {
	return h.inner.(fs.FileSetlker).Setlk(ctx, owner, lk, flags)
}

// Setlkw implements fs.FileSetlkwer.
func (h *handle) Setlkw(ctx context.Context, owner uint64, lk *fuse.FileLock, flags uint32) syscall.Errno {
	return h.inner.(fs.FileSetlkwer).Setlkw(ctx, owner, lk, flags)
}

// blockSize is the unit in which pending writes are tracked.
const blockSize = 4096

// file is one file's contents as the lazy file system shows them: the
// backing file, or, once written, a copy in memory with the blocks not yet
// fsync'd marked dirty.
type file struct {
	path string

	mu      sync.Mutex
	mem     []byte // nil: the backing file is the contents
	loaded  bool
	dirty   map[int64]bool
	resized bool
}

// load copies the backing file into memory.
func (f *file) load() error {
	if f.loaded {
		return nil
	}
	b, err := os.ReadFile(f.path)
	if err != nil {
		return err
	}
	f.mem, f.loaded, f.dirty, f.resized = b, true, map[int64]bool{}, false
	return nil
}

func (f *file) size() (int64, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return int64(len(f.mem)), f.loaded
}

func (f *file) readAt(dest []byte, off int64) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.loaded {
		b, err := os.Open(f.path)
		if err != nil {
			return 0, err
		}
		defer b.Close()
		n, err := b.ReadAt(dest, off)
		if err == nil || errors.Is(err, io.EOF) {
			return n, nil
		}
		return n, err
	}
	if off >= int64(len(f.mem)) {
		return 0, nil
	}
	return copy(dest, f.mem[off:]), nil
}

func (f *file) writeAt(data []byte, off int64) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.load(); err != nil {
		return err
	}
	if end := off + int64(len(data)); end > int64(len(f.mem)) {
		f.mem = append(f.mem, make([]byte, end-int64(len(f.mem)))...)
		f.resized = true
	}
	copy(f.mem[off:], data)
	for b := off / blockSize; b*blockSize < off+int64(len(data)); b++ {
		f.dirty[b] = true
	}
	return nil
}

func (f *file) truncate(size int64) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.load(); err != nil {
		return err
	}
	if size <= int64(len(f.mem)) {
		f.mem = f.mem[:size]
	} else {
		f.mem = append(f.mem, make([]byte, size-int64(len(f.mem)))...)
	}
	f.resized = true
	return nil
}

// sync writes the dirty blocks and the size to the backing file and
// fsyncs it.
func (f *file) sync() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.loaded || (len(f.dirty) == 0 && !f.resized) {
		return nil
	}
	b, err := os.OpenFile(f.path, os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	defer b.Close()
	for blk := range f.dirty {
		start := blk * blockSize
		if start >= int64(len(f.mem)) {
			continue
		}
		end := min(start+blockSize, int64(len(f.mem)))
		if _, err := b.WriteAt(f.mem[start:end], start); err != nil {
			return err
		}
	}
	if err := b.Truncate(int64(len(f.mem))); err != nil {
		return err
	}
	if err := b.Sync(); err != nil {
		return err
	}
	f.dirty, f.resized = map[int64]bool{}, false
	return nil
}

// cut drops the pending writes and returns their size in bytes.
func (f *file) cut() int64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := int64(len(f.dirty)) * blockSize
	f.mem, f.loaded, f.dirty, f.resized = nil, false, nil, false
	return n
}
