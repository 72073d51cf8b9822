package index

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/landfall/landfall/writer/fsys"
)

// TestWritePublishRead: entries come back as written, in order, with
// every field, and only once published.
func TestWritePublishRead(t *testing.T) {
	f := newLocal(t)
	l := NewLog(f, "clicks")
	r := Open(f, "clicks")
	var want []*Entry
	for n := uint64(1); n <= 5; n++ {
		e := testEntry(n * 72) // every fifth entry completes an hour
		e.N = n
		writeAndPublish(t, l, e)
		want = append(want, e)
	}
	want[2].Actions = append(want[2].Actions, Action{Remove: &File{Path: want[0].Actions[0].Add.Path,
		Partition: want[0].Actions[0].Add.Partition, Size: 1, Rows: 10, DataChange: false, Merge: "merge-1"}})
	got := readAllFrom(t, r, After(0))
	if len(got) != len(want) {
		t.Fatalf("read %d entries, want %d", len(got), len(want))
	}
	for i := range got {
		w := *want[i]
		w.CommitTime = w.CommitTime.UTC()
		if i == 2 {
			w.Actions = w.Actions[:len(w.Actions)-1] // appended after it was written
		}
		if !reflect.DeepEqual(got[i], &w) {
			t.Errorf("entry %d:\n got %+v\nwant %+v", i+1, got[i], &w)
		}
	}
	if st, err := f.Stat(path.Join(Dir("clicks"), "00000000000000000003.jsonl")); err != nil || st.Size() == 0 {
		t.Fatalf("entry 3 is not at its documented name: %v", err)
	}
}

// TestReaderNeverSeesInflight: a written but unpublished entry is not
// handed out, and the reader picks it up once published.
func TestReaderNeverSeesInflight(t *testing.T) {
	f := newLocal(t)
	l := NewLog(f, "clicks")
	r := Open(f, "clicks")
	writeAndPublish(t, l, testEntry(1))
	if err := l.WriteInflight(testEntry(2)); err != nil {
		t.Fatal(err)
	}
	for _, c := range []Cursor{After(0), After(1), Earliest, Latest} {
		for _, e := range readAllFrom(t, r, c) {
			if e.N == 2 {
				t.Fatalf("from %s: handed inflight entry 2", c)
			}
		}
	}
	if err := l.Publish(2); err != nil {
		t.Fatal(err)
	}
	if got := readAllFrom(t, r, After(1)); len(got) != 1 || got[0].N != 2 {
		t.Fatalf("after publish: %d entries", len(got))
	}
}

// TestPublishIdempotent: publishing twice is fine, rewriting an inflight
// replaces a partial one, WriteInflight of a published entry changes
// nothing, and publishing what was never written is ErrNotWritten.
func TestPublishIdempotent(t *testing.T) {
	f := newLocal(t)
	l := NewLog(f, "clicks")
	// A crash mid-write left a partial inflight; the retry replaces it.
	w, err := f.Create(path.Join(Dir("clicks"), entryName(1)+inflightSuffix))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write([]byte(`{"entry":{"format":1,`)); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	writeAndPublish(t, l, testEntry(1))
	if err := l.Publish(1); err != nil {
		t.Fatalf("second publish: %v", err)
	}
	other := testEntry(1)
	other.Checkpoint = 999
	if err := l.WriteInflight(other); err != nil {
		t.Fatalf("rewrite of a published entry: %v", err)
	}
	if err := l.Publish(1); err != nil {
		t.Fatalf("publish after the rewrite: %v", err)
	}
	got := readAllFrom(t, Open(f, "clicks"), After(0))
	if len(got) != 1 || got[0].Checkpoint != 101 {
		t.Fatalf("published entry changed: %+v", got)
	}
	if _, err := f.Stat(path.Join(Dir("clicks"), entryName(1)+inflightSuffix)); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("an inflight copy beside the published entry: %v", err)
	}
	if err := l.Publish(7); !errors.Is(err, ErrNotWritten) || !strings.Contains(err.Error(), "index: publish entry 7") {
		t.Fatalf("publish of an unwritten entry: %v", err)
	}
}

