package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/landfall/landfall/committer"
	"github.com/landfall/landfall/state"
)

// TestStatus: while landfall runs, `landfall status` shows its ownership
// (the process: host, pid, version, and a standby's), each Kafka
// partition's shard and offsets with a lag that sums to what is left to
// consume, the watermark and open partitions; after the run stops no
// owner; with Kafka gone it still prints what etcd holds and exits with
// an error naming Kafka.
func TestStatus(t *testing.T) {
	cluster, etcd := services(t)
	table := t.TempDir()
	yaml := fmt.Sprintf(`
logid: status
kafka: {brokers: [%s], topic: logs}
etcd: {endpoints: [%s], lease_ttl: 2s}
warehouse: {uri: "file://%s"}
format: {name: text, compression: zstd}
event_time: {field: ts, max_future: 87600h}
checkpoint: {interval: 100ms}
watermark: {out_of_orderness: 1m}
parallelism: 2
`, cluster.ListenAddrs()[0], etcd.URL(), table)
	cfgPath := filepath.Join(t.TempDir(), "landfall.yaml")
	if err := os.WriteFile(cfgPath, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := committer.ParseConfig([]byte(yaml))
	if err != nil {
		t.Fatal(err)
	}
	status := func() (*statusReport, string, error) {
		t.Helper()
		var js, text strings.Builder
		err := runStatus(context.Background(), []string{"--config", cfgPath, "--output", "json", "--timeout", "5s"}, &js)
		var rep statusReport
		if jerr := json.Unmarshal([]byte(js.String()), &rep); jerr != nil {
			t.Fatalf("status --output json printed %q: %v", js.String(), jerr)
		}
		_ = runStatus(context.Background(), []string{"--config", cfgPath, "--timeout", "5s"}, &text)
		return &rep, text.String(), err
	}

	rep, _, err := status()
	if err != nil || rep.Owner != nil || rep.Checkpoint != nil {
		t.Fatalf("before any run: %v, owner %+v, checkpoint %+v", err, rep.Owner, rep.Checkpoint)
	}
	feed := startFeed(t, cluster, 5)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- run(ctx, cfg, slog.New(slog.NewTextHandler(io.Discard, nil)), nil) }()
	time.Sleep(time.Second)
	feed.finish(t)
	feed.waitConsumed(t, etcd.URL(), "status", 30*time.Second)

	rep, text, err := status()
	if err != nil {
		t.Fatalf("status of a running logid: %v\n%s", err, text)
	}
	if rep.Owner == nil || rep.Owner.TTLSeconds <= 0 || rep.Standbys != 0 {
		t.Fatalf("owner %+v (standbys %d), want a live owner\n%s", rep.Owner, rep.Standbys, text)
	}
	if rep.Checkpoint == nil || rep.Checkpoint.Seq == 0 || rep.Checkpoint.Epoch != rep.Owner.Epoch {
		t.Fatalf("checkpoint %+v, want one by the owner's epoch %d\n%s", rep.Checkpoint, rep.Owner.Epoch, text)
	}
	var next int64
	for _, p := range rep.Partitions {
		next += p.Next
		if p.End < 0 || p.Lag != p.End-p.Next || p.MaxEventTime == nil || p.Shard == nil || *p.Shard != int(p.Partition)%2 {
			t.Fatalf("kafka partition %+v\n%s", p, text)
		}
	}
	if len(rep.Partitions) != 4 || next != int64(len(feed.produced)) || rep.Lag != 0 {
		t.Fatalf("%d partitions with next offsets summing to %d (lag %d), want 4 summing to the %d produced with lag 0\n%s",
			len(rep.Partitions), next, rep.Lag, len(feed.produced), text)
	}
	// The feed's event times run on from 2026-11-20 at 1 s a record.
	if rep.Checkpoint.Watermark == nil || rep.Checkpoint.Watermark.Year() != 2026 || len(rep.Open) == 0 {
		t.Fatalf("watermark %v, %d open partitions\n%s", rep.Checkpoint.Watermark, len(rep.Open), text)
	}
	host, _ := os.Hostname()
	if p := rep.Owner.Process; p == nil || p.Host != host || p.PID != os.Getpid() || p.Version != buildVersion() || p.Started.IsZero() || p.Parallelism != 2 {
		t.Fatalf("owner's process %+v, want host %s, pid %d, version %s, parallelism 2\n%s", p, host, os.Getpid(), buildVersion(), text)
	}
	for _, want := range []string{"owner  ", "lease ttl", fmt.Sprintf("host %s, pid %d, version %s", host, os.Getpid(), buildVersion()),
		"kafka partitions (4)", "PARTITION  SHARD  NEXT", "parallelism 2", "open partitions (", "log_date=2026"} {
		if !strings.Contains(text, want) {
			t.Errorf("text status lacks %q:\n%s", want, text)
		}
	}

	// A second run stands by, and says so with its own lease.
	sbCtx, sbCancel := context.WithCancel(context.Background())
	sbDone := make(chan error, 1)
	go func() { sbDone <- run(sbCtx, cfg, slog.New(slog.NewTextHandler(io.Discard, nil)), nil) }()
	deadline := time.Now().Add(30 * time.Second)
	for rep, text, err = status(); rep.Standbys == 0 && time.Now().Before(deadline); rep, text, err = status() {
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil || rep.Standbys != 1 || len(rep.StandbyProcesses) != 1 || rep.StandbyProcesses[0].Process == nil ||
		rep.StandbyProcesses[0].Lease == rep.Owner.Lease || rep.StandbyProcesses[0].Process.PID != os.Getpid() || !strings.Contains(text, "standby  ") {
		t.Fatalf("with a standby: %v, %d standbys %+v, owner lease %s\n%s", err, rep.Standbys, rep.StandbyProcesses, rep.Owner.Lease, text)
	}
	t.Logf("status with a standby:\n%s", text)
	sbCancel()
	if err := <-sbDone; err != nil {
		t.Fatalf("standby's stop: %v", err)
	}

	cancel()
	if err := <-done; err != nil {
		t.Fatalf("graceful stop: %v", err)
	}
	rep, text, err = status()
	if err != nil || rep.Owner != nil || !strings.Contains(text, "none: no landfall run holds the logid") {
		t.Fatalf("after the stop: %v, owner %+v\n%s", err, rep.Owner, text)
	}
	if procs, err := state.Processes(context.Background(), etcdClient(t, etcd.URL()), "status"); err != nil || len(procs) != 0 {
		t.Fatalf("after the stop the processes %v (%v) are still listed; want none", procs, err)
	}
	cluster.Close()
	rep, text, err = status()
	if err == nil || !strings.Contains(err.Error(), "kafka") || rep.Checkpoint == nil || rep.Lag != -1 || !regexp.MustCompile(`lag +\? records`).MatchString(text) {
		t.Fatalf("with Kafka down: %v, checkpoint %+v, lag %d\n%s", err, rep.Checkpoint, rep.Lag, text)
	}
}
