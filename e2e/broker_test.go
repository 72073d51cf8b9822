//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"os"
	"testing"
	"time"
)

// TestLandfallHoldsTheWatermarkForAnUnreachableLeader: the topic's two
// partitions live on two brokers; one broker freezes (SIGSTOP) while its
// partition holds a backlog of hour H. The other partition keeps
// delivering records hours later and goes quiet, but the frozen
// partition's backlog is not known to be consumed, so it must keep the
// watermark (and the stream break) from committing hour H; once the broker
// thaws, hour H commits with every one of its records.
func TestLandfallHoldsTheWatermarkForAnUnreachableLeader(t *testing.T) {
	service(t, "kafka", "start-broker2")
	t.Cleanup(func() { service(t, "kafka", "stop-broker2") })
	// No stream break in the first run: it would commit hour H, empty,
	// before its backlog exists.
	tb := newTable(t, 2, tableConfig{replicas: [][]int32{{1}, {2}}, idle: 100000})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	hourH := time.Now().UTC().Truncate(time.Hour).Add(-30 * time.Hour)

	// A first run consumes an earlier hour from both partitions.
	if _, err := tb.produce(ctx, 100, hourH.Add(-time.Hour), 20*time.Second); err != nil {
		t.Fatal(err)
	}
	first := tb.start("first")
	tb.waitDrained(2 * time.Minute)
	first.stop(t)
	// From now on a partition that delivers nothing for 3 checkpoints is
	// idle; idle alone must not let it leave the watermark.
	cfg, err := os.ReadFile(tb.cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(tb.cfgPath, bytes.Replace(cfg, []byte("idle_checkpoints: 100000"), []byte("idle_checkpoints: 3"), 1), 0o644); err != nil {
		t.Fatal(err)
	}

	// Hour H's backlog, on both partitions, while landfall is down.
	if _, err := tb.produceTo(ctx, 0, 100, hourH.Add(time.Minute), 20*time.Second); err != nil {
		t.Fatal(err)
	}
	if _, err := tb.produceTo(ctx, 1, 100, hourH.Add(2*time.Minute), 20*time.Second); err != nil {
		t.Fatal(err)
	}
	service(t, "kafka", "pause-broker2")
	paused := true
	defer func() {
		if paused {
			service(t, "kafka", "resume-broker2")
		}
	}()
	watch := tb.watchSuccess(ctx, 500*time.Millisecond)
	l := tb.start("a")
	defer func() {
		if !l.exited() {
			l.kill9()
		}
	}()
	// Partition 0 moves three hours on, then goes quiet: idle checkpoints
	// pass, and only partition 1's unknown backlog may hold hour H.
	if _, err := tb.produceTo(ctx, 0, 50, hourH.Add(3*time.Hour), time.Second); err != nil {
		t.Fatal(err)
	}
	time.Sleep(20 * time.Second) // 20 checkpoints, 10 times idle_checkpoints
	got, err := tb.readTable(hourDir(hourH))
	if err != nil {
		t.Fatal(err)
	}
	if got.success[hourDir(hourH)] {
		t.Fatalf("hour %s committed with %d records while partition 1's leader was frozen with its backlog", hourDir(hourH), got.byDir[hourDir(hourH)])
	}
	service(t, "kafka", "resume-broker2")
	paused = false
	// The thawed broker was fenced meanwhile; its partition has a leader
	// again once it has re-registered.
	deadline := time.Now().Add(2 * time.Minute)
	for _, err := tb.endOffsets(); err != nil; _, err = tb.endOffsets() {
		if time.Now().After(deadline) {
			t.Fatalf("partition 1 has no leader 2 minutes after its broker thawed: %v", err)
		}
		time.Sleep(500 * time.Millisecond)
	}
	tb.waitDrained(3 * time.Minute)
	tb.waitCommitted(t, []string{hourDir(hourH)}, false, 3*time.Minute)
	l.stop(t)
	// Every record once, and no partition's _SUCCESS before all its
	// on-time records were visible.
	tb.verify(watch)
}