// TestResumeFromAnyCursor: across snapshots, from every cursor the reader
// yields exactly the entries after it; from earliest, the snapshot's live
// files plus the later entries' adds are every file added.
func TestResumeFromAnyCursor(t *testing.T) {
	f := newLocal(t)
	l := NewLog(f, "clicks")
	r := Open(f, "clicks")
	const n = 50
	for i := uint64(1); i <= n; i++ {
		writeAndPublish(t, l, testEntry(i))
		if i%20 == 0 {
			if err := l.Snapshot(i); err != nil {
				t.Fatal(err)
			}
		}
	}
	for c := uint64(0); c <= n; c++ {
		got := readAllFrom(t, r, After(c))
		if len(got) != int(n-c) {
			t.Fatalf("from %d: %d entries, want %d", c, len(got), n-c)
		}
		for i, e := range got {
			if e.N != c+1+uint64(i) || e.Snapshot {
				t.Fatalf("from %d: entry %d is %d (snapshot %v)", c, i, e.N, e.Snapshot)
			}
		}
	}
	got := readAllFrom(t, r, Earliest)
	if len(got) != 11 || !got[0].Snapshot || got[0].N != 40 || got[1].N != 41 {
		t.Fatalf("earliest: %d entries, first %d (snapshot %v)", len(got), got[0].N, got[0].Snapshot)
	}
	seen := map[string]int{}
	for _, e := range got {
		for _, a := range e.Actions {
			if a.Add != nil {
				seen[a.Add.Path]++
			}
		}
	}
	for i := uint64(1); i <= n; i++ {
		if p := testEntry(i).Actions[0].Add.Path; seen[p] != 1 {
			t.Fatalf("earliest: file of entry %d handed %d times", i, seen[p])
		}
	}
	if len(seen) != n {
		t.Fatalf("earliest: %d files, want %d", len(seen), n)
	}
	if got := readAllFrom(t, r, Latest); len(got) != 0 {
		t.Fatalf("latest: %d entries, want none until the next publish", len(got))
	}
	// Latest is after the newest entry, whichever distance from the snapshot.
	for i := uint64(n + 1); i <= n+37; i++ {
		writeAndPublish(t, l, testEntry(i))
		var first uint64
		err := r.Follow(t.Context(), Latest, 0, func(e *Entry) error { first = e.N; return nil })
		if err != nil || first != 0 {
			t.Fatalf("latest with newest %d: handed %d (%v)", i, first, err)
		}
	}
}

