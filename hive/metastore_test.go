package hive_test

import (
	"errors"

	hms "github.com/beltran/gohive/hive_metastore"
	"strings"
	"testing"
	"time"

	"github.com/landfall/landfall/hive"
)

func TestMetastoreStepAddsPartitionOnce(t *testing.T) {
	srv, c := setup(t, hive.FormatORC)
	step := hive.NewMetastore(c, hive.WithLogger(testLogger(t)))
	p := commit("20261121", "13", 3, 1000, 4096)
	for i := range 2 {
		if err := step.Commit(ctxT(t), p); err != nil {
			t.Fatalf("commit %d: %v", i, err)
		}
	}
	ps := srv.Partitions("logs", "clicks")
	if len(ps) != 1 {
		t.Fatalf("%d partitions after committing the same partition twice, want 1", len(ps))
	}
	got := ps[0]
	want := map[string]string{
		"numFiles":              "3",
		"numRows":               "1000",
		"totalSize":             "4096",
		"COLUMN_STATS_ACCURATE": `{"BASIC_STATS":"true"}`,
		"landfall.commit_key":   "clicks/20261121/13/1",
		"landfall.commit_time":  "2026-11-21T14:05:00Z",
		"landfall.watermark":    "2026-11-21T14:00:00Z",
		"landfall.offsets":      `{"0":[100,199],"1":[40,80]}`,
	}
	for k, v := range want {
		if got.Parameters[k] != v {
			t.Errorf("parameter %s = %q, want %q", k, got.Parameters[k], v)
		}
	}
	if strings.Join(got.Values, "/") != "20261121/13" {
		t.Errorf("values = %v", got.Values)
	}
	// The storage descriptor is the table's, with the partition's location.
	if got.Sd.Location != p.Location {
		t.Errorf("location = %q, want %q", got.Sd.Location, p.Location)
	}
	if got.Sd.InputFormat != hive.OrcInputFormat || got.Sd.SerdeInfo.SerializationLib != hive.OrcSerDe || len(got.Sd.Cols) != 4 {
		t.Errorf("storage descriptor not copied from the table: %+v", got.Sd)
	}
	if n := srv.Calls("add_partition_with_environment_context"); n != 2 {
		t.Errorf("add_partition calls = %d, want 2", n)
	}
	if n := srv.Calls("alter_partition_with_environment_context"); n != 1 {
		t.Errorf("alter_partition calls = %d, want 1 (the repeat)", n)
	}
}

// Late data appended after the commit: the Update commit alters the totals,
// and a replay of the first commit afterwards does not roll them back.
func TestMetastoreStepUpdateAfterLateData(t *testing.T) {
	srv, c := setup(t, hive.FormatLZO)
	step := hive.NewMetastore(c, hive.WithLogger(testLogger(t)))
	first := commit("20261121", "13", 3, 1000, 4096)
	if err := step.Commit(ctxT(t), first); err != nil {
		t.Fatal(err)
	}
	late := commit("20261121", "13", 4, 1010, 4500)
	late.Update = true
	late.CommitTime = first.CommitTime.Add(20 * time.Minute)
	late.Key = "clicks/20261121/13/2"
	late.Offsets = map[int32][2]int64{0: {100, 209}, 1: {40, 80}}
	if err := step.Commit(ctxT(t), late); err != nil {
		t.Fatal(err)
	}
	check := func(when string) {
		t.Helper()
		ps := srv.Partitions("logs", "clicks")
		if len(ps) != 1 {
			t.Fatalf("%s: %d partitions, want 1", when, len(ps))
		}
		got := ps[0].Parameters
		for k, v := range map[string]string{
			"numFiles": "4", "numRows": "1010", "totalSize": "4500",
			"landfall.commit_key": "clicks/20261121/13/2", "landfall.offsets": `{"0":[100,209],"1":[40,80]}`,
			"landfall.commit_time": "2026-11-21T14:25:00Z",
		} {
			if got[k] != v {
				t.Errorf("%s: parameter %s = %q, want %q", when, k, got[k], v)
			}
		}
	}
	check("after the update")

	// The commit queue replays the first commit (say, its entry was
	// retried after a crash): the newer totals stay.
	if err := step.Commit(ctxT(t), first); err != nil {
		t.Fatal(err)
	}
	check("after replaying the first commit")
}

// With sequence numbers, a replayed older commit loses even when it is
// stamped with a later commit time (the time of its retry).
func TestMetastoreStepSeqOrdersCommits(t *testing.T) {
	srv, c := setup(t, hive.FormatORC)
	step := hive.NewMetastore(c, hive.WithLogger(testLogger(t)))
	first := commit("20261121", "13", 3, 1000, 4096)
	first.Seq = 1
	second := first
	second.Seq, second.Key, second.Update, second.NumRows = 2, "clicks/20261121/13/2", true, 1500
	for _, p := range []hive.Partition{first, second} {
		if err := step.Commit(ctxT(t), p); err != nil {
			t.Fatal(err)
		}
	}
	first.CommitTime = first.CommitTime.Add(time.Hour)
	if err := step.Commit(ctxT(t), first); err != nil {
		t.Fatal(err)
	}
	got := srv.Partitions("logs", "clicks")[0].Parameters
	if got["numRows"] != "1500" || got["landfall.commit_seq"] != "2" {
		t.Errorf("numRows = %q, commit_seq = %q; want 1500 and 2 from the second commit", got["numRows"], got["landfall.commit_seq"])
	}
}

