package fsys

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestDeadlineLocalConformance(t *testing.T) {
	Conformance(t, func(t *testing.T) FS {
		l, err := NewLocal(t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		return WithDeadline(l, time.Minute)
	})
}

// stuckFS is a local FS whose Rename, and whose files' Sync and Close,
// block until release is closed: a NameNode or DataNode that stopped
// answering.
type stuckFS struct {
	FS
	release chan struct{}
	entered chan string // each blocked call, as it blocks
	writes  atomic.Int64
	closes  atomic.Int64
	// inflight are the calls blocked or still returning.
	inflight sync.WaitGroup
}

func newStuckFS(t *testing.T) *stuckFS {
	l, err := NewLocal(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	s := &stuckFS{FS: l, release: make(chan struct{}), entered: make(chan string, 16)}
	// Released calls finish before the temporary directory is removed
	// (cleanups run last-registered first): a rename landing during the
	// removal made it fail with "directory not empty".
	t.Cleanup(func() { close(s.release); s.inflight.Wait() })
	return s
}

func (s *stuckFS) block(op string) {
	s.entered <- op
	<-s.release
}

// track counts a call that may block until it has returned.
func (s *stuckFS) track() func() {
	s.inflight.Add(1)
	return s.inflight.Done
}

func (s *stuckFS) Create(name string) (File, error) {
	f, err := s.FS.Create(name)
	if err != nil {
		return nil, err
	}
	return &stuckFile{File: f, fs: s}, nil
}

func (s *stuckFS) Rename(oldname, newname string) error {
	defer s.track()()
	s.block("rename")
	return s.FS.Rename(oldname, newname)
}

type stuckFile struct {
	File
	fs *stuckFS
}

func (f *stuckFile) Write(b []byte) (int, error) {
	f.fs.writes.Add(1)
	return f.File.Write(b)
}

func (f *stuckFile) Sync() error {
	defer f.fs.track()()
	f.fs.block("sync")
	return f.File.Sync()
}

func (f *stuckFile) Close() error {
	defer f.fs.track()()
	f.fs.closes.Add(1)
	f.fs.block("close")
	return f.File.Close()
}

// TestDeadlineAbandonsStuckCalls: a Close, a Sync and a Rename that never
// return come back with ErrTimeout after the deadline, naming what hung;
// the file refuses every later call without reaching the backend.
func TestDeadlineAbandonsStuckCalls(t *testing.T) {
	const timeout = 200 * time.Millisecond
	for _, op := range []string{"close", "sync", "rename"} {
		t.Run(op, func(t *testing.T) {
			s := newStuckFS(t)
			d := WithDeadline(s, timeout)
			f, err := d.Create("staging/x.txt")
			if err != nil {
				t.Fatal(err)
			}
			if _, err := f.Write([]byte("before")); err != nil {
				t.Fatal(err)
			}
			start := time.Now()
			res := make(chan error, 1)
			go func() {
				switch op {
				case "close":
					res <- f.Close()
				case "sync":
					res <- f.Sync()
				case "rename":
					res <- d.Rename("staging/x.txt", "dt=1/x.txt")
				}
			}()
			select {
			case err = <-res:
			case <-time.After(timeout + 5*time.Second):
				t.Fatalf("%s of a hung backend did not return within %v", op, timeout+5*time.Second)
			}
			took := time.Since(start)
			if !errors.Is(err, ErrTimeout) {
				t.Fatalf("%s of a hung backend: %v, want ErrTimeout", op, err)
			}
			if took < timeout || took > timeout+2*time.Second {
				t.Fatalf("%s returned after %v, want about %v", op, took, timeout)
			}
			want := fmt.Sprintf("%s staging/x.txt", op)
			if op == "rename" {
				want = "rename staging/x.txt to dt=1/x.txt"
			}
			if want += ": fsys: deadline exceeded after 200ms"; err.Error() != want {
				t.Fatalf("error %q, want %q", err, want)
			}
			var te *TimeoutError
			if !errors.As(err, &te) || te.Op != op || te.After != timeout {
				t.Fatalf("error %#v is not the TimeoutError of %s", err, op)
			}
			if got := <-s.entered; got != op {
				t.Fatalf("backend blocked in %s, want %s", got, op)
			}
			if op == "rename" {
				return // the file is not involved
			}
			// Never write after a timeout, and don't even reach the backend.
			if _, werr := f.Write([]byte("after")); werr != err {
				t.Fatalf("write after a timed-out %s: %v, want %v", op, werr, err)
			}
			if serr := f.Sync(); serr != err {
				t.Fatalf("sync after a timed-out %s: %v, want %v", op, serr, err)
			}
			if cerr := f.Close(); cerr != err {
				t.Fatalf("close after a timed-out %s: %v, want %v", op, cerr, err)
			}
			if n := s.writes.Load(); n != 1 {
				t.Fatalf("backend saw %d writes, want only the one before the timeout", n)
			}
			if n := s.closes.Load(); op == "close" && n != 1 {
				t.Fatalf("backend saw %d closes, want the one that hung", n)
			}
		})
	}
}

// TestDeadlineClosesAbandonedFile: once a timed-out Sync finally returns,
// the wrapper closes the file the caller can no longer close.
func TestDeadlineClosesAbandonedFile(t *testing.T) {
	l, err := NewLocal(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	s := &stuckFS{FS: l, release: make(chan struct{}), entered: make(chan string, 16)}
	released := false
	t.Cleanup(func() {
		if !released {
			close(s.release)
		}
	})
	f, err := WithDeadline(s, 50*time.Millisecond).Create("x")
	if err != nil {
		t.Fatal(err)
	}
	res := make(chan error, 1)
	go func() { res <- f.Sync() }()
	select {
	case err := <-res:
		if !errors.Is(err, ErrTimeout) {
			t.Fatalf("sync: %v, want ErrTimeout", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("sync of a hung backend did not return within 5s")
	}
	if s.closes.Load() != 0 {
		t.Fatal("closed while the sync still runs")
	}
	close(s.release)
	released = true
	deadline := time.Now().Add(5 * time.Second)
	for s.closes.Load() == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the abandoned file was not closed after its sync returned")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// A call that returns in time is passed through, errors included.
func TestDeadlinePassesThrough(t *testing.T) {
	l, err := NewLocal(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	d := WithDeadline(l, time.Second)
	f, err := d.Create("a")
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err == nil || errors.Is(err, ErrTimeout) || !strings.Contains(err.Error(), "close") {
		t.Fatalf("second close: %v, want the backend's error", err)
	}
	if WithDeadline(l, 0) != FS(l) {
		t.Fatal("a zero timeout should leave the FS unwrapped")
	}
}

// BenchmarkWrite compares writes to a local file through WithDeadline with
// direct ones: the wrapper's cost is a goroutine per call.
//
//	go test -run '^$' -bench BenchmarkWrite -count 5 ./writer/fsys/
func BenchmarkWrite(b *testing.B) {
	for _, size := range []int{16 << 10, 256 << 10} {
		for _, wrapped := range []bool{false, true} {
			name := fmt.Sprintf("%dKiB/local", size>>10)
			if wrapped {
				name = fmt.Sprintf("%dKiB/deadline", size>>10)
			}
			b.Run(name, func(b *testing.B) { benchWrite(b, size, wrapped) })
		}
	}
}

func benchWrite(b *testing.B, size int, wrapped bool) {
	l, err := NewLocal(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	var fs FS = l
	if wrapped {
		fs = WithDeadline(l, time.Minute)
	}
	buf := bytes.Repeat([]byte("landfall"), size/8)
	const perFile = 64 << 20
	var f File
	var written, files int
	next := func() {
		if f != nil {
			if err := f.Close(); err != nil {
				b.Fatal(err)
			}
			if err := l.Remove(fmt.Sprint(files - 1)); err != nil {
				b.Fatal(err)
			}
		}
		if f, err = fs.Create(fmt.Sprint(files)); err != nil {
			b.Fatal(err)
		}
		files++
		written = 0
	}
	next()
	b.SetBytes(int64(size))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if written >= perFile {
			b.StopTimer()
			next()
			b.StartTimer()
		}
		if _, err := f.Write(buf); err != nil {
			b.Fatal(err)
		}
		written += size
	}
	b.StopTimer()
	if err := f.Close(); err != nil {
		b.Fatal(err)
	}
}
