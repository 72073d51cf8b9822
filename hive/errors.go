package hive

import (
	"errors"
	"fmt"
	"io"
	"net"
	"syscall"

	"github.com/apache/thrift/lib/go/thrift"
	hms "github.com/beltran/gohive/hive_metastore"
)

// Sentinel errors. Errors returned by this package wrap one of them where it
// applies, so callers test with errors.Is.
var (
	// ErrNotFound means the metastore said the object (database, table,
	// partition) does not exist. It is permanent for LoadTable: landfall
	// never creates the table it lands into.
	ErrNotFound = errors.New("hive: not found")
	// ErrAlreadyExists means the metastore refused to create an object that
	// exists; partition registration turns it into an alter.
	ErrAlreadyExists = errors.New("hive: already exists")
	// ErrUnavailable means no metastore URI answered within the retry budget
	// of one call. It is transient: the commit queue retries it later.
	ErrUnavailable = errors.New("hive: metastore unavailable")
	// ErrMismatch means the table and landfall's configuration disagree
	// (format, partition keys, transactional table); see Check.
	ErrMismatch = errors.New("hive: table does not match configuration")
	// ErrUnsupportedFormat means the table's storage format is none that
	// landfall can write.
	ErrUnsupportedFormat = errors.New("hive: unsupported table format")
)

// PermanentError marks an error that retrying cannot fix: a missing table, a
// webhook answering 400, a notification topic that does not exist. The commit
// queue halts on it and shows the message to the operator instead of retrying
// for ever; every other error from a Step is transient and retried with
// backoff.
type PermanentError struct {
	Err error
}

func (e *PermanentError) Error() string { return e.Err.Error() }
func (e *PermanentError) Unwrap() error { return e.Err }

// Permanent wraps err as a PermanentError (nil stays nil).
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	var p *PermanentError
	if errors.As(err, &p) {
		return err
	}
	return &PermanentError{Err: err}
}

// IsPermanent reports whether err, returned by a Step or the Client, should
// stop retries. Context cancellation is neither: the caller is shutting down.
func IsPermanent(err error) bool {
	var p *PermanentError
	if errors.As(err, &p) {
		return true
	}
	var m *MetastoreError
	return errors.As(err, &m) && !m.transient
}

// MetastoreError is an exception the metastore answered with, kept with the
// operation that got it. Its Unwrap gives both the sentinel (ErrNotFound,
// ErrAlreadyExists) and the Thrift exception.
type MetastoreError struct {
	Op  string // Thrift method, e.g. "get_table"
	URI string
	Err error // the Thrift exception
	// kind is a sentinel or nil; transient says whether a retry may help.
	kind      error
	transient bool
}

func (e *MetastoreError) Error() string {
	return fmt.Sprintf("hive: metastore %s at %s: %v", e.Op, e.URI, e.Err)
}

func (e *MetastoreError) Unwrap() []error {
	if e.kind != nil {
		return []error{e.kind, e.Err}
	}
	return []error{e.Err}
}

// classify sorts an error from one Thrift call: whether the connection is
// broken (and must be dropped and the next URI tried) and whether a retry
// may succeed.
//
// Transport and protocol failures, timeouts and refused connections are
// transient: the metastore is down, restarting or slow. MetaException is
// transient too because the metastore uses it for its own backing database
// failing (a lost JDBC connection, a deadlock); its permanent uses ("invalid
// partition values") surface again on every retry and the queue's backoff
// keeps that cheap while the message stays visible. Everything the metastore
// says about the request itself — no such object, already exists, invalid
// object or operation — is permanent.
func classify(op, uri string, err error) (brokenConn, transient bool, out error) {
	if err == nil {
		return false, false, nil
	}
	var (
		noSuch   *hms.NoSuchObjectException
		unkTable *hms.UnknownTableException
		unkDB    *hms.UnknownDBException
		exists   *hms.AlreadyExistsException
		invObj   *hms.InvalidObjectException
		invOp    *hms.InvalidOperationException
		invIn    *hms.InvalidInputException
		meta     *hms.MetaException
		appErr   thrift.TApplicationException
	)
	me := func(kind error, transient bool) error {
		return &MetastoreError{Op: op, URI: uri, Err: err, kind: kind, transient: transient}
	}
	switch {
	case errors.As(err, &noSuch), errors.As(err, &unkTable), errors.As(err, &unkDB):
		return false, false, me(ErrNotFound, false)
	case errors.As(err, &exists):
		return false, false, me(ErrAlreadyExists, false)
	case errors.As(err, &invObj), errors.As(err, &invOp), errors.As(err, &invIn):
		return false, false, me(nil, false)
	case errors.As(err, &meta):
		return false, true, me(nil, true)
	case errors.As(err, &appErr):
		// The server read our request and answered with an error of its
		// own (unknown method on an older metastore, an internal error).
		// An internal error can be a passing failure; the connection
		// stays usable either way.
		internal := appErr.TypeId() == thrift.INTERNAL_ERROR
		return false, internal, me(nil, internal)
	}
	var (
		netErr   net.Error
		tTrans   thrift.TTransportException
		tProto   thrift.TProtocolException
		errnoErr syscall.Errno
	)
	if errors.As(err, &netErr) || errors.As(err, &tTrans) || errors.As(err, &tProto) ||
		errors.As(err, &errnoErr) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return true, true, fmt.Errorf("hive: metastore %s at %s: %w", op, uri, err)
	}
	// Unknown errors are treated as a broken connection that a retry may
	// fix: dropping a connection costs one reconnect, keeping a poisoned one
	// costs every later call.
	return true, true, fmt.Errorf("hive: metastore %s at %s: %w", op, uri, err)
}
