package state

import (
	"context"
	"errors"
	"os"
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
	for _, s := range []string{``, `{`, `{"v":2}`, `{"v":0}`, `{"v":1,"offsets":{"0":-1}}`, `{"v":1,"pending":[{"staging":""}]}`, `{"v":1,"partitions":{"x":null}}`} {
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

func TestMain(m *testing.M) { os.Exit(m.Run()) }

// embedded starts an etcd server for one test and a client of it.
func embedded(t *testing.T) (*Embedded, *clientv3.Client) {
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
