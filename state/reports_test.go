package state

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

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
			if !reflect.DeepEqual(r, r2) {
				t.Fatalf("round trip changed %+v to %+v", r, r2)
			}
			if err := Fold(&Checkpoint{}, r); err != nil {
				t.Fatalf("an accepted report doesn't fold into an empty checkpoint: %v", err)
			}
		}
	})
}
