package main

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/landfall/landfall/committer/committest"
	"github.com/landfall/landfall/writer/fsys"
)

// quickstartOutput runs the quickstart and returns what it printed.
func quickstartOutput(t *testing.T, args ...string) string {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	saved := os.Stdout
	os.Stdout = w
	got := make(chan string)
	go func() { b, _ := io.ReadAll(r); got <- string(b) }()
	err = cmdQuickstart(args, os.Stdout)
	os.Stdout = saved
	w.Close()
	out := <-got
	if err != nil {
		t.Fatalf("quickstart %v: %v\n%s", args, err, out)
	}
	return out
}

// landedRecords counts the records in the table's visible data files and
// its invalid-record sink (text format: one line each).
func landedRecords(t *testing.T, table string) int {
	t.Helper()
	n := 0
	err := filepath.WalkDir(table, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && strings.HasPrefix(d.Name(), ".") {
			return filepath.SkipDir
		}
		if d.IsDir() || strings.HasPrefix(d.Name(), ".") || d.Name() == "_SUCCESS" {
			return nil
		}
		f, err := os.Open(p)
		if err != nil {
			return err
		}
		defer f.Close()
		sc := bufio.NewScanner(f)
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			n++
		}
		return sc.Err()
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// TestQuickstartStartsFresh: a second quickstart on the same --dir says
// that it starts fresh, and its table holds exactly the records it
// produced, not the first run's beside them (issue 16 item 1).
func TestQuickstartStartsFresh(t *testing.T) {
	dir := t.TempDir()
	args := []string{"--dir", dir, "--duration", "6s", "--day", "2s", "--rate", "1000", "--partitions", "2"}
	quickstartOutput(t, args...)
	out := quickstartOutput(t, args...)
	if !strings.Contains(out, "fresh") || !strings.Contains(out, "removed the previous run") {
		t.Fatalf("the second run does not say it starts fresh:\n%s", out)
	}
	// One clock, labelled: the partition time zone, by name and offset.
	for _, want := range []string{"Asia/Shanghai replayed", "in Asia/Shanghai (UTC+08:00)", "updates for late data"} {
		if !strings.Contains(out, want) {
			t.Errorf("the output does not say %q:\n%s", want, out)
		}
	}
	m := regexp.MustCompile(`produced (\d+) records`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no summary:\n%s", out)
	}
	produced, _ := strconv.Atoi(m[1])
	table := filepath.Join(dir, "warehouse", "quickstart.db", "logs")
	if got := landedRecords(t, table); got != produced || produced == 0 {
		t.Fatalf("the table holds %d records after a run that produced %d:\n%s", got, produced, out)
	}
}

// TestQuickstartSummaryCountsDataFiles: an lzo file's .lzo.index is not a
// data file.
func TestQuickstartSummaryCountsDataFiles(t *testing.T) {
	table := t.TempDir()
	part := filepath.Join(table, "log_date=20260101", "log_hour=00")
	if err := os.MkdirAll(part, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"part-a-1.lzo", "part-a-1.lzo.index", "_SUCCESS"} {
		if err := os.WriteFile(filepath.Join(part, name), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	r, w, _ := os.Pipe()
	if err := summarize(w, table, 1); err != nil {
		t.Fatal(err)
	}
	w.Close()
	b, _ := io.ReadAll(r)
	if !regexp.MustCompile(`log_hour=00\s+1 files`).Match(b) {
		t.Fatalf("summary counts sidecars as data files:\n%s", b)
	}
}

// TestQuickstartWritesItsConfig: the quickstart leaves the configuration
// it ran with in <dir>/landfall.yaml, and the index commands work against
// it after the run: tail hands every landed record once, verify agrees.
func TestQuickstartWritesItsConfig(t *testing.T) {
	dir := t.TempDir()
	out := quickstartOutput(t, "--dir", dir, "--duration", "6s", "--day", "2s", "--rate", "1000", "--partitions", "2")
	cfgPath := filepath.Join(dir, "landfall.yaml")
	if !strings.Contains(out, cfgPath) {
		t.Fatalf("the output does not name %s:\n%s", cfgPath, out)
	}
	var tail strings.Builder
	if err := runIndex(context.Background(), []string{"tail", "--config", cfgPath, "--from", "earliest", "--json"}, &tail); err != nil {
		t.Fatalf("index tail --config %s: %v", cfgPath, err)
	}
	table := filepath.Join(dir, "warehouse", "quickstart.db", "logs")
	lfs, err := fsys.NewLocal(table)
	if err != nil {
		t.Fatal(err)
	}
	handed := 0
	for _, line := range strings.Split(strings.TrimSpace(tail.String()), "\n") {
		var e jsonEntry
		if err := json.Unmarshal([]byte(line), &e); err != nil {
			t.Fatalf("index tail printed %q: %v", line, err)
		}
		for _, a := range e.Actions {
			if a.Add == nil || !a.Add.DataChange {
				continue
			}
			recs, err := committest.ReadFile(lfs, a.Add.Path, committest.Decoders)
			if err != nil {
				t.Fatal(err)
			}
			handed += len(recs)
		}
	}
	if got := landedRecords(t, table); handed != got || got == 0 {
		t.Fatalf("index tail handed %d records; the table holds %d", handed, got)
	}
	var verify strings.Builder
	if err := runIndex(context.Background(), []string{"verify", "--config", cfgPath}, &verify); err != nil {
		t.Fatalf("index verify: %v\n%s", err, verify.String())
	}
}