// TestSnapshotLiveSet: removes (a merge, data_change off) leave the live
// set, the latest completion per partition is kept, LiveFiles filters by
// partition, and a snapshot is idempotent.
func TestSnapshotLiveSet(t *testing.T) {
	f := newLocal(t)
	l := NewLog(f, "clicks")
	p := "log_date=20240301/log_hour=00"
	add := func(name string, dc bool, merge string) Action {
		return Action{Add: &File{Path: p + "/" + name, Partition: p, Size: 10, Rows: 1, Format: "text", DataChange: dc, Merge: merge}}
	}
	rm := func(name, merge string) Action {
		return Action{Remove: &File{Path: p + "/" + name, Partition: p, Size: 10, Rows: 1, Merge: merge}}
	}
	writeAndPublish(t, l, &Entry{N: 1, Actions: []Action{add("a", true, ""), add("b", true, ""),
		{Add: &File{Path: "_invalid/part-1.jsonl", Partition: "_invalid", Size: 5, Rows: 1, DataChange: true}}}})
	writeAndPublish(t, l, &Entry{N: 2, Actions: []Action{rm("a", "m1"), rm("b", "m1"), add("ab", false, "m1"),
		{PartitionComplete: &PartitionComplete{Partition: p, Files: 1, Rows: 2, Bytes: 20, CommitKey: "clicks/" + p + "/2"}}}})
	if err := l.Snapshot(2); err != nil {
		t.Fatal(err)
	}
	writeAndPublish(t, l, &Entry{N: 3, Actions: []Action{add("c", true, ""),
		{PartitionComplete: &PartitionComplete{Partition: p, Files: 2, Rows: 3, Bytes: 30, CommitKey: "clicks/" + p + "/3", Update: true}}}})
	if err := l.Snapshot(2); err != nil {
		t.Fatalf("repeated snapshot: %v", err)
	}
	r := Open(f, "clicks")
	files, err := r.LiveFiles(t.Context(), p)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, f := range files {
		names = append(names, path.Base(f.Path))
	}
	if fmt.Sprint(names) != "[ab c]" {
		t.Fatalf("live files of %s: %v, want [ab c]", p, names)
	}
	if inv, _ := r.LiveFiles(t.Context(), "_invalid"); len(inv) != 1 {
		t.Fatalf("live files of _invalid: %v", inv)
	}
	live, err := r.Live(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if live.N != 3 || len(live.Complete) != 1 || !live.Complete[0].Update || live.Complete[0].Files != 2 {
		t.Fatalf("live as of %d, completions %+v", live.N, live.Complete)
	}
	snap, err := r.snapshot(2)
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range snap.Actions {
		if a.Add != nil && (!a.Add.DataChange || a.Add.Merge != "") {
			t.Fatalf("snapshot add %s is not a plain file to read: %+v", a.Add.Path, a.Add)
		}
	}
}

// TestExpireAndCursorExpired: expiry deletes only old entries a snapshot
// covers, and older snapshots; a reader behind them gets ErrCursorExpired,
// at start and while following; earliest still reads everything live.
func TestExpireAndCursorExpired(t *testing.T) {
	f := newLocal(t)
	now := time.Now()
	clock := func() time.Time { return now }
	l := NewLog(f, "clicks", WithClock(clock), WithRetention(time.Hour))
	for i := uint64(1); i <= 30; i++ {
		writeAndPublish(t, l, testEntry(i))
		if i%10 == 0 {
			if err := l.Snapshot(i); err != nil {
				t.Fatal(err)
			}
		}
	}
	// Nothing is older than the retention yet.
	if n, err := l.Expire(31); err != nil || n != 0 {
		t.Fatalf("expire within retention: %d, %v", n, err)
	}
	now = now.Add(2 * time.Hour)
	if n, err := l.Expire(25); err != nil || n != 24 {
		t.Fatalf("expire before 25: deleted %d (%v), want 24", n, err)
	}
	for i := uint64(1); i <= 30; i++ {
		_, err := f.Stat(path.Join(Dir("clicks"), entryName(i)))
		if gone := errors.Is(err, fs.ErrNotExist); gone != (i < 25) {
			t.Fatalf("entry %d gone=%v after expire before 25", i, gone)
		}
	}
	for s, kept := range map[uint64]bool{10: false, 20: false, 30: true} {
		if _, err := f.Stat(path.Join(Dir("clicks"), snapshotName(s))); (err == nil) != kept {
			t.Fatalf("snapshot %d kept=%v, want %v", s, err == nil, kept)
		}
	}
	r := Open(f, "clicks")
	err := r.Follow(t.Context(), After(10), 0, func(*Entry) error { return nil })
	if !errors.Is(err, ErrCursorExpired) {
		t.Fatalf("from 10 after expiry: %v, want ErrCursorExpired", err)
	}
	if got := readAllFrom(t, r, After(24)); len(got) != 6 {
		t.Fatalf("from 24 (the oldest kept is next): %d entries", len(got))
	}
	if got := readAllFrom(t, r, Earliest); len(got) != 1 || got[0].N != 30 || len(got[0].Actions) != 30 {
		t.Fatalf("earliest after expiry: %d entries", len(got))
	}

	// A reader lagging while it follows: it read up to 27, then expiry
	// deleted what comes next.
	for i := uint64(31); i <= 40; i++ {
		writeAndPublish(t, l, testEntry(i))
	}
	if err := l.Snapshot(40); err != nil {
		t.Fatal(err)
	}
	n := 0
	err = r.Follow(t.Context(), After(26), 0, func(e *Entry) error {
		n++
		if e.N == 27 {
			if _, err := l.Expire(35); err != nil {
				return err
			}
		}
		return nil
	})
	if !errors.Is(err, ErrCursorExpired) || n != 1 {
		t.Fatalf("follower overtaken by expiry: read %d, then %v; want 1 and ErrCursorExpired", n, err)
	}
}

// TestWaitingReaderCalls: a reader waiting for the next entry costs one
// probe per poll, plus a pointer read on the first poll and every
// expiryCheckEvery-th; never a listing. Virtual time counts polls exactly.
func TestWaitingReaderCalls(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		base := newLocal(t)
		l := NewLog(base, "clicks")
		for i := uint64(1); i <= 12; i++ {
			writeAndPublish(t, l, testEntry(i))
			if i == 10 {
				if err := l.Snapshot(10); err != nil {
					t.Fatal(err)
				}
			}
		}
		cf := &countingFS{FS: base}
		r := Open(cf, "clicks")
		const poll = time.Second
		var got atomic.Uint64
		done := make(chan error, 1)
		go func() {
			done <- r.Follow(t.Context(), Earliest, poll, func(e *Entry) error { got.Store(e.N); return nil })
		}()
		synctest.Wait() // caught up, waiting in its first poll
		if got.Load() != 12 {
			t.Fatalf("caught up to %d, want 12", got.Load())
		}
		cf.take()
		const polls = 100
		time.Sleep(polls * poll)
		synctest.Wait()
		calls := cf.take()
		probe := path.Join(Dir("clicks"), entryName(13))
		ptr := path.Join(Dir("clicks"), pointerName)
		var probes, ptrReads int
		for _, c := range calls {
			switch {
			case c.op == "open" && c.name == probe:
				probes++
			case c.op == "open" && c.name == ptr:
				ptrReads++
			default:
				t.Errorf("waiting reader called %s %s", c.op, c.name)
			}
		}
		if probes != polls {
			t.Errorf("%d probes in %d polls, want one each", probes, polls)
		}
		if want := polls / expiryCheckEvery; ptrReads > want+1 {
			t.Errorf("%d pointer reads in %d polls, want at most %d", ptrReads, polls, want+1)
		}
		if per := float64(len(calls)) / polls; per > 2 {
			t.Errorf("%.2f calls per poll, want at most 2", per)
		}
		t.Logf("waiting reader: %d polls, %d calls (%d probes, %d pointer reads), no listing", polls, len(calls), probes, ptrReads)
		writeAndPublish(t, l, testEntry(13))
		time.Sleep(poll)
		synctest.Wait()
		if got.Load() != 13 {
			t.Fatalf("published entry 13 not handed within a poll (have %d)", got.Load())
		}
	})
}

