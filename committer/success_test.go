package committer_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/landfall/landfall/committer"
	"github.com/landfall/landfall/hive"
	"github.com/landfall/landfall/writer/fsys"
)

func readMarker(t *testing.T, name string) (committer.SuccessMarker, os.FileInfo) {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	var m committer.SuccessMarker
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("_SUCCESS holds %q: %v", b, err)
	}
	fi, err := os.Stat(name)
	if err != nil {
		t.Fatal(err)
	}
	return m, fi
}

// TestLateDataAppendRewritesSuccess: under late.policy: append, each
// re-commit of a partition writes its _SUCCESS anew, with a body naming the
// commit and a later modification time, so that a scheduler that triggers
// on the marker sees late rows too.
func TestLateDataAppendRewritesSuccess(t *testing.T) {
	e := newEnv(t, 1)
	cfg := e.config(nil)
	h := time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC)
	in := e.start(cfg, opts{now: func() time.Time { return h }})
	const dir = "log_date=20261121/log_hour=10"
	marker := filepath.Join(e.dir, dir, "_SUCCESS")
	e.produceRaw(rec(1, h.Add(5*time.Minute)), rec(2, h.Add(2*time.Hour)))
	waitFor(t, 10*time.Second, "hour 10 committed", func() bool { return readTable(t, e.dir).Success[dir] })
	first, fi1 := readMarker(t, marker)
	if first.Partition != dir || first.CommitKey == "" || first.Update || first.NumRows != 1 || first.NumFiles != 1 {
		t.Fatalf("first _SUCCESS = %+v, want the first commit of 1 row in 1 file", first)
	}
	time.Sleep(20 * time.Millisecond) // mtimes are compared below
	e.produceRaw(rec(3, h.Add(30*time.Minute)))
	e.waitConsumed(10 * time.Second)
	waitFor(t, 10*time.Second, "the update counted", func() bool { _, u := in.p.Commits(); return u == 1 })
	in.stop(t)
	second, fi2 := readMarker(t, marker)
	if !second.Update || second.CommitKey == first.CommitKey || second.CommitSeq <= first.CommitSeq || second.NumRows != 2 || second.NumFiles != 2 {
		t.Fatalf("_SUCCESS after the late record = %+v, first was %+v; want the update of 2 rows in 2 files", second, first)
	}
	if !fi2.ModTime().After(fi1.ModTime()) {
		t.Fatalf("_SUCCESS modification time %v did not move past the first commit's %v", fi2.ModTime(), fi1.ModTime())
	}
	ents, err := os.ReadDir(filepath.Join(e.dir, dir))
	if err != nil {
		t.Fatal(err)
	}
	for _, ent := range ents {
		if filepath.Ext(ent.Name()) == ".tmp" {
			t.Errorf("leftover %s in the partition", ent.Name())
		}
	}
}

// TestSuccessFileIsIdempotent: the step run again for the commit its
// marker holds, or for an older one arriving late, leaves the marker alone;
// an empty marker (written before markers had a body) is replaced.
func TestSuccessFileIsIdempotent(t *testing.T) {
	root := t.TempDir()
	lfs, err := fsys.NewLocal(root)
	if err != nil {
		t.Fatal(err)
	}
	step := committer.SuccessFile{FS: lfs}
	p := hive.Partition{Path: "log_date=20261121/log_hour=10", Key: "l/log_date=20261121/log_hour=10/7", Seq: 7, NumRows: 3, NumFiles: 1,
		CommitTime: time.Unix(1, 0)}
	name := filepath.Join(root, p.Path, "_SUCCESS")
	if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(name, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := step.Commit(ctx, p); err != nil {
		t.Fatal(err)
	}
	m, fi := readMarker(t, name)
	if m.CommitKey != p.Key || m.CommitSeq != 7 {
		t.Fatalf("marker = %+v, want commit 7", m)
	}
	older := p
	older.Key, older.Seq = "l/log_date=20261121/log_hour=10/5", 5
	for _, again := range []hive.Partition{p, older} {
		if err := step.Commit(ctx, again); err != nil {
			t.Fatal(err)
		}
		m2, fi2 := readMarker(t, name)
		if m2 != m || !fi2.ModTime().Equal(fi.ModTime()) {
			t.Fatalf("commit %d again changed the marker: %+v at %v, was %+v at %v", again.Seq, m2, fi2.ModTime(), m, fi.ModTime())
		}
	}
}
