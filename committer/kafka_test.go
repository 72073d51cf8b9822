package committer_test

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/landfall/landfall/cmd/landfall/loggen"
	"github.com/landfall/landfall/committer"
)

// The tests here are about the Kafka side: what is read (read_committed),
// when a partition may stop holding the watermark, partitions that appear,
// and offsets that vanish. Records are rec(id, ts) values; produceTo counts
// them as produced so that checkExactlyOnce accounts for every one.

var hour10 = time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC)

const dir10 = "log_date=20261121/log_hour=10"

// produceTo writes records with the given ids and event times to one Kafka
// partition and counts them as produced. A fresh client each time: it must
// see partitions created since the last call.
func (e *env) produceTo(part int32, ids []int, ts ...time.Time) {
	e.t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(e.cluster.ListenAddrs()...), kgo.RecordPartitioner(kgo.ManualPartitioner()))
	if err != nil {
		e.t.Fatal(err)
	}
	defer cl.Close()
	recs := make([]*kgo.Record, len(ids))
	for i, id := range ids {
		recs[i] = &kgo.Record{Topic: e.topic, Partition: part, Value: []byte(rec(id, ts[i]))}
	}
	if err := cl.ProduceSync(context.Background(), recs...).FirstErr(); err != nil {
		e.t.Fatalf("produce to partition %d: %v", part, err)
	}
	e.track(ids...)
}

// produceUntracked writes records that must never land (skipped by design).
func (e *env) produceUntracked(part int32, ids ...int) {
	e.t.Helper()
	e.produceTo(part, ids, repeat(hour10, len(ids))...)
	e.mu.Lock()
	for _, id := range ids {
		delete(e.produced, fmt.Sprint(id))
	}
	e.mu.Unlock()
}

func (e *env) track(ids ...int) {
	e.mu.Lock()
	for _, id := range ids {
		e.produced[fmt.Sprint(id)] = loggen.Valid
	}
	e.mu.Unlock()
}

func repeat(t time.Time, n int) []time.Time {
	out := make([]time.Time, n)
	for i := range out {
		out[i] = t
	}
	return out
}

