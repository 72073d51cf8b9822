package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/landfall/landfall/index"
	"github.com/landfall/landfall/writer/fsys"
)

// indexTable writes a config and a table with an index of n entries, one
// text file each in partition p (snapshot at entry 4), and returns the
// config path, the table root and the Log.
func indexTable(t *testing.T, n uint64) (string, *fsys.Local, *index.Log) {
	t.Helper()
	dir := t.TempDir()
	table := filepath.Join(dir, "warehouse", "clicks")
	cfg := filepath.Join(dir, "landfall.yaml")
	err := os.WriteFile(cfg, []byte(fmt.Sprintf(`
logid: clicks
kafka: {brokers: ["127.0.0.1:9092"], topic: clicks}
etcd: {endpoints: ["127.0.0.1:2379"]}
warehouse: {uri: "file://%s"}
format: {name: text}
event_time: {field: ts}
`, table)), 0o644)
	if err != nil {
		t.Fatal(err)
	}
	wfs, err := fsys.NewLocal(table)
	if err != nil {
		t.Fatal(err)
	}
	l := index.NewLog(wfs, "clicks")
	for i := uint64(1); i <= n; i++ {
		publishText(t, wfs, l, i)
		if i == 4 {
			if err := l.Snapshot(4); err != nil {
				t.Fatal(err)
			}
		}
	}
	return cfg, wfs, l
}

const testPartition = "log_date=20240301/log_hour=00"

func publishText(t *testing.T, wfs fsys.FS, l *index.Log, i uint64) {
	t.Helper()
	name := fmt.Sprintf("%s/part-clicks-%010d-tok-0000.txt", testPartition, i)
	data := fmt.Sprintf(`{"ts":%d,"id":"r%d"}`+"\n", 1709251200000+i, i)
	w, err := wfs.Create(name)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write([]byte(data)); err != nil {
		t.Fatal(err)
	}
	if err := w.Sync(); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	e := &index.Entry{N: i, Checkpoint: 100 + i, Actions: []index.Action{{Add: &index.File{Path: name, Partition: testPartition,
		Size: int64(len(data)), Rows: 1, Offsets: map[int32][2]int64{0: {int64(i), int64(i)}}, Format: "text", DataChange: true}}}}
	if err := l.WriteInflight(e); err != nil {
		t.Fatal(err)
	}
	if err := l.Publish(i); err != nil {
		t.Fatal(err)
	}
}

func runIndexOut(t *testing.T, args ...string) (string, error) {
	t.Helper()
	var out bytes.Buffer
	err := runIndex(t.Context(), args, &out)
	return out.String(), err
}

// TestIndexTail: tail from earliest hands the snapshot then the entries,
// from a cursor exactly the entries after it, from latest nothing; --json
// lines carry the cursor to save.
func TestIndexTail(t *testing.T) {
	cfg, _, _ := indexTable(t, 6)
	out, err := runIndexOut(t, "tail", "--config", cfg, "--from", "earliest", "--json")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 3 {
		t.Fatalf("earliest: %d lines, want the snapshot and entries 5, 6:\n%s", len(lines), out)
	}
	var files []string
	var cursors []string
	for _, line := range lines {
		var e struct {
			Cursor   string         `json:"cursor"`
			Snapshot bool           `json:"snapshot"`
			Actions  []index.Action `json:"actions"`
		}
		if err := json.Unmarshal([]byte(line), &e); err != nil {
			t.Fatalf("%v: %s", err, line)
		}
		cursors = append(cursors, e.Cursor)
		for _, a := range e.Actions {
			files = append(files, a.Add.Path)
		}
	}
	if fmt.Sprint(cursors) != "[4 5 6]" || len(files) != 6 {
		t.Fatalf("cursors %v, %d files", cursors, len(files))
	}
	out, err = runIndexOut(t, "tail", "--config", cfg, "--from", "2")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Count(out, "# entry") != 4 || !strings.Contains(out, "# entry 3 checkpoint 103") ||
		!strings.Contains(out, "add     "+testPartition+"/part-clicks-0000000006-tok-0000.txt size=31 rows=1 offsets=0:6-6") {
		t.Fatalf("tail from 2:\n%s", out)
	}
	if out, err = runIndexOut(t, "tail", "--config", cfg, "--from", "latest"); err != nil || out != "" {
		t.Fatalf("tail from latest without --follow: %q, %v", out, err)
	}
	if _, err = runIndexOut(t, "tail", "--config", cfg, "--from", "yesterday"); !errors.Is(err, index.ErrBadCursor) {
		t.Fatalf("bad --from: %v", err)
	}
}

