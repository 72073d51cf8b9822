package committer_test

import (
	"errors"
	"fmt"
	"io/fs"
	"path"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/landfall/landfall/committer"
	"github.com/landfall/landfall/committer/committest"
	"github.com/landfall/landfall/hive"
	"github.com/landfall/landfall/writer/fsys"
)

// TestCompactionExactlyOnceAcrossCrashes: with compaction on, every
// committed partition's small files are merged before its _SUCCESS, and
// crashes at every step of a merge (writing, the state write that
// promises it, between its publish and the sources' retirement, in
// recovery) lose and duplicate nothing: a directory lister reading
// committed partitions the whole time never sees a record twice, an index
// follower reads each record once, and at the end the visible files hold
// each record once.
func TestCompactionExactlyOnceAcrossCrashes(t *testing.T) {
	for _, name := range []string{"text", "lzo", "orc"} {
		t.Run(name, func(t *testing.T) { testCompactionAcrossCrashes(t, name) })
	}
}

func testCompactionAcrossCrashes(t *testing.T, format string) {
	e := newEnv(t, 2)
	cfg := e.config(func(c *committer.Config) {
		c.Compaction.Enabled = true
		c.Compaction.TargetSize = 1 << 20
		if format == "text" {
			c.Format.Compression = "zstd"
		}
		c.Format.Name = format
		if format == "orc" {
			c.Format.Schema = "struct<ts:bigint>" // New ignores it: the harness passes the format
		}
	})
	f := newFormat(t, format)
	base := time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC)

	// A second of event time a record: an hour takes ~36 batches, about
	// ten checkpoints' files.
	stopProducing := e.produceInBackground(100, base, time.Second)
	lister := e.listCommitted(t)
	fl := e.follow(t)

	points := []struct {
		name string
		at   int
	}{
		{committer.FPMergeWrite, 1},
		{committer.FPMergeBeforePublish, 1},
		{committer.FPMergeBeforeRetire, 1},
		{committer.FPMergeBeforePublish, 2}, // promised, not published…
		{committer.FPRecoveryMerge, 1},      // …recovery finishes it, and crashes there
		{committer.FPMergeBeforeRetire, 2},
		{committer.FPAfterSave, 3},
		{committer.FPMergeWrite, 2},
	}
	for _, pt := range points {
		c := crashAt(pt.name, pt.at)
		in := e.start(cfg, opts{failpoint: c.hook, format: f})
		err := in.crashed(t, 30*time.Second)
		if err == nil {
			in.stop(t)
			t.Fatalf("no crash at %s #%d within 30s (hits %v)", pt.name, pt.at, c.hits)
		}
		if !errors.Is(err, committer.ErrCrash) {
			t.Fatalf("crash at %s: unexpected error %v", pt.name, err)
		}
	}
	if err := stopProducing(); err != nil {
		t.Fatal(err)
	}
	in := e.start(cfg, opts{format: f})
	e.waitConsumed(60 * time.Second)
	// The stream break commits the last hours, merging them too.
	lfs, err := fsys.NewLocal(e.dir)
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, 30*time.Second, "every partition with data committed", func() bool {
		l, err := committest.Read(lfs, committest.Decoders)
		if errors.Is(err, fs.ErrNotExist) {
			return false // listed, then retired by a merge: read again
		}
		if err != nil {
			t.Fatal(err)
		}
		for dir := range l.ByDir {
			if !l.Success[dir] {
				return false
			}
		}
		return true
	})
	in.stop(t)
	lister.finish(t)
	l := readTable(t, e.dir)
	e.checkExactlyOnce(l)
	fl.finish(t)
	perDir := map[string]int{}
	merged := 0
	for dir := range l.ByDir {
		ents, err := lfs.ReadDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		for _, en := range ents {
			if strings.HasPrefix(en.Name(), "part-") && !strings.HasSuffix(en.Name(), ".index") {
				perDir[dir]++
				if strings.Contains(en.Name(), "-m.") || strings.Contains(en.Name(), "-m-") {
					merged++
				}
			}
		}
	}
	// Late records (the generator makes some) land after a commit as new
	// small files, which are not merged into a visible partition, and
	// partitions before the first cursor commit as recounts, unmerged.
	if merged < len(perDir)/3 {
		t.Fatalf("%d merged files in %d committed partitions (%v)", merged, len(perDir), perDir)
	}
	t.Logf("%d partitions, %d merged files; the lister read committed partitions %d times", len(perDir), merged, lister.scans)
}

