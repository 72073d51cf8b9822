//go:build e2e

package e2e

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/landfall/landfall/committer/committest"
	"github.com/landfall/landfall/index"
	"github.com/landfall/landfall/writer/fsys"
)

// indexFollower is a downstream job on the real HDFS: it follows the
// table's file index from earliest and reads every file it is handed at
// once.
type indexFollower struct {
	tb     *table
	cancel context.CancelFunc
	done   chan error

	mu      sync.Mutex
	handed  *committest.Table
	last    uint64
	entries int
	retries int
	errs    []string
	// commits: partition → the checkpoint of its first commit, from the
	// entry's partition-complete action (its commit key ends with it).
	commits map[string]uint64
}

func (tb *table) followIndex() *indexFollower {
	ctx, cancel := context.WithCancel(context.Background())
	f := &indexFollower{tb: tb, cancel: cancel, done: make(chan error, 1), handed: committest.NewTable(), commits: map[string]uint64{}}
	go func() {
		f.done <- index.Open(tb.fs, tb.logid).Follow(ctx, index.Earliest, 200*time.Millisecond, f.handle)
	}()
	tb.t.Cleanup(cancel)
	return f
}

func (f *indexFollower) handle(e *index.Entry) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if e.N != f.last+1 && !e.Snapshot {
		f.errs = append(f.errs, fmt.Sprintf("entry %d after entry %d", e.N, f.last))
	}
	for _, a := range e.Actions {
		if pc := a.PartitionComplete; pc != nil && !pc.Update && pc.Rows >= 0 && !strings.HasPrefix(pc.Partition, "_") {
			if _, ok := f.commits[pc.Partition]; !ok {
				seq, err := strconv.ParseUint(path.Base(pc.CommitKey), 10, 64)
				if err != nil {
					f.errs = append(f.errs, fmt.Sprintf("entry %d: commit key %q does not end with its checkpoint", e.N, pc.CommitKey))
				}
				f.commits[pc.Partition] = seq
			}
		}
		if a.Add == nil || !a.Add.DataChange {
			continue
		}
		recs, err := f.read(a.Add.Path)
		if err != nil {
			f.errs = append(f.errs, fmt.Sprintf("entry %d hands %s, which can't be read: %v", e.N, a.Add.Path, err))
			continue
		}
		if err := f.handed.Add(a.Add.Partition, a.Add.Path, recs); err != nil {
			f.errs = append(f.errs, err.Error())
		}
	}
	f.last = e.N
	f.entries++
	return nil
}

// read reads a handed file as a downstream job would: retrying for up to
// two minutes while the faults make HDFS fail reads (a DataNode restart).
func (f *indexFollower) read(p string) ([][]byte, error) {
	deadline := time.Now().Add(2 * time.Minute)
	for {
		recs, err := committest.ReadHanded(f.tb.fs, f.tb.logid, p, committest.Decoders)
		if err == nil || time.Now().After(deadline) {
			return recs, err
		}
		f.retries++
		time.Sleep(500 * time.Millisecond)
	}
}

