package state

import (
	"context"
	"encoding/binary"
	"fmt"
	"hash/fnv"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/client/v3/concurrency"
)

// Several processes for one logid (docs/SCALING.md): each is a Worker,
// live while its lease is, and each Kafka partition is owned by at most
// one worker at a time through a claim key under the owner's lease.
// Membership is the process records (<logid>/process/<lease>), so that a
// dead worker leaves the membership and frees its partitions the moment
// etcd expires its lease, with no protocol of landfall's own: etcd's
// leases, watches and transactions are the protocol, and Assign only
// decides, from what every worker reads alike, who should own what.

// maxTxnCompares stays within etcd's default --max-txn-ops (128), which
// bounds a transaction's compares as well as its operations.
const maxTxnCompares = 128

// Worker is this process's membership in the work of a logid.
type Worker struct {
	cli    *clientv3.Client
	sess   *concurrency.Session
	keys   layout
	logid  string
	prefix string
}

// Join makes this process a member of logid's workers: it publishes p
// under a new lease and returns once etcd has it. Like Open it fails with
// ErrUnreachable when etcd never answers (WithConnectTimeout) and with
// ErrDenied when the user may not write the logid's keys.
func Join(ctx context.Context, cli *clientv3.Client, logid string, p Process, opts ...Option) (*Worker, error) {
	o := defaults(opts)
	ttl := max(int(o.ttl/time.Second), 1)
	base := path.Join(o.prefix, logid)
	lease, err := grant(ctx, cli, ttl, o, false)
	if err != nil {
		return nil, err
	}
	sess, err := concurrency.NewSession(cli, concurrency.WithTTL(ttl), concurrency.WithLease(lease.ID))
	if err != nil {
		return nil, fmt.Errorf("state: open session: %w", err)
	}
	if err := publishProcess(ctx, cli, layout{base}, lease.ID, p); err != nil {
		sess.Close()
		if denied(err) {
			return nil, deniedOwnership(logid, base, err)
		}
		// Unlike a standby's record, this one is the membership.
		return nil, fmt.Errorf("state: join the workers of %s: %w", logid, err)
	}
	return &Worker{cli: cli, sess: sess, keys: layout{base}, logid: logid, prefix: o.prefix}, nil
}

func defaults(opts []Option) options {
	o := options{prefix: "/landfall", ttl: defaultTTL, connect: defaultConnect, log: discard}
	for _, f := range opts {
		f(&o)
	}
	return o
}

// Lease identifies the worker in the membership and in its claims.
func (w *Worker) Lease() clientv3.LeaseID { return w.sess.Lease() }

// Done is closed when the worker's lease is lost: its claims are gone
// with it, and whatever it still holds in memory is no longer its own.
func (w *Worker) Done() <-chan struct{} { return w.sess.Done() }

// Close leaves the membership and drops every claim left, at once (the
// lease is revoked). A graceful stop releases each partition after making
// it durable, before Close.
func (w *Worker) Close() error { return w.sess.Close() }

// Abandon stops renewing the lease without revoking it, as a crashed
// process would: its claims last until etcd expires the lease.
func (w *Worker) Abandon() { w.sess.Orphan() }

// Members returns the live workers' leases, sorted, and the revision at
// which etcd listed them.
func (w *Worker) Members(ctx context.Context) ([]clientv3.LeaseID, int64, error) {
	// Not keys-only: etcd then leaves out the leases.
	resp, err := w.cli.Get(ctx, w.keys.processes(), clientv3.WithPrefix())
	if err != nil {
		return nil, 0, w.etcdErr("read the workers", w.keys.processes(), err)
	}
	var out []clientv3.LeaseID
	for _, kv := range resp.Kvs {
		if kv.Lease != 0 {
			out = append(out, clientv3.LeaseID(kv.Lease))
		}
	}
	slices.Sort(out)
	return out, resp.Header.Revision, nil
}

func (w *Worker) etcdErr(what, key string, err error) error {
	if denied(err) {
		return fmt.Errorf("%w: %s of %s (the user needs readwrite on the key range %s/): %v", ErrDenied, what, w.logid, w.keys.base, err)
	}
	return fmt.Errorf("state: %s of %s (%s): %w", what, w.logid, key, err)
}

