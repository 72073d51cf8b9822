package committer_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/landfall/landfall/cmd/landfall/loggen"
	"github.com/landfall/landfall/committer/committest"
	"github.com/landfall/landfall/index"
	"github.com/landfall/landfall/writer/fsys"
)

// follower is a downstream job that follows the table's file index from
// earliest and reads every file it is handed at once, as an incremental
// ODS→DWD job would: it proves that a file in the index is always there,
// and that the index hands each record exactly once.
type follower struct {
	e      *env
	fs     fsys.FS
	cancel context.CancelFunc
	done   chan error

	mu      sync.Mutex
	table   *committest.Table
	entries map[uint64][]string // ids read from each entry, by entry number
	last    uint64
	errs    []string
}

func (e *env) follow(t *testing.T) *follower {
	t.Helper()
	f, err := e.fs()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	fl := &follower{e: e, fs: f, cancel: cancel, done: make(chan error, 1), table: committest.NewTable(), entries: map[uint64][]string{}}
	go func() {
		fl.done <- index.Open(f, e.logid).Follow(ctx, index.Earliest, 10*time.Millisecond, fl.handle)
	}()
	t.Cleanup(func() { cancel(); f.Close() })
	return fl
}

// read hands back the ids of an entry's added data files.
func read(f fsys.FS, en *index.Entry, t *committest.Table) ([]string, error) {
	var ids []string
	for _, a := range en.Actions {
		if a.Add == nil || !a.Add.DataChange {
			continue
		}
		recs, err := committest.ReadHanded(f, en.LogID, a.Add.Path, committest.Decoders)
		if err != nil {
			return nil, fmt.Errorf("entry %d hands %s, which can't be read: %w", en.N, a.Add.Path, err)
		}
		if t != nil {
			if err := t.Add(a.Add.Partition, a.Add.Path, recs); err != nil {
				return nil, err
			}
		}
		for _, r := range recs {
			if m := committest.IDPattern.FindSubmatch(r); m != nil {
				ids = append(ids, string(m[1]))
			}
		}
	}
	return ids, nil
}

func (fl *follower) handle(en *index.Entry) error {
	fl.mu.Lock()
	defer fl.mu.Unlock()
	if en.N != fl.last+1 && !en.Snapshot {
		fl.errs = append(fl.errs, fmt.Sprintf("entry %d after entry %d", en.N, fl.last))
	}
	ids, err := read(fl.fs, en, fl.table)
	if err != nil {
		fl.errs = append(fl.errs, err.Error())
	}
	fl.entries[en.N] = ids
	fl.last = en.N
	return nil
}

// finish waits until the follower has read every entry the durable state
// says exists, stops it and checks what it read: every produced record
// exactly once, and from several cursors a replay of exactly the records
// after it.
func (fl *follower) finish(t *testing.T) {
	t.Helper()
	want := fl.e.checkpoint().IndexNext - 1
	waitFor(t, 30*time.Second, fmt.Sprintf("the follower to read entry %d", want), func() bool {
		fl.mu.Lock()
		defer fl.mu.Unlock()
		return fl.last >= want
	})
	fl.cancel()
	if err := <-fl.done; err != nil && !errors.Is(err, context.Canceled) {
		t.Fatalf("the follower failed: %v", err)
	}
	fl.mu.Lock()
	defer fl.mu.Unlock()
	for _, e := range fl.errs {
		t.Error(e)
	}
	fl.e.mu.Lock()
	produced, malformed := map[string]bool{}, map[string]bool{}
	for id, kind := range fl.e.produced {
		produced[id] = true
		malformed[id] = kind == loggen.Malformed
	}
	fl.e.mu.Unlock()
	for _, p := range fl.table.Check(produced, malformed) {
		t.Error("follower: " + p)
	}
	if t.Failed() {
		t.FailNow()
	}
	// Replays from saved cursors.
	for _, c := range []uint64{1, want / 3, want / 2, want - 1} {
		if c < 1 || c >= want {
			continue
		}
		cur, err := index.ParseCursor(fmt.Sprint(c))
		if err != nil {
			t.Fatal(err)
		}
		var got, exp []string
		for n := c + 1; n <= want; n++ {
			exp = append(exp, fl.entries[n]...)
		}
		err = index.Open(fl.fs, fl.e.logid).Follow(context.Background(), cur, 0, func(en *index.Entry) error {
			ids, err := read(fl.fs, en, nil)
			got = append(got, ids...)
			return err
		})
		if err != nil {
			t.Fatalf("replay from cursor %d: %v", c, err)
		}
		if fmt.Sprint(got) != fmt.Sprint(exp) {
			t.Fatalf("replay from cursor %d: %d records, want the %d after it", c, len(got), len(exp))
		}
	}
	t.Logf("the follower read %d entries, %d files, every record once; replays from saved cursors matched", fl.last, fl.table.Files)
}