// check waits until the follower has read every entry the durable state
// says exists and compares what it was handed with what a listing of the
// table finds: the same records, each once.
func (f *indexFollower) check(t *testing.T, listed landed) {
	t.Helper()
	cp, err := f.tb.checkpoint()
	if err != nil || cp == nil {
		t.Fatalf("checkpoint: %v", err)
	}
	want := cp.IndexNext - 1
	deadline := time.Now().Add(2 * time.Minute)
	for {
		f.mu.Lock()
		last := f.last
		f.mu.Unlock()
		if last >= want {
			break
		}
		if time.Now().After(deadline) {
			names := "(unlisted)"
			if fis, err := f.tb.fs.ReadDir(index.Dir(f.tb.logid)); err == nil {
				names = ""
				for _, fi := range fis {
					names += " " + fi.Name()
				}
			}
			t.Fatalf("the index follower reached entry %d of %d in 2 minutes; the index directory holds:%s", last, want, names)
		}
		select {
		case err := <-f.done:
			t.Fatalf("the index follower stopped at entry %d of %d: %v", last, want, err)
		case <-time.After(200 * time.Millisecond):
		}
	}
	f.cancel()
	if err := <-f.done; err != nil && !errors.Is(err, context.Canceled) {
		t.Fatalf("the index follower failed: %v", err)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, e := range f.errs {
		t.Error("index follower: " + e)
	}
	for id, n := range f.handed.IDs {
		if n != 1 || listed.ids[id] != 1 {
			t.Errorf("index follower: record %s handed %d times, %d in the table", id, n, listed.ids[id])
		}
	}
	for id := range listed.ids {
		if f.handed.IDs[id] == 0 {
			t.Errorf("index follower: record %s is in the table but was never handed", id)
		}
	}
	if t.Failed() {
		t.FailNow()
	}
	t.Logf("the index follower read %d entries and %d files on HDFS (%d reads retried): every one of the table's %d records once", f.entries, f.handed.Files, f.retries, len(listed.ids))
}

// partNameRE finds the checkpoint that rolled a part file in its name
// (part-<logid>-<checkpoint>-<token>-<n>.ext; a merged file keeps its
// first source's name with -m).
var partNameRE = regexp.MustCompile(`^part-.*-(\d{10})-[0-9a-f]+-\d{4}(-m)?\.`)

// checkMerged: with compaction on, every partition held at most
// ceil(bytes / target) + 1 data files at its first commit — the files
// rolled by the checkpoint that queued it or earlier, merged or not; late
// files come later — unless a landfall process logged that it committed
// the partition without merging (a merge that failed under a fault or
// outlasted compaction.max_delay), which must stay the exception.
func (f *indexFollower) checkMerged(target int64) {
	t := f.tb.t
	t.Helper()
	skipped := f.tb.mergesSkipped()
	f.mu.Lock()
	defer f.mu.Unlock()
	merged, bad := 0, 0
	for part, seq := range f.commits {
		fis, err := f.tb.fs.ReadDir(part) // tb.fs is rooted at the table
		if errors.Is(err, fs.ErrNotExist) {
			continue // an empty hour whose commit steps are still queued
		}
		if err != nil {
			t.Fatalf("list %s: %v", part, err)
		}
		files, bytes := int64(0), int64(0)
		for _, fi := range fis {
			m := partNameRE.FindStringSubmatch(fi.Name())
			if m == nil || strings.HasSuffix(fi.Name(), ".index") {
				continue
			}
			if n, _ := strconv.ParseUint(m[1], 10, 64); n <= seq {
				files++
				bytes += fi.Size()
			}
		}
		limit := (bytes+target-1)/target + 1
		switch {
		case files == 0:
			// an empty hour
		case files <= limit:
			merged++
		case skipped[part]:
			t.Logf("partition %s was committed with %d files (%d bytes): its merge was skipped, as the log says", part, files, bytes)
		default:
			bad++
			t.Errorf("partition %s was committed with %d data files of %d bytes, want at most %d (compaction.target_size %d)", part, files, bytes, limit, target)
		}
	}
	if bad == 0 && (merged == 0 || merged < 2*len(skipped)) {
		t.Errorf("only %d committed partitions were merged, %d skipped theirs: %v", merged, len(skipped), skipped)
	}
	t.Logf("%d committed partitions with data held at most ceil(bytes/target)+1 files at their commit; %d skipped their merge", merged, len(skipped))
}

// mergesSkipped reads every landfall log of the table for partitions
// committed without their merge.
func (tb *table) mergesSkipped() map[string]bool {
	out := map[string]bool{}
	logs, _ := filepath.Glob(filepath.Join(tb.workdir, "*.log"))
	for _, p := range logs {
		b, err := os.ReadFile(p)
		if err != nil {
			tb.t.Fatal(err)
		}
		for _, m := range mergeSkippedRE.FindAllSubmatch(b, -1) {
			out[string(m[1])] = true
		}
	}
	return out
}

var mergeSkippedRE = regexp.MustCompile(`msg="partition commits without merging its small files".*? hive_partition="?([^" ]+)`)

// countingFS counts the calls a reader makes on the real HDFS: each is at
// least one NameNode RPC.
type countingFS struct {
	fsys.FS
	mu    sync.Mutex
	calls map[string]int
}

func (c *countingFS) count(op string) {
	c.mu.Lock()
	c.calls[op]++
	c.mu.Unlock()
}

func (c *countingFS) Open(name string) (fsys.Reader, error) {
	c.count("open")
	return c.FS.Open(name)
}

func (c *countingFS) Stat(name string) (fs.FileInfo, error) {
	c.count("stat")
	return c.FS.Stat(name)
}

func (c *countingFS) ReadDir(dir string) ([]fs.FileInfo, error) {
	c.count("readdir")
	return c.FS.ReadDir(dir)
}

// TestIndexWaitingFollowerNameNodeCalls: a follower waiting at the head
// of a table's index on the real HDFS costs O(1) NameNode calls per poll
// and never lists a directory (thousands of logids' followers must not do
// to the NameNode what polling listings does).
func TestIndexWaitingFollowerNameNodeCalls(t *testing.T) {
	tb := newTable(t, 2, tableConfig{})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	base := time.Now().UTC().Truncate(time.Hour).Add(-5 * time.Hour)
	if _, err := tb.produce(ctx, 500, base, time.Second); err != nil {
		t.Fatal(err)
	}
	l := tb.start("a")
	tb.waitDrained(2 * time.Minute)
	l.stop(t)

	cfs := &countingFS{FS: tb.fs, calls: map[string]int{}}
	const poll = 100 * time.Millisecond
	const wait = 5 * time.Second
	fctx, fcancel := context.WithTimeout(ctx, wait)
	defer fcancel()
	err := index.Open(cfs, tb.logid).Follow(fctx, index.Latest, poll, func(*index.Entry) error { return nil })
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("the follower stopped with %v", err)
	}
	polls := int(wait / poll)
	total := 0
	for _, n := range cfs.calls {
		total += n
	}
	t.Logf("a follower waiting %v at the head, polling every %v: %v (%.2f calls a poll)", wait, poll, cfs.calls, float64(total)/float64(polls))
	if cfs.calls["readdir"] > 0 {
		t.Fatalf("the waiting follower listed a directory %d times", cfs.calls["readdir"])
	}
	if float64(total) > 2.5*float64(polls) {
		t.Fatalf("%d calls for %d polls", total, polls)
	}
}
