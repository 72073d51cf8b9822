package committer_test

import (
	"errors"
	"testing"
	"time"

	"github.com/landfall/landfall/cmd/landfall/loggen"
	"github.com/landfall/landfall/committer"
	"github.com/landfall/landfall/writer"
	"github.com/landfall/landfall/writer/lzo"
	"github.com/landfall/landfall/writer/orc"
)

// TestExactlyOnceAcrossCrashes crashes the pipeline at every named point of
// the checkpoint protocol — before the state write, after it, during async
// close, between renames, in a partition commit and during recovery itself —
// while a producer keeps writing, then reads every committed file back and
// checks each record is there exactly once.
func TestExactlyOnceAcrossCrashes(t *testing.T) {
	for _, name := range []string{"text", "lzo", "orc"} {
		t.Run(name, func(t *testing.T) { testExactlyOnceAcrossCrashes(t, name, 1) })
	}
	// Three shards for four Kafka partitions: one shard has two, and an
	// hour has a file in every shard.
	for _, name := range []string{"text", "orc"} {
		t.Run(name+"/parallelism=3", func(t *testing.T) { testExactlyOnceAcrossCrashes(t, name, 3) })
	}
}

func testExactlyOnceAcrossCrashes(t *testing.T, format string, parallelism int) {
	e := newEnv(t, 4)
	cfg := e.config(func(c *committer.Config) { c.Parallelism = parallelism })
	f := newFormat(t, format)
	base := time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC)

	// A producer runs through the whole test so that every crash happens
	// with data in flight; event time moves 2s per record, so hours fill and
	// commit as the test goes.
	stopProducing := e.produceInBackground(200, base, 2*time.Second)

	points := []struct {
		name string
		at   int
	}{
		{committer.FPCheckpointStart, 3},
		{committer.FPBeforeSave, 2},
		{committer.FPAfterSave, 2},
		{committer.FPBeforeClose, 3},
		{committer.FPBeforeRename, 4},
		{committer.FPAfterRename, 3},
		{committer.FPBeforeRename, 2},     // leaves at least one durable file unrenamed…
		{committer.FPRecoveryFinalize, 1}, // …so recovery has something to finish when it crashes
		{committer.FPBeforeCommitStep, 2},
		{committer.FPAfterSave, 3},
		{committer.FPRecoverySweep, 1},
		{committer.FPBeforeRename, 1},
		{committer.FPAfterRename, 7},
		// Around the file index: a follower reads it the whole time.
		{committer.FPIndexBeforeInflight, 3},
		{committer.FPIndexAfterInflight, 2},
		{committer.FPIndexBeforePublish, 2},
		{committer.FPAfterSave, 2},     // the entry inflight and promised, nothing renamed…
		{committer.FPRecoveryIndex, 1}, // …so recovery publishes it, and crashes there
		{committer.FPIndexBeforePublish, 1},
	}
	fl := e.follow(t)
	for _, pt := range points {
		c := crashAt(pt.name, pt.at)
		in := e.start(cfg, opts{failpoint: c.hook, format: f})
		err := in.crashed(t, 20*time.Second)
		if err == nil {
			in.stop(t)
			t.Fatalf("no crash at %s #%d within 20s (hits %v)", pt.name, pt.at, c.hits)
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
	in.stop(t)
	e.checkExactlyOnce(readTable(t, e.dir))
	fl.finish(t)
	// Every crashed run's open files gave their memory back (the format is
	// shared by all runs, as a process that restarts in place shares it).
	waitFor(t, 5*time.Second, "the crashed runs' buffers released", func() bool { return buffered(f) == 0 })
	// …and closed their files, written or rolled.
	waitFor(t, 5*time.Second, "every file closed", func() bool { return e.openFiles.Load() == 0 })
}

// buffered is what the open files of f hold in its memory budget (not
// what the format reserves for itself: text's zstd encoders).
func buffered(f writer.Format) int64 {
	switch f := f.(type) {
	case writer.Budgeted:
		b := f.Budget()
		return b.InUse() - b.Reserved()
	case interface{ BufferedBytes() int64 }:
		return f.BufferedBytes()
	}
	return 0
}

func newFormat(t *testing.T, name string) writer.Format {
	t.Helper()
	var f writer.Format
	var err error
	switch name {
	case "text":
		f, err = writer.NewText("zstd")
	case "lzo":
		f, err = lzo.NewFormat(lzo.WithBlockSize(64 << 10))
	case "orc":
		var schema *orc.Type
		if schema, err = orc.ParseSchema(loggen.Schema); err == nil {
			f, err = orc.NewFormat(schema, orc.WithStripeSize(1<<20))
		}
	}
	if err != nil {
		t.Fatal(err)
	}
	return f
}
