package state

import (
	"context"
	"fmt"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// BenchmarkFencedWrite measures one write fenced by a worker's claims on
// n partitions (the per-partition fencing of docs/SCALING.md), against an
// etcd with its data on local disk: what a worker's report or a
// checkpoint costs as the partitions per worker grow.
func BenchmarkFencedWrite(b *testing.B) {
	cli := benchEtcd(b)
	ctx := context.Background()
	w, err := Join(ctx, cli, "logs", Process{Host: "bench"}, WithLeaseTTL(10*time.Second))
	if err != nil {
		b.Fatal(err)
	}
	defer w.Close()
	for p := range int32(maxTxnCompares) {
		if ok, err := w.Claim(ctx, p); err != nil || !ok {
			b.Fatal(ok, err)
		}
	}
	for _, n := range []int{1, 16, 64, 128} {
		parts := make([]int32, n)
		for i := range parts {
			parts[i] = int32(i)
		}
		cmps, err := w.Holds(parts...)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(fmt.Sprintf("partitions=%d", n), func(b *testing.B) {
			for i := 0; b.Loop(); i++ {
				resp, err := cli.Txn(ctx).If(cmps...).Then(clientv3.OpPut("/landfall/logs/bench", fmt.Sprint(i))).Commit()
				if err != nil || !resp.Succeeded {
					b.Fatal(resp, err)
				}
			}
		})
	}
}

// BenchmarkSave measures a checkpoint's write with k Kafka partitions and
// h open Hive partitions: the leader's cost per checkpoint as one logid
// grows.
func BenchmarkSave(b *testing.B) {
	cli := benchEtcd(b)
	ctx := context.Background()
	s, err := Open(ctx, cli, "logs", WithLeaseTTL(10*time.Second))
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	for _, k := range []int{16, 64, 256, 1024} {
		cp := &Checkpoint{Offsets: map[int32]int64{}, MaxEventTime: map[int32]int64{}, Partitions: map[string]*Partition{}}
		for p := range int32(k) {
			cp.Offsets[p] = 1 << 40
			cp.MaxEventTime[p] = 1_800_000_000_000
		}
		// Two open hours, each with every Kafka partition's range, and
		// one file per Kafka partition rolled into each.
		for h := range 2 {
			st := &Partition{Start: int64(h) * 3_600_000, End: int64(h+1) * 3_600_000, Offsets: map[int32][2]int64{}}
			for p := range int32(k) {
				st.Offsets[p] = [2]int64{1 << 39, 1 << 40}
				cp.Pending = append(cp.Pending, PendingFile{
					Staging: fmt.Sprintf(".landfall/logs/staging/00000000000000012345/%d-%d.orc", h, p),
					Final:   fmt.Sprintf("log_date=20261202/log_hour=%02d/part-%05d-%020d.orc", h, p, 1<<40),
					Size:    64 << 20, Rows: 1 << 20, Partition: fmt.Sprintf("log_date=20261202/log_hour=%02d", h),
				})
			}
			cp.Partitions[fmt.Sprintf("log_date=20261202/log_hour=%02d", h)] = st
		}
		b.Run(fmt.Sprintf("kafka-partitions=%d", k), func(b *testing.B) {
			for b.Loop() {
				cp.Seq++
				if err := s.Save(ctx, cp); err != nil {
					b.Fatal(err)
				}
			}
			hv, chunks, _ := encodeStored(cp)
			b.ReportMetric(float64(len(hv)+len(chunks)*chunkSize), "stored-bytes")
		})
	}
}

func benchEtcd(b *testing.B) *clientv3.Client {
	_, cli := embedded(b)
	return cli
}
