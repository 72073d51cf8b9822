package state

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"go.etcd.io/etcd/api/v3/mvccpb"
	clientv3 "go.etcd.io/etcd/client/v3"
)

func TestAssignIsEvenAndMovesLittle(t *testing.T) {
	parts := func(n int) []int32 {
		out := make([]int32, n)
		for i := range out {
			out[i] = int32(i)
		}
		return out
	}
	members := []clientv3.LeaseID{0x694d9b3a1f2e0001, 0x694d9b3a1f2e0017, 0x694d9b3a1f2e0042, 0x694d9b3a1f2e0100}
	for _, np := range []int{1, 7, 12, 64, 256} {
		for nm := 1; nm <= len(members); nm++ {
			got := Assign(members[:nm], parts(np))
			if len(got) != np {
				t.Fatalf("%d partitions over %d members: %d assigned", np, nm, len(got))
			}
			load := map[clientv3.LeaseID]int{}
			for _, m := range got {
				load[m]++
			}
			share := (np + nm - 1) / nm
			for m, n := range load {
				if n > share || n < np/nm-1 {
					t.Fatalf("%d partitions over %d members: %x has %d, share %d", np, nm, int64(m), n, share)
				}
			}
			// Every process computes the same, whatever order it lists
			// the members in.
			rev := slices.Clone(members[:nm])
			slices.Reverse(rev)
			if again := Assign(rev, parts(np)); !mapsEqual(again, got) {
				t.Fatalf("%d partitions over %d members: the split depends on the members' order", np, nm)
			}
		}
	}
	// A fourth member of 64 partitions should take about its share (16)
	// and move little else.
	before, after := Assign(members[:3], parts(64)), Assign(members, parts(64))
	moved := 0
	for p, m := range after {
		if before[p] != m {
			moved++
		}
	}
	if moved > 24 {
		t.Fatalf("a fourth member moved %d of 64 partitions, want about 16", moved)
	}
	t.Logf("a fourth member moved %d of 64 partitions", moved)
	if got := Assign(nil, parts(3)); len(got) != 0 {
		t.Fatalf("no members: %v", got)
	}
}

func mapsEqual(a, b map[int32]clientv3.LeaseID) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// cluster runs simulated workers of one logid against a real etcd. Each
// "consumes" the partitions it owns one offset at a time and makes each
// offset durable with a transaction fenced only by its claim (Holds), as
// the pipeline's worker checkpoint will be; landed records every offset
// whose transaction etcd accepted. Exactly once holds if every
// partition's landed offsets are 0, 1, 2, … without a repeat or a gap.
type cluster struct {
	t     *testing.T
	cli   *clientv3.Client
	mu    sync.Mutex
	parts []int32
	// landed[p] lists the offsets of p made durable, in order.
	landed map[int32][]int64
	// owners[p] lists the workers that made offsets of p durable.
	owners map[int32][]clientv3.LeaseID
}

func (c *cluster) partitions() []int32 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.parts)
}

func offsetKey(p int32) string { return fmt.Sprintf("/landfall/logs/test-offset/%d", p) }

type simWorker struct {
	w      *Worker
	cancel context.CancelFunc
	done   chan struct{}
	// plan, when false, makes the worker a zombie: it keeps writing
	// what it owned without reading the membership, like a process
	// paused past its lease.
	mu   sync.Mutex
	plan bool
}

func (c *cluster) start(ttl time.Duration) *simWorker {
	c.t.Helper()
	w, err := Join(context.Background(), c.cli, "logs", Process{Host: "test"}, WithLeaseTTL(ttl))
	if err != nil {
		c.t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &simWorker{w: w, cancel: cancel, done: make(chan struct{}), plan: true}
	go s.run(ctx, c)
	return s
}

func (s *simWorker) planning() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.plan
}