// committedLister reads every committed partition (with _SUCCESS) the way
// a directory lister does, over and over, and records any record it finds
// twice.
type committedLister struct {
	e     *env
	stop  chan struct{}
	done  chan struct{}
	scans int
	errs  []string
}

func (e *env) listCommitted(t *testing.T) *committedLister {
	l := &committedLister{e: e, stop: make(chan struct{}), done: make(chan struct{})}
	lfs, err := fsys.NewLocal(e.dir)
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		defer close(l.done)
		for {
			select {
			case <-l.stop:
				return
			case <-time.After(20 * time.Millisecond):
			}
			if err := l.scan(lfs); err != nil {
				l.errs = append(l.errs, err.Error())
			}
			l.scans++
		}
	}()
	t.Cleanup(func() {
		select {
		case <-l.stop:
		default:
			close(l.stop)
		}
		<-l.done
	})
	return l
}

func (l *committedLister) scan(lfs fsys.FS) error {
	seen := map[string]string{}
	dates, err := lfs.ReadDir("")
	if err != nil {
		return nil
	}
	for _, d := range dates {
		if !d.IsDir() || !strings.HasPrefix(d.Name(), "log_date=") {
			continue
		}
		hours, _ := lfs.ReadDir(d.Name())
		for _, h := range hours {
			dir := path.Join(d.Name(), h.Name())
			if _, err := lfs.Stat(path.Join(dir, "_SUCCESS")); err != nil {
				continue
			}
			files, _ := lfs.ReadDir(dir)
			for _, f := range files {
				if !strings.HasPrefix(f.Name(), "part-") || strings.HasSuffix(f.Name(), ".index") {
					continue
				}
				recs, err := committest.ReadFile(lfs, path.Join(dir, f.Name()), committest.Decoders)
				if errors.Is(err, fs.ErrNotExist) {
					continue // listed, then retired: a lister rereads
				}
				if err != nil {
					return err
				}
				for _, r := range recs {
					m := committest.IDPattern.FindSubmatch(r)
					if m == nil {
						continue
					}
					if prev, ok := seen[string(m[1])]; ok {
						return fmt.Errorf("record %s in %s and in %s of committed partitions", m[1], prev, path.Join(dir, f.Name()))
					}
					seen[string(m[1])] = path.Join(dir, f.Name())
				}
			}
		}
	}
	return nil
}

func (l *committedLister) finish(t *testing.T) {
	t.Helper()
	close(l.stop)
	<-l.done
	for _, e := range l.errs {
		t.Error("lister: " + e)
	}
	if l.scans == 0 {
		t.Fatal("the lister never scanned")
	}
}

// TestCompactionFileCounts: a partition written over many checkpoints is
// committed as at most ceil(bytes / target) + 1 files, and the
// files-per-committed-partition histogram says what each commit had.
func TestCompactionFileCounts(t *testing.T) {
	e := newEnv(t, 1)
	cfg := e.config(func(c *committer.Config) {
		c.Compaction.Enabled = true
		c.Compaction.TargetSize = 1 << 20
	})
	h := time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC)
	reg := prometheus.NewRegistry()
	in := e.start(cfg, opts{now: func() time.Time { return h }, reg: reg}) // no stream break
	defer in.stop(t)
	for i := 0; i < 40; i++ {
		e.produceRaw(rec(i, h.Add(time.Duration(i)*3*time.Minute))) // hours 10 and 11
		time.Sleep(3 * cfg.Checkpoint.Interval)                     // a file or so each
	}
	e.produceRaw(rec(100, h.Add(4*time.Hour)))
	// Hour 12 is empty: its commit has no directory to recount.
	parts := []string{"log_date=20261121/log_hour=10", "log_date=20261121/log_hour=11", "log_date=20261121/log_hour=12"}
	lfs, err := fsys.NewLocal(e.dir)
	if err != nil {
		t.Fatal(err)
	}
	// Not readTable: it would race the merge retiring what it listed.
	waitFor(t, 30*time.Second, "hours 10 to 12 committed", func() bool {
		for _, dir := range parts {
			if _, err := lfs.Stat(path.Join(dir, "_SUCCESS")); err != nil {
				return false
			}
		}
		return true
	})
	total := 0
	for _, dir := range parts {
		files, bytes := partFiles(t, lfs, dir)
		if limit := (bytes+cfg.Compaction.TargetSize-1)/cfg.Compaction.TargetSize + 1; files > limit {
			t.Errorf("%s committed with %d files of %d bytes, want at most %d", dir, files, bytes, limit)
		}
		total += int(files)
	}
	if l := readTable(t, e.dir); l.IDs["0"] != 1 || l.IDs["39"] != 1 || len(l.IDs) != 41 || l.ByDir[parts[2]] != 0 {
		t.Fatalf("the table holds %d distinct records, want 41 each once", len(l.IDs))
	}
	// The histogram is observed once the last step is done, just after
	// _SUCCESS.
	var count uint64
	var sum float64
	waitFor(t, 10*time.Second, "both commits observed", func() bool {
		mfs, err := reg.Gather()
		if err != nil {
			t.Fatal(err)
		}
		for _, mf := range mfs {
			if mf.GetName() == "landfall_committer_committed_partition_files" {
				h := mf.GetMetric()[0].GetHistogram()
				count, sum = h.GetSampleCount(), h.GetSampleSum()
			}
		}
		return count >= 3
	})
	if count != 3 || int(sum) != total {
		t.Fatalf("landfall_committer_committed_partition_files: %d commits, %v files; want 3 commits and the %d files listed", count, sum, total)
	}
	if merges := counterValue(t, reg, "landfall_committer_merges_total"); merges < 2 {
		t.Fatalf("landfall_committer_merges_total = %v, want a merge per partition", merges)
	}
}

