package committer_test

import (
	"errors"
	"fmt"
	"path"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/landfall/landfall/committer"
	"github.com/landfall/landfall/writer/fsys"
)

// hangingFS makes the Close of one part file, the first after it is armed,
// never return: a DataNode that stopped answering. The close is released
// when the test ends, so that its goroutine ends too.
type hangingFS struct {
	fsys.FS
	armed   atomic.Bool
	hung    atomic.Bool
	entered chan string // the file whose close hangs
	release chan struct{}
}

func newHangingFS(t *testing.T) *hangingFS {
	h := &hangingFS{entered: make(chan string, 1), release: make(chan struct{})}
	t.Cleanup(func() { close(h.release) })
	return h
}

// wrap is an opts.wrapFS: the pipeline sees the hang through
// fsys.WithDeadline, as landfall's own wiring gives it the warehouse.
func (h *hangingFS) wrap(timeout time.Duration) func(fsys.FS) fsys.FS {
	return func(inner fsys.FS) fsys.FS {
		h.FS = inner
		return fsys.WithDeadline(h, timeout)
	}
}

func (h *hangingFS) Create(name string) (fsys.File, error) {
	f, err := h.FS.Create(name)
	if err != nil || !strings.Contains(name, "/staging/") {
		return f, err // _SUCCESS markers close as usual
	}
	return &hangingFile{File: f, fs: h, name: name}, nil
}

type hangingFile struct {
	fsys.File
	fs   *hangingFS
	name string
}

func (f *hangingFile) Close() error {
	if f.fs.armed.Load() && f.fs.hung.CompareAndSwap(false, true) {
		f.fs.entered <- f.name
		<-f.fs.release
	}
	return f.File.Close()
}

// stopWithin is stop for a stop that may fail: it returns Run's error and
// fails the test only if Run outlasts within.
func (in *instance) stopWithin(t *testing.T, within time.Duration) error {
	t.Helper()
	in.cancel()
	select {
	case err := <-in.done:
		if cerr := in.store.Close(); cerr != nil {
			t.Fatal(cerr)
		}
		return err
	case <-time.After(within):
		t.Fatalf("graceful stop did not return within %v while a close hangs", within)
		return nil
	}
}

// TestStopWithHungClose: a part file's close never returns during a
// graceful stop. The stop still ends within the warehouse timeout (not at
// the 2-minute checkpoint timeout, nor never), saying which close timed
// out; the stop's checkpoint is durable, so the next run publishes the file
// and every record lands exactly once.
func TestStopWithHungClose(t *testing.T) {
	e := newEnv(t, 2)
	// No checkpoint but the stop's: the close that hangs is one of its files'.
	cfg := e.config(func(c *committer.Config) { c.Checkpoint.Interval = time.Hour })
	hang := newHangingFS(t)
	const timeout = 500 * time.Millisecond
	in := e.start(cfg, opts{wrapFS: hang.wrap(timeout)})
	base := time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC)
	next := e.produce(2000, base, 2*time.Second)
	waitFor(t, 30*time.Second, "the records in open files", func() bool { return in.p.Progress().Records >= 2000 })

	hang.armed.Store(true)
	start := time.Now()
	err := in.stopWithin(t, 10*time.Second)
	took := time.Since(start)
	select {
	case name := <-hang.entered:
		t.Logf("close of %s hung; the stop returned after %v: %v", name, took, err)
	default:
		t.Fatalf("no close hung during the stop (it returned %v): the test proved nothing", err)
	}
	if !errors.Is(err, fsys.ErrTimeout) {
		t.Fatalf("stop with a hung close: %v, want the close's fsys.ErrTimeout", err)
	}

	in = e.start(e.config(nil), opts{})
	waitFor(t, 30*time.Second, "the next run to recover", func() bool { return in.p.Progress().Consuming })
	e.produce(500, next, 2*time.Second)
	e.waitConsumed(60 * time.Second)
	in.stop(t)
	e.checkExactlyOnce(readTable(t, e.dir))
}

// TestCrashWithHungClose: the pipeline crashes (at the next checkpoint)
// while a finalizer's close hangs. Run still returns — the crash path waits
// for the finalizers, and their close gives up at the warehouse timeout —
// so a process can restart in place and its lease doesn't outlive it. A new
// run then lands every record exactly once.
func TestCrashWithHungClose(t *testing.T) {
	e := newEnv(t, 2)
	cfg := e.config(nil)
	hang := newHangingFS(t)
	hang.armed.Store(true)
	crash := func(name string) error {
		if name == committer.FPCheckpointStart && hang.hung.Load() {
			return fmt.Errorf("%w: %s while a close hangs", committer.ErrCrash, name)
		}
		return nil
	}
	// Long enough that the crash, 50ms of checkpoint interval later,
	// comes before the close gives up.
	const timeout = 2 * time.Second
	in := e.start(cfg, opts{failpoint: crash, wrapFS: hang.wrap(timeout)})
	base := time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC)
	next := e.produce(2000, base, 2*time.Second)
	select {
	case name := <-hang.entered:
		t.Logf("close of %s hangs", name)
	case <-time.After(30 * time.Second):
		t.Fatal("no close hung within 30s")
	}

	start := time.Now()
	err := in.crashed(t, 15*time.Second)
	if err == nil {
		t.Fatal("Run did not return within 15s of a crash while a close hangs")
	}
	t.Logf("Run returned %v after the close hung: %v", time.Since(start), err)
	if !errors.Is(err, committer.ErrCrash) {
		t.Fatalf("crash: %v, want the failpoint's error", err)
	}

	in = e.start(cfg, opts{})
	e.produce(500, next, 2*time.Second)
	e.waitConsumed(60 * time.Second)
	in.stop(t)
	e.checkExactlyOnce(readTable(t, e.dir))
}

