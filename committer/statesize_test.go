package committer_test

import (
	"testing"
	"time"

	"github.com/landfall/landfall/committer"
)

// TestTenThousandOpenPartitions: a backlog whose records spread over
// 10,000 hours keeps that many Hive partitions open, on a 512-partition
// topic; the checkpoint then holds far more than etcd's 1.5 MiB request
// limit (which the embedded server enforces), and checkpoints must still
// become durable and land every record exactly once. Version 1 of the
// state, one etcd value, failed every checkpoint with "request is too
// large" here.
func TestTenThousandOpenPartitions(t *testing.T) {
	e := newEnv(t, 512)
	cfg := e.config(func(c *committer.Config) {
		// Nothing commits: every partition stays open in the state.
		c.Watermark.OutOfOrderness = 100 * 365 * 24 * time.Hour
		c.Watermark.IdleCheckpoints = 1 << 20
		c.Checkpoint.Interval = 500 * time.Millisecond
	})
	base := time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC)
	e.produce(20000, base, 30*time.Minute) // 2 records an hour for 10,000 hours
	in := e.start(cfg, opts{})
	e.waitConsumed(3 * time.Minute)
	cp := e.checkpoint()
	if n := len(cp.Partitions); n < 10000 {
		t.Fatalf("the durable checkpoint holds %d Hive partitions, want 10,000", n)
	}
	seq := cp.Seq
	waitFor(t, 30*time.Second, "another durable checkpoint", func() bool { return e.checkpoint().Seq > seq })
	in.stop(t)
	e.checkExactlyOnce(readTable(t, e.dir))
}
