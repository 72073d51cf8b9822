package fsys

import (
	"errors"
	"fmt"
	"io/fs"
	"sync/atomic"
	"time"
)

// ErrTimeout is wrapped by the error of every call that outlasted the
// deadline of WithDeadline. The call may still complete later: what it did
// is unknown, so a caller treats the file as lost (the checkpoint it belongs
// to fails) and leaves it to recovery.
var ErrTimeout = errors.New("fsys: deadline exceeded")

// TimeoutError is the error of a call that outlasted its deadline; it
// wraps ErrTimeout.
type TimeoutError struct {
	Op    string // create, open, write, sync, close, read, seek, rename, remove, stat, list, mkdir, recover
	Name  string
	To    string        // the new name of a rename
	After time.Duration // the deadline it outlasted
}

func (e *TimeoutError) Error() string {
	name := e.Name
	if e.To != "" {
		name += " to " + e.To
	}
	return fmt.Sprintf("%s %s: %v after %v", e.Op, name, ErrTimeout, e.After)
}

func (e *TimeoutError) Unwrap() error { return ErrTimeout }

// Timeout reports true, as net.Error does for a deadline.
func (e *TimeoutError) Timeout() bool { return true }

// nativeDeadliner is a backend whose client can bound its own I/O (HDFS:
// the DataNode connections' deadlines). With it, a hung DataNode fails the
// call inside the client, so the goroutine WithDeadline abandoned ends and
// releases its file instead of waiting for the kernel's TCP timeout.
type nativeDeadliner interface {
	setIOTimeout(time.Duration)
}

// WithDeadline returns inner with every call bounded by timeout: FS
// methods, File Write, Sync and Close, Reader Read, ReadAt, Seek and Close.
// A call that outlasts it returns a *TimeoutError (errors.Is ErrTimeout)
// naming the operation and the file. This is what keeps a hung DataNode or NameNode
// from blocking a checkpoint, a graceful stop or a crash's clean-up for
// longer than timeout (P5).
//
// Go cannot cancel a blocked system call or RPC, so the call is run on its
// own goroutine and, on timeout, abandoned there: it keeps running and
// holds its file (a descriptor, an HDFS lease, the caller's buffer for a
// Write) until the OS or HDFS returns. Then the goroutine releases what the
// caller no longer can: it closes a file or reader whose Create or Open
// timed out, and closes the inner file of a File whose Write or Sync timed
// out. What such a late call wrote is never trusted — the bytes a Write
// read from a buffer the caller has reused since may be among them.
//
// A File or Reader one of whose calls timed out refuses every further call,
// Close included, with that call's error: a write after a timed-out write
// could leave a gap. A File is for one goroutine at a time, as the files it
// wraps are: its calls share one result channel and timer, so the write
// path allocates nothing but the goroutine. The FS, and a Reader's ReadAt,
// may be called concurrently.
//
// If inner has native deadlines (HDFS), they are set to timeout as well. A
// timeout of zero or less means no deadline: inner is returned as it is.
func WithDeadline(inner FS, timeout time.Duration) FS {
	if timeout <= 0 {
		return inner
	}
	if nd, ok := inner.(nativeDeadliner); ok {
		nd.setIOTimeout(timeout)
	}
	return &deadlineFS{inner: inner, timeout: timeout}
}

type deadlineFS struct {
	inner   FS
	timeout time.Duration
}

// Call states: the goroutine and the waiting caller race to move a call out
// of callRunning; whoever loses learns that the other side is gone.
const (
	callRunning int32 = iota
	callReturned
	callAbandoned
)

type outcome[T any] struct {
	v   T
	err error
}

