package committer_test

import (
	"errors"
	"fmt"
	"io/fs"
	"path"
	"strings"
	"testing"
	"time"

	"github.com/landfall/landfall/committer"
	"github.com/landfall/landfall/committer/committest"
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
	waitFor(t, 30*time.Second, "every partition with data committed", func() bool {
		l := readTable(t, e.dir)
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
	lfs, err := fsys.NewLocal(e.dir)
	if err != nil {
		t.Fatal(err)
	}
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
