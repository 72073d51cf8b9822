package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestCompactCommand: after a quickstart (compaction off), `landfall
// compact` merges a committed partition's small files into one, keeps
// every record, leaves an index that verify agrees with, and says so; a
// second run says there is nothing to merge; a missing --partition is a
// clear error.
func TestCompactCommand(t *testing.T) {
	dir := t.TempDir()
	// An hour of event time in 10 s: about five 2 s checkpoints' files.
	quickstartOutput(t, "--dir", dir, "--duration", "16s", "--day", "240s", "--rate", "500", "--partitions", "2")
	cfg := filepath.Join(dir, "landfall.yaml")
	table := filepath.Join(dir, "warehouse", "quickstart.db", "logs")
	// The committed partition with the most files.
	var part string
	most := 0
	dates, _ := filepath.Glob(filepath.Join(table, "log_date=*", "log_hour=*", "_SUCCESS"))
	for _, s := range dates {
		d := filepath.Dir(s)
		if n := dataFiles(t, d); n > most {
			most, part = n, d
		}
	}
	if most < 3 {
		t.Fatalf("no committed partition with small files to merge (most: %d)", most)
	}
	rel, _ := filepath.Rel(table, part)
	records := landedRecords(t, table)

	if err := runCompact(context.Background(), []string{"--config", cfg}, &strings.Builder{}); err == nil || !strings.Contains(err.Error(), "--partition is required") {
		t.Fatalf("without --partition: %v", err)
	}
	var out strings.Builder
	if err := runCompact(context.Background(), []string{"--config", cfg, "--partition", rel, "--log-level", "warn"}, &out); err != nil {
		t.Fatalf("compact: %v\n%s", err, out.String())
	}
	if !strings.Contains(out.String(), "merged into 1") || !strings.Contains(out.String(), "re-committed") {
		t.Fatalf("compact printed %q", out.String())
	}
	if n := dataFiles(t, part); n != 1 {
		t.Fatalf("%s holds %d data files after compact, want 1 (of %d)", rel, n, most)
	}
	if got := landedRecords(t, table); got != records {
		t.Fatalf("the table holds %d records after compact, %d before", got, records)
	}
	var verify strings.Builder
	if err := runIndex(context.Background(), []string{"verify", "--config", cfg}, &verify); err != nil {
		t.Fatalf("index verify after compact: %v\n%s", err, verify.String())
	}
	out.Reset()
	if err := runCompact(context.Background(), []string{"--config", cfg, "--partition", rel, "--log-level", "warn"}, &out); err != nil || !strings.Contains(out.String(), "nothing to merge") {
		t.Fatalf("a second compact: %v, %q", err, out.String())
	}
}

func dataFiles(t *testing.T, dir string) int {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), "part-") && !strings.HasSuffix(e.Name(), ".index") {
			n++
		}
	}
	return n
}