// counterValue is the value of the unlabelled counter name in reg.
func counterValue(t *testing.T, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name {
			return mf.GetMetric()[0].GetCounter().GetValue()
		}
	}
	t.Fatalf("no metric %s", name)
	return 0
}

// TestLateUpdateAfterMergeCountsTheFiles: a late record for a partition
// that was merged at its commit re-commits it with the statistics of the
// files it now holds (the merged file and the late one), not of the small
// files the merge replaced.
func TestLateUpdateAfterMergeCountsTheFiles(t *testing.T) {
	e := newEnv(t, 1)
	cfg := e.config(func(c *committer.Config) {
		c.Compaction.Enabled = true
		c.Watermark.IdleCheckpoints = 1000
	})
	rc := &recorder{}
	h := time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC)
	wfs, err := e.fs()
	if err != nil {
		t.Fatal(err)
	}
	in := e.startWith(cfg, opts{now: func() time.Time { return h }}, []hive.Step{rc, committer.SuccessFile{FS: wfs}})
	defer in.stop(t)
	const hour10 = "log_date=20261121/log_hour=10"
	for i := 0; i < 6; i++ {
		e.produceRaw(rec(i, h.Add(time.Duration(i)*time.Minute)))
		time.Sleep(3 * cfg.Checkpoint.Interval) // a file each, or about
	}
	e.produceRaw(rec(10, h.Add(2*time.Hour)))
	waitFor(t, 10*time.Second, "hour 10 committed", func() bool { return len(rc.commits(hour10)) == 1 })
	e.produceRaw(rec(11, h.Add(30*time.Minute))) // late, for hour 10
	waitFor(t, 10*time.Second, "hour 10 re-committed", func() bool { return len(rc.commits(hour10)) == 2 })
	files, bytes := partFiles(t, wfs, hour10)
	cs := rc.commits(hour10)
	if cs[0].NumFiles != 1 {
		t.Fatalf("hour 10 was committed with %d files, want its merged file", cs[0].NumFiles)
	}
	if again := cs[1]; again.NumFiles != files || again.TotalSize != bytes || again.NumRows != 7 {
		t.Fatalf("the late re-commit says %d files, %d bytes, %d rows; the partition holds %d files, %d bytes, 7 rows", again.NumFiles, again.TotalSize, again.NumRows, files, bytes)
	}
}