// TestPointerAlwaysReadable: while the writer replaces _last_snapshot
// over and over, a reader starting up always finds a pointer.
func TestPointerAlwaysReadable(t *testing.T) {
	f := newLocal(t)
	l := NewLog(f, "clicks")
	writeAndPublish(t, l, testEntry(1))
	if err := l.Snapshot(1); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	stop := make(chan struct{})
	var missing, reads atomic.Int64
	for range 1 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				p, err := readPointer(f, Dir("clicks"), true)
				reads.Add(1)
				if err != nil {
					t.Error(err)
					return
				}
				if p == nil {
					missing.Add(1)
				}
			}
		}()
	}
	for i := uint64(2); i <= 50; i++ {
		writeAndPublish(t, l, testEntry(i))
		if err := l.Snapshot(i); err != nil {
			t.Fatal(err)
		}
	}
	close(stop)
	wg.Wait()
	if missing.Load() > 0 {
		t.Fatalf("%d of %d pointer reads found no pointer while it was replaced", missing.Load(), reads.Load())
	}
	t.Logf("%d pointer reads during 49 replacements, none missed", reads.Load())
}

// TestCleanAfterCrash: inflight leftovers are removed and a pointer update
// interrupted between its remove and its rename is finished.
func TestCleanAfterCrash(t *testing.T) {
	f := newLocal(t)
	l := NewLog(f, "clicks")
	for i := uint64(1); i <= 3; i++ {
		writeAndPublish(t, l, testEntry(i))
	}
	if err := l.Snapshot(3); err != nil {
		t.Fatal(err)
	}
	if err := l.WriteInflight(testEntry(4)); err != nil {
		t.Fatal(err)
	}
	dir := Dir("clicks")
	if err := writeFile(f, path.Join(dir, snapshotName(4)+inflightSuffix), []byte("partial")); err != nil {
		t.Fatal(err)
	}
	// The crash: the new pointer is complete, the old one removed, not renamed.
	if err := f.Rename(path.Join(dir, pointerName), path.Join(dir, pointerName+inflightSuffix)); err != nil {
		t.Fatal(err)
	}
	if p, err := readPointer(f, dir, true); err != nil || p == nil || p.Snapshot != 3 {
		t.Fatalf("reader during the interrupted update: %+v, %v", p, err)
	}
	n, err := l.Clean()
	if err != nil || n != 2 {
		t.Fatalf("clean: %d removed, %v; want 2", n, err)
	}
	ents, _ := f.ReadDir(dir)
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	want := "[00000000000000000001.jsonl 00000000000000000002.jsonl 00000000000000000003.jsonl _last_snapshot snapshot-00000000000000000003.jsonl]"
	if fmt.Sprint(names) != want {
		t.Fatalf("after clean: %v\nwant %s", names, want)
	}
}

