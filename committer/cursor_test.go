package committer_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/landfall/landfall/committer"
	"github.com/landfall/landfall/hive"
)

// TestFirstRecordIn1970: the commit cursor of a first record in the first
// hour of 1970 is 0, a real instant and not "unset": that hour and the
// later ones commit (version 1 of the state read a zero cursor as unset
// and committed nothing, ever).
func TestFirstRecordIn1970(t *testing.T) {
	e := newEnv(t, 1)
	cfg := e.config(func(c *committer.Config) { c.Commit.Horizon = 2 * time.Hour })
	h := time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC)
	in := e.start(cfg, opts{now: func() time.Time { return h }})
	defer in.stop(t)
	e.produceRaw(rec(1, time.UnixMilli(1000)), rec(2, h.Add(5*time.Minute)), rec(3, h.Add(70*time.Minute)))
	waitFor(t, 10*time.Second, "1970's first hour and 2026-11-21 10:00 committed", func() bool {
		l := readTable(t, e.dir)
		return l.Success["log_date=19700101/log_hour=00"] && l.Success["log_date=20261121/log_hour=10"]
	})
}

// TestAncientRecordIsNoCommitStorm: a first record from 1970-01-01 01:00
// must not make the cursor walk 56 years of empty hours (1,000 commits a
// checkpoint into the state's limit): the hour with data commits, empty
// hours further than commit.horizon behind the watermark are skipped, and
// the current hour commits at once.
func TestAncientRecordIsNoCommitStorm(t *testing.T) {
	e := newEnv(t, 1)
	cfg := e.config(func(c *committer.Config) { c.Commit.Horizon = 2 * time.Hour })
	h := time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC)
	in := e.start(cfg, opts{now: func() time.Time { return h }})
	defer in.stop(t)
	e.produceRaw(rec(1, time.UnixMilli(3600_000+5)), rec(2, h.Add(5*time.Minute)), rec(3, h.Add(70*time.Minute)))
	waitFor(t, 10*time.Second, "2026-11-21 10:00 committed", func() bool {
		return readTable(t, e.dir).Success["log_date=20261121/log_hour=10"]
	})
	l := readTable(t, e.dir)
	if !l.Success["log_date=19700101/log_hour=01"] || l.ByDir["log_date=19700101/log_hour=01"] != 1 {
		t.Fatalf("the 1970 hour with data: committed %v with %d records", l.Success["log_date=19700101/log_hour=01"], l.ByDir["log_date=19700101/log_hour=01"])
	}
	// 01:00 1970 with data, 08:00 and 09:00 (empty, within the horizon),
	// 10:00.
	if n := len(l.Success); n > 4 {
		t.Fatalf("%d partitions committed: the cursor walked empty hours beyond the horizon", n)
	}
	if cp := e.checkpoint(); len(cp.Commits) > 4 {
		t.Fatalf("%d commits queued in the state", len(cp.Commits))
	}
}

// recorder is a commit step that keeps every partition commit it saw.
type recorder struct {
	mu  sync.Mutex
	got []hive.Partition
}

func (r *recorder) Name() string { return "recorder" }

func (r *recorder) Commit(_ context.Context, p hive.Partition) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, q := range r.got {
		if q.Key == p.Key {
			return nil // a retry of a commit already seen
		}
	}
	r.got = append(r.got, p)
	return nil
}

func (r *recorder) commits(path string) []hive.Partition {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []hive.Partition
	for _, p := range r.got {
		if p.Path == path {
			out = append(out, p)
		}
	}
	return out
}