// TestMergedCommitAfterCrashCountsTheFiles: a crash after a partition's
// merge and before the mark that it is done leaves the commit to a
// successor that finds nothing left to merge; the commit must still
// describe the merged files, not the small ones it was queued with.
func TestMergedCommitAfterCrashCountsTheFiles(t *testing.T) {
	e := newEnv(t, 1)
	cfg := e.config(func(c *committer.Config) {
		c.Compaction.Enabled = true
		c.Watermark.IdleCheckpoints = 1000
	})
	rc := &recorder{}
	h := time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC)
	wfs, err := e.fs()
	if err != nil {
		t.Fatal(err)
	}
	steps := []hive.Step{rc, committer.SuccessFile{FS: wfs}}
	clock := func() time.Time { return h }
	crash := crashAt(committer.FPMergeDone, 1)
	in := e.startWith(cfg, opts{now: clock, failpoint: crash.hook}, steps)
	for i := 0; i < 6; i++ {
		e.produceRaw(rec(i, h.Add(time.Duration(i)*time.Minute)))
		time.Sleep(3 * cfg.Checkpoint.Interval)
	}
	e.produceRaw(rec(10, h.Add(2*time.Hour)))
	if err := in.crashed(t, 20*time.Second); !errors.Is(err, committer.ErrCrash) {
		t.Fatalf("no crash after the merge: %v", err)
	}
	in = e.startWith(cfg, opts{now: clock}, steps)
	defer in.stop(t)
	const hour10 = "log_date=20261121/log_hour=10"
	waitFor(t, 10*time.Second, "hour 10 committed", func() bool { return len(rc.commits(hour10)) == 1 })
	files, bytes := partFiles(t, wfs, hour10)
	if c := rc.commits(hour10)[0]; files != 1 || c.NumFiles != files || c.TotalSize != bytes || c.NumRows != 6 {
		t.Fatalf("hour 10 committed as %d files, %d bytes, %d rows; it holds %d files, %d bytes, 6 rows", c.NumFiles, c.TotalSize, c.NumRows, files, bytes)
	}
}

// TestCompactionWritesGroupsConcurrently: a partition of several target
// sizes is merged into several files written compaction.concurrency at a
// time, and still commits at most ceil(bytes / target) + 1 files with
// every record once; one group's failure (a crash at its write) leaves
// nothing a successor trips over.
func TestCompactionWritesGroupsConcurrently(t *testing.T) {
	e := newEnv(t, 2)
	cfg := e.config(func(c *committer.Config) {
		c.Compaction.Enabled = true
		c.Compaction.TargetSize = 1 << 20
		c.Compaction.Concurrency = 3
		c.Watermark.IdleCheckpoints = 1000
	})
	h := time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC)
	clock := func() time.Time { return h }
	crash := crashAt(committer.FPMergeWrite, 2)
	in := e.start(cfg, opts{now: clock, failpoint: crash.hook})
	// About 4 MiB of hour 10 in ~40 files.
	et := h
	for i := 0; i < 40; i++ {
		et = e.produce(300, et, 100*time.Millisecond)
		time.Sleep(2 * cfg.Checkpoint.Interval)
	}
	e.produce(5, h.Add(2*time.Hour), time.Second)
	if err := in.crashed(t, 30*time.Second); !errors.Is(err, committer.ErrCrash) {
		t.Fatalf("no crash at the second group's write: %v", err)
	}
	in = e.start(cfg, opts{now: clock})
	const hour10 = "log_date=20261121/log_hour=10"
	lfs, err := fsys.NewLocal(e.dir)
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, 30*time.Second, "hour 10 committed", func() bool {
		_, err := lfs.Stat(path.Join(hour10, "_SUCCESS"))
		return err == nil
	})
	e.waitConsumed(10 * time.Second)
	in.stop(t)
	ents, err := lfs.ReadDir(hour10)
	if err != nil {
		t.Fatal(err)
	}
	files, merged, bytes := 0, 0, int64(0)
	for _, en := range ents {
		if strings.HasPrefix(en.Name(), "part-") {
			files++
			bytes += en.Size()
			if strings.Contains(en.Name(), "-m.") {
				merged++
			}
		}
	}
	// Late records of the generator may add files after the commit; the
	// merged ones are what the commit had.
	if limit := int((bytes+cfg.Compaction.TargetSize-1)/cfg.Compaction.TargetSize) + 1; merged < 3 || merged > limit {
		t.Fatalf("hour 10: %d merged files of %d (%d bytes), want 3 to %d", merged, files, bytes, limit)
	}
	e.checkExactlyOnce(readTable(t, e.dir))
}

// partFiles counts a partition directory's data files and their bytes.
func partFiles(t *testing.T, f fsys.FS, dir string) (files, bytes int64) {
	t.Helper()
	ents, err := f.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, en := range ents {
		if strings.HasPrefix(en.Name(), "part-") {
			files++
			bytes += en.Size()
		}
	}
	return files, bytes
}