// TestFormatEvolution: unknown fields are ignored, unknown action kinds
// skipped and counted, a newer major version refused.
func TestFormatEvolution(t *testing.T) {
	f := newLocal(t)
	dir := Dir("clicks")
	entry := `{"entry":{"format":1,"logid":"clicks","n":1,"checkpoint":7,"commit_ms":1709251200000,"actions":3,"future_header":{"x":1}}}
{"add":{"path":"p=1/a.txt","partition":"p=1","size":3,"rows":1,"data_change":true,"future_field":[1,2]}}
{"deletion_vector":{"path":"p=1/a.txt","bits":"AAE="}}
{"partition_complete":{"partition":"p=1","files":1,"rows":1,"bytes":3,"watermark_ms":5,"commit_key":"k"}}
`
	if err := writeFile(f, path.Join(dir, entryName(1)), []byte(entry)); err != nil {
		t.Fatal(err)
	}
	newer := strings.Replace(strings.Replace(entry, `"format":1`, `"format":2`, 1), `"n":1`, `"n":2`, 1)
	if err := writeFile(f, path.Join(dir, entryName(2)), []byte(newer)); err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	r := Open(f, "clicks", WithRegisterer(reg))
	var got []*Entry
	err := r.Follow(t.Context(), After(0), 0, func(e *Entry) error { got = append(got, e); return nil })
	if !errors.Is(err, ErrNewerFormat) || !strings.Contains(err.Error(), "upgrade") {
		t.Fatalf("format 2 entry: %v, want ErrNewerFormat", err)
	}
	if len(got) != 1 || len(got[0].Actions) != 2 || got[0].Unknown != 1 || got[0].Actions[0].Add.Path != "p=1/a.txt" {
		t.Fatalf("format 1 entry with extras: %+v", got)
	}
	if err := testutil.GatherAndCompare(reg, strings.NewReader(`
# HELP landfall_index_reader_unknown_actions_total Actions of kinds this build doesn't know, skipped by the reader (a newer writer).
# TYPE landfall_index_reader_unknown_actions_total counter
landfall_index_reader_unknown_actions_total 1
`), "landfall_index_reader_unknown_actions_total"); err != nil {
		t.Fatal(err)
	}
}

