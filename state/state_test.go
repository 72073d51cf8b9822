package state

import (
	"context"
	"errors"
	"fmt"
	"os"
	"reflect"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
)

func TestOwnershipAndFencing(t *testing.T) {
	_, cli := embedded(t)
	ctx := context.Background()

	a, err := Open(ctx, cli, "logs", WithLeaseTTL(time.Second))
	if err != nil {
		t.Fatal(err)
	}
	if cp, err := a.Load(ctx); err != nil || cp != nil {
		t.Fatalf("fresh Load = %v, %v", cp, err)
	}
	if err := a.Save(ctx, &Checkpoint{Seq: 1, Offsets: map[int32]int64{0: 10}}); err != nil {
		t.Fatal(err)
	}
	if own, err := a.Owner(ctx); err != nil || !own {
		t.Fatalf("owner's Owner() = %v, %v", own, err)
	}

	// A second process waits while the first owns the logid.
	waitCtx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	_, err = Open(waitCtx, cli, "logs", WithLeaseTTL(time.Second))
	cancel()
	if err == nil {
		t.Fatal("a second owner was admitted")
	}

	// The first loses its lease; the second takes over, and the first can
	// no longer write.
	a.Abandon(true)
	b, err := Open(ctx, cli, "logs", WithLeaseTTL(time.Second))
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if err := a.Save(ctx, &Checkpoint{Seq: 99}); !errors.Is(err, ErrNotOwner) {
		t.Fatalf("zombie Save: %v, want ErrNotOwner", err)
	}
	if own, err := a.Owner(ctx); err != nil || own {
		t.Fatalf("zombie's Owner() = %v, %v", own, err)
	}
	if own, err := b.Owner(ctx); err != nil || !own {
		t.Fatalf("successor's Owner() = %v, %v", own, err)
	}
	cp, err := b.Load(ctx)
	if err != nil || cp.Seq != 1 || cp.Offsets[0] != 10 {
		t.Fatalf("successor sees %+v, %v", cp, err)
	}
	// Anyone may read it without owning the logid.
	if cp, err := Peek(ctx, cli, "logs"); err != nil || cp == nil || cp.Seq != 1 {
		t.Fatalf("Peek = %+v, %v", cp, err)
	}
	if cp, err := Peek(ctx, cli, "logs", WithPrefix("/elsewhere")); err != nil || cp != nil {
		t.Fatalf("Peek under another prefix = %+v, %v; want none", cp, err)
	}
}

func TestDecodeRejectsBadState(t *testing.T) {
	for _, s := range []string{``, `{`, `{"v":3}`, `{"v":0}`, `{"v":1,"offsets":{"0":-1}}`, `{"v":1,"pending":[{"staging":""}]}`, `{"v":1,"partitions":{"x":null}}`} {
		if _, err := Decode([]byte(s)); !errors.Is(err, ErrCorrupt) {
			t.Errorf("Decode(%q) = %v, want ErrCorrupt", s, err)
		}
	}
}

