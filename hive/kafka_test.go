package hive_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/landfall/landfall/hive"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
)

func TestKafkaStepProducesKeyedNotification(t *testing.T) {
	cluster, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(1, "partitions"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cluster.Close)
	step, err := hive.NewKafka(hive.KafkaConfig{Brokers: cluster.ListenAddrs(), Topic: "partitions", Timeout: 10 * time.Second},
		hive.WithLogger(testLogger(t)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = step.Close() })

	p := commit("20261121", "13", 3, 1000, 4096)
	u := p
	u.Update, u.Key, u.NumRows = true, "clicks/20261121/13/2", 1001
	for _, c := range []hive.Partition{p, p, u} {
		if err := step.Commit(ctxT(t), c); err != nil {
			t.Fatal(err)
		}
	}

	cons, err := kgo.NewClient(kgo.SeedBrokers(cluster.ListenAddrs()...), kgo.ConsumeTopics("partitions"),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer cons.Close()
	var recs []*kgo.Record
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for len(recs) < 3 && ctx.Err() == nil {
		fs := cons.PollFetches(ctx)
		fs.EachRecord(func(r *kgo.Record) { recs = append(recs, r) })
	}
	if len(recs) != 3 {
		t.Fatalf("got %d records, want 3", len(recs))
	}
	wantKeys := []string{p.Key, p.Key, u.Key}
	for i, r := range recs {
		if string(r.Key) != wantKeys[i] {
			t.Errorf("record %d key = %q, want %q", i, r.Key, wantKeys[i])
		}
		var n hive.Notification
		if err := json.Unmarshal(r.Value, &n); err != nil {
			t.Fatalf("record %d: %v", i, err)
		}
		if n.IdempotencyKey != wantKeys[i] || n.Database != "logs" || n.Partition["log_hour"] != "13" {
			t.Errorf("record %d value = %+v", i, n)
		}
	}
	if n := decode(t, recs[2].Value); n.Event != hive.EventUpdated || n.NumRows != 1001 {
		t.Errorf("update record = %+v", n)
	}
}

func decode(t *testing.T, b []byte) hive.Notification {
	t.Helper()
	var n hive.Notification
	if err := json.Unmarshal(b, &n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestKafkaStepUnknownTopicIsPermanent(t *testing.T) {
	cluster, err := kfake.NewCluster(kfake.NumBrokers(1))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cluster.Close)
	step, err := hive.NewKafka(hive.KafkaConfig{Brokers: cluster.ListenAddrs(), Topic: "missing", Timeout: 10 * time.Second},
		hive.WithKafkaOpts(kgo.UnknownTopicRetries(1)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = step.Close() })
	err = step.Commit(ctxT(t), commit("20261121", "13", 1, 1, 1))
	if !hive.IsPermanent(err) {
		t.Fatalf("commit to a missing topic = %v; want a permanent error", err)
	}
}
