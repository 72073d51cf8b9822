package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"

	"github.com/landfall/landfall/committer"
	"github.com/landfall/landfall/state"
	"github.com/landfall/landfall/writer/fsys"
)

// faultyFS fails every write and sync while broken is set, as an HDFS
// whose DataNode went away does.
type faultyFS struct {
	fsys.FS
	broken *atomic.Bool
}

type faultyFile struct {
	fsys.File
	broken *atomic.Bool
}

var errInjected = errors.New("injected: connection refused")

func (f faultyFS) Create(name string) (fsys.File, error) {
	fl, err := f.FS.Create(name)
	if err != nil {
		return nil, err
	}
	return faultyFile{fl, f.broken}, nil
}

func (f faultyFile) Write(b []byte) (int, error) {
	if f.broken.Load() {
		return 0, errInjected
	}
	return f.File.Write(b)
}

func (f faultyFile) Sync() error {
	if f.broken.Load() {
		return errInjected
	}
	return f.File.Sync()
}

// TestRestartAfterWarehouseFaults: the warehouse fails every write for a
// moment, five times, while records flow. Each time the pipeline fails,
// and run starts it again in the same process from the last checkpoint,
// without returning; at the end every record is read back exactly once.
func TestRestartAfterWarehouseFaults(t *testing.T) {
	cluster, etcd := services(t)
	table := t.TempDir()
	cfg, err := committer.ParseConfig(fmt.Appendf(nil, `
logid: restart
kafka: {brokers: [%s], topic: logs, fetch_max_bytes: 262144}
etcd: {endpoints: [%s], lease_ttl: 2s}
warehouse: {uri: "file://%s"}
format: {name: text, compression: zstd}
event_time: {field: ts, max_future: 87600h}
checkpoint: {interval: 100ms}
watermark: {out_of_orderness: 1m}
`, cluster.ListenAddrs()[0], etcd.URL(), table))
	if err != nil {
		t.Fatal(err)
	}
	var broken atomic.Bool
	openWarehouse = func(uri string, opts ...fsys.OpenOption) (fsys.FS, error) {
		f, err := fsys.Open(uri, opts...)
		return faultyFS{f, &broken}, err
	}
	restartBackoff = 50 * time.Millisecond
	defer func() { openWarehouse, restartBackoff = fsys.Open, time.Second }()

	feed := startFeed(t, cluster, 11)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var starts atomic.Int64
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, cfg, slog.New(slog.NewTextHandler(io.Discard, nil)), func(*committer.Pipeline) { starts.Add(1) })
	}()
	waitStarts := func(n int64) {
		t.Helper()
		deadline := time.Now().Add(30 * time.Second)
		for starts.Load() < n {
			select {
			case err := <-done:
				t.Fatalf("run returned after %d starts: %v", starts.Load(), err)
			case <-time.After(10 * time.Millisecond):
			}
			if time.Now().After(deadline) {
				t.Fatalf("%d starts in 30s, want %d", starts.Load(), n)
			}
		}
	}
	const faults = 5
	for i := 1; i <= faults; i++ {
		waitStarts(int64(i))
		time.Sleep(400 * time.Millisecond) // records flow, checkpoints land
		// Broken until the pipeline fails and starts again: a fixed
		// window can pass without a write or sync on a loaded machine.
		broken.Store(true)
		waitStarts(int64(i + 1))
		broken.Store(false)
	}
	feed.finish(t)
	feed.waitConsumed(t, etcd.URL(), "restart", 60*time.Second)
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("graceful stop: %v", err)
	}
	tb := feed.check(t, table)
	t.Logf("%d starts in one run call; %d records produced, each found exactly once in %d files (%d invalid)",
		starts.Load(), len(feed.produced), tb.Files, len(tb.Invalid))
}

// TestRunEndsOnSetupError: a run that fails before it consumes (here its
// checkpoint in etcd is corrupt) is a set-up error: run returns it instead
// of restarting in-process, so the operator sees it.
func TestRunEndsOnSetupError(t *testing.T) {
	cluster, etcd := services(t)
	cfg, err := committer.ParseConfig(fmt.Appendf(nil, `
logid: corrupt
kafka: {brokers: [%s], topic: logs}
etcd: {endpoints: [%s], lease_ttl: 2s}
warehouse: {uri: "file://%s"}
format: {name: text}
event_time: {field: ts}
`, cluster.ListenAddrs()[0], etcd.URL(), t.TempDir()))
	if err != nil {
		t.Fatal(err)
	}
	cli, err := clientv3.New(clientv3.Config{Endpoints: []string{etcd.URL()}, Logger: zap.NewNop()})
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	if _, err := cli.Put(context.Background(), "/landfall/corrupt/checkpoint", "not a checkpoint"); err != nil {
		t.Fatal(err)
	}
	restartBackoff = 50 * time.Millisecond
	defer func() { restartBackoff = time.Second }()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var starts atomic.Int64
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, cfg, slog.New(slog.NewTextHandler(io.Discard, nil)), func(*committer.Pipeline) { starts.Add(1) })
	}()
	select {
	case err := <-done:
		if !errors.Is(err, state.ErrCorrupt) {
			t.Fatalf("run returned %v, want the corrupt checkpoint's error", err)
		}
		if n := starts.Load(); n != 1 {
			t.Fatalf("%d starts, want 1", n)
		}
	case <-time.After(20 * time.Second):
		t.Fatalf("run still going after 20s and %d starts: it retries a set-up error", starts.Load())
	}
}

// TestStopWhileWaitingForKafka: a stop that comes while run still waits
// for the topic's metadata is a graceful stop (nil), not a failure.
func TestStopWhileWaitingForKafka(t *testing.T) {
	cluster, etcd := services(t)
	cfg, err := committer.ParseConfig(fmt.Appendf(nil, `
logid: stopearly
kafka: {brokers: [%s], topic: not-there-yet}
etcd: {endpoints: [%s], lease_ttl: 2s}
warehouse: {uri: "file://%s"}
event_time: {field: ts}
`, cluster.ListenAddrs()[0], etcd.URL(), t.TempDir()))
	if err != nil {
		t.Fatal(err)
	}
	logs := &lockedBuffer{}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- run(ctx, cfg, slog.New(slog.NewTextHandler(logs, nil)), nil) }()
	waitFor(t, done, 20*time.Second, "the wait for the topic", func() string {
		if strings.Contains(logs.String(), "kafka metadata not ready") {
			return "waiting"
		}
		return ""
	})
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("a stop while waiting for Kafka returned %v, want nil", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("run did not return within 10s of the stop")
	}
}
