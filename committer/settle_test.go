package committer_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/landfall/landfall/committer"
	"github.com/landfall/landfall/hive"
)

// countingStep counts the commits of each partition it is asked to run.
type countingStep struct {
	mu sync.Mutex
	n  map[string]int
}

func (s *countingStep) Name() string { return "counting" }

func (s *countingStep) Commit(_ context.Context, p hive.Partition) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.n[p.Path]++
	return nil
}

func (s *countingStep) count(path string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.n[path]
}

// TestGracefulStopLeavesNoDoneCommitQueued: the last checkpoint of a
// graceful stop queues a commit that runs after it. The state the stop
// leaves must not list it any more: a restart would run its steps again
// (a notification sent twice) and `landfall status` would show it queued.
// The index entries published and the files renamed after that checkpoint
// leave the state too.
func TestGracefulStopLeavesNoDoneCommitQueued(t *testing.T) {
	e := newEnv(t, 1)
	h := time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC)
	cfg := e.config(func(c *committer.Config) {
		c.Watermark.OutOfOrderness = 5 * time.Minute
		// Only the stop's own checkpoint: it alone queues hour 10's commit.
		c.Checkpoint.Interval = time.Hour
	})
	steps := &countingStep{n: map[string]int{}}
	in := e.startWith(cfg, opts{now: func() time.Time { return h }}, []hive.Step{steps})
	e.produceRaw(rec(1, h.Add(10*time.Minute)), rec(2, h.Add(66*time.Minute)))
	waitFor(t, 10*time.Second, "both records consumed", func() bool { return in.p.Progress().Records == 2 })
	in.stop(t)
	const hour10 = "log_date=20261121/log_hour=10"
	if n := steps.count(hour10); n != 1 {
		t.Fatalf("hour 10 committed %d times by the stop, want 1", n)
	}
	cp := e.checkpoint()
	if len(cp.Commits) != 0 || len(cp.IndexPending) != 0 || len(cp.Pending) != 0 {
		t.Fatalf("after a graceful stop that drained everything the state lists %d commits, %d index entries, %d pending files (%+v); want none",
			len(cp.Commits), len(cp.IndexPending), len(cp.Pending), cp.Commits)
	}

	in = e.startWith(cfg, opts{now: func() time.Time { return h }}, []hive.Step{steps})
	waitFor(t, 10*time.Second, "consuming again", func() bool { return in.p.Progress().Consuming })
	time.Sleep(300 * time.Millisecond) // time for a queued commit to run
	in.stop(t)
	if n := steps.count(hour10); n != 1 {
		t.Fatalf("hour 10 committed %d times after a restart, want 1: the restart ran a commit the stop had done", n)
	}
	if l := readTable(t, e.dir); l.ByDir[hour10] != 1 {
		t.Fatalf("hour 10 holds %d records, want 1", l.ByDir[hour10])
	}
}

// TestRecoveryOnAnotherWarehouseNamesIt: a checkpoint that promised files
// and an index entry, recovered by a configuration pointing at another
// warehouse (they are not there), refuses to start and says which setting
// to check, rather than only that a file is lost or the index has a gap.
func TestRecoveryOnAnotherWarehouseNamesIt(t *testing.T) {
	e := newEnv(t, 1)
	c := crashAt(committer.FPAfterSave, 1)
	in := e.start(e.config(nil), opts{failpoint: c.hook})
	e.produce(20, time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC), time.Second)
	if err := in.crashed(t, 20*time.Second); !errors.Is(err, committer.ErrCrash) {
		t.Fatalf("want a crash after the first state write, got %v", err)
	}
	if cp := e.checkpoint(); cp == nil || len(cp.IndexPending) == 0 {
		t.Fatalf("the crashed checkpoint promises no index entry: %+v", cp)
	}
	e.dir = t.TempDir()
	in = e.start(e.config(nil), opts{})
	err := in.crashed(t, 20*time.Second)
	if err == nil {
		in.stop(t)
		t.Fatal("recovery on another warehouse started")
	}
	lost := errors.Is(err, committer.ErrLostFile) || strings.Contains(err.Error(), "is gone")
	if !lost || !strings.Contains(err.Error(), "warehouse.uri") {
		t.Fatalf("recovery on another warehouse: %v; want the lost file or entry, and warehouse.uri, named", err)
	}
}
