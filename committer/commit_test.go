package committer_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/landfall/landfall/committer"
	"github.com/landfall/landfall/state"
)

func rec(id int, ts time.Time) string {
	return fmt.Sprintf(`{"ts":%d,"id":"%d","msg":"hello"}`, ts.UnixMilli(), id)
}

// TestWatermarkCommit: an hour is committed only once the watermark (max
// event time minus out-of-orderness, over all active Kafka partitions)
// passes its end, never before.
func TestWatermarkCommit(t *testing.T) {
	e := newEnv(t, 1)
	cfg := e.config(func(c *committer.Config) { c.Watermark.OutOfOrderness = 5 * time.Minute })
	h := time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC)
	// The processing clock stays at the data's time, so the stream-break
	// clock never commits anything here: only the event-time watermark does.
	in := e.start(cfg, opts{now: func() time.Time { return h }})
	defer in.stop(t)

	e.produceRaw(rec(1, h.Add(10*time.Minute)), rec(2, h.Add(59*time.Minute)), rec(3, h.Add(64*time.Minute)))
	e.waitConsumed(10 * time.Second)
	time.Sleep(300 * time.Millisecond) // several checkpoints
	l := readTable(t, e.dir)
	if l.Success["log_date=20261121/log_hour=10"] {
		t.Fatal("hour 10 committed while the watermark (11:04-5m) is inside it")
	}
	e.produceRaw(rec(4, h.Add(66*time.Minute)))
	waitFor(t, 10*time.Second, "hour 10 committed", func() bool {
		return readTable(t, e.dir).Success["log_date=20261121/log_hour=10"]
	})
	l = readTable(t, e.dir)
	if n := l.ByDir["log_date=20261121/log_hour=10"]; n != 2 {
		t.Fatalf("hour 10 holds %d records, want 2", n)
	}
	if l.Success["log_date=20261121/log_hour=11"] {
		t.Fatal("hour 11 committed early")
	}
}

// TestStreamBreakCommitsEmptyHours: when no record arrives for two
// checkpoints, the processing-time clock drives the watermark, so the open
// hour commits and hours without data get an empty partition with _SUCCESS.
func TestStreamBreakCommitsEmptyHours(t *testing.T) {
	e := newEnv(t, 2)
	h := time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC)
	now := h.Add(3*time.Hour + 30*time.Minute) // processing time: 13:30
	cfg := e.config(func(c *committer.Config) { c.Watermark.OutOfOrderness = 5 * time.Minute })
	in := e.start(cfg, opts{now: func() time.Time { return now }})
	defer in.stop(t)
	e.produceRaw(rec(1, h.Add(5*time.Minute)), rec(2, h.Add(20*time.Minute)))
	waitFor(t, 10*time.Second, "hours 10-12 committed", func() bool {
		l := readTable(t, e.dir)
		return l.Success["log_date=20261121/log_hour=10"] && l.Success["log_date=20261121/log_hour=11"] && l.Success["log_date=20261121/log_hour=12"]
	})
	l := readTable(t, e.dir)
	if l.ByDir["log_date=20261121/log_hour=10"] != 2 {
		t.Fatalf("hour 10 holds %d records, want 2", l.ByDir["log_date=20261121/log_hour=10"])
	}
	for _, empty := range []string{"log_date=20261121/log_hour=11", "log_date=20261121/log_hour=12"} {
		ents, err := os.ReadDir(filepath.Join(e.dir, empty))
		if err != nil {
			t.Fatal(err)
		}
		if len(ents) != 1 || ents[0].Name() != "_SUCCESS" {
			t.Fatalf("empty hour %s holds %v, want only _SUCCESS", empty, ents)
		}
	}
	if l.Success["log_date=20261121/log_hour=13"] {
		t.Fatal("hour 13 (still open on the clock) committed")
	}
}

// TestLateDataAppend: records for a committed partition are appended to it
// as new committed files, counted, and the partition is re-committed.
func TestLateDataAppend(t *testing.T) {
	e := newEnv(t, 1)
	cfg := e.config(nil)
	h := time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC)
	in := e.start(cfg, opts{now: func() time.Time { return h }})
	e.produceRaw(rec(1, h.Add(5*time.Minute)), rec(2, h.Add(2*time.Hour)))
	waitFor(t, 10*time.Second, "hour 10 committed", func() bool {
		return readTable(t, e.dir).Success["log_date=20261121/log_hour=10"]
	})
	e.produceRaw(rec(3, h.Add(30*time.Minute)))
	e.waitConsumed(10 * time.Second)
	waitFor(t, 10*time.Second, "late record committed", func() bool {
		return readTable(t, e.dir).ByDir["log_date=20261121/log_hour=10"] == 2
	})
	// The re-commit is an update of one partition, not a second one
	// (issue 16: the quickstart counted 166 partitions where 29 existed).
	waitFor(t, 10*time.Second, "the update counted", func() bool { _, u := in.p.Commits(); return u == 1 })
	if parts, updates := in.p.Commits(); parts != 1 || updates != 1 {
		t.Fatalf("Commits() = %d partitions, %d updates; want 1 and 1", parts, updates)
	}
	in.stop(t)
	cp := e.checkpoint()
	st := cp.Partitions["log_date=20261121/log_hour=10"]
	if st == nil || st.Commits != 2 || st.Rows != 2 || st.Files != 2 {
		t.Fatalf("partition state after late data = %+v, want 2 commits of 2 rows in 2 files", st)
	}
}