// Assign decides which member should own each partition: every partition
// goes to the member that ranks it highest (rendezvous hashing), unless
// that member already has its share, ceil(partitions/members). So the
// split is even within one partition, and a member joining or leaving
// moves little more than its own share. Every worker computes the same
// answer from the same members and partitions.
func Assign(members []clientv3.LeaseID, parts []int32) map[int32]clientv3.LeaseID {
	out := make(map[int32]clientv3.LeaseID, len(parts))
	if len(members) == 0 {
		return out
	}
	ps := slices.Clone(parts)
	slices.Sort(ps)
	ps = slices.Compact(ps)
	share := (len(ps) + len(members) - 1) / len(members)
	load := make(map[clientv3.LeaseID]int, len(members))
	ranked := make([]clientv3.LeaseID, len(members))
	for _, p := range ps {
		copy(ranked, members)
		slices.SortFunc(ranked, func(a, b clientv3.LeaseID) int {
			sa, sb := score(a, p), score(b, p)
			switch {
			case sa > sb:
				return -1
			case sa < sb:
				return 1
			}
			return int(a - b)
		})
		for _, m := range ranked {
			if load[m] < share {
				out[p] = m
				load[m]++
				break
			}
		}
	}
	return out
}

// score is a member's rank for a partition: fixed (unlike maphash), so
// that every process computes the same.
func score(m clientv3.LeaseID, p int32) uint64 {
	var b [12]byte
	binary.BigEndian.PutUint64(b[:8], uint64(m))
	binary.BigEndian.PutUint32(b[8:], uint32(p))
	h := fnv.New64a()
	h.Write(b[:])
	// FNV's low bits mix poorly for keys this alike; finish with
	// splitmix64's mixer.
	x := h.Sum64()
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	return x ^ x>>31
}

func (l layout) claims() string             { return l.base + "/claim/" }
func (l layout) claim(p int32) string       { return fmt.Sprintf("%s%010d", l.claims(), p) }
func leaseValue(id clientv3.LeaseID) string { return strconv.FormatInt(int64(id), 16) }

// Claim makes this worker the owner of Kafka partition p if no worker
// owns it, and says whether this worker owns it now. A partition another
// worker owns stays its own until that worker releases it or its lease
// expires: no claim ever replaces another.
func (w *Worker) Claim(ctx context.Context, p int32) (bool, error) {
	k := w.keys.claim(p)
	resp, err := w.cli.Txn(ctx).
		If(clientv3.Compare(clientv3.CreateRevision(k), "=", 0)).
		Then(clientv3.OpPut(k, leaseValue(w.Lease()), clientv3.WithLease(w.Lease()))).
		Else(clientv3.OpGet(k)).Commit()
	if err != nil {
		return false, w.etcdErr(fmt.Sprintf("claim partition %d", p), k, err)
	}
	if resp.Succeeded {
		return true, nil
	}
	kvs := resp.Responses[0].GetResponseRange().Kvs
	return len(kvs) == 1 && clientv3.LeaseID(kvs[0].Lease) == w.Lease(), nil
}

// Release gives up partition p, once the worker has made durable all it
// consumed of it, so that the next owner resumes where it stopped. It
// wraps ErrNotOwner when p is not this worker's.
func (w *Worker) Release(ctx context.Context, p int32) error {
	k := w.keys.claim(p)
	resp, err := w.cli.Txn(ctx).If(w.holds(p)).Then(clientv3.OpDelete(k)).Commit()
	if err != nil {
		return w.etcdErr(fmt.Sprintf("release partition %d", p), k, err)
	}
	if !resp.Succeeded {
		return fmt.Errorf("state: release partition %d of %s: %w", p, w.logid, ErrNotOwner)
	}
	return nil
}

func (w *Worker) holds(p int32) clientv3.Cmp {
	return clientv3.Compare(clientv3.LeaseValue(w.keys.claim(p)), "=", w.Lease())
}

// Holds returns the conditions under which a transaction acts only while
// this worker owns every partition in parts: the per-partition fencing of
// whatever the worker writes to etcd for them. At most maxTxnCompares fit
// one transaction.
func (w *Worker) Holds(parts ...int32) ([]clientv3.Cmp, error) {
	if len(parts) > maxTxnCompares {
		return nil, fmt.Errorf("state: %d partitions in one transaction of %s, etcd's default --max-txn-ops allows %d", len(parts), w.logid, maxTxnCompares)
	}
	out := make([]clientv3.Cmp, len(parts))
	for i, p := range parts {
		out[i] = w.holds(p)
	}
	return out, nil
}