func (s *simWorker) run(ctx context.Context, c *cluster) {
	defer close(s.done)
	changes := s.w.Changes(ctx)
	next := map[int32]int64{}
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-changes:
		case <-tick.C:
		}
		if s.planning() {
			pl, err := s.w.Plan(ctx, c.partitions())
			if err != nil {
				if ctx.Err() == nil && !errors.Is(err, ErrNotOwner) {
					c.t.Errorf("worker %x: plan: %v", int64(s.w.Lease()), err)
				}
				continue
			}
			for _, p := range pl.Release {
				// Every landed offset is durable already.
				delete(next, p)
				if err := s.w.Release(ctx, p); err != nil && ctx.Err() == nil {
					c.t.Errorf("worker %x: %v", int64(s.w.Lease()), err)
				}
			}
			for _, p := range pl.Claim {
				ok, err := s.w.Claim(ctx, p)
				if err != nil || !ok {
					continue
				}
				resp, err := c.cli.Get(ctx, offsetKey(p))
				if err != nil {
					continue
				}
				next[p] = 0
				if len(resp.Kvs) == 1 {
					next[p], _ = strconv.ParseInt(string(resp.Kvs[0].Value), 10, 64)
				}
			}
		}
		for p, off := range next {
			cmps, err := s.w.Holds(p)
			if err != nil {
				c.t.Error(err)
				return
			}
			// Not under ctx: a transaction cut short by the stop would
			// leave its outcome unknown, and the test's count with it.
			tctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			resp, err := c.cli.Txn(tctx).If(cmps...).Then(clientv3.OpPut(offsetKey(p), strconv.FormatInt(off+1, 10))).Commit()
			cancel()
			if err != nil {
				c.t.Errorf("worker %x: write partition %d: %v", int64(s.w.Lease()), p, err)
				return
			}
			if !resp.Succeeded {
				// Lost: the worker learns it from its next Plan, or, a
				// zombie, never; either way it may not write p again.
				delete(next, p)
				continue
			}
			c.mu.Lock()
			c.landed[p] = append(c.landed[p], off)
			if o := c.owners[p]; len(o) == 0 || o[len(o)-1] != s.w.Lease() {
				c.owners[p] = append(c.owners[p], s.w.Lease())
			}
			c.mu.Unlock()
			next[p] = off + 1
		}
	}
}

