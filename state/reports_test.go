package state

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.etcd.io/etcd/api/v3/mvccpb"
	clientv3 "go.etcd.io/etcd/client/v3"
)

func join(t *testing.T, cli *clientv3.Client, host string) *Worker {
	t.Helper()
	w, err := Join(context.Background(), cli, "logs", Process{Host: host}, WithLeaseTTL(2*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.Close() })
	return w
}

func claim(t *testing.T, w *Worker, parts ...int32) {
	t.Helper()
	for _, p := range parts {
		if ok, err := w.Claim(context.Background(), p); err != nil || !ok {
			t.Fatalf("worker %x: claim %d: %v, %v", int64(w.Lease()), p, ok, err)
		}
	}
}

// report is a report of one file holding offsets [from, to) of p.
func report(seq uint64, p int32, from, to int64) *Report {
	return &Report{
		Seq:          seq,
		Ranges:       map[int32]OffsetRange{p: {from, to}},
		MaxEventTime: map[int32]int64{p: 1000 * to},
		Files:        []PendingFile{{Staging: "s", Final: "f", Size: 10, Rows: to - from, Partition: "dt=1"}},
		Partitions:   map[string]PartitionDelta{"dt=1": {Start: 0, End: 3600_000, Files: 1, Rows: to - from, Bytes: 10, Offsets: map[int32][2]int64{p: {from, to - 1}}}},
	}
}

