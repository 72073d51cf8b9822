package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/landfall/landfall/committer/committest"
	"github.com/landfall/landfall/state"
	"github.com/landfall/landfall/writer/fsys"
)

// TestKill9 runs the real binary against Kafka (kfake on loopback) and etcd
// (embedded, on loopback), with compaction on, kills it with SIGKILL at
// random moments while a producer writes — 24 times — then lets a last
// process drain the topic and reads every committed file back: each record
// exactly once.
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
compaction: {enabled: true, target_size: 1048576}
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
	// A downstream job follows the file index beside it, as its own
	// process, the whole time.
	tailOut := filepath.Join(t.TempDir(), "tail.jsonl")
	tailf, err := os.Create(tailOut)
	if err != nil {
		t.Fatal(err)
	}
	defer tailf.Close()
	tailer := exec.Command(bin, "index", "tail", "--config", cfgPath, "--from", "earliest", "--follow", "--json")
	tailer.Stdout, tailer.Stderr = tailf, logf
	if err := tailer.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = tailer.Process.Kill(); _ = tailer.Wait() }()

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

	// The follower was handed every record exactly once, in files that
	// were there when it read the listing (read now: they never move).
	cp, err := state.Peek(context.Background(), etcdClient(t, etcd.URL()), "kill9")
	if err != nil {
		t.Fatal(err)
	}
	last := cp.IndexNext - 1
	var entries []jsonEntry
	deadline := time.Now().Add(30 * time.Second)
	for {
		entries = entries[:0]
		b, err := os.ReadFile(tailOut)
		if err != nil {
			t.Fatal(err)
		}
		for _, line := range bytes.Split(bytes.TrimSpace(b), []byte("\n")) {
			if len(line) == 0 {
				continue
			}
			var e jsonEntry
			if err := json.Unmarshal(line, &e); err != nil {
				t.Fatalf("index tail printed %q: %v", line, err)
			}
			entries = append(entries, e)
		}
		if len(entries) > 0 && entries[len(entries)-1].N >= last {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("index tail printed %d entries in 30s, the index has %d", len(entries), last)
		}
		time.Sleep(50 * time.Millisecond)
	}
	lfs, err := fsys.NewLocal(table)
	if err != nil {
		t.Fatal(err)
	}
	handed := committest.NewTable()
	for i, e := range entries {
		if e.N != uint64(i+1) {
			t.Fatalf("index tail printed entry %d at position %d", e.N, i+1)
		}
		for _, a := range e.Actions {
			if a.Add == nil || !a.Add.DataChange {
				continue
			}
			recs, err := committest.ReadHanded(lfs, "kill9", a.Add.Path, committest.Decoders)
			if err != nil {
				t.Fatalf("entry %d hands %s: %v", e.N, a.Add.Path, err)
			}
			if err := handed.Add(a.Add.Partition, a.Add.Path, recs); err != nil {
				t.Fatal(err)
			}
		}
	}
	if probs := handed.Check(feed.produced, feed.malformed); len(probs) > 0 {
		t.Fatalf("what index tail handed: %v", probs)
	}
	t.Logf("index tail --follow, beside the kills, printed %d entries handing every record exactly once in %d files", len(entries), handed.Files)
}

func tail(b []byte, n int) []byte {
	if len(b) > n {
		return b[len(b)-n:]
	}
	return b
}
