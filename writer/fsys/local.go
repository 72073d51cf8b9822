package fsys

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"

	"golang.org/x/sys/unix"
)

// Local is the local-filesystem backend, used by the quickstart and the fast
// tests. Durability is real: Sync fsyncs the file and its directory.
type Local struct {
	root string
}

// NewLocal returns a Local rooted at dir, creating it if needed.
func NewLocal(dir string) (*Local, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("fsys: create root: %w", err)
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	return &Local{root: abs}, nil
}

// Root is the absolute directory the names are relative to.
func (l *Local) Root() string { return l.root }

func (l *Local) path(name string) (string, error) {
	clean := path.Clean("/" + name)
	if strings.Contains(name, "\x00") {
		return "", fmt.Errorf("fsys: bad name %q", name)
	}
	return filepath.Join(l.root, filepath.FromSlash(clean)), nil
}

func (l *Local) Create(name string) (File, error) {
	p, err := l.path(name)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return nil, fmt.Errorf("fsys: create %s: %w", name, err)
	}
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return nil, fmt.Errorf("fsys: create %s: %w", name, err)
	}
	return &localFile{f: f}, nil
}

type localFile struct {
	f         *os.File
	dirSynced bool
}

func (f *localFile) Write(p []byte) (int, error) { return f.f.Write(p) }

func (f *localFile) Sync() error {
	if err := f.f.Sync(); err != nil {
		return fmt.Errorf("fsys: sync %s: %w", f.f.Name(), err)
	}
	if !f.dirSynced {
		if err := syncDir(filepath.Dir(f.f.Name())); err != nil {
			return err
		}
		f.dirSynced = true
	}
	return nil
}

func (f *localFile) Close() error {
	if err := f.f.Close(); err != nil {
		return fmt.Errorf("fsys: close %s: %w", f.f.Name(), err)
	}
	return nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("fsys: sync dir %s: %w", dir, err)
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("fsys: sync dir %s: %w", dir, err)
	}
	return nil
}

func (l *Local) Open(name string) (Reader, error) {
	p, err := l.path(name)
	if err != nil {
		return nil, err
	}
	f, err := os.Open(p)
	if err != nil {
		return nil, fmt.Errorf("fsys: open %s: %w", name, err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("fsys: open %s: %w", name, err)
	}
	if st.IsDir() {
		f.Close()
		return nil, fmt.Errorf("fsys: open %s: is a directory", name)
	}
	return &localReader{File: f, size: st.Size()}, nil
}

type localReader struct {
	*os.File
	size int64
}

func (r *localReader) Size() int64 { return r.size }

func (l *Local) Rename(oldname, newname string) error {
	op, err := l.path(oldname)
	if err != nil {
		return err
	}
	np, err := l.path(newname)
	if err != nil {
		return err
	}
	if _, err := os.Stat(op); err != nil {
		return fmt.Errorf("fsys: rename %s: %w", oldname, err)
	}
	if err := os.MkdirAll(filepath.Dir(np), 0o755); err != nil {
		return fmt.Errorf("fsys: rename %s: %w", oldname, err)
	}
	// RENAME_NOREPLACE makes "never replace" atomic; where the filesystem
	// lacks it, link+unlink gives the same guarantee (link fails on EEXIST).
	err = unix.Renameat2(unix.AT_FDCWD, op, unix.AT_FDCWD, np, unix.RENAME_NOREPLACE)
	if errors.Is(err, unix.EINVAL) || errors.Is(err, unix.ENOSYS) {
		if err = os.Link(op, np); err == nil {
			err = os.Remove(op)
		}
	}
	if err != nil {
		if errors.Is(err, unix.EEXIST) || errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("fsys: rename %s to %s: %w", oldname, newname, fs.ErrExist)
		}
		if errors.Is(err, unix.ENOENT) {
			return fmt.Errorf("fsys: rename %s: %w", oldname, fs.ErrNotExist)
		}
		return fmt.Errorf("fsys: rename %s to %s: %w", oldname, newname, err)
	}
	if err := syncDir(filepath.Dir(np)); err != nil {
		return err
	}
	if filepath.Dir(np) != filepath.Dir(op) {
		return syncDir(filepath.Dir(op))
	}
	return nil
}

func (l *Local) Remove(name string) error {
	p, err := l.path(name)
	if err != nil {
		return err
	}
	if err := os.Remove(p); err != nil {
		return fmt.Errorf("fsys: remove %s: %w", name, err)
	}
	return nil
}

func (l *Local) Stat(name string) (fs.FileInfo, error) {
	p, err := l.path(name)
	if err != nil {
		return nil, err
	}
	st, err := os.Stat(p)
	if err != nil {
		return nil, fmt.Errorf("fsys: stat %s: %w", name, err)
	}
	return st, nil
}

func (l *Local) ReadDir(dir string) ([]fs.FileInfo, error) {
	p, err := l.path(dir)
	if err != nil {
		return nil, err
	}
	ents, err := os.ReadDir(p)
	if err != nil {
		return nil, fmt.Errorf("fsys: list %s: %w", dir, err)
	}
	out := make([]fs.FileInfo, 0, len(ents))
	for _, e := range ents {
		info, err := e.Info()
		if errors.Is(err, fs.ErrNotExist) {
			continue // removed while listing
		}
		if err != nil {
			return nil, fmt.Errorf("fsys: list %s: %w", dir, err)
		}
		out = append(out, info)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name() < out[j].Name() })
	return out, nil
}

func (l *Local) MkdirAll(dir string) error {
	p, err := l.path(dir)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(p, 0o755); err != nil {
		return fmt.Errorf("fsys: mkdir %s: %w", dir, err)
	}
	return nil
}

func (l *Local) Recover(name string) error {
	_, err := l.Stat(name)
	return err
}

func (l *Local) Close() error { return nil }