// bounded runs fn on its own goroutine and waits at most d for it. If fn
// outlasts d, bounded returns a TimeoutError and, once fn returns, hands its
// result to orphan (nil: nothing to release).
func bounded[T any](d time.Duration, te TimeoutError, fn func() (T, error), orphan func(T, error)) (T, error) {
	done := make(chan outcome[T], 1)
	var state atomic.Int32
	go func() {
		v, err := fn()
		if state.CompareAndSwap(callRunning, callReturned) {
			done <- outcome[T]{v, err}
		} else if orphan != nil {
			orphan(v, err)
		}
	}()
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case o := <-done:
		return o.v, o.err
	case <-t.C:
		if !state.CompareAndSwap(callRunning, callAbandoned) {
			o := <-done // returned just now: the result is on its way
			return o.v, o.err
		}
		te.After = d
		var zero T
		return zero, &te
	}
}

func (d *deadlineFS) do(te TimeoutError, fn func() error) error {
	_, err := bounded(d.timeout, te, func() (struct{}, error) { return struct{}{}, fn() }, nil)
	return err
}

func (d *deadlineFS) Create(name string) (File, error) {
	f, err := bounded(d.timeout, TimeoutError{Op: "create", Name: name},
		func() (File, error) { return d.inner.Create(name) },
		func(f File, err error) {
			if err == nil {
				_ = f.Close() // nobody will write to it; recovery removes it
			}
		})
	if err != nil {
		return nil, err
	}
	return newDeadlineFile(f, name, d.timeout), nil
}

func (d *deadlineFS) Open(name string) (Reader, error) {
	r, err := bounded(d.timeout, TimeoutError{Op: "open", Name: name},
		func() (Reader, error) { return d.inner.Open(name) },
		func(r Reader, err error) {
			if err == nil {
				_ = r.Close()
			}
		})
	if err != nil {
		return nil, err
	}
	return &deadlineReader{inner: r, name: name, timeout: d.timeout}, nil
}

func (d *deadlineFS) Rename(oldname, newname string) error {
	return d.do(TimeoutError{Op: "rename", Name: oldname, To: newname}, func() error { return d.inner.Rename(oldname, newname) })
}

func (d *deadlineFS) Remove(name string) error {
	return d.do(TimeoutError{Op: "remove", Name: name}, func() error { return d.inner.Remove(name) })
}

func (d *deadlineFS) Stat(name string) (fs.FileInfo, error) {
	return bounded(d.timeout, TimeoutError{Op: "stat", Name: name}, func() (fs.FileInfo, error) { return d.inner.Stat(name) }, nil)
}

func (d *deadlineFS) ReadDir(dir string) ([]fs.FileInfo, error) {
	return bounded(d.timeout, TimeoutError{Op: "list", Name: dir}, func() ([]fs.FileInfo, error) { return d.inner.ReadDir(dir) }, nil)
}

func (d *deadlineFS) MkdirAll(dir string) error {
	return d.do(TimeoutError{Op: "mkdir", Name: dir}, func() error { return d.inner.MkdirAll(dir) })
}

func (d *deadlineFS) Recover(name string) error {
	return d.do(TimeoutError{Op: "recover", Name: name}, func() error { return d.inner.Recover(name) })
}

func (d *deadlineFS) Close() error {
	return d.do(TimeoutError{Op: "close", Name: "filesystem"}, d.inner.Close)
}

// File operations, run by deadlineFile.call's goroutine.
const (
	opWrite = iota + 1
	opSync
	opClose
)

var opNames = [...]string{opWrite: "write", opSync: "sync", opClose: "close"}

// deadlineFile bounds a File's calls. One call runs at a time, so its
// arguments and result live in the struct and the channel and timer are
// reused; after a timeout the struct belongs to the abandoned goroutine
// until it returns, and the caller only reads err.
type deadlineFile struct {
	inner   File
	name    string
	timeout time.Duration
	timer   *time.Timer
	done    chan struct{} // buffered 1: the goroutine's result is in n, cerr
	state   atomic.Int32
	err     error // the first timeout; sticky

	op   int
	buf  []byte
	n    int
	cerr error
}

func newDeadlineFile(inner File, name string, timeout time.Duration) *deadlineFile {
	t := time.NewTimer(timeout)
	t.Stop()
	return &deadlineFile{inner: inner, name: name, timeout: timeout, timer: t, done: make(chan struct{}, 1)}
}

