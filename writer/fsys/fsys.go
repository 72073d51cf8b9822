package fsys

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/url"
)

// FS is a warehouse filesystem rooted at a table or warehouse directory.
// Names are slash-separated and relative to the root; parents are created as
// needed. Errors wrap fs.ErrExist and fs.ErrNotExist where those apply so that
// callers can make every step idempotent.
type FS interface {
	// Create makes a new file for writing; it fails with fs.ErrExist if the
	// name is taken.
	Create(name string) (File, error)
	// Open opens a file for reading.
	Open(name string) (Reader, error)
	// Rename moves oldname to newname atomically and never replaces: if
	// newname exists it fails with fs.ErrExist and changes nothing. The new
	// name's directory is created if needed and the rename is durable when
	// Rename returns.
	Rename(oldname, newname string) error
	// Remove deletes a file or an empty directory.
	Remove(name string) error
	// Stat describes a file or directory.
	Stat(name string) (fs.FileInfo, error)
	// ReadDir lists a directory, sorted by name.
	ReadDir(dir string) ([]fs.FileInfo, error)
	// MkdirAll creates a directory and its parents.
	MkdirAll(dir string) error
	// Recover makes a file that a dead process left open complete and
	// readable at its durable length (HDFS lease recovery). Locally a file
	// is always complete, so it only checks that the file exists.
	Recover(name string) error
	// Close releases the filesystem's connections.
	Close() error
}

// File is a file open for writing.
type File interface {
	io.Writer
	// Sync makes everything written so far durable (fsync, HDFS hsync),
	// including the file's directory entry.
	Sync() error
	// Close finishes the file. It may be slow (HDFS waits for the last block
	// to be finalized), which is why the committer calls it asynchronously
	// after Sync.
	Close() error
}

// Reader is a file open for reading.
type Reader interface {
	io.Reader
	io.ReaderAt
	io.Seeker
	io.Closer
	Size() int64
}

// ErrUnsupported is returned by Open for a URI scheme no backend serves.
var ErrUnsupported = errors.New("fsys: unsupported warehouse URI")

// Open returns the backend for a warehouse URI: file:///abs/path, or a
// plain absolute path.
func Open(uri string) (FS, error) {
	u, err := url.Parse(uri)
	if err != nil {
		return nil, fmt.Errorf("fsys: parse warehouse URI %q: %w", uri, err)
	}
	switch u.Scheme {
	case "", "file":
		if u.Path == "" || u.Path[0] != '/' {
			return nil, fmt.Errorf("%w: %q: want an absolute path, e.g. file:///data/warehouse", ErrUnsupported, uri)
		}
		return NewLocal(u.Path)
	case "hdfs":
		return openHDFS(u)
	default:
		return nil, fmt.Errorf("%w: %q: scheme %q (use file:// or hdfs://)", ErrUnsupported, uri, u.Scheme)
	}
}
