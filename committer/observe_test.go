package committer_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/landfall/landfall/committer"
	"github.com/landfall/landfall/hive"
)

// gauge is the value of the series name{labels} in reg, or false if reg
// has no such series.
func gauge(t *testing.T, reg *prometheus.Registry, name string, labels ...string) (float64, bool) {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			var got []string
			for _, l := range m.GetLabel() {
				got = append(got, l.GetName(), l.GetValue())
			}
			if strings.Join(got, ",") == strings.Join(labels, ",") {
				return m.GetGauge().GetValue(), true
			}
		}
	}
	return 0, false
}

// TestKafkaLagMetric: the lag per Kafka partition is its high watermark
// minus what landfall consumed. Records of an open transaction are above
// the last stable offset, so a read_committed consumer cannot consume
// them: they stay lag, on their partition only, until the transaction
// commits.
func TestKafkaLagMetric(t *testing.T) {
	e := newEnv(t, 2)
	e.produceTo(0, []int{1, 2, 3}, repeat(hour10.Add(time.Minute), 3)...)
	e.produceTo(1, []int{4}, hour10.Add(time.Minute))
	txn, err := kgo.NewClient(kgo.SeedBrokers(e.cluster.ListenAddrs()...), kgo.TransactionalID("landfall-lag-"+e.logid),
		kgo.DefaultProduceTopic(e.topic), kgo.RecordPartitioner(kgo.ManualPartitioner()))
	if err != nil {
		t.Fatal(err)
	}
	defer txn.Close()
	if err := txn.BeginTransaction(); err != nil {
		t.Fatal(err)
	}
	if err := txn.ProduceSync(context.Background(),
		&kgo.Record{Partition: 1, Value: []byte(rec(5, hour10.Add(2*time.Minute)))},
		&kgo.Record{Partition: 1, Value: []byte(rec(6, hour10.Add(2*time.Minute)))}).FirstErr(); err != nil {
		t.Fatal(err)
	}

	reg := prometheus.NewRegistry()
	in := e.start(e.config(nil), opts{now: func() time.Time { return hour10 }, reg: reg})
	defer in.stop(t)
	want := func(lag0, lag1 int) string {
		return fmt.Sprintf(`
# HELP landfall_committer_kafka_lag_records Records in the Kafka partition past what landfall has consumed: its high watermark at the last fetch minus the next offset to consume. A partition whose fetches fail keeps its last value; the watermark then stalls.
# TYPE landfall_committer_kafka_lag_records gauge
landfall_committer_kafka_lag_records{partition="0"} %d
landfall_committer_kafka_lag_records{partition="1"} %d
`, lag0, lag1)
	}
	var last error
	waitFor(t, 10*time.Second, "lag 0 on partition 0 and 2 (the open transaction) on partition 1", func() bool {
		last = testutil.GatherAndCompare(reg, strings.NewReader(want(0, 2)), "landfall_committer_kafka_lag_records")
		return last == nil
	})

	if err := txn.EndTransaction(context.Background(), kgo.TryCommit); err != nil {
		t.Fatal(err)
	}
	e.track(5, 6)
	waitFor(t, 10*time.Second, "lag 0 everywhere once the transaction committed", func() bool {
		last = testutil.GatherAndCompare(reg, strings.NewReader(want(0, 0)), "landfall_committer_kafka_lag_records")
		return last == nil
	})
	e.waitLanded(t, 10*time.Second, 1, 2, 3, 4, 5, 6)
}

// TestOldestUncommittedPartitionAgeMetric: the age counts from the end of
// the oldest partition whose commit has not completed, by the processing
// clock: first hour 10 waiting for the watermark, then hour 10 queued
// while its commit step fails (the commit cursor has moved on to hour 11,
// which is still open), then 0 once the step succeeds.
func TestOldestUncommittedPartitionAgeMetric(t *testing.T) {
	e := newEnv(t, 1)
	var clock atomic.Int64
	clock.Store(hour10.Add(time.Hour + 30*time.Second).UnixMilli())
	now := func() time.Time { return time.UnixMilli(clock.Load()) }
	step := &flakyStep{failures: map[string]int{}, committed: map[string]time.Time{}}
	reg := prometheus.NewRegistry()
	cfg := e.config(func(c *committer.Config) { c.Commit.RetryMax = 200 * time.Millisecond })
	in := e.startWith(cfg, opts{now: now, reg: reg}, []hive.Step{step})
	defer in.stop(t)
	const age = "landfall_committer_oldest_uncommitted_partition_age_seconds"
	waitAge := func(what string, want float64) {
		t.Helper()
		var got float64
		waitFor(t, 10*time.Second, what, func() bool { got, _ = gauge(t, reg, age); return got == want })
	}

	// Event time 10:20, the clock 11:00:30: the stream break moves the
	// watermark to 10:59:30 (clock minus out_of_orderness), short of the
	// end of hour 10, which is 30 s overdue.
	e.produceTo(0, []int{1, 2}, hour10.Add(5*time.Minute), hour10.Add(20*time.Minute))
	e.waitLanded(t, 10*time.Second, 1, 2)
	waitAge("hour 10 waiting for the watermark, 30 s past its end", 30)

	// The clock moves to 11:30: the stream break commits hour 10, whose
	// step fails; hour 11 (the cursor's) is still open.
	step.mu.Lock()
	step.down = true
	step.mu.Unlock()
	clock.Store(hour10.Add(90 * time.Minute).UnixMilli())
	waitFor(t, 10*time.Second, "a failed commit of hour 10", func() bool {
		step.mu.Lock()
		defer step.mu.Unlock()
		return step.failures[dir10] > 0
	})
	waitAge("hour 10 queued with a failing step, 30 min past its end", 1800)
	step.mu.Lock()
	step.down = false
	step.mu.Unlock()
	waitAge("every partition before the open hour 11 committed", 0)
	step.mu.Lock()
	_, ok := step.committed[dir10]
	step.mu.Unlock()
	if !ok {
		t.Fatal("hour 10 not committed")
	}
}

