package fsys

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/url"

	krb "github.com/jcmturner/gokrb5/v8/client"
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
//
// Options configure one backend and are ignored by the others: a
// Kerberos client means nothing to the local filesystem.
func Open(uri string, opts ...OpenOption) (FS, error) {
	var o openOptions
	for _, f := range opts {
		f(&o)
	}
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
		return openHDFS(u, o)
	default:
		return nil, fmt.Errorf("%w: %q: scheme %q (use file:// or hdfs://)", ErrUnsupported, uri, u.Scheme)
	}
}

// OpenOption configures Open.
type OpenOption func(*openOptions)

type openOptions struct {
	hdfs []func(*HDFSOptions)
}

// WithKerberos has an hdfs:// warehouse log in to the NameNode with cl
// (logged in, and kept logged in, by its owner) as the service principal
// spn (e.g. "nn/_HOST": _HOST becomes each NameNode's host name, as in
// dfs.namenode.kerberos.principal), and talk SASL to the DataNodes with
// protection ("authentication", "integrity" or "privacy", the cluster's
// dfs.data.transfer.protection; empty for none).
func WithKerberos(cl *krb.Client, spn, protection string) OpenOption {
	return func(o *openOptions) {
		o.hdfs = append(o.hdfs, func(h *HDFSOptions) {
			h.KerberosClient, h.KerberosServicePrincipalName, h.DataTransferProtection = cl, spn, protection
		})
	}
}