// TestDecodeRejects: damaged input is ErrCorrupt, whatever the damage.
func TestDecodeRejects(t *testing.T) {
	good, err := encode(testEntry(360), kindEntry)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := DecodeEntry(bytes.NewReader(good)); err != nil {
		t.Fatal(err)
	}
	cases := map[string]string{
		"empty":              "",
		"truncated at line":  string(good[:bytes.IndexByte(good, '\n')+1]),
		"truncated mid-line": string(good[:len(good)-7]),
		"extra line":         string(good) + `{"add":{"path":"x","partition":"x","size":1,"rows":1,"data_change":true}}` + "\n",
		"snapshot header":    strings.Replace(string(good), `{"entry"`, `{"snapshot"`, 1),
		"escaping path":      strings.Replace(string(good), `"path":"log_date`, `"path":"../log_date`, 1),
		"absolute path":      strings.Replace(string(good), `"path":"log_date`, `"path":"/log_date`, 1),
		"negative size":      strings.Replace(string(good), `"size":1360`, `"size":-1`, 1),
		"two kinds":          strings.Replace(string(good), `{"add":{`, `{"remove":{"path":"a","partition":"a","size":1,"rows":1,"data_change":false},"add":{`, 1),
		"not an object":      strings.Replace(string(good), `{"add":{`, `[{"add":{`, 1),
		"huge declared":      strings.Replace(string(good), `"actions":2`, `"actions":999999999`, 1),
		"long line":          string(good[:len(good)-1]) + strings.Repeat(" ", maxLine) + "\n",
		"bad offsets":        strings.Replace(string(good), `"0":[3600,3604]`, `"0":[3604,3600]`, 1),
		"format 0":           strings.Replace(string(good), `"format":1`, `"format":0`, 1),
	}
	for name, in := range cases {
		if in == string(good) {
			t.Fatalf("%s: the replacement did not apply", name)
		}
		if _, err := DecodeEntry(strings.NewReader(in)); !errors.Is(err, ErrCorrupt) {
			t.Errorf("%s: %v, want ErrCorrupt", name, err)
		}
	}
}

// TestLogMetrics: published entries, the snapshot's size and files, and
// the age of the newest entry.
func TestLogMetrics(t *testing.T) {
	f := newLocal(t)
	reg := prometheus.NewRegistry()
	now := t0.Add(time.Hour)
	l := NewLog(f, "clicks", WithRegisterer(reg), WithClock(func() time.Time { return now }))
	for i := uint64(1); i <= 3; i++ {
		e := testEntry(i)
		e.CommitTime = now.Add(-time.Minute)
		writeAndPublish(t, l, e)
	}
	if err := l.Publish(3); err != nil {
		t.Fatal(err)
	}
	if err := l.Snapshot(3); err != nil {
		t.Fatal(err)
	}
	st, err := f.Stat(path.Join(Dir("clicks"), snapshotName(3)))
	if err != nil {
		t.Fatal(err)
	}
	if err := testutil.GatherAndCompare(reg, strings.NewReader(fmt.Sprintf(`
# HELP landfall_index_entries_published_total Index entries published (renamed from inflight), counting each entry once.
# TYPE landfall_index_entries_published_total counter
landfall_index_entries_published_total 3
# HELP landfall_index_newest_entry_age_seconds Age of the newest published entry's commit time; it grows while nothing is published.
# TYPE landfall_index_newest_entry_age_seconds gauge
landfall_index_newest_entry_age_seconds 60
# HELP landfall_index_snapshot_bytes Size of the newest index snapshot.
# TYPE landfall_index_snapshot_bytes gauge
landfall_index_snapshot_bytes %d
# HELP landfall_index_snapshot_files Live data files in the newest index snapshot.
# TYPE landfall_index_snapshot_files gauge
landfall_index_snapshot_files 3
`, st.Size())), "landfall_index_entries_published_total", "landfall_index_newest_entry_age_seconds",
		"landfall_index_snapshot_bytes", "landfall_index_snapshot_files"); err != nil {
		t.Fatal(err)
	}
	// A second Log on the same registry (a restarted pipeline) shares the
	// series instead of failing.
	NewLog(f, "clicks", WithRegisterer(reg))
}

func TestParseCursor(t *testing.T) {
	for _, s := range []string{"earliest", "latest", "0", "17"} {
		c, err := ParseCursor(s)
		if err != nil || c.String() != s {
			t.Errorf("%s: %v %v", s, c, err)
		}
	}
	for _, s := range []string{"", "-1", "17x", "Earliest"} {
		if _, err := ParseCursor(s); !errors.Is(err, ErrBadCursor) {
			t.Errorf("%q: %v, want ErrBadCursor", s, err)
		}
	}
}