// TestLateAfterRetentionIsANewCommit: late data for a partition whose
// totals were dropped after late.retention re-commits it with a key of its
// own, as an update, and with statistics of the whole partition (from its
// files), not of the late file alone.
func TestLateAfterRetentionIsANewCommit(t *testing.T) {
	e := newEnv(t, 1)
	cfg := e.config(func(c *committer.Config) {
		c.Late.Retention = time.Hour
		c.Watermark.IdleCheckpoints = 1000
	})
	rc := &recorder{}
	h := time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC)
	wfs, err := e.fs()
	if err != nil {
		t.Fatal(err)
	}
	in := e.startWith(cfg, opts{now: func() time.Time { return h.Add(4 * time.Hour) }}, []hive.Step{rc, committer.SuccessFile{FS: wfs}})
	defer in.stop(t)
	const hour10 = "log_date=20261121/log_hour=10"
	e.produceRaw(rec4(h)...)
	e.produceRaw(recLine(10, h.Add(200*time.Minute))) // 13:20: hour 10 is committed and, past 12:20, dropped
	waitFor(t, 10*time.Second, "hour 10 committed and dropped from the state", func() bool {
		cp := e.checkpoint()
		return len(rc.commits(hour10)) == 1 && cp != nil && cp.Partitions[hour10] == nil
	})
	e.produceRaw(recLine(11, h.Add(30*time.Minute))) // late, for hour 10
	waitFor(t, 10*time.Second, "hour 10 re-committed", func() bool { return len(rc.commits(hour10)) == 2 })
	cs := rc.commits(hour10)
	first, again := cs[0], cs[1]
	if again.Key == first.Key {
		t.Fatalf("the late re-commit reuses the key %q", first.Key)
	}
	if !again.Update {
		t.Fatal("the late re-commit is not marked as an update")
	}
	if again.Seq <= first.Seq {
		t.Fatalf("the re-commit's sequence %d is not above the first's %d", again.Seq, first.Seq)
	}
	l := readTable(t, e.dir)
	if l.ByDir[hour10] != 5 {
		t.Fatalf("hour 10 holds %d records, want 5", l.ByDir[hour10])
	}
	if again.NumFiles != first.NumFiles+1 || again.TotalSize <= first.TotalSize {
		t.Fatalf("the re-commit says %d files, %d bytes; the partition has %d+1 files, more than %d bytes", again.NumFiles, again.TotalSize, first.NumFiles, first.TotalSize)
	}
	if again.NumRows == 1 || again.NumRows > 5 {
		t.Fatalf("the re-commit claims %d rows; the partition holds 5 (or unknown, -1)", again.NumRows)
	}
}

func rec4(h time.Time) []string {
	return []string{recLine(1, h.Add(time.Minute)), recLine(2, h.Add(2*time.Minute)), recLine(3, h.Add(3*time.Minute)), recLine(4, h.Add(4*time.Minute))}
}

func recLine(id int, ts time.Time) string { return rec(id, ts) }

// TestRecordBeforeTheFirstCursorIsAPlainCommit: a late record for an hour
// before the one landfall started committing at was never committed by
// landfall: its commit is a first commit with exact totals (an update with
// unknown rows would leave the metastore's numRows unset).
func TestRecordBeforeTheFirstCursorIsAPlainCommit(t *testing.T) {
	e := newEnv(t, 1)
	cfg := e.config(func(c *committer.Config) { c.Watermark.IdleCheckpoints = 1000 })
	rc := &recorder{}
	h := time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC)
	wfs, err := e.fs()
	if err != nil {
		t.Fatal(err)
	}
	in := e.startWith(cfg, opts{now: func() time.Time { return h.Add(4 * time.Hour) }}, []hive.Step{rc, committer.SuccessFile{FS: wfs}})
	defer in.stop(t)
	e.produceRaw(rec(1, h.Add(time.Minute)), rec(2, h.Add(70*time.Minute)))
	waitFor(t, 10*time.Second, "hour 10 committed", func() bool { return len(rc.commits("log_date=20261121/log_hour=10")) == 1 })
	const hour08 = "log_date=20261121/log_hour=08"
	e.produceRaw(rec(3, h.Add(-90*time.Minute)), rec(4, h.Add(-80*time.Minute))) // 08:30, 08:40: before the first cursor
	waitFor(t, 10*time.Second, "hour 08 committed", func() bool { return len(rc.commits(hour08)) == 1 })
	c := rc.commits(hour08)[0]
	if c.Update || c.NumRows != 2 || c.NumFiles != 1 {
		t.Fatalf("hour 08's commit: update %v, %d rows, %d files; want a first commit of 2 rows in 1 file", c.Update, c.NumRows, c.NumFiles)
	}
}