// flakyOpenFS fails the first opens of one file, as a warehouse whose
// DataNode is restarting fails reads.
type flakyOpenFS struct {
	fsys.FS
	name  string
	fails *atomic.Int32
}

func (f flakyOpenFS) Open(name string) (fsys.Reader, error) {
	if name == f.name && f.fails.Add(-1) >= 0 {
		return nil, errors.New("injected: connect: connection refused")
	}
	return f.FS.Open(name)
}

// TestFormatCheckRidesOutWarehouseErrors: the format check at start reads
// a marker from the warehouse; a DataNode restarting then must delay the
// start, not end it as if the configuration were wrong (the faults test
// saw processes exit on it).
func TestFormatCheckRidesOutWarehouseErrors(t *testing.T) {
	e := newEnv(t, 1)
	cfg := e.config(nil)
	first := e.start(cfg, opts{})
	e.produce(100, time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC), time.Second)
	e.waitConsumed(10 * time.Second)
	first.stop(t)

	var fails atomic.Int32
	fails.Store(2)
	in := e.start(cfg, opts{wrapFS: func(f fsys.FS) fsys.FS {
		return flakyOpenFS{f, path.Join(".landfall", cfg.LogID, "format"), &fails}
	}})
	e.produce(100, time.Date(2026, 11, 20, 1, 0, 0, 0, time.UTC), time.Second)
	select {
	case err := <-in.done:
		t.Fatalf("the pipeline ended on a transient warehouse error at start: %v", err)
	case <-time.After(200 * time.Millisecond):
	}
	e.waitConsumed(20 * time.Second)
	in.stop(t)
	e.checkExactlyOnce(readTable(t, e.dir))
}

// hungSyncFS makes every Sync of a part file hang once armed: a warehouse
// whose DataNodes all stopped answering.
type hungSyncFS struct {
	fsys.FS
	armed   *atomic.Bool
	release chan struct{}
}

type hungSyncFile struct {
	fsys.File
	fs hungSyncFS
}

func (h hungSyncFS) Create(name string) (fsys.File, error) {
	f, err := h.FS.Create(name)
	if err != nil || !strings.Contains(name, "/staging/") {
		return f, err
	}
	return hungSyncFile{f, h}, nil
}

func (f hungSyncFile) Sync() error {
	if f.fs.armed.Load() {
		<-f.fs.release
	}
	return f.File.Sync()
}

// TestRollGivesUpAtTheFirstFailure: with hundreds of open partitions and
// every sync hung, a checkpoint fails after about one warehouse.timeout,
// not after one per 16 files (20 here): the crash, and the restart
// behind it, are not put off by waiting out every file's deadline.
func TestRollGivesUpAtTheFirstFailure(t *testing.T) {
	const timeout = 500 * time.Millisecond
	e := newEnv(t, 2)
	cfg := e.config(func(c *committer.Config) {
		c.Checkpoint.Interval = 300 * time.Millisecond
		c.Watermark.OutOfOrderness = 100 * 365 * 24 * time.Hour // nothing commits
	})
	var armed atomic.Bool
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	in := e.start(cfg, opts{wrapFS: func(f fsys.FS) fsys.FS {
		return fsys.WithDeadline(hungSyncFS{f, &armed, release}, timeout)
	}})
	// 320 open partitions in one interval: 320 files to roll.
	e.produce(320, time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC), time.Hour)
	waitFor(t, 20*time.Second, "the records consumed into open files", func() bool { return in.p.Progress().Records >= 320 })
	armed.Store(true)
	start := time.Now()
	select {
	case err := <-in.done:
		d := time.Since(start)
		t.Logf("the checkpoint failed %v after the warehouse hung: %v", d.Round(time.Millisecond), err)
		if d > 8*timeout+cfg.Checkpoint.Interval {
			t.Fatalf("the checkpoint took %v to fail with %v per call: it waited out more than the first deadlines", d, timeout)
		}
	case <-time.After(60 * time.Second):
		t.Fatal("the pipeline did not fail within 60s with every sync hung")
	}
	in.cancel()
	in.store.Abandon(true)
}