// TestLateDataSink: with late.policy=sink, late records go to _late/ and the
// committed partition is left alone.
func TestLateDataSink(t *testing.T) {
	e := newEnv(t, 1)
	cfg := e.config(func(c *committer.Config) { c.Late.Policy = "sink" })
	h := time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC)
	in := e.start(cfg, opts{now: func() time.Time { return h }})
	defer in.stop(t)
	e.produceRaw(rec(1, h.Add(5*time.Minute)), rec(2, h.Add(2*time.Hour)))
	waitFor(t, 10*time.Second, "hour 10 committed", func() bool {
		return readTable(t, e.dir).Success["log_date=20261121/log_hour=10"]
	})
	e.produceRaw(rec(3, h.Add(30*time.Minute)))
	waitFor(t, 10*time.Second, "late record in the sink", func() bool { return readTable(t, e.dir).Late["3"] == 1 })
	if n := readTable(t, e.dir).ByDir["log_date=20261121/log_hour=10"]; n != 1 {
		t.Fatalf("committed hour 10 changed: %d records", n)
	}
}

// TestInvalidRecords: records that are not JSON or lack a usable event time
// go to the invalid sink with their offset and reason; the stream goes on.
func TestInvalidRecords(t *testing.T) {
	e := newEnv(t, 1)
	cfg := e.config(func(c *committer.Config) { c.EventTime.MaxFuture = time.Hour })
	h := time.Now().Add(-time.Hour)
	reg := prometheus.NewRegistry()
	in := e.start(cfg, opts{reg: reg})
	defer in.stop(t)
	e.produceRaw(
		`not json at all`,
		`{"id":"10","msg":"no ts"}`,
		`{"ts":"yesterday","id":"11"}`,
		`{"ts":-5,"id":"12"}`,
		fmt.Sprintf(`{"ts":%d,"id":"13"}`, time.Now().Add(48*time.Hour).UnixMilli()),
		rec(14, h),
		"{\"ts\":1,\"id\":\"15\"\n}",
	)
	e.waitConsumed(10 * time.Second)
	waitFor(t, 10*time.Second, "all records committed", func() bool {
		l := readTable(t, e.dir)
		return len(l.Invalid) == 6 && l.IDs["14"] > 0
	})
	l := readTable(t, e.dir)
	want := map[string]string{
		"raw:not json at all": "not JSON", "10": "no event time field", "11": "event time is not a number",
		"12": "event time out of range", "13": "event time too far in the future", "15": "record contains a newline",
	}
	for id, reason := range want {
		if got := l.Invalid[id]; len(got) != 1 || !strings.HasPrefix(got[0], reason) {
			t.Errorf("invalid record %s: reasons %v, want one starting with %q", id, got, reason)
		}
	}
	if l.IDs["14"] != 1 {
		t.Fatalf("valid record after the bad ones: found %d times", l.IDs["14"])
	}
	wantMetrics := `
# HELP landfall_committer_invalid_records_total Records sent to the invalid-record sink.
# TYPE landfall_committer_invalid_records_total counter
landfall_committer_invalid_records_total{reason="bad_event_time"} 3
landfall_committer_invalid_records_total{reason="no_event_time"} 1
landfall_committer_invalid_records_total{reason="not_json"} 1
landfall_committer_invalid_records_total{reason="other"} 1
landfall_committer_invalid_records_total{reason="schema_mismatch"} 0
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(wantMetrics), "landfall_committer_invalid_records_total"); err != nil {
		t.Fatal(err)
	}
	// The writer's memory against format.memory_budget (the default).
	budget := `
# HELP landfall_writer_memory_budget_bytes format.memory_budget in effect.
# TYPE landfall_writer_memory_budget_bytes gauge
landfall_writer_memory_budget_bytes 2.68435456e+08
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(budget), "landfall_writer_memory_budget_bytes"); err != nil {
		t.Fatal(err)
	}
	if n, err := testutil.GatherAndCount(reg, "landfall_writer_buffered_bytes", "landfall_writer_spills_total"); err != nil || n != 2 {
		t.Fatalf("writer buffer metrics: %d series (%v), want 2", n, err)
	}
}