// TestExpireFinishesInterrupted: an Expire that moved the pointer and
// crashed before deleting every entry below it leaves a run of entries
// under the oldest; the next Expire deletes them.
func TestExpireFinishesInterrupted(t *testing.T) {
	f := newLocal(t)
	now := time.Now()
	l := NewLog(f, "clicks", WithClock(func() time.Time { return now }), WithRetention(time.Minute))
	for i := uint64(1); i <= 10; i++ {
		writeAndPublish(t, l, testEntry(i))
	}
	if err := l.Snapshot(10); err != nil {
		t.Fatal(err)
	}
	now = now.Add(time.Hour)
	if n, err := l.Expire(6); err != nil || n != 5 {
		t.Fatalf("expire: %d, %v", n, err)
	}
	// The crash: entries 4 and 5 were still there when the process died.
	for _, n := range []uint64{4, 5} {
		b, err := encode(testEntry(n), kindEntry)
		if err != nil {
			t.Fatal(err)
		}
		if err := writeFile(f, path.Join(Dir("clicks"), entryName(n)), b); err != nil {
			t.Fatal(err)
		}
	}
	if n, err := l.Expire(6); err != nil || n != 2 {
		t.Fatalf("expire after the interrupted one: deleted %d, %v; want the 2 left over", n, err)
	}
	for _, n := range []uint64{4, 5} {
		if _, err := f.Stat(path.Join(Dir("clicks"), entryName(n))); !errors.Is(err, fs.ErrNotExist) {
			t.Fatalf("leftover entry %d still there: %v", n, err)
		}
	}
}

// TestEpochsKeepOwnersApart: an older owner that resumes after a takeover
// can neither publish nor clean away the newer owner's inflight entry, and
// the newer owner publishes its own, never the older one's.
func TestEpochsKeepOwnersApart(t *testing.T) {
	f := newLocal(t)
	older := NewLog(f, "clicks", WithEpoch(5))
	newer := NewLog(f, "clicks", WithEpoch(6))
	stale := testEntry(1)
	stale.Checkpoint = 7
	if err := older.WriteInflight(stale); err != nil {
		t.Fatal(err)
	}
	mine := testEntry(1)
	mine.Checkpoint = 8
	if err := newer.WriteInflight(mine); err != nil {
		t.Fatal(err)
	}
	if _, err := older.Clean(); err != nil {
		t.Fatal(err)
	}
	if _, err := f.Stat(newer.inflightPath(1)); err != nil {
		t.Fatalf("the older owner's Clean removed the newer one's inflight entry: %v", err)
	}
	if err := newer.Publish(1); err != nil {
		t.Fatal(err)
	}
	got := readAllFrom(t, Open(f, "clicks"), After(0))
	if len(got) != 1 || got[0].Checkpoint != 8 {
		t.Fatalf("published %+v, want the newer owner's entry (checkpoint 8)", got)
	}
	if _, err := newer.Clean(); err != nil {
		t.Fatal(err)
	}
	if _, err := f.Stat(older.inflightPath(1)); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("the newer owner's Clean left the older one's inflight: %v", err)
	}
}

// flakyFS fails the first fails opens of each entry file with an I/O error
// that is not fs.ErrNotExist, as HDFS does while the DataNode holding the
// block restarts.
type flakyFS struct {
	fsys.FS
	mu     sync.Mutex
	fails  int
	failed map[string]int
}

var errDataNodeDown = errors.New("hdfs: no available datanodes")

func (f *flakyFS) Open(name string) (fsys.Reader, error) {
	if strings.HasSuffix(name, ".jsonl") {
		f.mu.Lock()
		n := f.failed[name]
		f.failed[name]++
		f.mu.Unlock()
		if n < f.fails {
			return nil, &fs.PathError{Op: "open", Path: name, Err: errDataNodeDown}
		}
	}
	return f.FS.Open(name)
}