// converged waits until the claims are Assign's split of the live
// members, or fails after d.
func (c *cluster) converged(d time.Duration, live ...*simWorker) {
	c.t.Helper()
	var members []clientv3.LeaseID
	for _, s := range live {
		members = append(members, s.w.Lease())
	}
	slices.Sort(members)
	deadline := time.Now().Add(d)
	for {
		held, err := Claims(context.Background(), c.cli, "logs")
		if err != nil {
			c.t.Fatal(err)
		}
		got, _, err := live[0].w.Members(context.Background())
		if err != nil {
			c.t.Fatal(err)
		}
		want := Assign(members, c.partitions())
		if slices.Equal(got, members) && mapsEqual(held, want) {
			return
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("after %v: members %x (want %x), claims %v, want %v", d, got, members, held, want)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (c *cluster) check() {
	c.t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, p := range c.parts {
		offs := c.landed[p]
		if len(offs) == 0 {
			c.t.Errorf("partition %d: nothing landed", p)
		}
		for i, off := range offs {
			if off != int64(i) {
				o := c.owners[p]
				c.t.Fatalf("partition %d: offset %d landed at position %d (%d owners, the last %x): a repeat or a gap", p, off, i, len(o), o[max(0, len(o)-3):])
			}
		}
	}
}

// TestWorkersSharePartitionsExactlyOnce: three workers split a topic's
// partitions; one dies (its lease expires while it goes on writing, a
// zombie), a fourth joins, the topic grows, one leaves gracefully. After
// each step the claims converge to Assign's split of the live workers,
// and every partition's offsets were made durable exactly once, in order,
// whoever owned it: a worker that lost a partition could not write it.
func TestWorkersSharePartitionsExactlyOnce(t *testing.T) {
	_, cli := embedded(t)
	c := &cluster{t: t, cli: cli, landed: map[int32][]int64{}, owners: map[int32][]clientv3.LeaseID{}}
	for p := range int32(12) {
		c.parts = append(c.parts, p)
	}
	const ttl = 2 * time.Second
	a, b, z := c.start(ttl), c.start(ttl), c.start(ttl)
	defer func() {
		for _, s := range []*simWorker{a, b, z} {
			s.cancel()
			<-s.done
			s.w.Close()
		}
	}()
	c.converged(5*time.Second, a, b, z)
	time.Sleep(200 * time.Millisecond)

	// z stops renewing its lease but keeps writing what it owns, until
	// etcd expires the lease; its partitions then move to a and b.
	z.mu.Lock()
	z.plan = false
	z.mu.Unlock()
	z.w.Abandon()
	t0 := time.Now()
	c.converged(ttl+5*time.Second, a, b)
	t.Logf("a dead worker's partitions moved in %v (lease TTL %v)", time.Since(t0).Round(10*time.Millisecond), ttl)
	time.Sleep(200 * time.Millisecond)

	d := c.start(ttl)
	defer func() { d.cancel(); <-d.done; d.w.Close() }()
	t0 = time.Now()
	c.converged(5*time.Second, a, b, d)
	t.Logf("a joining worker got its share in %v", time.Since(t0).Round(10*time.Millisecond))
	time.Sleep(200 * time.Millisecond)

	c.mu.Lock()
	for p := range int32(6) {
		c.parts = append(c.parts, 12+p)
	}
	c.mu.Unlock()
	c.converged(5*time.Second, a, b, d)
	time.Sleep(200 * time.Millisecond)

	// b leaves: it releases what it owns and closes.
	b.mu.Lock()
	b.plan = false
	b.mu.Unlock()
	b.cancel()
	<-b.done
	held, err := Claims(context.Background(), cli, "logs")
	if err != nil {
		t.Fatal(err)
	}
	for p, owner := range held {
		if owner == b.w.Lease() {
			if err := b.w.Release(context.Background(), p); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := b.w.Close(); err != nil {
		t.Fatal(err)
	}
	c.converged(5*time.Second, a, d)
	time.Sleep(200 * time.Millisecond)
	c.check()

	// The dead worker is fenced off every partition it had.
	var had []int32
	for p, owners := range c.owners {
		if slices.Contains(owners, z.w.Lease()) {
			had = append(had, p)
		}
	}
	if err := z.w.Fence(context.Background(), had...); !errors.Is(err, ErrNotOwner) {
		t.Fatalf("the dead worker's Fence on %v: %v, want ErrNotOwner", had, err)
	}
	if err := a.w.Fence(context.Background()); err != nil {
		t.Fatalf("a live worker's empty Fence: %v", err)
	}

	// No claim ever replaced another: every put of a claim key created
	// it, and a partition was claimed again only after it was deleted.
	wctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	now, err := cli.Get(wctx, "/landfall/logs/claim/", clientv3.WithPrefix(), clientv3.WithCountOnly())
	if err != nil {
		t.Fatal(err)
	}
	live := map[string]bool{}
	for resp := range cli.Watch(wctx, "/landfall/logs/claim/", clientv3.WithPrefix(), clientv3.WithRev(1)) {
		for _, ev := range resp.Events {
			k := string(ev.Kv.Key)
			switch ev.Type {
			case mvccpb.PUT:
				if ev.Kv.Version != 1 || live[k] {
					t.Fatalf("claim %s written over (version %d) by lease %x", k, ev.Kv.Version, ev.Kv.Lease)
				}
				live[k] = true
			case mvccpb.DELETE:
				live[k] = false
			}
		}
		if resp.Header.Revision >= now.Header.Revision || resp.Events[len(resp.Events)-1].Kv.ModRevision >= now.Header.Revision {
			break
		}
	}
	moves := 0
	for _, o := range c.owners {
		moves += len(o) - 1
	}
	if moves < 6 {
		t.Fatalf("only %d ownership changes across a death, a join and a leave: the test moved too little to prove anything", moves)
	}
	t.Logf("%d ownership changes, every offset of %d partitions durable exactly once", moves, len(c.parts))
}

// TestWorkerReleaseOfAnotherIsRefused: a worker can neither take,
// release nor fence on a partition another worker owns.
func TestWorkerReleaseOfAnotherIsRefused(t *testing.T) {
	_, cli := embedded(t)
	ctx := context.Background()
	a, err := Join(ctx, cli, "logs", Process{Host: "a"}, WithLeaseTTL(2*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := Join(ctx, cli, "logs", Process{Host: "b"}, WithLeaseTTL(2*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if ok, err := a.Claim(ctx, 3); err != nil || !ok {
		t.Fatalf("a's claim: %v, %v", ok, err)
	}
	if ok, err := b.Claim(ctx, 3); err != nil || ok {
		t.Fatalf("b's claim of a's partition: %v, %v", ok, err)
	}
	if ok, err := a.Claim(ctx, 3); err != nil || !ok {
		t.Fatalf("a's claim again: %v, %v", ok, err)
	}
	if err := b.Release(ctx, 3); !errors.Is(err, ErrNotOwner) {
		t.Fatalf("b released a's partition: %v", err)
	}
	if err := b.Fence(ctx, 3); !errors.Is(err, ErrNotOwner) {
		t.Fatalf("b's fence on a's partition: %v", err)
	}
	if _, err := a.Holds(make([]int32, maxTxnCompares+1)...); err == nil {
		t.Fatal("Holds accepted more compares than etcd takes")
	}
	pl, err := b.Plan(ctx, []int32{0, 1, 2, 3})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("b's plan: %+v", pl)
	if err := a.Release(ctx, 3); err != nil {
		t.Fatal(err)
	}
	if ok, err := b.Claim(ctx, 3); err != nil || !ok {
		t.Fatalf("b's claim after a released: %v, %v", ok, err)
	}
}