// waitLanded waits until each id is in a committed file and names the
// missing ones if some never arrive.
func (e *env) waitLanded(t *testing.T, within time.Duration, ids ...int) {
	t.Helper()
	var missing []string
	deadline := time.Now().Add(within)
	for {
		l := readTable(t, e.dir)
		missing = missing[:0]
		for _, id := range ids {
			if l.IDs[fmt.Sprint(id)]+l.Late[fmt.Sprint(id)] == 0 {
				missing = append(missing, fmt.Sprint(id))
			}
		}
		if len(missing) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("records %s never landed within %v", strings.Join(missing, ","), within)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// waitCheckpoints waits for n more durable checkpoints: time for the idle
// rule (idle_checkpoints, 2) to have acted several times over.
func (e *env) waitCheckpoints(t *testing.T, n uint64) {
	t.Helper()
	var from uint64
	if cp := e.checkpoint(); cp != nil {
		from = cp.Seq
	}
	waitFor(t, 10*time.Second, fmt.Sprintf("%d checkpoints", n), func() bool { cp := e.checkpoint(); return cp != nil && cp.Seq >= from+n })
}

// unreachable makes one partition's leader unreachable for fetches and
// offset listings, as a broker behind a network partition is, until the
// returned function is called.
func (e *env) unreachable(part int32) (heal func()) {
	h := e.cluster.Fault(
		kfake.Fault{Keys: []kmsg.Key{kmsg.Fetch}, Topic: e.topic, Partitions: []int32{part}, Err: kerr.NotLeaderForPartition, Count: -1},
		kfake.Fault{Keys: []kmsg.Key{kmsg.ListOffsets}, Topic: e.topic, Partitions: []int32{part}, Err: kerr.UnknownServerError, Count: -1},
	)
	return h.Remove
}

func txnProducer(t *testing.T, e *env) *kgo.Client {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(e.cluster.ListenAddrs()...), kgo.TransactionalID("landfall-test-"+e.logid),
		kgo.DefaultProduceTopic(e.topic), kgo.RecordPartitioner(kgo.ManualPartitioner()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	return cl
}

// inTxn produces the records in one transaction and commits or aborts it.
func inTxn(t *testing.T, cl *kgo.Client, commit bool, vals ...string) {
	t.Helper()
	ctx := context.Background()
	if err := cl.BeginTransaction(); err != nil {
		t.Fatal(err)
	}
	recs := make([]*kgo.Record, len(vals))
	for i, v := range vals {
		recs[i] = &kgo.Record{Value: []byte(v)}
	}
	if err := cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		t.Fatal(err)
	}
	if err := cl.EndTransaction(ctx, kgo.TransactionEndTry(commit)); err != nil {
		t.Fatal(err)
	}
}

// TestAbortedTransactionsAreNotLanded (issue 12, item 4): records of an
// aborted Kafka transaction are not data; landfall reads committed only.
func TestAbortedTransactionsAreNotLanded(t *testing.T) {
	e := newEnv(t, 1)
	in := e.start(e.config(nil), opts{now: func() time.Time { return hour10 }})
	defer in.stop(t)
	txn := txnProducer(t, e)
	inTxn(t, txn, false, rec(1, hour10.Add(time.Minute)), rec(2, hour10.Add(2*time.Minute)))
	inTxn(t, txn, true, rec(3, hour10.Add(3*time.Minute)), rec(4, hour10.Add(4*time.Minute)))
	e.track(3, 4)
	e.produceTo(0, []int{5}, hour10.Add(5*time.Minute))
	e.waitLanded(t, 10*time.Second, 3, 4, 5)
	e.waitCheckpoints(t, 3)
	e.checkExactlyOnce(readTable(t, e.dir))
}

// TestTransactionalTopicStreamBreak (issue 12, item 4): on a topic written
// in transactions the last offset is a commit marker, never a record; the
// consumer moves past it, so a quiet stream is caught up and the stream
// break commits the hour.
func TestTransactionalTopicStreamBreak(t *testing.T) {
	e := newEnv(t, 1)
	now := hour10.Add(3*time.Hour + 30*time.Minute)
	in := e.start(e.config(nil), opts{now: func() time.Time { return now }})
	defer in.stop(t)
	inTxn(t, txnProducer(t, e), true, rec(1, hour10.Add(5*time.Minute)), rec(2, hour10.Add(20*time.Minute)))
	e.track(1, 2)
	waitFor(t, 10*time.Second, "the stream break to commit hour 10", func() bool { return readTable(t, e.dir).Success[dir10] })
	if n := readTable(t, e.dir).ByDir[dir10]; n != 2 {
		t.Fatalf("hour 10 holds %d records, want 2", n)
	}
	e.checkExactlyOnce(readTable(t, e.dir))
}

// TestUnreachablePartitionHoldsTheWatermark (issue 12, item 5): a partition
// that delivers nothing because its leader is unreachable is quiet, not
// caught up; it keeps holding the watermark, so the hour its backlog
// belongs to is not committed without it.
func TestUnreachablePartitionHoldsTheWatermark(t *testing.T) {
	e := newEnv(t, 2)
	in := e.start(e.config(nil), opts{now: func() time.Time { return hour10 }})
	defer in.stop(t)
	e.produceTo(0, []int{1}, hour10.Add(5*time.Minute))
	e.produceTo(1, []int{2}, hour10.Add(6*time.Minute))
	e.waitLanded(t, 10*time.Second, 1, 2)

	heal := e.unreachable(1)
	e.produceTo(1, []int{3}, hour10.Add(30*time.Minute)) // the backlog
	e.produceTo(0, []int{4}, hour10.Add(2*time.Hour))    // partition 0 runs ahead
	e.waitLanded(t, 10*time.Second, 4)
	e.waitCheckpoints(t, 8)
	if readTable(t, e.dir).Success[dir10] {
		t.Fatal("hour 10 committed while partition 1 (unreachable) still held one of its records")
	}
	heal()
	e.produceTo(1, []int{5}, hour10.Add(2*time.Hour)) // partition 1 moves on past hour 10
	waitFor(t, 20*time.Second, "hour 10 committed", func() bool { return readTable(t, e.dir).Success[dir10] })
	if n := readTable(t, e.dir).ByDir[dir10]; n != 3 {
		t.Fatalf("hour 10 committed with %d of its 3 records", n)
	}
	e.checkExactlyOnce(readTable(t, e.dir))
}

// TestUnseenPartitionHoldsTheWatermark (issue 12, item 5): a partition with
// no event time yet (unreachable since the start) holds the watermark too.
func TestUnseenPartitionHoldsTheWatermark(t *testing.T) {
	e := newEnv(t, 2)
	e.produceTo(1, []int{1}, hour10.Add(10*time.Minute))
	heal := e.unreachable(1)
	in := e.start(e.config(nil), opts{now: func() time.Time { return hour10 }})
	defer in.stop(t)
	e.produceTo(0, []int{2, 3}, hour10.Add(5*time.Minute), hour10.Add(2*time.Hour))
	e.waitLanded(t, 10*time.Second, 2, 3)
	e.waitCheckpoints(t, 8)
	if readTable(t, e.dir).Success[dir10] {
		t.Fatal("hour 10 committed while partition 1 (never read) held one of its records")
	}
	heal()
	e.produceTo(1, []int{4}, hour10.Add(2*time.Hour)) // partition 1 moves on past hour 10
	waitFor(t, 20*time.Second, "hour 10 committed", func() bool { return readTable(t, e.dir).Success[dir10] })
	if n := readTable(t, e.dir).ByDir[dir10]; n != 2 {
		t.Fatalf("hour 10 committed with %d of its 2 records", n)
	}
	e.checkExactlyOnce(readTable(t, e.dir))
}

// TestNewPartitionsAreConsumed (issue 12, item 6): a partition added while
// landfall runs is found at a checkpoint, consumed from its beginning, and
// holds the watermark like the others from then on.
func TestNewPartitionsAreConsumed(t *testing.T) {
	e := newEnv(t, 1)
	cfg := e.config(func(c *committer.Config) { c.Kafka.PartitionDiscoveryInterval = 100 * time.Millisecond })
	in := e.start(cfg, opts{now: func() time.Time { return hour10 }})
	defer in.stop(t)
	e.produceTo(0, []int{1}, hour10.Add(5*time.Minute))
	e.waitLanded(t, 10*time.Second, 1)

	// The new partition can't be read at first: landfall must know of it
	// from metadata alone and wait for it.
	heal := e.unreachable(1)
	if _, err := kadm.NewClient(e.prod).CreatePartitions(context.Background(), 1, e.topic); err != nil {
		t.Fatal(err)
	}
	e.produceTo(1, []int{2}, hour10.Add(10*time.Minute))
	e.produceTo(0, []int{3}, hour10.Add(2*time.Hour))
	e.waitLanded(t, 10*time.Second, 3)
	e.waitCheckpoints(t, 8)
	if readTable(t, e.dir).Success[dir10] {
		t.Fatal("hour 10 committed while the new partition 1 held one of its records")
	}
	heal()
	e.waitLanded(t, 10*time.Second, 2)
	e.produceTo(1, []int{4}, hour10.Add(2*time.Hour)) // partition 1 moves on past hour 10
	waitFor(t, 20*time.Second, "hour 10 committed", func() bool { return readTable(t, e.dir).Success[dir10] })
	if n := readTable(t, e.dir).ByDir[dir10]; n != 2 {
		t.Fatalf("hour 10 committed with %d of its 2 records", n)
	}
	e.checkExactlyOnce(readTable(t, e.dir))
}

// TestLatestIsResolvedOnce (issue 12, item 6): with start_offset latest, the
// first start skips what the topic held then, and nothing after: a
// partition that had no record for landfall yet, and one created while it
// was down, are read from where the first start stood (or their beginning).
func TestLatestIsResolvedOnce(t *testing.T) {
	e := newEnv(t, 2)
	cfg := e.config(func(c *committer.Config) { c.Kafka.StartOffset = "latest" })
	e.produceUntracked(0, 1)
	e.produceUntracked(1, 2)
	in := e.start(cfg, opts{now: func() time.Time { return hour10 }})
	e.waitCheckpoints(t, 2)
	e.produceTo(0, []int{3}, hour10.Add(5*time.Minute))
	e.waitLanded(t, 10*time.Second, 3)
	in.stop(t)

	e.produceTo(1, []int{4}, hour10.Add(6*time.Minute))
	if _, err := kadm.NewClient(e.prod).CreatePartitions(context.Background(), 1, e.topic); err != nil {
		t.Fatal(err)
	}
	e.produceTo(2, []int{5}, hour10.Add(7*time.Minute))
	in = e.start(cfg, opts{now: func() time.Time { return hour10 }})
	defer in.stop(t)
	e.produceTo(0, []int{6}, hour10.Add(8*time.Minute))
	e.waitLanded(t, 10*time.Second, 3, 4, 5, 6)
	e.checkExactlyOnce(readTable(t, e.dir))
}

// offsetMetrics are the out-of-range series of reg, sorted, one a line.
func offsetMetrics(t *testing.T, reg *prometheus.Registry) string {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for _, mf := range mfs {
		if n := mf.GetName(); n != "landfall_committer_offset_resets_total" && n != "landfall_committer_skipped_offsets_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			var labels []string
			for _, l := range m.GetLabel() {
				labels = append(labels, l.GetName()+"="+l.GetValue())
			}
			lines = append(lines, fmt.Sprintf("%s{%s} %g", mf.GetName(), strings.Join(labels, ","), m.GetCounter().GetValue()))
		}
	}
	sort.Strings(lines)
	return strings.Join(lines, "\n")
}

// TestRetentionLossIsReported (issue 12, item 9): offsets deleted by
// retention before landfall read them are reported (ERROR log, metrics),
// and with the default kafka.out_of_range (earliest) landfall resumes at
// the oldest record still there: at start, and while running.
func TestRetentionLossIsReported(t *testing.T) {
	e := newEnv(t, 1)
	cfg := e.config(nil)
	in := e.start(cfg, opts{now: func() time.Time { return hour10 }})
	e.produceTo(0, []int{1, 2}, repeat(hour10.Add(time.Minute), 2)...)
	e.waitLanded(t, 10*time.Second, 1, 2)
	in.stop(t)

	// Offsets 2 and 3 go while landfall is down.
	e.produceUntracked(0, 3, 4)
	e.produceTo(0, []int{5, 6}, repeat(hour10.Add(2*time.Minute), 2)...)
	if err := e.cluster.DeleteRecords(e.topic, 0, 4); err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	in = e.start(cfg, opts{now: func() time.Time { return hour10 }, reg: reg})
	defer in.stop(t)
	e.waitLanded(t, 10*time.Second, 5, 6)
	want := "landfall_committer_offset_resets_total{reason=below_log_start} 1\nlandfall_committer_offset_resets_total{reason=past_log_end} 0\nlandfall_committer_skipped_offsets_total{reason=below_log_start} 2\nlandfall_committer_skipped_offsets_total{reason=past_log_end} 0"
	if got := offsetMetrics(t, reg); got != want {
		t.Fatalf("after a restart past retention, metrics:\n%s\nwant:\n%s", got, want)
	}

	// Offsets 6 to 8 go while landfall can't fetch.
	heal := e.unreachable(0)
	e.produceUntracked(0, 7, 8, 9)
	e.produceTo(0, []int{10}, hour10.Add(3*time.Minute))
	if err := e.cluster.DeleteRecords(e.topic, 0, 9); err != nil {
		t.Fatal(err)
	}
	heal()
	e.waitLanded(t, 10*time.Second, 10)
	want = "landfall_committer_offset_resets_total{reason=below_log_start} 2\nlandfall_committer_offset_resets_total{reason=past_log_end} 0\nlandfall_committer_skipped_offsets_total{reason=below_log_start} 5\nlandfall_committer_skipped_offsets_total{reason=past_log_end} 0"
	if got := offsetMetrics(t, reg); got != want {
		t.Fatalf("after retention overtook the consumer, metrics:\n%s\nwant:\n%s", got, want)
	}
	e.checkExactlyOnce(readTable(t, e.dir))
}

// TestRecreatedTopicIsReported (issue 12, item 9): a topic deleted and
// created again while landfall was down has a log that ends below the
// stored offset; landfall reports it and (earliest) reads the new log from
// its beginning instead of dropping everything below the old offset.
func TestRecreatedTopicIsReported(t *testing.T) {
	e := newEnv(t, 1)
	cfg := e.config(nil)
	in := e.start(cfg, opts{now: func() time.Time { return hour10 }})
	e.produceTo(0, []int{1, 2, 3, 4}, repeat(hour10.Add(time.Minute), 4)...)
	e.waitLanded(t, 10*time.Second, 1, 2, 3, 4)
	in.stop(t)

	if err := e.cluster.DeleteTopic(e.topic); err != nil {
		t.Fatal(err)
	}
	if err := e.cluster.CreateTopic(e.topic, 1, nil); err != nil {
		t.Fatal(err)
	}
	e.produceTo(0, []int{5, 6}, repeat(hour10.Add(2*time.Minute), 2)...)
	reg := prometheus.NewRegistry()
	in = e.start(cfg, opts{now: func() time.Time { return hour10 }, reg: reg})
	defer in.stop(t)
	e.waitLanded(t, 10*time.Second, 5, 6)
	want := "landfall_committer_offset_resets_total{reason=below_log_start} 0\nlandfall_committer_offset_resets_total{reason=past_log_end} 1\nlandfall_committer_skipped_offsets_total{reason=below_log_start} 0\nlandfall_committer_skipped_offsets_total{reason=past_log_end} 0"
	if got := offsetMetrics(t, reg); got != want {
		t.Fatalf("metrics:\n%s\nwant:\n%s", got, want)
	}
	e.checkExactlyOnce(readTable(t, e.dir))
}

// TestOutOfRangeFail (issue 12, item 9): with kafka.out_of_range: fail a
// lost range stops the pipeline with an error naming the key, the
// partition and the offsets, and nothing moves past it.
func TestOutOfRangeFail(t *testing.T) {
	e := newEnv(t, 1)
	cfg := e.config(func(c *committer.Config) { c.Kafka.OutOfRange = "fail" })
	in := e.start(cfg, opts{now: func() time.Time { return hour10 }})
	e.produceTo(0, []int{1, 2}, repeat(hour10.Add(time.Minute), 2)...)
	e.waitLanded(t, 10*time.Second, 1, 2)
	in.stop(t)

	e.produceUntracked(0, 3, 4, 5)
	if err := e.cluster.DeleteRecords(e.topic, 0, 4); err != nil {
		t.Fatal(err)
	}
	in = e.start(cfg, opts{now: func() time.Time { return hour10 }})
	err := in.crashed(t, 15*time.Second)
	if err == nil {
		in.stop(t)
		t.Fatal("the pipeline kept running past offsets [2, 4) deleted by retention (kafka.out_of_range: fail)")
	}
	if !errors.Is(err, committer.ErrOffsetOutOfRange) {
		t.Fatalf("stopped with %v, want committer.ErrOffsetOutOfRange", err)
	}
	for _, s := range []string{"kafka.out_of_range", "partition 0", "[2, 4)"} {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("error %q does not name %q", err, s)
		}
	}
	if off := e.checkpoint().Offsets[0]; off != 2 {
		t.Fatalf("stored offset of partition 0 moved to %d, want it kept at 2", off)
	}
}