// Parameters the metastore or an operator set on the partition survive
// landfall's alter.
func TestMetastoreStepKeepsForeignParameters(t *testing.T) {
	srv, c := setup(t, hive.FormatORC)
	step := hive.NewMetastore(c)
	p := commit("20261121", "14", 1, 10, 100)
	if err := step.Commit(ctxT(t), p); err != nil {
		t.Fatal(err)
	}
	srv.EditPartition("logs", "clicks", p.Values, func(hp *hms.Partition) {
		hp.Parameters["owner.note"] = "keep me"
	})
	p.Update, p.NumRows, p.Key = true, 12, "k2"
	p.CommitTime = p.CommitTime.Add(time.Minute)
	if err := step.Commit(ctxT(t), p); err != nil {
		t.Fatal(err)
	}
	after := srv.Partitions("logs", "clicks")[0].Parameters
	if after["numRows"] != "12" || after["owner.note"] != "keep me" {
		t.Errorf("numRows = %q (want 12), owner.note = %q (want kept)", after["numRows"], after["owner.note"])
	}
}

func TestMetastoreStepUnknownRows(t *testing.T) {
	srv, c := setup(t, hive.FormatText)
	p := commit("20261121", "15", 2, -1, 300)
	if err := hive.NewMetastore(c).Commit(ctxT(t), p); err != nil {
		t.Fatal(err)
	}
	got := srv.Partitions("logs", "clicks")[0].Parameters
	if _, ok := got["numRows"]; ok {
		t.Errorf("numRows set although unknown: %q", got["numRows"])
	}
	if _, ok := got["COLUMN_STATS_ACCURATE"]; ok {
		t.Error("COLUMN_STATS_ACCURATE set although the row count is unknown")
	}
}

func TestMetastoreStepPermanentErrors(t *testing.T) {
	_, c := setup(t, hive.FormatORC)
	step := hive.NewMetastore(c)

	p := commit("20261121", "13", 1, 1, 1)
	p.Table = "gone"
	err := step.Commit(ctxT(t), p)
	if !errors.Is(err, hive.ErrNotFound) || !hive.IsPermanent(err) {
		t.Errorf("commit into a missing table = %v; want permanent ErrNotFound", err)
	}

	p = commit("20261121", "13", 1, 1, 1)
	p.Keys = []string{"log_date", "hour"}
	if err := step.Commit(ctxT(t), p); !hive.IsPermanent(err) || !strings.Contains(err.Error(), `"hour"`) {
		t.Errorf("commit with a wrong key = %v; want a permanent error naming it", err)
	}
}

// The step rides out a metastore outage inside its retry budget; a longer
// outage leaves a transient error for the commit queue, and the retried
// commit then lands exactly one partition.
func TestMetastoreStepThroughOutage(t *testing.T) {
	srv, _ := setup(t, hive.FormatORC)
	c := newClient(t, hive.MetastoreConfig{
		URIs:  []string{srv.URI()},
		Retry: hive.RetryConfig{Attempts: 3, InitialBackoff: 5 * time.Millisecond, MaxBackoff: 10 * time.Millisecond},
	})
	step := hive.NewMetastore(c, hive.WithLogger(testLogger(t)))
	p := commit("20261121", "16", 1, 5, 50)

	srv.Down()
	err := step.Commit(ctxT(t), p)
	if err == nil || hive.IsPermanent(err) || !errors.Is(err, hive.ErrUnavailable) {
		t.Fatalf("commit while the metastore is down = %v; want transient ErrUnavailable", err)
	}
	if err := srv.Up(); err != nil {
		t.Fatal(err)
	}
	if err := step.Commit(ctxT(t), p); err != nil {
		t.Fatalf("commit after the outage: %v", err)
	}
	if err := step.Commit(ctxT(t), p); err != nil {
		t.Fatalf("repeat after the outage: %v", err)
	}
	if n := len(srv.Partitions("logs", "clicks")); n != 1 {
		t.Fatalf("%d partitions, want 1", n)
	}
}

// Hive 4 overwrites numFiles and totalSize of a partition whose directory
// exists when it is added; the step puts landfall's totals back.
func TestMetastoreStepRestoresRecomputedStats(t *testing.T) {
	srv, c := setup(t, hive.FormatORC)
	srv.RecomputeStatsOnAdd(true)
	p := commit("20261121", "17", 3, 30, 3000)
	if err := hive.NewMetastore(c).Commit(ctxT(t), p); err != nil {
		t.Fatal(err)
	}
	got := srv.Partitions("logs", "clicks")[0].Parameters
	if got["numFiles"] != "3" || got["totalSize"] != "3000" {
		t.Errorf("numFiles = %q, totalSize = %q; want landfall's 3 and 3000", got["numFiles"], got["totalSize"])
	}
	if n := srv.Calls("alter_partition_with_environment_context"); n != 1 {
		t.Errorf("alter calls = %d, want 1", n)
	}
}
