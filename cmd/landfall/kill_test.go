package main

import (
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// TestKill9 runs the real binary against Kafka (kfake on loopback) and etcd
// (embedded, on loopback), kills it with SIGKILL at random moments while a
// producer writes — 24 times — then lets a last process drain the topic and
// reads every committed file back: each record exactly once.
func TestKill9(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "landfall")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	cluster, etcd := services(t)
	table := t.TempDir()
	cfgPath := filepath.Join(t.TempDir(), "landfall.yaml")
	cfg := fmt.Sprintf(`
logid: kill9
kafka: {brokers: [%s], topic: logs, fetch_max_bytes: 262144}
etcd: {endpoints: [%s], lease_ttl: 1s}
warehouse: {uri: "file://%s"}
format: {name: text, compression: zstd}
event_time: {field: ts, max_future: 87600h}
checkpoint: {interval: 100ms}
watermark: {out_of_orderness: 1m}
`, cluster.ListenAddrs()[0], etcd.URL(), table)
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}

	feed := startFeed(t, cluster, 9)

	rng := rand.New(rand.NewPCG(1, 2))
	logs := filepath.Join(t.TempDir(), "landfall.log")
	logf, err := os.Create(logs)
	if err != nil {
		t.Fatal(err)
	}
	defer logf.Close()
	start := func() *exec.Cmd {
		cmd := exec.Command(bin, "run", "--config", cfgPath)
		cmd.Stdout, cmd.Stderr = logf, logf
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		return cmd
	}
	const kills = 24
	for i := 0; i < kills; i++ {
		cmd := start()
		time.Sleep(time.Duration(300+rng.IntN(2200)) * time.Millisecond)
		if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		_ = cmd.Wait()
	}
	feed.finish(t)

	// A last process drains the topic and stops gracefully.
	cmd := start()
	feed.waitConsumed(t, etcd.URL(), "kill9", 90*time.Second)
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		b, _ := os.ReadFile(logs)
		t.Fatalf("graceful stop: %v\n%s", err, tail(b, 3000))
	}

	tb := feed.check(t, table)
	t.Logf("%d kill -9 restarts; %d records produced, each found exactly once in %d files (%d invalid)", kills, len(feed.produced), tb.Files, len(tb.Invalid))
}

func tail(b []byte, n int) []byte {
	if len(b) > n {
		return b[len(b)-n:]
	}
	return b
}
