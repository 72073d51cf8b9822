package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"

	"github.com/landfall/landfall/cmd/landfall/loggen"
	"github.com/landfall/landfall/committer/committest"
	"github.com/landfall/landfall/state"
	"github.com/landfall/landfall/writer/fsys"
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
	cluster, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(4, "logs"))
	if err != nil {
		t.Fatal(err)
	}
	defer cluster.Close()
	etcd, err := state.StartEmbedded(t.TempDir(), 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer etcd.Close()
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

	prod, err := kgo.NewClient(kgo.SeedBrokers(cluster.ListenAddrs()...), kgo.RecordPartitioner(kgo.RoundRobinPartitioner()))
	if err != nil {
		t.Fatal(err)
	}
	defer prod.Close()
	produced, malformed := map[string]bool{}, map[string]bool{}
	var mu sync.Mutex
	produce := func(g *loggen.Generator, n int, et time.Time) (time.Time, error) {
		recs := make([]*kgo.Record, n)
		ids := make([]string, n)
		bad := make([]bool, n)
		for i := range recs {
			v, kind := g.Next(nil, et)
			recs[i] = &kgo.Record{Topic: "logs", Value: v}
			ids[i], bad[i] = fmt.Sprint(g.Seq()), kind == loggen.Malformed
			et = et.Add(time.Second)
		}
		if err := prod.ProduceSync(context.Background(), recs...).FirstErr(); err != nil {
			return et, err
		}
		mu.Lock()
		for i, id := range ids {
			produced[id], malformed[id] = true, bad[i]
		}
		mu.Unlock()
		return et, nil
	}

	stop := make(chan struct{})
	var wg sync.WaitGroup
	var perr error
	wg.Add(1)
	go func() {
		defer wg.Done()
		g := loggen.New(9)
		et := time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC)
		for {
			select {
			case <-stop:
				return
			case <-time.After(20 * time.Millisecond):
				if et, perr = produce(g, 300, et); perr != nil {
					return
				}
			}
		}
	}()

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
	close(stop)
	wg.Wait()
	if perr != nil {
		t.Fatal(perr)
	}

	// A last process drains the topic and stops gracefully.
	cmd := start()
	cli, err := clientv3.New(clientv3.Config{Endpoints: []string{etcd.URL()}, Logger: zap.NewNop()})
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	want := int64(len(produced))
	deadline := time.Now().Add(90 * time.Second)
	var got int64
	for time.Now().Before(deadline) {
		resp, err := cli.Get(context.Background(), "/landfall/kill9/checkpoint")
		if err == nil && len(resp.Kvs) == 1 {
			cp, err := state.Decode(resp.Kvs[0].Value)
			if err != nil {
				t.Fatal(err)
			}
			got = 0
			for _, o := range cp.Offsets {
				got += o
			}
			if got >= want {
				break
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	if got < want {
		t.Fatalf("the last process consumed %d of %d records in 90s; log: %s", got, want, logs)
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		b, _ := os.ReadFile(logs)
		t.Fatalf("graceful stop: %v\n%s", err, tail(b, 3000))
	}

	lfs, err := fsys.NewLocal(table)
	if err != nil {
		t.Fatal(err)
	}
	tb, err := committest.Read(lfs, nil)
	if err != nil {
		t.Fatal(err)
	}
	if probs := tb.Check(produced, malformed); len(probs) > 0 {
		for _, p := range probs {
			t.Error(p)
		}
		t.FailNow()
	}
	t.Logf("%d kill -9 restarts; %d records produced, each found exactly once in %d files (%d invalid)", kills, len(produced), tb.Files, len(tb.Invalid))
}

func tail(b []byte, n int) []byte {
	if len(b) > n {
		return b[len(b)-n:]
	}
	return b
}