// TestFollowRidesOutReadErrors: a following reader retries an entry whose
// read fails (a DataNode restart) and hands every entry once, in order;
// past its read retry, or without following, it returns the error, and it
// never retries a corrupt entry.
func TestFollowRidesOutReadErrors(t *testing.T) {
	f := newLocal(t)
	l := NewLog(f, "clicks")
	for n := uint64(1); n <= 4; n++ {
		writeAndPublish(t, l, testEntry(n))
	}
	reg := prometheus.NewRegistry()
	flaky := &flakyFS{FS: f, fails: 2, failed: map[string]int{}}
	r := Open(flaky, "clicks", WithRegisterer(reg))
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	var got []uint64
	err := r.Follow(ctx, After(0), time.Millisecond, func(e *Entry) error {
		got = append(got, e.N)
		if e.N == 4 {
			cancel()
		}
		return nil
	})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("follow: %v", err)
	}
	if !reflect.DeepEqual(got, []uint64{1, 2, 3, 4}) {
		t.Fatalf("handed %v, want [1 2 3 4]", got)
	}
	if n := testutil.ToFloat64(r.m.readErrors); n != 8 {
		t.Errorf("landfall_index_reader_read_errors_total = %v, want 8 (2 per entry)", n)
	}

	flaky = &flakyFS{FS: f, fails: 1, failed: map[string]int{}}
	err = Open(flaky, "clicks", WithReadRetry(0)).Follow(t.Context(), After(0), time.Millisecond, func(*Entry) error { return nil })
	if !errors.Is(err, errDataNodeDown) {
		t.Errorf("past its read retry: follow returned %v, want the read error", err)
	}
	flaky = &flakyFS{FS: f, fails: 1, failed: map[string]int{}}
	if err := Open(flaky, "clicks").Follow(t.Context(), After(0), 0, func(*Entry) error { return nil }); !errors.Is(err, errDataNodeDown) {
		t.Errorf("without following: %v, want the read error", err)
	}

	name := path.Join(Dir("clicks"), entryName(5))
	w, err := f.Create(name)
	if err != nil {
		t.Fatal(err)
	}
	w.Write([]byte("{\"entry\":{\"format\":1,\"n\":5,\"logid\":\"clicks\",\"actions\":3}}\n"))
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	err = Open(f, "clicks").Follow(t.Context(), After(4), time.Millisecond, func(*Entry) error { return nil })
	if !errors.Is(err, ErrCorrupt) || time.Since(start) > 5*time.Second {
		t.Fatalf("a corrupt entry: %v after %v, want ErrCorrupt at once", err, time.Since(start))
	}
}

// TestTrackerReadsOnlyNewEntries: a tracker's live files equal a fresh
// replay's after every entry, while each call after the first opens only
// the entries published since, not the snapshot and every entry after it;
// it starts over when expiry overtook it.
func TestTrackerReadsOnlyNewEntries(t *testing.T) {
	f := newLocal(t)
	l := NewLog(f, "clicks")
	for n := uint64(1); n <= 40; n++ {
		writeAndPublish(t, l, testEntry(n))
	}
	if err := l.Snapshot(30); err != nil {
		t.Fatal(err)
	}
	cf := &countingFS{FS: f}
	tr := Open(cf, "clicks").Tracker()
	fresh := Open(f, "clicks")
	part := testEntry(41).Actions[0].Add.Partition
	check := func(what string) {
		t.Helper()
		got, err := tr.LiveFiles(t.Context(), part)
		if err != nil {
			t.Fatal(err)
		}
		want, err := fresh.LiveFiles(t.Context(), part)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("%s: the tracker has %d live files, a replay %d", what, len(got), len(want))
		}
	}
	check("first call")
	cf.take()
	for n := uint64(41); n <= 43; n++ {
		writeAndPublish(t, l, testEntry(n))
	}
	check("after 3 entries")
	opens := 0
	for _, c := range cf.take() {
		if c.op == "open" {
			opens++
		}
	}
	// The 3 entries, the probe for the next one and the pointer's expiry
	// check; a replay opens the snapshot and 13 entries.
	if opens > 5 {
		t.Fatalf("the tracker opened %d files for 3 new entries", opens)
	}

	// Expiry overtakes a tracker that was not called for a while.
	for n := uint64(44); n <= 60; n++ {
		writeAndPublish(t, l, testEntry(n))
	}
	if err := l.Snapshot(60); err != nil {
		t.Fatal(err)
	}
	if _, err := NewLog(f, "clicks", WithRetention(time.Nanosecond), WithClock(func() time.Time { return time.Now().Add(24 * time.Hour * 365) })).Expire(61); err != nil {
		t.Fatal(err)
	}
	writeAndPublish(t, l, testEntry(61))
	check("after expiry")
}
