package index

import (
	"fmt"
	"io/fs"
	"path"
	"sync"
	"testing"
	"time"

	"github.com/landfall/landfall/writer/fsys"
)

// countingFS counts the calls that reach the filesystem, by operation and
// name: on HDFS each is one NameNode RPC, which is what a waiting reader
// must economize.
type countingFS struct {
	fsys.FS
	mu    sync.Mutex
	calls []call
}

type call struct{ op, name string }

func (c *countingFS) add(op, name string) {
	c.mu.Lock()
	c.calls = append(c.calls, call{op, name})
	c.mu.Unlock()
}

func (c *countingFS) Create(name string) (fsys.File, error) {
	c.add("create", name)
	return c.FS.Create(name)
}
func (c *countingFS) Open(name string) (fsys.Reader, error) {
	c.add("open", name)
	return c.FS.Open(name)
}
func (c *countingFS) Rename(a, b string) error { c.add("rename", a); return c.FS.Rename(a, b) }
func (c *countingFS) Remove(name string) error { c.add("remove", name); return c.FS.Remove(name) }
func (c *countingFS) Stat(name string) (fs.FileInfo, error) {
	c.add("stat", name)
	return c.FS.Stat(name)
}
func (c *countingFS) ReadDir(dir string) ([]fs.FileInfo, error) {
	c.add("readdir", dir)
	return c.FS.ReadDir(dir)
}
func (c *countingFS) MkdirAll(dir string) error { c.add("mkdir", dir); return c.FS.MkdirAll(dir) }

// take returns the calls so far and forgets them.
func (c *countingFS) take() []call {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := c.calls
	c.calls = nil
	return out
}

func newLocal(t testing.TB) *fsys.Local {
	t.Helper()
	f, err := fsys.NewLocal(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return f
}

var t0 = time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC)

// testEntry is entry n of a table with one hourly partition per 360
// entries (10 s checkpoints): one data file, and the partition's
// completion when its hour ends.
func testEntry(n uint64) *Entry {
	at := t0.Add(time.Duration(n) * 10 * time.Second)
	part := fmt.Sprintf("log_date=%s/log_hour=%s", at.Format("20060102"), at.Format("15"))
	e := &Entry{N: n, LogID: "clicks", Checkpoint: n + 100, CommitTime: at, Actions: []Action{{Add: &File{
		Path:      path.Join(part, fmt.Sprintf("part-clicks-%010d-tok-0000.orc", n+100)),
		Partition: part, Size: 1000 + int64(n), Rows: 10,
		Offsets:  map[int32][2]int64{0: {int64(n) * 10, int64(n)*10 + 4}, 1: {int64(n) * 5, int64(n)*5 + 4}},
		EventMin: at.Add(-10 * time.Second).UnixMilli(), EventMax: at.UnixMilli(), Format: "orc", DataChange: true,
	}}}}
	if n%360 == 0 {
		prev := at.Add(-time.Hour)
		e.Actions = append(e.Actions, Action{PartitionComplete: &PartitionComplete{
			Partition: fmt.Sprintf("log_date=%s/log_hour=%s", prev.Format("20060102"), prev.Format("15")),
			Files:     360, Rows: 3600, Bytes: 360 * 1000, Watermark: at.UnixMilli(), CommitKey: fmt.Sprintf("clicks/%d", n)}})
	}
	return e
}

func writeAndPublish(t testing.TB, l *Log, e *Entry) {
	t.Helper()
	if err := l.WriteInflight(e); err != nil {
		t.Fatal(err)
	}
	if err := l.Publish(e.N); err != nil {
		t.Fatal(err)
	}
}

// readAllFrom follows from c without waiting and returns the entries.
func readAllFrom(t testing.TB, r *Reader, c Cursor) []*Entry {
	t.Helper()
	var got []*Entry
	if err := r.Follow(t.Context(), c, 0, func(e *Entry) error { got = append(got, e); return nil }); err != nil {
		t.Fatalf("follow from %s: %v", c, err)
	}
	return got
}
