package committer_test

import (
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/landfall/landfall/committer"
	"github.com/landfall/landfall/hive"
	"github.com/landfall/landfall/writer/fsys"
)

// gatedSyncFS holds every Sync of a staging file while it is closed: a
// slow warehouse, on which rolling a checkpoint's files takes long.
type gatedSyncFS struct {
	fsys.FS
	mu      sync.Mutex
	open    chan struct{} // closed: syncs pass
	entered chan struct{} // a sync is held (buffered, one signal)
}

func newGatedSyncFS() *gatedSyncFS {
	g := &gatedSyncFS{open: make(chan struct{}), entered: make(chan struct{}, 1)}
	close(g.open)
	return g
}

// shut makes the syncs that follow wait for release.
func (g *gatedSyncFS) shut() {
	g.mu.Lock()
	g.open = make(chan struct{})
	g.mu.Unlock()
}

func (g *gatedSyncFS) release() {
	g.mu.Lock()
	select {
	case <-g.open:
	default:
		close(g.open)
	}
	g.mu.Unlock()
}

func (g *gatedSyncFS) Create(name string) (fsys.File, error) {
	f, err := g.FS.Create(name)
	if err != nil || !strings.Contains(name, "/staging/") {
		return f, err
	}
	return gatedSyncFile{f, g}, nil
}

type gatedSyncFile struct {
	fsys.File
	g *gatedSyncFS
}

func (f gatedSyncFile) Sync() error {
	f.g.mu.Lock()
	gate := f.g.open
	f.g.mu.Unlock()
	select {
	case <-gate:
	default:
		select {
		case f.g.entered <- struct{}{}:
		default:
		}
		<-gate
	}
	return f.File.Sync()
}

// TestConsumesWhileCheckpointSyncs: while a checkpoint's files sync (held
// here), the consume loop goes on consuming into new files; the checkpoint
// then written covers the records of the files it rolled, not those
// consumed since, so a crash before the next checkpoint loses nothing and
// duplicates nothing.
func TestConsumesWhileCheckpointSyncs(t *testing.T) {
	e := newEnv(t, 2)
	cfg := e.config(func(c *committer.Config) { c.Checkpoint.Interval = 200 * time.Millisecond })
	g := newGatedSyncFS()
	t.Cleanup(g.release)
	// Crashes at the state write of the checkpoint after the held one.
	var saves, crashAt atomic.Int64
	crashAt.Store(-1)
	hook := func(name string) error {
		if name != committer.FPBeforeSave {
			return nil
		}
		if saves.Add(1) == crashAt.Load() {
			return committer.ErrCrash
		}
		return nil
	}
	in := e.start(cfg, opts{failpoint: hook, wrapFS: func(f fsys.FS) fsys.FS {
		g.FS = f
		return fsys.WithDeadline(g, time.Minute)
	}})
	base := time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC)
	next := e.produce(1000, base, time.Second)
	e.waitConsumed(30 * time.Second)

	// The next checkpoint with files is held at its first sync.
	g.shut()
	next = e.produce(1000, next, time.Second)
	select {
	case <-g.entered:
	case <-time.After(10 * time.Second):
		t.Fatal("no checkpoint synced a file within 10s")
	}
	// What was consumed before the held checkpoint began is at most this.
	atCut := in.p.Progress().Records
	held := saves.Load()
	// The held checkpoint writes its state (saves held+1); the next one
	// crashes before its own.
	crashAt.Store(held + 2)
	e.produce(1000, next, time.Second)
	waitFor(t, 20*time.Second, "records consumed while a checkpoint's files sync", func() bool {
		return in.p.Progress().Records >= 3000
	})
	if saves.Load() != held {
		t.Fatalf("a checkpoint was written while its files were held (%d state writes, %d before)", saves.Load(), held)
	}

	g.release()
	err := in.crashed(t, 20*time.Second)
	if !errors.Is(err, committer.ErrCrash) {
		t.Fatalf("the checkpoint after the held one: %v, want the crash", err)
	}
	var covered int64
	for _, o := range e.checkpoint().Offsets {
		covered += o
	}
	if covered <= 1000 || covered > atCut {
		t.Fatalf("the durable checkpoint covers %d records, want more than the 1000 before it and at most the %d consumed when its files synced (the rest are in no durable file)", covered, atCut)
	}
	t.Logf("the held checkpoint covers %d records; %d were consumed while it synced", covered, 3000-covered)

	in = e.start(cfg, opts{})
	e.waitConsumed(60 * time.Second)
	in.stop(t)
	e.checkExactlyOnce(readTable(t, e.dir))
}

// TestCutCommitsBeforeItsRollEnds: a checkpoint whose cut makes an hour's
// commit due takes the records of that hour consumed while its files sync
// as late data: they land in the hour once and the hour is committed again
// as an update, never left in a committed partition the metastore doesn't
// count.
func TestCutCommitsBeforeItsRollEnds(t *testing.T) {
	e := newEnv(t, 1)
	cfg := e.config(func(c *committer.Config) { c.Checkpoint.Interval = 200 * time.Millisecond })
	g := newGatedSyncFS()
	t.Cleanup(g.release)
	rc := &recorder{}
	h := time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC)
	wfs, err := e.fs()
	if err != nil {
		t.Fatal(err)
	}
	in := e.startWith(cfg, opts{now: func() time.Time { return h }, wrapFS: func(f fsys.FS) fsys.FS {
		g.FS = f
		return fsys.WithDeadline(g, time.Minute)
	}}, []hive.Step{rc, committer.SuccessFile{FS: wfs}})
	defer in.stop(t)
	const hour10 = "log_date=20261121/log_hour=10"
	e.produceRaw(rec(1, h.Add(5*time.Minute)))
	e.waitConsumed(10 * time.Second)

	g.shut()
	e.produceRaw(rec(2, h.Add(2*time.Hour))) // its checkpoint commits hour 10
	select {
	case <-g.entered:
	case <-time.After(10 * time.Second):
		t.Fatal("no checkpoint synced a file within 10s")
	}
	if n := len(rc.commits(hour10)); n != 0 {
		t.Fatalf("hour 10 committed %d times before the checkpoint that commits it was written", n)
	}
	e.produceRaw(rec(3, h.Add(30*time.Minute))) // for hour 10, during the roll
	waitFor(t, 10*time.Second, "the record consumed while the files sync", func() bool { return in.p.Progress().Records >= 3 })
	g.release()

	waitFor(t, 10*time.Second, "hour 10 committed, then updated", func() bool { return len(rc.commits(hour10)) == 2 })
	cs := rc.commits(hour10)
	if cs[0].Update || cs[0].NumRows != 1 {
		t.Fatalf("hour 10's first commit: update %v, %d rows; want the first, of the 1 record before the cut", cs[0].Update, cs[0].NumRows)
	}
	if !cs[1].Update || cs[1].NumRows != 2 {
		t.Fatalf("hour 10's second commit: update %v, %d rows; want an update counting 2", cs[1].Update, cs[1].NumRows)
	}
	if n := readTable(t, e.dir).ByDir[hour10]; n != 2 {
		t.Fatalf("hour 10 holds %d records, want 2", n)
	}
}
