package index

import (
	"os"
	"path"
	"path/filepath"
	"testing"
)

// weekOfEntries is a week of 10 s checkpoints.
const weekOfEntries = 7 * 24 * 360

// snapshotEvery is the snapshot interval the benchmark (and FORMAT.md)
// recommends: a reader from earliest opens one snapshot and at most 1,000
// entries (a second or two of NameNode calls), while the writer rebuilds
// the live set every 1,000 entries (2.8 h at 10 s), reading the previous
// snapshot and 1,000 entries — one extra open per checkpoint on average.
// Smaller K writes the (table-sized) snapshot more often; larger K makes
// every new reader open more tiny files.
const snapshotEvery = 1000

// BenchmarkCatchUpFromEarliest: a reader starting at earliest on a week of
// entries, with the newest snapshot at the last multiple of snapshotEvery,
// against replaying every entry with no snapshot. It reports entries
// covered per second and filesystem calls per catch-up (NameNode RPCs on
// HDFS).
//
//	go test -run '^$' -bench CatchUp -benchtime 3x ./index/
func BenchmarkCatchUpFromEarliest(b *testing.B) {
	for _, bc := range []struct {
		name     string
		snapshot bool
	}{{"snapshot-every-1000", true}, {"no-snapshot", false}} {
		b.Run(bc.name, func(b *testing.B) {
			f := newLocal(b)
			writeWeek(b, f)
			if bc.snapshot {
				if err := NewLog(f, "clicks").Snapshot(weekOfEntries / snapshotEvery * snapshotEvery); err != nil {
					b.Fatal(err)
				}
			}
			cf := &countingFS{FS: f}
			r := Open(cf, "clicks")
			var calls, files int
			for b.Loop() {
				cf.take()
				files = 0
				var last uint64
				err := r.Follow(b.Context(), Earliest, 0, func(e *Entry) error {
					last = e.N
					files += len(e.Actions)
					return nil
				})
				if err != nil {
					b.Fatal(err)
				}
				if last != weekOfEntries {
					b.Fatalf("caught up to %d, want %d", last, weekOfEntries)
				}
				calls = len(cf.take())
			}
			b.ReportMetric(float64(weekOfEntries)/(b.Elapsed().Seconds()/float64(b.N)), "entries/s")
			b.ReportMetric(float64(calls), "fs-calls/op")
			b.ReportMetric(float64(files), "actions/op")
		})
	}
}

// writeWeek writes a week of published entries straight to disk (no
// fsync: this is set-up, not the thing measured).
func writeWeek(b *testing.B, f interface{ Root() string }) {
	dir := filepath.Join(f.Root(), filepath.FromSlash(Dir("clicks")))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		b.Fatal(err)
	}
	for n := uint64(1); n <= weekOfEntries; n++ {
		data, err := encode(testEntry(n), kindEntry)
		if err != nil {
			b.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, path.Base(entryName(n))), data, 0o644); err != nil {
			b.Fatal(err)
		}
	}
}
