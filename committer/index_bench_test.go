package committer_test

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/landfall/landfall/committer"
	"github.com/landfall/landfall/committer/committest"
	"github.com/landfall/landfall/index"
)

// BenchmarkIndexVisibility measures publish-to-visible latency: from a
// record's acknowledgement by Kafka to the moment a follower of the file
// index is handed a file holding it, at checkpoint.interval 10 s (a record
// waits for the next checkpoint, then for its file's rename and the
// entry's publish). It produces a record every 100 ms for 40 s per
// iteration and reports p50 and p99 in seconds; the target is p99 ≤ the
// interval + 2 s. It also reports the mean checkpoint time.
//
//	go test -run '^$' -bench BenchmarkIndexVisibility -benchtime 1x ./committer/
func BenchmarkIndexVisibility(b *testing.B) {
	const interval = 10 * time.Second
	var lat []float64
	var ckpt time.Duration
	var ckpts int
	for i := 0; i < b.N; i++ {
		e := newEnv(b, 4)
		cfg := e.config(func(c *committer.Config) { c.Checkpoint.Interval = interval })
		reg := prometheus.NewRegistry()
		in := e.start(cfg, opts{reg: reg})
		f, err := e.fs()
		if err != nil {
			b.Fatal(err)
		}
		var mu sync.Mutex
		acked := map[string]time.Time{}
		seen := map[string]time.Time{}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() {
			done <- index.Open(f, e.logid).Follow(ctx, index.Earliest, 50*time.Millisecond, func(en *index.Entry) error {
				now := time.Now()
				for _, a := range en.Actions {
					if a.Add == nil {
						continue
					}
					recs, err := committest.ReadFile(f, a.Add.Path, committest.Decoders)
					if err != nil {
						return err
					}
					mu.Lock()
					for _, r := range recs {
						if m := committest.IDPattern.FindSubmatch(r); m != nil {
							seen[string(m[1])] = now
						}
					}
					mu.Unlock()
				}
				return nil
			})
		}()
		et := time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC)
		for j := 0; j < 400; j++ {
			id := 1_000_000*i + j
			e.produceRaw(rec(id, et))
			mu.Lock()
			acked[fmt.Sprint(id)] = time.Now()
			mu.Unlock()
			et = et.Add(time.Second)
			time.Sleep(100 * time.Millisecond)
		}
		deadline := time.Now().Add(3 * interval)
		for {
			mu.Lock()
			n := len(seen)
			mu.Unlock()
			if n >= len(acked) || time.Now().After(deadline) {
				break
			}
			time.Sleep(50 * time.Millisecond)
		}
		cancel()
		<-done
		in.stop(b)
		f.Close()
		mu.Lock()
		for id, t0 := range acked {
			t1, ok := seen[id]
			if !ok {
				b.Fatalf("record %s never reached the index", id)
			}
			lat = append(lat, t1.Sub(t0).Seconds())
		}
		mu.Unlock()
		mfs, err := reg.Gather()
		if err != nil {
			b.Fatal(err)
		}
		for _, mf := range mfs {
			if mf.GetName() == "landfall_committer_checkpoint_seconds" {
				h := mf.GetMetric()[0].GetHistogram()
				ckpt += time.Duration(h.GetSampleSum() * float64(time.Second))
				ckpts += int(h.GetSampleCount())
			}
		}
	}
	sort.Float64s(lat)
	b.ReportMetric(lat[len(lat)/2], "p50-s")
	b.ReportMetric(lat[len(lat)*99/100], "p99-s")
	b.ReportMetric(interval.Seconds()+2, "target-p99-s")
	b.ReportMetric(ckpt.Seconds()/float64(ckpts), "mean-checkpoint-s")
}