// TestLastCheckpointTimestampMetric: before the first checkpoint the
// timestamp is the pipeline's start, so an alert on time() minus it sees a
// pipeline that never checkpoints; then it follows each checkpoint.
func TestLastCheckpointTimestampMetric(t *testing.T) {
	e := newEnv(t, 1)
	held := make(chan struct{})
	release := make(chan struct{})
	var once atomic.Bool
	hold := func(name string) error {
		if name == committer.FPCheckpointStart && once.CompareAndSwap(false, true) {
			close(held)
			<-release
		}
		return nil
	}
	reg := prometheus.NewRegistry()
	t0 := float64(time.Now().UnixNano()) / 1e9
	in := e.start(e.config(nil), opts{now: func() time.Time { return hour10 }, reg: reg, failpoint: hold})
	defer in.stop(t)
	unhold := sync.OnceFunc(func() { close(release) })
	defer unhold() // before the stop: a failed check must not leave it held
	const name = "landfall_committer_last_checkpoint_timestamp_seconds"
	<-held
	// The start came before the first checkpoint began; a value taken at
	// the scrape would be later.
	tHeld := float64(time.Now().UnixNano()) / 1e9
	time.Sleep(100 * time.Millisecond)
	started, ok := gauge(t, reg, name)
	if !ok || started < t0 || started > tHeld {
		t.Fatalf("before the first checkpoint %s = %v (present %v), want the start, between %v and %v", name, started, ok, t0, tHeld)
	}
	unhold()
	e.waitCheckpoints(t, 3)
	got, _ := gauge(t, reg, name)
	if now := float64(time.Now().UnixNano()) / 1e9; got <= started+0.1 || got > now {
		t.Fatalf("after checkpoints %s = %v, want after the start %v and not after now %v", name, got, started, now)
	}
}

// TestORCMemoryBudgetMetric: the orc format exports its memory budget
// beside what it buffers, like text and lzo, so one alert covers every
// format; and the pipeline says which logid it lands.
func TestORCMemoryBudgetMetric(t *testing.T) {
	e := newEnv(t, 1)
	f := newFormat(t, "orc")
	reg := prometheus.NewRegistry()
	in := e.start(e.config(nil), opts{now: func() time.Time { return hour10 }, reg: reg, format: f})
	defer in.stop(t)
	e.waitCheckpoints(t, 1)
	got, ok := gauge(t, reg, "landfall_writer_memory_budget_bytes")
	if want := float64(f.(interface{ MemoryBudget() int64 }).MemoryBudget()); !ok || got != want || want <= 0 {
		t.Fatalf("landfall_writer_memory_budget_bytes = %v (present %v), want %v", got, ok, want)
	}
	if _, ok := gauge(t, reg, "landfall_writer_buffered_bytes"); !ok {
		t.Fatal("landfall_writer_buffered_bytes missing")
	}
	if v, ok := gauge(t, reg, "landfall_committer_info", "logid", e.logid, "topic", e.topic, "version", committer.Version); !ok || v != 1 {
		t.Fatalf("landfall_committer_info for logid %s = %v (present %v), want 1", e.logid, v, ok)
	}
}

// TestPatternTime: Time inverts Path for hourly and daily patterns, in a
// zone, and refuses paths that are not the pattern's.
func TestPatternTime(t *testing.T) {
	sh, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		pattern, path string
		want          time.Time
		ok            bool
	}{
		{"log_date={yyyyMMdd}/log_hour={HH}", "log_date=20261121/log_hour=10", time.Date(2026, 11, 21, 10, 0, 0, 0, sh), true},
		{"dt={yyyy-MM-dd}", "dt=2026-11-21", time.Date(2026, 11, 21, 0, 0, 0, 0, sh), true},
		{"y={yyyy}/m={MM}/d={dd}/h={HH}", "y=2026/m=02/d=28/h=23", time.Date(2026, 2, 28, 23, 0, 0, 0, sh), true},
		{"log_date={yyyyMMdd}/log_hour={HH}", "log_date=20261121/log_hour=25", time.Time{}, false},
		{"log_date={yyyyMMdd}/log_hour={HH}", "log_date=20261321/log_hour=10", time.Time{}, false},
		{"log_date={yyyyMMdd}/log_hour={HH}", "log_date=20261121", time.Time{}, false},
		{"log_date={yyyyMMdd}/log_hour={HH}", "_late/log_date=20261121/log_hour=10", time.Time{}, false},
		{"dt={yyyy-MM-dd}", "dt=2026-11-21x", time.Time{}, false},
		{"dt={yyyy-MM-dd}", "dt=2026_11_21", time.Time{}, false},
	} {
		p, err := committer.ParsePattern(tc.pattern, sh)
		if err != nil {
			t.Fatal(err)
		}
		got, ok := p.Time(tc.path)
		if ok != tc.ok || !got.Equal(tc.want) {
			t.Errorf("%s: Time(%q) = %v, %v; want %v, %v", tc.pattern, tc.path, got, ok, tc.want, tc.ok)
		}
	}
}