// TestTimeZoneAndDST: partitions follow the configured zone; the repeated
// hour of a DST fall-back is one partition two hours long, committed only
// after its second half.
func TestTimeZoneAndDST(t *testing.T) {
	e := newEnv(t, 1)
	cfg := e.config(func(c *committer.Config) {
		c.EventTime.Timezone = "America/New_York"
		c.Watermark.OutOfOrderness = 0
	})
	ny, _ := time.LoadLocation("America/New_York")
	first := time.Date(2026, 11, 1, 1, 30, 0, 0, ny) // 01:30 EDT = 05:30 UTC
	second := first.Add(time.Hour)                   // 01:30 EST = 06:30 UTC
	if first.Hour() != second.In(ny).Hour() {
		t.Fatalf("test setup: %v and %v should both be local hour 1", first, second.In(ny))
	}
	in := e.start(cfg, opts{now: func() time.Time { return first }})
	defer in.stop(t)
	e.produceRaw(rec(1, first), rec(2, first.Add(45*time.Minute))) // 06:15 UTC = 01:15 EST, second half
	e.waitConsumed(10 * time.Second)
	time.Sleep(300 * time.Millisecond)
	if readTable(t, e.dir).Success["log_date=20261101/log_hour=01"] {
		t.Fatal("the repeated hour 01 committed after its first half")
	}
	e.produceRaw(rec(3, second), rec(4, time.Date(2026, 11, 1, 2, 1, 0, 0, ny)))
	waitFor(t, 10*time.Second, "hour 01 committed", func() bool {
		return readTable(t, e.dir).Success["log_date=20261101/log_hour=01"]
	})
	l := readTable(t, e.dir)
	if n := l.ByDir["log_date=20261101/log_hour=01"]; n != 3 {
		t.Fatalf("hour 01 holds %d records, want 3 (both halves)", n)
	}
}

// TestZombieIsFenced: a process that lost its lease without noticing keeps
// consuming, but none of its checkpoints is accepted, and the new owner
// lands every record exactly once.
func TestZombieIsFenced(t *testing.T) {
	e := newEnv(t, 2)
	cfg := e.config(nil)
	base := time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC)
	et := e.produce(3000, base, time.Second)

	zombie := e.start(cfg, opts{store: func(s *state.Store) any { return deaf{s} }})
	waitFor(t, 10*time.Second, "zombie checkpoints", func() bool { cp := e.checkpoint(); return cp != nil && cp.Seq > 2 })
	// The zombie's lease is revoked behind its back, as after a long GC
	// pause or a network partition.
	zombie.store.Abandon(true)
	owner := e.start(cfg, opts{})
	et = e.produce(3000, et, time.Second)
	select {
	case err := <-zombie.done:
		if !errors.Is(err, state.ErrNotOwner) {
			t.Fatalf("zombie stopped with %v, want state.ErrNotOwner", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("zombie kept running: its checkpoints were not refused")
	}
	e.produce(1000, et, time.Second)
	e.waitConsumed(30 * time.Second)
	owner.stop(t)
	e.checkExactlyOnce(readTable(t, e.dir))
}

// deaf hides the loss of ownership from a pipeline, as a process frozen
// while its lease expired would not have seen it.
type deaf struct{ *state.Store }

func (deaf) Done() <-chan struct{} { return nil }

// TestBacklogIsNotAStreamBreak: after a restart, checkpoints that see no
// record because fetching is slow (here: failing) while Kafka holds a
// backlog must not count as a stream break — otherwise the processing-time
// clock commits hours whose on-time records are still in Kafka.
func TestBacklogIsNotAStreamBreak(t *testing.T) {
	e := newEnv(t, 2)
	h := time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC)
	late := h.Add(5 * time.Hour) // processing time far past the data
	cfg := e.config(nil)
	in := e.start(cfg, opts{now: func() time.Time { return h }})
	e.produceRaw(rec(1, h.Add(5*time.Minute)))
	e.waitConsumed(10 * time.Second)
	in.stop(t)

	var recs []string
	for i := 0; i < 20; i++ {
		recs = append(recs, rec(100+i, h.Add(10*time.Minute+time.Duration(i)*3*time.Minute))) // 10:10 … 11:07
	}
	e.produceRaw(recs...)
	var blocked atomic.Bool
	blocked.Store(true)
	e.cluster.ControlKey(int16(kmsg.Fetch), func(kmsg.Request) (kmsg.Response, error, bool) {
		e.cluster.KeepControl()
		if blocked.Load() {
			return nil, errors.New("fetch blocked by the test"), true
		}
		return nil, nil, false
	})
	in = e.start(cfg, opts{now: func() time.Time { return late }})
	defer in.stop(t)
	time.Sleep(600 * time.Millisecond) // a dozen checkpoints without records
	if l := readTable(t, e.dir); l.Success["log_date=20261121/log_hour=10"] {
		t.Fatal("hour 10 committed while its records were still in Kafka")
	}
	blocked.Store(false)
	waitFor(t, 20*time.Second, "hour 10 committed", func() bool {
		l := readTable(t, e.dir)
		if l.Success["log_date=20261121/log_hour=10"] && l.ByDir["log_date=20261121/log_hour=10"] != 18 {
			t.Fatalf("hour 10 committed with %d of its 18 records", l.ByDir["log_date=20261121/log_hour=10"])
		}
		return l.Success["log_date=20261121/log_hour=10"]
	})
}
