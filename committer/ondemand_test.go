package committer_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/landfall/landfall/committer"
	"github.com/landfall/landfall/hive"
	"github.com/landfall/landfall/index"
)

// TestCompactOnDemand: `landfall compact` merges a partition committed
// without compaction into one file, re-commits it so that the metastore's
// statistics describe the merged file, leaves every record once for a
// directory lister and for an index follower that ran throughout, and
// leaves a state that the next `landfall run` goes on from. A second run
// finds nothing to do and says so.
func TestCompactOnDemand(t *testing.T) {
	e := newEnv(t, 1)
	cfg := e.config(func(c *committer.Config) { c.Watermark.IdleCheckpoints = 1000 })
	rc := &recorder{}
	wfs, err := e.fs()
	if err != nil {
		t.Fatal(err)
	}
	steps := []hive.Step{rc, committer.SuccessFile{FS: wfs}}
	h := time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC)
	clock := func() time.Time { return h }
	fl := e.follow(t)
	in := e.startWith(cfg, opts{now: clock}, steps)
	et := h
	for i := 0; i < 8; i++ {
		et = e.produce(20, et, 10*time.Second) // hour 10, ~27 minutes
		time.Sleep(3 * cfg.Checkpoint.Interval)
	}
	e.produce(5, h.Add(2*time.Hour), time.Second) // the watermark passes hour 10
	const hour10 = "log_date=20261121/log_hour=10"
	waitFor(t, 10*time.Second, "hour 10 committed", func() bool { return len(rc.commits(hour10)) == 1 })
	e.waitConsumed(10 * time.Second)
	waitFor(t, 10*time.Second, "no commit queued", func() bool { return len(e.checkpoint().Commits) == 0 })
	in.stop(t)
	// Late records of the generator may have re-committed hour 10 since.
	n0 := len(rc.commits(hour10))
	before := rc.commits(hour10)[n0-1]
	if before.NumFiles < 4 {
		t.Fatalf("hour 10 was committed with %d files: the test needs small files", before.NumFiles)
	}

	if _, err := e.compact(cfg, "log_date=20261121", steps, nil); err == nil || !strings.Contains(err.Error(), "partition.pattern") {
		t.Fatalf("a path that is no partition: %v, want an error naming partition.pattern", err)
	}
	res, err := e.compact(cfg, hour10, steps, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.Merges != 1 || res.FilesAfter != 1 || res.FilesBefore != int(before.NumFiles) || !res.Recommitted || len(res.Unindexed) != 0 {
		t.Fatalf("compact: %+v, want %d files merged into 1 and the partition re-committed", res, before.NumFiles)
	}
	files, bytes := partFiles(t, wfs, hour10)
	cs := rc.commits(hour10)
	if len(cs) != n0+1 {
		t.Fatalf("%d commits of hour 10, want %d and the re-commit", len(cs), n0)
	}
	if again := cs[n0]; !again.Update || again.NumFiles != 1 || files != 1 || again.TotalSize != bytes || again.NumRows != before.NumRows {
		t.Fatalf("the re-commit says update %v, %d files, %d bytes, %d rows; the partition holds %d files, %d bytes, and held %d rows",
			again.Update, again.NumFiles, again.TotalSize, again.NumRows, files, bytes, before.NumRows)
	}
	live, err := index.Open(wfs, cfg.LogID).LiveFiles(t.Context(), hour10)
	if err != nil || len(live) != 1 {
		t.Fatalf("the index lists %d live files of hour 10 (%v), want the merged one", len(live), err)
	}

	again, err := e.compact(cfg, hour10, steps, nil)
	if err != nil || again.Merges != 0 || again.Recommitted || again.FilesBefore != 1 {
		t.Fatalf("a second compact: %+v, %v; want nothing to do", again, err)
	}

	// The next run goes on from the state compact left.
	in = e.startWith(cfg, opts{now: clock}, steps)
	e.produce(50, h.Add(2*time.Hour), time.Second)
	e.waitConsumed(10 * time.Second)
	in.stop(t)
	e.checkExactlyOnce(readTable(t, e.dir))
	fl.finish(t)
}

// TestCompactCrashRecovers: a compact that dies after promising its merge
// (before publishing it) leaves nothing half done: the next `landfall run`
// finishes the merge in its recovery, every record once.
func TestCompactCrashRecovers(t *testing.T) {
	e := newEnv(t, 1)
	cfg := e.config(func(c *committer.Config) { c.Watermark.IdleCheckpoints = 1000 })
	h := time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC)
	clock := func() time.Time { return h }
	fl := e.follow(t)
	in := e.start(cfg, opts{now: clock})
	et := h
	for i := 0; i < 6; i++ {
		et = e.produce(20, et, 10*time.Second)
		time.Sleep(3 * cfg.Checkpoint.Interval)
	}
	e.produce(5, h.Add(2*time.Hour), time.Second) // the watermark passes hour 10
	const hour10 = "log_date=20261121/log_hour=10"
	waitFor(t, 10*time.Second, "hour 10 committed", func() bool { return readTable(t, e.dir).Success[hour10] })
	e.waitConsumed(10 * time.Second)
	waitFor(t, 10*time.Second, "no commit queued", func() bool { return len(e.checkpoint().Commits) == 0 })
	in.stop(t)

	crash := crashAt(committer.FPMergeBeforePublish, 1)
	if _, err := e.compact(cfg, hour10, nil, crash.hook); !errors.Is(err, committer.ErrCrash) {
		t.Fatalf("compact with a crash before publishing: %v", err)
	}
	in = e.start(cfg, opts{now: clock})
	e.produce(20, h.Add(2*time.Hour), time.Second)
	e.waitConsumed(10 * time.Second)
	in.stop(t)
	l := readTable(t, e.dir)
	e.checkExactlyOnce(l)
	fl.finish(t)
	wfs, _ := e.fs()
	live, err := index.Open(wfs, cfg.LogID).LiveFiles(t.Context(), hour10)
	if err != nil || len(live) != 1 {
		t.Fatalf("after recovery the index lists %d live files of hour 10 (%v), want the merged one", len(live), err)
	}
}