// TestIndexTailFollow: --follow from latest prints what is published
// after it started, and stops with its context.
func TestIndexTailFollow(t *testing.T) {
	cfg, wfs, l := indexTable(t, 2)
	ctx, cancel := context.WithCancel(t.Context())
	var mu sync.Mutex
	var out bytes.Buffer
	done := make(chan error, 1)
	go func() {
		done <- runIndex(ctx, []string{"tail", "--config", cfg, "--from", "latest", "--follow", "--poll", "5ms"}, writerFunc(func(b []byte) {
			mu.Lock()
			out.Write(b)
			mu.Unlock()
		}))
	}()
	time.Sleep(50 * time.Millisecond) // let it start at latest = 2
	publishText(t, wfs, l, 3)
	deadline := time.Now().Add(10 * time.Second)
	for {
		mu.Lock()
		s := out.String()
		mu.Unlock()
		if strings.Contains(s, "# entry 3") {
			if strings.Contains(s, "# entry 2") {
				t.Fatalf("followed from latest, printed entry 2:\n%s", s)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("entry 3 not printed within 10 s:\n%s", s)
		}
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("follow ended with %v", err)
	}
}

type writerFunc func([]byte)

func (f writerFunc) Write(b []byte) (int, error) { f(b); return len(b), nil }

// TestIndexFilesAndVerify: files lists a partition's live files; verify
// passes on a consistent table and lists a missing, a resized and an
// unindexed file otherwise, ignoring hidden files and _SUCCESS.
func TestIndexFilesAndVerify(t *testing.T) {
	cfg, wfs, _ := indexTable(t, 5)
	out, err := runIndexOut(t, "files", "--config", cfg, "--partition", testPartition)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Count(out, "\n") != 5 || !strings.Contains(out, "part-clicks-0000000001-tok-0000.txt size=31") {
		t.Fatalf("files:\n%s", out)
	}
	if out, err := runIndexOut(t, "files", "--config", cfg, "--partition", "log_date=20240301/log_hour=01"); err != nil || out != "" {
		t.Fatalf("files of an empty partition: %q, %v", out, err)
	}
	if _, err := runIndexOut(t, "files", "--config", cfg); err == nil {
		t.Fatal("files without --partition succeeded")
	}

	root := wfs.Root()
	for _, name := range []string{testPartition + "/_SUCCESS", testPartition + "/.part-x.inprogress", ".landfall/clicks/staging/tok-000001.txt"} {
		if err := os.MkdirAll(filepath.Dir(filepath.Join(root, name)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(root, name), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if out, err := runIndexOut(t, "verify", "--config", cfg); err != nil {
		t.Fatalf("verify of a consistent table: %v\n%s", err, out)
	}

	p := func(i int) string {
		return filepath.Join(root, testPartition, fmt.Sprintf("part-clicks-%010d-tok-0000.txt", i))
	}
	if err := os.Remove(p(1)); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p(2), []byte("changed\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, testPartition, "stray.txt"), []byte("x\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(root, "_invalid"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "_invalid", "part-x.jsonl"), []byte("x\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err = runIndexOut(t, "verify", "--config", cfg)
	if !errors.Is(err, errDifferences) {
		t.Fatalf("verify of a damaged table: %v", err)
	}
	want := []string{
		"_invalid/part-x.jsonl: not in the index (2 bytes)",
		testPartition + "/part-clicks-0000000001-tok-0000.txt: in the index, missing from the warehouse",
		testPartition + "/part-clicks-0000000002-tok-0000.txt: size 8, the index says 31",
		testPartition + "/stray.txt: not in the index (2 bytes)",
	}
	if got := strings.TrimSpace(out); got != strings.Join(want, "\n") {
		t.Fatalf("verify printed:\n%s\nwant:\n%s", got, strings.Join(want, "\n"))
	}
}