func (f *deadlineFile) Write(b []byte) (int, error) {
	if f.err != nil {
		return 0, f.err
	}
	f.buf = b
	return f.call(opWrite)
}

func (f *deadlineFile) Sync() error {
	if f.err != nil {
		return f.err
	}
	_, err := f.call(opSync)
	return err
}

func (f *deadlineFile) Close() error {
	if f.err != nil {
		return f.err
	}
	_, err := f.call(opClose)
	return err
}

func (f *deadlineFile) call(op int) (int, error) {
	f.op = op
	f.state.Store(callRunning)
	go f.run()
	f.timer.Reset(f.timeout)
	select {
	case <-f.done:
		f.timer.Stop()
	case <-f.timer.C:
		if f.state.CompareAndSwap(callRunning, callAbandoned) {
			f.err = &TimeoutError{Op: opNames[op], Name: f.name, After: f.timeout}
			return 0, f.err
		}
		<-f.done
	}
	n, err := f.n, f.cerr
	f.buf, f.cerr = nil, nil
	return n, err
}

func (f *deadlineFile) run() {
	var n int
	var err error
	switch f.op {
	case opWrite:
		n, err = f.inner.Write(f.buf)
	case opSync:
		err = f.inner.Sync()
	case opClose:
		err = f.inner.Close()
	}
	if f.state.CompareAndSwap(callRunning, callReturned) {
		f.n, f.cerr = n, err
		f.done <- struct{}{}
		return
	}
	if f.op != opClose {
		// The caller gave up on the file and will never close it.
		_ = f.inner.Close()
	}
}

// deadlineReader bounds a Reader's calls. Reads are rare (recovery,
// compaction, tests), and ReadAt may run in parallel, so each call gets its
// own channel.
type deadlineReader struct {
	inner   Reader
	name    string
	timeout time.Duration
	err     atomic.Pointer[TimeoutError]
}

type readResult struct {
	n   int
	off int64
}

func (r *deadlineReader) failed() error {
	if te := r.err.Load(); te != nil {
		return te
	}
	return nil
}

func (r *deadlineReader) bound(te TimeoutError, fn func() (readResult, error)) (readResult, error) {
	if err := r.failed(); err != nil {
		return readResult{}, err
	}
	res, err := bounded(r.timeout, te, fn, func(readResult, error) {
		if te.Op != "close" {
			_ = r.inner.Close()
		}
	})
	var timedOut *TimeoutError
	if errors.As(err, &timedOut) {
		r.err.CompareAndSwap(nil, timedOut)
	}
	return res, err
}

func (r *deadlineReader) Read(b []byte) (int, error) {
	res, err := r.bound(TimeoutError{Op: "read", Name: r.name}, func() (readResult, error) {
		n, err := r.inner.Read(b)
		return readResult{n: n}, err
	})
	return res.n, err
}

func (r *deadlineReader) ReadAt(b []byte, off int64) (int, error) {
	res, err := r.bound(TimeoutError{Op: "read", Name: r.name}, func() (readResult, error) {
		n, err := r.inner.ReadAt(b, off)
		return readResult{n: n}, err
	})
	return res.n, err
}

// Seek is bounded too: on HDFS a short forward seek reads and drops the
// bytes in between.
func (r *deadlineReader) Seek(offset int64, whence int) (int64, error) {
	res, err := r.bound(TimeoutError{Op: "seek", Name: r.name}, func() (readResult, error) {
		off, err := r.inner.Seek(offset, whence)
		return readResult{off: off}, err
	})
	return res.off, err
}

func (r *deadlineReader) Close() error {
	_, err := r.bound(TimeoutError{Op: "close", Name: r.name}, func() (readResult, error) {
		return readResult{}, r.inner.Close()
	})
	return err
}

func (r *deadlineReader) Size() int64 { return r.inner.Size() }