// Fence returns nil only while this worker owns every partition in parts
// and wraps ErrNotOwner, naming those it lost, once it doesn't.
func (w *Worker) Fence(ctx context.Context, parts ...int32) error {
	select {
	case <-w.sess.Done():
		return fmt.Errorf("state: lease of worker %x lost: %w", int64(w.Lease()), ErrNotOwner)
	default:
	}
	var lost []string
	for batch := range slices.Chunk(parts, maxTxnCompares) {
		cmps, _ := w.Holds(batch...)
		resp, err := w.cli.Txn(ctx).If(cmps...).Commit()
		if err != nil {
			return w.etcdErr("confirm the claims", w.keys.claims(), err)
		}
		if resp.Succeeded {
			continue
		}
		held, err := Claims(ctx, w.cli, w.logid, WithPrefix(w.prefix))
		if err != nil {
			return err
		}
		for _, p := range batch {
			if held[p] != w.Lease() {
				lost = append(lost, strconv.Itoa(int(p)))
			}
		}
	}
	if lost != nil {
		return fmt.Errorf("state: worker %x no longer owns partitions %s of %s: %w", int64(w.Lease()), strings.Join(lost, ","), w.logid, ErrNotOwner)
	}
	return nil
}

// Claims reads who owns each claimed partition of logid, without joining:
// for `landfall status` and tests.
func Claims(ctx context.Context, cli *clientv3.Client, logid string, opts ...Option) (map[int32]clientv3.LeaseID, error) {
	l := layout{path.Join(defaults(opts).prefix, logid)}
	resp, err := cli.Get(ctx, l.claims(), clientv3.WithPrefix())
	if err != nil {
		if denied(err) {
			return nil, fmt.Errorf("%w: read %s: %v", ErrDenied, l.claims(), err)
		}
		return nil, err
	}
	out := make(map[int32]clientv3.LeaseID, len(resp.Kvs))
	for _, kv := range resp.Kvs {
		p, err := strconv.ParseInt(strings.TrimPrefix(string(kv.Key), l.claims()), 10, 32)
		if err != nil || kv.Lease == 0 {
			return nil, fmt.Errorf("%w: claim key %s (lease %x)", ErrCorrupt, kv.Key, kv.Lease)
		}
		out[int32(p)] = clientv3.LeaseID(kv.Lease)
	}
	return out, nil
}

// Plan is what a worker must do to reach Assign's split.
type Plan struct {
	// Owned are the partitions this worker owns now and keeps.
	Owned []int32
	// Release are partitions this worker owns that another should: it
	// makes each durable, then releases it.
	Release []int32
	// Claim are partitions for this worker that nobody owns.
	Claim []int32
	// Waiting are partitions for this worker that another still owns,
	// until it releases them or its lease expires.
	Waiting []int32
}

// Plan reads the members and the claims and compares them with Assign's
// split of parts.
func (w *Worker) Plan(ctx context.Context, parts []int32) (Plan, error) {
	members, _, err := w.Members(ctx)
	if err != nil {
		return Plan{}, err
	}
	held, err := Claims(ctx, w.cli, w.logid, WithPrefix(w.prefix))
	if err != nil {
		return Plan{}, w.etcdErr("read the claims", w.keys.claims(), err)
	}
	if !slices.Contains(members, w.Lease()) {
		return Plan{}, fmt.Errorf("state: worker %x is not among the workers of %s: %w", int64(w.Lease()), w.logid, ErrNotOwner)
	}
	want := Assign(members, parts)
	var pl Plan
	for p, owner := range held {
		if owner == w.Lease() && want[p] != w.Lease() {
			pl.Release = append(pl.Release, p)
		}
	}
	for p, m := range want {
		if m != w.Lease() {
			continue
		}
		switch held[p] {
		case w.Lease():
			pl.Owned = append(pl.Owned, p)
		case 0:
			pl.Claim = append(pl.Claim, p)
		default:
			pl.Waiting = append(pl.Waiting, p)
		}
	}
	for _, s := range [][]int32{pl.Owned, pl.Release, pl.Claim, pl.Waiting} {
		slices.Sort(s)
	}
	return pl, nil
}

// Changes signals (coalesced) every change of the membership or the
// claims, until ctx is done: the moment to Plan again. A watch that etcd
// ends (a leader lost, a compaction) is started again, after a signal,
// since what it missed is unknown.
func (w *Worker) Changes(ctx context.Context) <-chan struct{} {
	out := make(chan struct{}, 1)
	signal := func() {
		select {
		case out <- struct{}{}:
		default:
		}
	}
	for _, prefix := range []string{w.keys.processes(), w.keys.claims()} {
		go func() {
			for ctx.Err() == nil {
				wctx, cancel := context.WithCancel(clientv3.WithRequireLeader(ctx))
				for range w.cli.Watch(wctx, prefix, clientv3.WithPrefix()) {
					signal()
				}
				cancel()
				signal()
				select {
				case <-ctx.Done():
				case <-time.After(250 * time.Millisecond):
				}
			}
		}()
	}
	return out
}
