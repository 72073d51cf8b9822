package main

import (
	"context"
	"errors"
	"fmt"
	"sync"
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

// services starts a kfake cluster with a 4-partition topic "logs" and an
// embedded etcd, both stopped when the test ends.
func services(t *testing.T) (*kfake.Cluster, *state.Embedded) {
	t.Helper()
	cluster, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(4, "logs"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cluster.Close)
	etcd, err := state.StartEmbedded(t.TempDir(), 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { etcd.Close() })
	return cluster, etcd
}

// feed produces generated log records with unique ids into topic "logs" of
// a kfake cluster, 300 every 20 ms, until stopped, and remembers which
// Kafka acknowledged.
type feed struct {
	prod                *kgo.Client
	mu                  sync.Mutex
	produced, malformed map[string]bool
	stop                chan struct{}
	wg                  sync.WaitGroup
	err                 error
}

func startFeed(t *testing.T, cluster *kfake.Cluster, seed uint64) *feed {
	t.Helper()
	prod, err := kgo.NewClient(kgo.SeedBrokers(cluster.ListenAddrs()...), kgo.RecordPartitioner(kgo.RoundRobinPartitioner()))
	if err != nil {
		t.Fatal(err)
	}
	f := &feed{prod: prod, produced: map[string]bool{}, malformed: map[string]bool{}, stop: make(chan struct{})}
	f.wg.Add(1)
	go func() {
		defer f.wg.Done()
		g := loggen.New(seed)
		et := time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC)
		for {
			select {
			case <-f.stop:
				return
			case <-time.After(20 * time.Millisecond):
				if et, f.err = f.produce(g, 300, et); f.err != nil {
					return
				}
			}
		}
	}()
	return f
}

func (f *feed) produce(g *loggen.Generator, n int, et time.Time) (time.Time, error) {
	recs := make([]*kgo.Record, n)
	ids := make([]string, n)
	bad := make([]bool, n)
	for i := range recs {
		v, kind := g.Next(nil, et)
		recs[i] = &kgo.Record{Topic: "logs", Value: v}
		ids[i], bad[i] = fmt.Sprint(g.Seq()), kind == loggen.Malformed
		et = et.Add(time.Second)
	}
	if err := f.prod.ProduceSync(context.Background(), recs...).FirstErr(); err != nil {
		return et, err
	}
	f.mu.Lock()
	for i, id := range ids {
		f.produced[id], f.malformed[id] = true, bad[i]
	}
	f.mu.Unlock()
	return et, nil
}

// finish stops producing; it fails the test if a produce call failed.
func (f *feed) finish(t *testing.T) {
	t.Helper()
	close(f.stop)
	f.wg.Wait()
	f.prod.Close()
	if f.err != nil {
		t.Fatal(f.err)
	}
}

// waitConsumed waits until logid's durable checkpoint has consumed every
// produced record.
func (f *feed) waitConsumed(t *testing.T, etcdURL, logid string, within time.Duration) {
	t.Helper()
	cli, err := clientv3.New(clientv3.Config{Endpoints: []string{etcdURL}, Logger: zap.NewNop()})
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	want := int64(len(f.produced))
	deadline := time.Now().Add(within)
	var got int64
	for time.Now().Before(deadline) {
		cp, err := state.Peek(context.Background(), cli, logid)
		if errors.Is(err, state.ErrCorrupt) {
			t.Fatal(err)
		}
		if cp != nil {
			got = 0
			for _, o := range cp.Offsets {
				got += o
			}
			if got >= want {
				return
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("consumed %d of %d records in %s", got, want, within)
}

// check reads every committed file of the table back: each produced
// record exactly once, the malformed ones in the invalid sink.
func (f *feed) check(t *testing.T, table string) *committest.Table {
	t.Helper()
	lfs, err := fsys.NewLocal(table)
	if err != nil {
		t.Fatal(err)
	}
	tb, err := committest.Read(lfs, nil)
	if err != nil {
		t.Fatal(err)
	}
	if probs := tb.Check(f.produced, f.malformed); len(probs) > 0 {
		for _, p := range probs {
			t.Error(p)
		}
		t.FailNow()
	}
	return tb
}

// etcdClient is a client of the test's etcd, closed with the test.
func etcdClient(t *testing.T, url string) *clientv3.Client {
	t.Helper()
	cli, err := clientv3.New(clientv3.Config{Endpoints: []string{url}, Logger: zap.NewNop()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cli.Close() })
	return cli
}