// TestReportNeedsEveryPartition: a worker that lost a partition, released
// and claimed by another or gone with its lease, can't report it, alone
// or beside partitions it still owns.
func TestReportNeedsEveryPartition(t *testing.T) {
	_, cli := embedded(t)
	ctx := context.Background()
	a, b := join(t, cli, "a"), join(t, cli, "b")
	claim(t, a, 0, 1)
	if err := a.Report(ctx, report(1, 0, 0, 5)); err != nil {
		t.Fatal(err)
	}
	// A retry of a write that landed is success; another value under the
	// same Seq is not.
	if err := a.Report(ctx, report(1, 0, 0, 5)); err != nil {
		t.Fatalf("retried report: %v", err)
	}
	if err := a.Report(ctx, report(1, 0, 0, 6)); err == nil || errors.Is(err, ErrNotOwner) {
		t.Fatalf("another report under the same seq: %v", err)
	}
	if err := a.Release(ctx, 0); err != nil {
		t.Fatal(err)
	}
	claim(t, b, 0)
	if err := a.Report(ctx, report(2, 0, 5, 7)); !errors.Is(err, ErrNotOwner) || !strings.Contains(err.Error(), "partitions 0 ") {
		t.Fatalf("report of a partition another worker claimed: %v, want ErrNotOwner naming 0", err)
	}
	both := report(3, 1, 0, 3)
	both.Ranges[0] = OffsetRange{5, 7}
	if err := a.Report(ctx, both); !errors.Is(err, ErrNotOwner) {
		t.Fatalf("report of an owned and a lost partition: %v, want ErrNotOwner", err)
	}
	if err := b.Report(ctx, report(1, 0, 5, 7)); err != nil {
		t.Fatalf("the new owner's report: %v", err)
	}
	if err := a.Report(ctx, &Report{Seq: 4}); err == nil {
		t.Fatal("a report without ranges was accepted")
	}

	// b's lease is revoked: its claim and its report go with it, and it
	// can report nothing more.
	if _, err := cli.Revoke(ctx, b.Lease()); err != nil {
		t.Fatal(err)
	}
	if err := b.Report(ctx, report(2, 0, 7, 9)); !errors.Is(err, ErrNotOwner) {
		t.Fatalf("report after the lease was revoked: %v, want ErrNotOwner", err)
	}
	s, err := Open(ctx, cli, "logs", WithLeaseTTL(2*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	rs, err := s.Reports(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(rs) != 1 || rs[0].Worker() != a.Lease() || rs[0].Seq != 1 {
		t.Fatalf("reports after b died: %+v, want only a's first", rs)
	}
}

// TestSaveAcceptingFoldsAndDeletesAtOnce: the checkpoint with a report
// folded in and the report's deletion are one step.
func TestSaveAcceptingFoldsAndDeletesAtOnce(t *testing.T) {
	_, cli := embedded(t)
	ctx := context.Background()
	s, err := Open(ctx, cli, "logs", WithLeaseTTL(2*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.Save(ctx, &Checkpoint{Seq: 1, Offsets: map[int32]int64{0: 10}}); err != nil {
		t.Fatal(err)
	}
	w := join(t, cli, "w")
	claim(t, w, 0, 4)
	if err := w.Report(ctx, report(1, 0, 10, 20)); err != nil {
		t.Fatal(err)
	}
	r2 := report(2, 4, 3, 8) // 4 is new to the checkpoint: it starts at 3
	r2.Files[0].Staging = "s2"
	if err := w.Report(ctx, r2); err != nil {
		t.Fatal(err)
	}
	rs, err := s.Reports(ctx)
	if err != nil || len(rs) != 2 || rs[0].Seq != 1 || rs[1].Seq != 2 {
		t.Fatalf("Reports = %+v, %v", rs, err)
	}
	cp, err := s.Load(ctx)
	if err != nil {
		t.Fatal(err)
	}
	cp.Seq++
	for _, r := range rs {
		if err := Fold(cp, r); err != nil {
			t.Fatal(err)
		}
	}
	// Watch from just after now: the head's write and the reports'
	// deletion must come in one event batch, one revision.
	now, err := cli.Get(ctx, "/landfall/logs/checkpoint")
	if err != nil {
		t.Fatal(err)
	}
	wctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	watch := cli.Watch(wctx, "/landfall/logs/", clientv3.WithPrefix(), clientv3.WithRev(now.Header.Revision+1))
	if err := s.SaveAccepting(ctx, cp, rs); err != nil {
		t.Fatal(err)
	}
	ev := <-watch
	var keys []string
	for _, e := range ev.Events {
		keys = append(keys, e.Type.String()+" "+string(e.Kv.Key))
		if e.Kv.ModRevision != ev.Events[0].Kv.ModRevision {
			t.Fatalf("the save took several revisions: %v", keys)
		}
	}
	if len(ev.Events) != 3 {
		t.Fatalf("the save's one revision has %v, want the head and both reports", keys)
	}
	got, err := s.Load(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got.Seq != 2 || got.Offsets[0] != 20 || got.Offsets[4] != 8 || len(got.Pending) != 2 || got.MaxEventTime[0] != 20000 {
		t.Fatalf("after SaveAccepting: %+v", got)
	}
	if st := got.Partitions["dt=1"]; st == nil || st.Files != 2 || st.Rows != 15 || st.Offsets[0] != [2]int64{10, 19} || st.Offsets[4] != [2]int64{3, 7} {
		t.Fatalf("partition after SaveAccepting: %+v", st)
	}
	if rs, err := s.Reports(ctx); err != nil || len(rs) != 0 {
		t.Fatalf("reports after acceptance: %+v, %v", rs, err)
	}
	// Accepted, a report can't be accepted again.
	cp.Seq++
	if err := s.SaveAccepting(ctx, cp, rs[:0]); err != nil {
		t.Fatal(err)
	}
	if err := s.SaveAccepting(ctx, cp, make([]*Report, maxTxnCompares)); err == nil || !strings.Contains(err.Error(), "accept fewer") {
		t.Fatalf("too many reports: %v", err)
	}
}

// TestReportOfADeadWorkerIsNotAccepted: a worker dies after reporting and
// before the leader's save; the save refuses with ErrReportGone, writes
// nothing, and the report is no longer listed. A lost ownership stays
// ErrNotOwner.
func TestReportOfADeadWorkerIsNotAccepted(t *testing.T) {
	_, cli := embedded(t)
	ctx := context.Background()
	s, err := Open(ctx, cli, "logs", WithLeaseTTL(2*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Save(ctx, &Checkpoint{Seq: 1, Offsets: map[int32]int64{0: 10}}); err != nil {
		t.Fatal(err)
	}
	w, v := join(t, cli, "w"), join(t, cli, "v")
	claim(t, w, 0)
	claim(t, v, 1)
	if err := w.Report(ctx, report(1, 0, 10, 20)); err != nil {
		t.Fatal(err)
	}
	if err := v.Report(ctx, report(1, 1, 0, 4)); err != nil {
		t.Fatal(err)
	}
	rs, err := s.Reports(ctx)
	if err != nil || len(rs) != 2 {
		t.Fatalf("Reports = %+v, %v", rs, err)
	}
	// A checkpoint large enough to be chunked, so that the failed head
	// leaves chunks behind.
	big := bigCheckpoint(2, 20000, 8)
	big.Offsets[0], big.Offsets[1] = 10, 0
	delete(big.Offsets, 1)
	for _, r := range rs {
		if err := Fold(big, r); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	err = s.SaveAccepting(ctx, big, rs)
	if !errors.Is(err, ErrReportGone) || !strings.Contains(err.Error(), rs[0].Key()) || strings.Contains(err.Error(), rs[1].Key()) {
		t.Fatalf("SaveAccepting with a dead worker's report: %v, want ErrReportGone naming it alone", err)
	}
	if cp, err := s.Load(ctx); err != nil || cp.Seq != 1 || cp.Offsets[0] != 10 || len(cp.Pending) != 0 {
		t.Fatalf("after the refused save: %+v, %v; want checkpoint 1", cp, err)
	}
	left, err := s.Reports(ctx)
	if err != nil || len(left) != 1 || left[0].Key() != rs[1].Key() {
		t.Fatalf("reports after the worker died: %+v, %v; want only v's", left, err)
	}
	if n := countKeys(t, cli, "/landfall/logs/body/"); n == 0 {
		t.Fatal("the refused save of a chunked checkpoint wrote no chunks: the test proves nothing about orphans")
	}

	// The leader rebuilds without it, with the same Seq and fewer chunks;
	// nothing of the refused attempt is left.
	small := &Checkpoint{Seq: 2, Offsets: map[int32]int64{0: 10}}
	if err := Fold(small, left[0]); err != nil {
		t.Fatal(err)
	}
	if err := s.SaveAccepting(ctx, small, left); err != nil {
		t.Fatal(err)
	}
	if n := countKeys(t, cli, "/landfall/logs/body/"); n != 0 {
		t.Fatalf("%d orphan chunks after a successful inline save", n)
	}
	if cp, err := s.Load(ctx); err != nil || cp.Seq != 2 || cp.Offsets[1] != 4 || cp.Offsets[0] != 10 {
		t.Fatalf("after the rebuilt save: %+v, %v", cp, err)
	}

	// The leader loses its ownership with a live report in hand: that is
	// ErrNotOwner, not ErrReportGone.
	claim(t, v, 2)
	if err := v.Report(ctx, report(2, 2, 0, 1)); err != nil {
		t.Fatal(err)
	}
	rs, err = s.Reports(ctx)
	if err != nil || len(rs) != 1 {
		t.Fatalf("Reports = %+v, %v", rs, err)
	}
	s.Abandon(true)
	if err := s.SaveAccepting(ctx, &Checkpoint{Seq: 3}, rs); !errors.Is(err, ErrNotOwner) || errors.Is(err, ErrReportGone) {
		t.Fatalf("SaveAccepting after the leader lost its lease: %v, want ErrNotOwner", err)
	}
}

func countKeys(t *testing.T, cli *clientv3.Client, prefix string) int64 {
	t.Helper()
	resp, err := cli.Get(context.Background(), prefix, clientv3.WithPrefix(), clientv3.WithCountOnly())
	if err != nil {
		t.Fatal(err)
	}
	return resp.Count
}

// TestFoldRefusesGapsAndRepeats: a report must start where the checkpoint
// stands, for every partition; refused, it leaves the checkpoint as it
// was.
func TestFoldRefusesGapsAndRepeats(t *testing.T) {
	base := func() *Checkpoint {
		return &Checkpoint{
			Seq:          5,
			Offsets:      map[int32]int64{0: 10, 1: 20},
			MaxEventTime: map[int32]int64{0: 5},
			Pending:      []PendingFile{{Staging: "a", Final: "b", Partition: "dt=1"}},
			Partitions:   map[string]*Partition{"dt=1": {Start: 0, End: 3600_000, Files: 1}},
		}
	}
	for name, r := range map[string]*Report{
		"gap":             report(1, 0, 11, 15),
		"repeat":          report(1, 0, 9, 15),
		"repeat of all":   report(1, 1, 0, 20),
		"second has gap":  {Ranges: map[int32]OffsetRange{0: {10, 12}, 1: {21, 22}}},
		"other bounds":    {Ranges: map[int32]OffsetRange{0: {10, 12}}, Partitions: map[string]PartitionDelta{"dt=1": {Start: 1, End: 3600_000}}},
		"empty range":     {Ranges: map[int32]OffsetRange{0: {10, 10}}},
		"offsets outside": {Ranges: map[int32]OffsetRange{0: {10, 12}}, Partitions: map[string]PartitionDelta{"dt=1": {Start: 0, End: 1, Offsets: map[int32][2]int64{0: {10, 12}}}}},
	} {
		cp, want := base(), base()
		err := Fold(cp, r)
		if err == nil {
			t.Errorf("%s: folded", name)
			continue
		}
		if !reflect.DeepEqual(cp, want) {
			t.Errorf("%s: the refused fold changed the checkpoint to %+v", name, cp)
		}
		if strings.HasPrefix(name, "gap") && !strings.Contains(err.Error(), "partition 0 starts at offset 11, the checkpoint is at 10: a gap") {
			t.Errorf("%s: %v", name, err)
		}
		if name == "repeat" && !strings.Contains(err.Error(), "partition 0 starts at offset 9, the checkpoint is at 10: a repeat") {
			t.Errorf("%s: %v", name, err)
		}
	}
	cp := base()
	if err := Fold(cp, report(1, 0, 10, 15)); err != nil {
		t.Fatal(err)
	}
	if cp.Offsets[0] != 15 || cp.Offsets[1] != 20 || cp.MaxEventTime[0] != 15000 || len(cp.Pending) != 2 || cp.Partitions["dt=1"].Files != 2 {
		t.Fatalf("after a contiguous fold: %+v", cp)
	}
}

func TestDecodeReportRejectsBadValues(t *testing.T) {
	for _, s := range []string{
		``, `{`, `{"v":2,"ranges":{"0":{"from":0,"to":1}}}`, `{"v":0,"ranges":{"0":{"from":0,"to":1}}}`,
		`{"v":1}`, `{"v":1,"ranges":{"0":{"from":3,"to":1}}}`, `{"v":1,"ranges":{"-1":{"from":0,"to":1}}}`,
		`{"v":1,"ranges":{"0":{"from":0,"to":1}},"files":[{"staging":""}]}`,
		`{"v":1,"ranges":{"0":{"from":0,"to":1}},"max_event_ms":{"1":5}}`,
		`{"v":1,"ranges":{"0":{"from":0,"to":1}},"partitions":{"p":{"start_ms":0,"end_ms":1,"rows":-1}}}`,
	} {
		if _, err := decodeReport(zenc.EncodeAll([]byte(s), nil)); !errors.Is(err, ErrCorrupt) {
			t.Errorf("decodeReport(%q) = %v, want ErrCorrupt", s, err)
		}
	}
	if _, err := decodeReport([]byte(`{"v":1}`)); !errors.Is(err, ErrCorrupt) {
		t.Errorf("uncompressed value: %v, want ErrCorrupt", err)
	}
}

// FuzzDecodeReport feeds arbitrary values to the report reader, as stored
// (compressed) and as the JSON inside: it must refuse what it can't read
// with ErrCorrupt, never panic, and what it accepts must fold and survive
// a round trip.
func FuzzDecodeReport(f *testing.F) {
	v, _ := encodeReport(report(1, 0, 0, 5))
	f.Add(v)
	f.Add([]byte(`{"v":1,"seq":2,"ranges":{"3":{"from":7,"to":9}},"max_event_ms":{"3":1}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, v := range [][]byte{b, zenc.EncodeAll(b, nil)} {
			r, err := decodeReport(v)
			if err != nil {
				if !errors.Is(err, ErrCorrupt) {
					t.Fatalf("error %v is not ErrCorrupt", err)
				}
				continue
			}
			again, err := encodeReport(r)
			if err != nil {
				t.Fatal(err)
			}
			r2, err := decodeReport(again)
			if err != nil {
				t.Fatalf("re-decode of an accepted report: %v", err)
			}
			// Compared encoded: an empty map and a missing one are the
			// same report.
			if third, err := encodeReport(r2); err != nil || !bytes.Equal(zdecode(t, again), zdecode(t, third)) {
				t.Fatalf("round trip changed %+v to %+v (%v)", r, r2, err)
			}
			if err := Fold(&Checkpoint{}, r); err != nil {
				t.Fatalf("an accepted report doesn't fold into an empty checkpoint: %v", err)
			}
		}
	})
}

// reportCluster is a leader and workers of one logid against a real etcd:
// the workers "consume" the partitions they own in small random ranges
// and report them; the leader folds and accepts what folds. accepted[p]
// lists the ranges of p in the order checkpoints made them durable.
type reportCluster struct {
	t     *testing.T
	cli   *clientv3.Client
	parts []int32

	mu       sync.Mutex
	accepted map[int32][]OffsetRange
	// keys are the accepted reports' keys.
	keys []string
	gone int
}

type reportWorker struct {
	w      *Worker
	cancel context.CancelFunc
	// drain asks for a graceful stop: report nothing more, release each
	// partition once the leader accepted all of it, then return.
	drain chan struct{}
	done  chan struct{}
	// zombie: the worker no longer plans (reads no membership) and goes
	// on reporting what it had, like a process paused past its lease.
	zombie atomic.Bool
	seq    uint64
	// refused counts reports refused with ErrNotOwner.
	refused atomic.Int64
}

func (c *reportCluster) start(ttl time.Duration) *reportWorker {
	c.t.Helper()
	w, err := Join(context.Background(), c.cli, "logs", Process{Host: "test"}, WithLeaseTTL(ttl))
	if err != nil {
		c.t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &reportWorker{w: w, cancel: cancel, drain: make(chan struct{}), done: make(chan struct{})}
	go s.run(ctx, c)
	return s
}

// stop drains s and closes it, or fails after d.
func (s *reportWorker) stop(t *testing.T, d time.Duration) {
	t.Helper()
	close(s.drain)
	select {
	case <-s.done:
	case <-time.After(d):
		s.cancel()
		<-s.done
		t.Fatalf("worker %x did not drain in %v: the leader left its reports unaccepted", int64(s.w.Lease()), d)
	}
	if err := s.w.Close(); err != nil {
		t.Fatal(err)
	}
}

// kill ends s's loop without any stop protocol.
func (s *reportWorker) kill() {
	s.cancel()
	<-s.done
	s.w.Close()
}

// durable returns the leader's durable offsets.
func (c *reportCluster) durable(ctx context.Context) (map[int32]int64, error) {
	cp, err := Peek(ctx, c.cli, "logs")
	if err != nil || cp == nil {
		return map[int32]int64{}, err
	}
	return cp.Offsets, nil
}

func (s *reportWorker) run(ctx context.Context, c *reportCluster) {
	defer close(s.done)
	rng := rand.New(rand.NewPCG(uint64(s.w.Lease()), 1))
	changes := s.w.Changes(ctx)
	next := map[int32]int64{}
	releasing := map[int32]bool{}
	draining := false
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-s.drain:
			draining, s.drain = true, nil
		case <-changes:
		case <-tick.C:
		}
		if !s.zombie.Load() {
			var pl Plan
			if draining {
				for p := range next {
					pl.Release = append(pl.Release, p)
				}
			} else {
				var err error
				if pl, err = s.w.Plan(ctx, c.parts); err != nil {
					if ctx.Err() == nil && !errors.Is(err, ErrNotOwner) {
						c.t.Errorf("worker %x: plan: %v", int64(s.w.Lease()), err)
					}
					continue
				}
			}
			if len(pl.Release) > 0 {
				durable, err := c.durable(ctx)
				if err != nil {
					continue
				}
				for _, p := range pl.Release {
					// Released before the leader accepted all of it, the
					// next owner would resume from an older offset.
					if off, ok := next[p]; ok && durable[p] != off {
						releasing[p] = true
						continue
					}
					if err := s.w.Release(ctx, p); err != nil {
						if ctx.Err() == nil && !errors.Is(err, ErrNotOwner) {
							c.t.Errorf("worker %x: %v", int64(s.w.Lease()), err)
						}
					}
					delete(next, p)
					delete(releasing, p)
				}
			}
			if draining && len(next) == 0 {
				return
			}
			for _, p := range pl.Claim {
				if ok, err := s.w.Claim(ctx, p); err != nil || !ok {
					continue
				}
				durable, err := c.durable(ctx)
				if err != nil {
					// Claimed, not started: release it for a later try.
					_ = s.w.Release(ctx, p)
					continue
				}
				next[p] = durable[p]
			}
		}
		if draining {
			continue
		}
		// One report of a random range of some of the partitions owned.
		r := &Report{Ranges: map[int32]OffsetRange{}, MaxEventTime: map[int32]int64{}, Partitions: map[string]PartitionDelta{}}
		for p, off := range next {
			if releasing[p] || rng.IntN(3) == 0 {
				continue
			}
			n := 1 + rng.Int64N(4)
			r.Ranges[p] = OffsetRange{off, off + n}
			r.MaxEventTime[p] = off + n
			r.Files = append(r.Files, PendingFile{Staging: fmt.Sprintf("s/%x-%d-%d", int64(s.w.Lease()), p, off), Final: "f", Size: n, Rows: n, Partition: "dt=1"})
			d := r.Partitions["dt=1"]
			d.End, d.Files, d.Rows, d.Bytes = 3600_000, d.Files+1, d.Rows+n, d.Bytes+n
			if d.Offsets == nil {
				d.Offsets = map[int32][2]int64{}
			}
			d.Offsets[p] = [2]int64{off, off + n - 1}
			r.Partitions["dt=1"] = d
		}
		if len(r.Ranges) == 0 {
			continue
		}
		s.seq++
		r.Seq = s.seq
		// Not under ctx: a report cut short by the stop would leave its
		// outcome unknown.
		tctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		err := s.w.Report(tctx, r)
		cancel()
		switch {
		case err == nil:
			for p, rg := range r.Ranges {
				next[p] = rg.To
			}
		case errors.Is(err, ErrNotOwner):
			s.refused.Add(1)
			// Drop what was lost; the worker may not report it again.
			for p := range r.Ranges {
				if s.w.Fence(context.Background(), p) != nil {
					delete(next, p)
				}
			}
		default:
			c.t.Errorf("worker %x: %v", int64(s.w.Lease()), err)
			return
		}
	}
}

// lead folds and accepts reports until stop is closed and none is left.
func (c *reportCluster) lead(s *Store, stop <-chan struct{}, done chan<- error) {
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(7, 7))
	saved, err := s.Load(ctx)
	if err != nil {
		done <- err
		return
	}
	if saved == nil {
		saved = &Checkpoint{Offsets: map[int32]int64{}}
	}
	stopping := false
	for {
		select {
		case <-stop:
			stopping = true
		default:
		}
		rs, err := s.Reports(ctx)
		if err != nil {
			done <- err
			return
		}
		if stopping && len(rs) == 0 {
			done <- nil
			return
		}
		b, err := Encode(saved)
		if err != nil {
			done <- err
			return
		}
		next, err := Decode(b)
		if err != nil {
			done <- err
			return
		}
		next.Seq++
		// Pass after pass: a report may fold only after another does.
		var acc []*Report
		folded := map[string]bool{}
		for progress := true; progress && len(acc) < 100; {
			progress = false
			for _, r := range rs {
				if !folded[r.Key()] && len(acc) < 100 && Fold(next, r) == nil {
					folded[r.Key()] = true
					acc = append(acc, r)
					progress = true
				}
			}
		}
		if len(acc) == 0 {
			time.Sleep(5 * time.Millisecond)
			continue
		}
		// A leader slow to save: the window in which a worker dies.
		time.Sleep(time.Duration(rng.IntN(20)) * time.Millisecond)
		err = s.SaveAccepting(ctx, next, acc)
		if errors.Is(err, ErrReportGone) {
			c.mu.Lock()
			c.gone++
			c.mu.Unlock()
			continue
		}
		if err != nil {
			done <- err
			return
		}
		saved = next
		c.mu.Lock()
		for _, r := range acc {
			c.keys = append(c.keys, r.Key())
			for p, rg := range r.Ranges {
				c.accepted[p] = append(c.accepted[p], rg)
			}
		}
		c.mu.Unlock()
	}
}

// TestReportsAcceptedExactlyOnce: three workers report what they consume
// to a leader that folds and accepts; one dies by lease expiry while it
// goes on reporting (a zombie), one by revocation, one joins. After a
// graceful stop, every partition's accepted ranges cover [0, its final
// offset) once each, in order, and the checkpoint's offsets are their
// ends: no report of a partition lost was accepted, none of a dead worker
// was accepted after it died, none was lost.
func TestReportsAcceptedExactlyOnce(t *testing.T) {
	_, cli := embedded(t)
	c := &reportCluster{t: t, cli: cli, accepted: map[int32][]OffsetRange{}}
	for p := range int32(8) {
		c.parts = append(c.parts, p)
	}
	leader, err := Open(context.Background(), cli, "logs", WithLeaseTTL(10*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	defer leader.Close()
	stop, led := make(chan struct{}), make(chan error, 1)
	go c.lead(leader, stop, led)

	const ttl = 2 * time.Second
	a, y, z := c.start(ttl), c.start(ttl), c.start(ttl)
	time.Sleep(1500 * time.Millisecond)

	// z stops renewing its lease and goes on reporting until etcd expires
	// it; y's lease is revoked; d joins.
	z.zombie.Store(true)
	z.w.Abandon()
	if _, err := cli.Revoke(context.Background(), y.w.Lease()); err != nil {
		t.Fatal(err)
	}
	d := c.start(ttl)
	time.Sleep(ttl + 2*time.Second)
	y.kill()
	z.kill()

	a.stop(t, 5*time.Second)
	d.stop(t, 5*time.Second)
	close(stop)
	select {
	case err := <-led:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		rs, _ := leader.Reports(context.Background())
		t.Fatalf("the leader did not accept everything: %d reports left", len(rs))
	}

	cp, err := leader.Load(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	total := 0
	for _, p := range c.parts {
		at := int64(0)
		for i, rg := range c.accepted[p] {
			if rg.From != at {
				t.Fatalf("partition %d: accepted range %d is %v, expected it to start at %d: a repeat or a gap", p, i, rg, at)
			}
			at = rg.To
		}
		if at == 0 {
			t.Errorf("partition %d: nothing accepted", p)
		}
		if cp.Offsets[p] != at {
			t.Errorf("partition %d: checkpoint at %d, accepted ranges end at %d", p, cp.Offsets[p], at)
		}
		total += len(c.accepted[p])
	}
	if len(cp.Offsets) != len(c.parts) {
		t.Errorf("checkpoint offsets %v, want the %d partitions", cp.Offsets, len(c.parts))
	}
	// Independently of Fold: every accepted report was deleted by the
	// transaction that wrote a checkpoint head, not before it by its
	// lease (accepted after it vanished).
	heads, deleted := map[int64]bool{}, map[string]int64{}
	wctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	now, err := cli.Get(wctx, "/landfall/logs/checkpoint")
	if err != nil {
		t.Fatal(err)
	}
	for resp := range cli.Watch(wctx, "/landfall/logs/", clientv3.WithPrefix(), clientv3.WithRev(1)) {
		if err := resp.Err(); err != nil {
			t.Fatal(err)
		}
		for _, ev := range resp.Events {
			k := string(ev.Kv.Key)
			switch {
			case k == "/landfall/logs/checkpoint" && ev.Type == mvccpb.PUT:
				heads[ev.Kv.ModRevision] = true
			case strings.HasPrefix(k, "/landfall/logs/report/") && ev.Type == mvccpb.DELETE:
				deleted[k] = ev.Kv.ModRevision
			}
		}
		if len(resp.Events) > 0 && resp.Events[len(resp.Events)-1].Kv.ModRevision >= now.Header.Revision {
			break
		}
	}
	for _, k := range c.keys {
		if !heads[deleted[k]] {
			t.Fatalf("report %s was accepted, yet deleted at revision %d, where no checkpoint was written: it vanished before", k, deleted[k])
		}
	}
	if z.refused.Load() == 0 {
		t.Error("the zombie never tried to report after its lease expired: the test proves nothing about it")
	}
	t.Logf("%d ranges accepted in %d checkpoints, %d saves refused for a report gone, %d reports of the zombie refused", total, cp.Seq, c.gone, z.refused.Load())
}

func zdecode(t *testing.T, v []byte) []byte {
	t.Helper()
	b, err := zdec.DecodeAll(v, nil)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