func FuzzDecode(f *testing.F) {
	b, _ := Encode(&Checkpoint{Seq: 3, Offsets: map[int32]int64{0: 5}, Pending: []PendingFile{{Staging: "s", Final: "f", Size: 1}}})
	f.Add(b)
	f.Add([]byte(`{"v":1,"commits":[{"partition":"p","done":1}]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		cp, err := Decode(b)
		if err != nil {
			return
		}
		again, err := Encode(cp)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := Decode(again); err != nil {
			t.Fatalf("re-decode of an accepted checkpoint: %v", err)
		}
	})
}

// FuzzDecodeStored feeds arbitrary head values (and one chunk) to the
// version-2 reader: it must refuse what it can't read with ErrCorrupt,
// never panic or accept a body that fails its checksum.
func FuzzDecodeStored(f *testing.F) {
	hv, _, _ := encodeStored(&Checkpoint{Seq: 4, Offsets: map[int32]int64{1: 7}, CursorSet: true})
	f.Add(hv, []byte(nil))
	f.Add([]byte(`{"v":2,"seq":1,"chunks":1,"size":3,"sha256":"00"}`), []byte("abc"))
	f.Add([]byte(`{"v":1,"seq":2,"offsets":{"0":3}}`), []byte(nil))
	f.Fuzz(func(t *testing.T, head, chunk []byte) {
		cp, err := decodeStored(head, func(uint64) ([][]byte, error) { return [][]byte{chunk}, nil })
		if err != nil {
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("error %v is not ErrCorrupt", err)
			}
			return
		}
		if _, _, err := encodeStored(cp); err != nil {
			t.Fatalf("re-encode of an accepted checkpoint: %v", err)
		}
	})
}

// bigCheckpoint is the state of a backlog that opened n Hive partitions
// on a topic of parts Kafka partitions in one interval, each Hive
// partition fed by a few of them.
func bigCheckpoint(seq uint64, n int, parts int32) *Checkpoint {
	cp := &Checkpoint{Seq: seq, Offsets: map[int32]int64{}, MaxEventTime: map[int32]int64{}, Partitions: map[string]*Partition{}, CursorSet: true}
	for p := int32(0); p < parts; p++ {
		cp.Offsets[p] = int64(p) * 1000003
		cp.MaxEventTime[p] = 1764547200000 + int64(p)
	}
	for i := 0; i < n; i++ {
		dir := fmt.Sprintf("log_date=%08d/log_hour=%02d", 20250101+i/24, i%24)
		st := &Partition{Start: int64(i) * 3600000, End: int64(i+1) * 3600000, Files: 1, Rows: 9, Bytes: 2900, Offsets: map[int32][2]int64{}}
		for k := 0; k < 8; k++ {
			p := int32((i*7 + k*61) % int(parts))
			st.Offsets[p] = [2]int64{int64(i)*131 + int64(k), int64(i)*131 + int64(k) + 50}
		}
		cp.Partitions[dir] = st
		cp.Pending = append(cp.Pending, PendingFile{
			Staging: fmt.Sprintf(".landfall/logs/staging/%020d/1a2b3c4d-%06d.txt", 12345, i),
			Final:   fmt.Sprintf("%s/part-logs-%010d-1a2b3c4d-%04d.txt", dir, seq, i), Size: 2900, Rows: 9, Partition: dir,
		})
	}
	return cp
}

// TestLargeCheckpointStaysUnderTheRequestLimit: a checkpoint far larger
// than etcd's request limit (the embedded server enforces the default
// 1.5 MiB) is saved in bounded requests, read back whole, and its chunks
// are gone once a later checkpoint is durable.
func TestLargeCheckpointStaysUnderTheRequestLimit(t *testing.T) {
	_, cli := embedded(t)
	ctx := context.Background()
	s, err := Open(ctx, cli, "logs", WithLeaseTTL(5*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	big := bigCheckpoint(7, 10000, 512)
	raw, _ := Encode(big)
	if len(raw) < 3<<20 {
		t.Fatalf("the test's checkpoint is only %d bytes: not past the limit", len(raw))
	}
	if err := s.Save(ctx, big); err != nil {
		t.Fatalf("save a %d-byte checkpoint: %v", len(raw), err)
	}
	got, err := s.Load(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, big) {
		t.Fatal("the chunked checkpoint read back differs")
	}
	chunks := func() int64 {
		r, err := cli.Get(ctx, "/landfall/logs/body/", clientv3.WithPrefix(), clientv3.WithCountOnly())
		if err != nil {
			t.Fatal(err)
		}
		return r.Count
	}
	if chunks() < 2 {
		t.Fatalf("%d chunk keys; the body should not fit in one", chunks())
	}
	// A smaller successor replaces it; the old chunks go in the same
	// transaction.
	small := &Checkpoint{Seq: 8, Offsets: map[int32]int64{0: 1}}
	if err := s.Save(ctx, small); err != nil {
		t.Fatal(err)
	}
	if n := chunks(); n != 0 {
		t.Fatalf("%d chunk keys left after a small checkpoint", n)
	}
	if got, err := s.Load(ctx); err != nil || got.Seq != 8 {
		t.Fatalf("Load after shrink = %+v, %v", got, err)
	}
}

// TestReadsVersion1: a checkpoint written by a version-1 build (one JSON
// value, a zero cursor meaning unset) is read, with the cursor's meaning
// kept.
func TestReadsVersion1(t *testing.T) {
	_, cli := embedded(t)
	ctx := context.Background()
	for _, c := range []struct {
		v1  string
		set bool
	}{
		{`{"v":1,"seq":5,"offsets":{"0":42},"watermark_ms":1000,"commit_cursor_ms":0}`, false},
		{`{"v":1,"seq":6,"offsets":{"0":43},"watermark_ms":1000,"commit_cursor_ms":3600000}`, true},
	} {
		if _, err := cli.Put(ctx, "/landfall/logs/checkpoint", c.v1); err != nil {
			t.Fatal(err)
		}
		cp, err := Peek(ctx, cli, "logs")
		if err != nil {
			t.Fatal(err)
		}
		if cp.Offsets[0] == 0 || cp.CursorSet != c.set {
			t.Fatalf("%s read as %+v", c.v1, cp)
		}
	}
}

// TestFenceRefusesAfterTakeover: the guard of destructive steps passes
// for the owner and refuses once its lease is gone, even though the
// process was never told (Done not watched); a successor's epoch is
// larger.
func TestFenceRefusesAfterTakeover(t *testing.T) {
	_, cli := embedded(t)
	ctx := context.Background()
	a, err := Open(ctx, cli, "logs", WithLeaseTTL(2*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Fence(ctx); err != nil {
		t.Fatalf("owner's Fence: %v", err)
	}
	a.Abandon(true)
	b, err := Open(ctx, cli, "logs", WithLeaseTTL(2*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	// a's last confirmation is still trusted for up to ttl/2; past that
	// it must ask etcd and be refused.
	waitUntil := time.Now().Add(5 * time.Second)
	for a.Fence(ctx) == nil {
		if time.Now().After(waitUntil) {
			t.Fatal("a zombie's Fence still passes 5s after its lease was revoked")
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err := a.Fence(ctx); !errors.Is(err, ErrNotOwner) {
		t.Fatalf("zombie's Fence = %v, want ErrNotOwner", err)
	}
	if err := b.Fence(ctx); err != nil {
		t.Fatalf("successor's Fence: %v", err)
	}
	if b.Epoch() <= a.Epoch() {
		t.Fatalf("successor's epoch %d not above %d", b.Epoch(), a.Epoch())
	}
}

func TestMain(m *testing.M) { os.Exit(m.Run()) }

// embedded starts an etcd server for one test and a client of it.
func embedded(t testing.TB) (*Embedded, *clientv3.Client) {
	t.Helper()
	e, err := StartEmbedded(t.TempDir(), 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.Close)
	cli, err := clientv3.New(clientv3.Config{Endpoints: []string{e.URL()}, Logger: zap.NewNop()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cli.Close() })
	return e, cli
}

// TestOpenHonorsContextWhileEtcdIsDown: a process (re)starting while etcd
// is unreachable must still stop when asked, not hang in the lease grant.
func TestOpenHonorsContextWhileEtcdIsDown(t *testing.T) {
	e, cli := embedded(t)
	e.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	done := make(chan error, 1)
	go func() {
		s, err := Open(ctx, cli, "logs", WithLeaseTTL(time.Second))
		if err == nil {
			s.Close()
		}
		done <- err
	}()
	select {
	case err := <-done:
		if err == nil {
			t.Fatal("Open succeeded with etcd down")
		}
	case <-time.After(15 * time.Second):
		t.Fatal("Open ignored its context with etcd down")
	}
}

// TestStandbyOutlivesItsLease: a process waiting for ownership whose lease
// dies while it waits (an etcd restart, a long pause) keeps waiting with a
// new one and takes over when the owner leaves.
func TestStandbyOutlivesItsLease(t *testing.T) {
	_, cli := embedded(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	a, err := Open(ctx, cli, "logs", WithLeaseTTL(time.Second))
	if err != nil {
		t.Fatal(err)
	}
	type opened struct {
		s   *Store
		err error
	}
	got := make(chan opened, 1)
	go func() {
		s, err := Open(ctx, cli, "logs", WithLeaseTTL(time.Second))
		got <- opened{s, err}
	}()
	// The standby's waiter key appears; revoke its lease behind its back.
	var waiter int64
	for waiter == 0 {
		resp, err := cli.Get(ctx, "/landfall/logs/owner/", clientv3.WithPrefix())
		if err != nil {
			t.Fatal(err)
		}
		for _, kv := range resp.Kvs {
			if kv.Lease != int64(a.session.Lease()) {
				waiter = kv.Lease
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	if _, err := cli.Revoke(ctx, clientv3.LeaseID(waiter)); err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond)
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	o := <-got
	if o.err != nil {
		t.Fatalf("the standby gave up: %v", o.err)
	}
	defer o.s.Close()
	if own, err := o.s.Owner(ctx); err != nil || !own {
		t.Fatalf("the standby's Owner() = %v, %v after the owner left", own, err)
	}
}

// TestStandbyWaitsPastTheConnectTimeout: waiting for another owner is not
// etcd being unreachable. A standby keeps waiting, long past
// WithConnectTimeout, until its own context ends; an unreachable etcd
// fails with ErrUnreachable (TestRunFailsOnUnreachableEtcd in cmd).
func TestStandbyWaitsPastTheConnectTimeout(t *testing.T) {
	_, cli := embedded(t)
	a, err := Open(context.Background(), cli, "logs", WithLeaseTTL(time.Second))
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	s, err := Open(ctx, cli, "logs", WithLeaseTTL(time.Second), WithConnectTimeout(time.Second))
	if err == nil {
		s.Close()
		t.Fatal("the standby took ownership while the owner lives")
	}
	if errors.Is(err, ErrUnreachable) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("the standby gave up with %v, want it to wait until its context ended", err)
	}
}
