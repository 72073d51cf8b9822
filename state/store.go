package state

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"path"
	"sync"
	"time"

	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/client/v3/concurrency"
)

// ErrNotOwner means this process no longer owns the logid: its lease expired
// or another process took over. Nothing it writes will be accepted; it must
// stop and let the owner carry on.
var ErrNotOwner = errors.New("state: not owner")

// Store is the etcd state of one logid, held by its single owner.
type Store struct {
	cli     *clientv3.Client
	session *concurrency.Session
	mutex   *concurrency.Mutex
	keys    layout
	epoch   int64

	fmu sync.Mutex
	// validUntil is how long the last confirmation of the lease proves
	// that no other process can own the logid (see Fence).
	validUntil time.Time
}

// ErrUnreachable means etcd did not answer within the connect timeout
// (WithConnectTimeout) at start: an operator must fix the endpoints or the
// network. A process waiting for another owner never gets it.
var ErrUnreachable = errors.New("state: etcd unreachable")

// ErrDenied means etcd answered and refused: the user may not read or
// write the logid's keys (RBAC), or its credentials are not accepted.
// Retrying doesn't help; an operator must grant the role (see
// docs/OPERATING.md) or fix the credentials.
var ErrDenied = errors.New("state: etcd denied access")

// denied says whether err is etcd refusing this user, as opposed to etcd
// not answering.
func denied(err error) bool {
	switch rpctypes.Error(err) {
	case rpctypes.ErrPermissionDenied, rpctypes.ErrAuthFailed, rpctypes.ErrUserEmpty,
		rpctypes.ErrUserNotFound, rpctypes.ErrInvalidAuthToken, rpctypes.ErrInvalidAuthMgmt:
		return true
	}
	return false
}

type options struct {
	prefix  string
	ttl     time.Duration
	connect time.Duration
	log     *slog.Logger
	process *Process
}

const (
	defaultTTL     = 10 * time.Second
	defaultConnect = 2 * time.Minute
)

var discard = slog.New(slog.DiscardHandler)

// Option configures Open.
type Option func(*options)

// WithPrefix sets the key prefix under which logids live (default /landfall).
func WithPrefix(p string) Option { return func(o *options) { o.prefix = p } }

// WithLeaseTTL sets how long a dead owner blocks a successor (default 10s).
// Shorter means faster takeover after a crash and a higher risk of losing
// ownership during a long pause (GC, etcd leader change).
func WithLeaseTTL(d time.Duration) Option { return func(o *options) { o.ttl = d } }

// WithConnectTimeout bounds how long Open tries to reach etcd before its
// first answer (default 2m): past it, Open fails with ErrUnreachable
// naming the endpoints. Without a bound a wrong endpoint or a firewall
// hangs the start for ever, since the client retries under ctx. Once etcd
// has answered, an outage while waiting for another owner is waited out.
func WithConnectTimeout(d time.Duration) Option { return func(o *options) { o.connect = d } }

// WithLogger is where Open says why it waits: etcd not answering (WARN,
// each retry) or another process owning the logid (INFO, once).
func WithLogger(l *slog.Logger) Option { return func(o *options) { o.log = l } }

// Process describes a landfall process that holds or waits for a logid,
// for `landfall status`. It is kept under the process's lease, so it goes
// when the process does.
type Process struct {
	Host    string    `json:"host"`
	PID     int       `json:"pid"`
	Version string    `json:"version,omitempty"`
	Started time.Time `json:"started"`
	// Parallelism is the number of shards the process consumes with.
	Parallelism int `json:"parallelism,omitempty"`
}

// WithProcess has Open publish p, under the lease, from before it waits
// for ownership: `landfall status` names the owner and each standby.
func WithProcess(p Process) Option { return func(o *options) { o.process = &p } }

// Processes reads the processes that hold or wait for logid's ownership,
// by lease; a process that published none (WithProcess) is not there.
func Processes(ctx context.Context, cli *clientv3.Client, logid string, opts ...Option) (map[clientv3.LeaseID]Process, error) {
	o := options{prefix: "/landfall"}
	for _, f := range opts {
		f(&o)
	}
	l := layout{path.Join(o.prefix, logid)}
	resp, err := cli.Get(ctx, l.processes(), clientv3.WithPrefix())
	if err != nil {
		if denied(err) {
			return nil, fmt.Errorf("%w: read %s: %v", ErrDenied, l.processes(), err)
		}
		return nil, err
	}
	out := make(map[clientv3.LeaseID]Process, len(resp.Kvs))
	for _, kv := range resp.Kvs {
		var p Process
		if err := json.Unmarshal(kv.Value, &p); err != nil {
			return nil, fmt.Errorf("state: process record %s: %w", kv.Key, err)
		}
		out[clientv3.LeaseID(kv.Lease)] = p
	}
	return out, nil
}

// grantAttempt bounds one lease request, so that each failed try is seen
// (and logged) rather than swallowed by the client's own retries.
const grantAttempt = 5 * time.Second

// grant asks etcd for a lease, retrying with backoff and a warning for each
// failure. Until etcd has answered once (answered false) it gives up after
// o.connect.
func grant(ctx context.Context, cli *clientv3.Client, ttl int, o options, answered bool) (*clientv3.LeaseGrantResponse, error) {
	t0 := time.Now()
	backoff := 250 * time.Millisecond
	each := grantAttempt
	if !answered {
		// Several tries within the bound, each one warned about.
		each = min(each, max(o.connect/4, 500*time.Millisecond))
	}
	for attempt := 1; ; attempt++ {
		actx, cancel := context.WithTimeout(ctx, each)
		lease, err := cli.Grant(actx, int64(ttl))
		cancel()
		if err == nil {
			return lease, nil
		}
		if ctx.Err() != nil {
			return nil, fmt.Errorf("state: open session: %w", ctx.Err())
		}
		if denied(err) {
			return nil, fmt.Errorf("%w: grant a lease: %v", ErrDenied, err)
		}
		waited := time.Since(t0)
		if !answered && waited >= o.connect {
			return nil, fmt.Errorf("%w: no answer from %v for %v (etcd.connect_timeout %v): %v",
				ErrUnreachable, cli.Endpoints(), waited.Round(time.Second), o.connect, err)
		}
		o.log.Warn("etcd unreachable; retrying", "endpoints", cli.Endpoints(), "attempt", attempt, "waited", waited.Round(time.Millisecond), "err", err)
		pause := backoff
		if !answered {
			pause = min(pause, o.connect-waited)
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("state: open session: %w", ctx.Err())
		case <-time.After(pause):
		}
		backoff = min(2*backoff, 5*time.Second)
	}
}

// Open takes ownership of logid, waiting while another process holds it.
// It returns when this process is the owner or ctx is done, and fails
// with ErrUnreachable when etcd doesn't answer at all (WithConnectTimeout).
func Open(ctx context.Context, cli *clientv3.Client, logid string, opts ...Option) (*Store, error) {
	o := defaults(opts)
	ttl := max(int(o.ttl/time.Second), 1)
	base := path.Join(o.prefix, logid)
	answered := false
	for {
		// The lease is granted under ctx, so a process starting while etcd
		// is down still stops when asked. The session's keep-alive outlives
		// ctx on purpose: a graceful stop cancels ctx and still needs
		// ownership for its final checkpoint. Close ends it.
		lease, err := grant(ctx, cli, ttl, o, answered)
		if err != nil {
			return nil, err
		}
		answered = true
		sess, err := concurrency.NewSession(cli, concurrency.WithTTL(ttl), concurrency.WithLease(lease.ID))
		if err != nil {
			return nil, fmt.Errorf("state: open session: %w", err)
		}
		if o.process != nil {
			if err := publishProcess(ctx, cli, layout{base}, lease.ID, *o.process); err != nil {
				if denied(err) {
					sess.Close()
					return nil, deniedOwnership(logid, base, err)
				}
				// Only `landfall status` reads it: not worth the ownership.
				o.log.Warn("etcd: could not publish this process for landfall status", "logid", logid, "err", err)
			}
		}
		m := concurrency.NewMutex(sess, base+"/owner")
		// TryLock first, to tell an operator that the wait is for another
		// owner (normal for a standby), not for etcd.
		err = m.TryLock(ctx)
		if errors.Is(err, concurrency.ErrLocked) {
			o.log.Info("another process owns the logid; waiting to take over", "logid", logid)
			err = m.Lock(ctx)
		}
		if err == nil {
			// The revision at which the lock was granted: a later owner is
			// granted it at a later revision, so epochs only grow.
			return &Store{cli: cli, session: sess, mutex: m, keys: layout{base}, epoch: m.Header().Revision}, nil
		}
		sess.Close()
		if denied(err) {
			return nil, deniedOwnership(logid, base, err)
		}
		// A standby may wait for hours; its lease can die meanwhile (etcd
		// restarted, the process paused). Then it waits again, anew.
		if ctx.Err() != nil || !errors.Is(err, concurrency.ErrSessionExpired) {
			return nil, fmt.Errorf("state: acquire ownership of %s: %w", logid, err)
		}
	}
}

// KeyPrefix is the prefix of every key landfall keeps for logid under
// prefix (checkpoint, body/, owner/, process/, table): an etcd user needs readwrite
// on exactly this range (etcdctl role grant-permission … --prefix).
func KeyPrefix(prefix, logid string) string { return path.Join(prefix, logid) + "/" }

// Load returns the last durable checkpoint, or nil if there is none.
func (s *Store) Load(ctx context.Context) (*Checkpoint, error) {
	return load(ctx, s.cli, s.keys)
}

// Epoch identifies this ownership: every later owner of the logid has a
// larger one. Whatever an owner writes outside etcd (staging files) goes
// under its epoch, so that no clean-up by an older owner can touch it.
func (s *Store) Epoch() int64 { return s.epoch }

// Fence returns nil only while this process provably owns the logid, and
// wraps ErrNotOwner once it doesn't. Every step that changes the warehouse
// outside the checkpoint transaction (renames, deletes, sweeps, commit
// steps) passes through it first.
//
// A confirmation renews the lease (KeepAliveOnce) and, sent at time t with
// a TTL of ttl, proves that no successor can be granted ownership before
// t+ttl; Fence trusts it for half of that, so it asks etcd at most every
// ttl/2. What it cannot prevent is a pause between Fence and the step
// longer than the remaining margin (ttl/2 at least); steps that could then
// harm a successor are made harmless by construction instead (a sweep only
// touches older epochs).
func (s *Store) Fence(ctx context.Context) error {
	select {
	case <-s.session.Done():
		return fmt.Errorf("state: lease lost: %w", ErrNotOwner)
	default:
	}
	s.fmu.Lock()
	defer s.fmu.Unlock()
	if time.Now().Before(s.validUntil) {
		return nil
	}
	sent := time.Now()
	resp, err := s.cli.KeepAliveOnce(ctx, s.session.Lease())
	if errors.Is(err, rpctypes.ErrLeaseNotFound) || err == nil && resp.TTL <= 0 {
		return fmt.Errorf("state: lease expired: %w", ErrNotOwner)
	}
	if err != nil {
		// Unproven is not owned: refuse the step, the caller retries or
		// stops.
		return fmt.Errorf("state: confirm ownership: %w", err)
	}
	s.validUntil = sent.Add(time.Duration(resp.TTL) * time.Second / 2)
	return nil
}

// Peek returns logid's last durable checkpoint, or nil if there is none,
// without taking ownership: for monitoring, tools and tests.
func Peek(ctx context.Context, cli *clientv3.Client, logid string, opts ...Option) (*Checkpoint, error) {
	o := options{prefix: "/landfall"}
	for _, f := range opts {
		f(&o)
	}
	return load(ctx, cli, layout{path.Join(o.prefix, logid)})
}

// Save writes cp if and only if this process still owns the logid. Every
// request it sends is conditioned on ownership and bounded in size
// (chunkSize), however large cp is; cp becomes durable at once, with the
// head's write.
func (s *Store) Save(ctx context.Context, cp *Checkpoint) error {
	cp.Epoch = s.epoch
	hv, chunks, err := encodeStored(cp)
	if err != nil {
		return err
	}
	own := s.mutex.IsOwner()
	for i, c := range chunks {
		resp, err := s.cli.Txn(ctx).If(own).Then(clientv3.OpPut(s.keys.chunk(cp.Seq, i), string(c))).Commit()
		if err != nil {
			return fmt.Errorf("state: save checkpoint %d chunk %d of %d: %w", cp.Seq, i+1, len(chunks), err)
		}
		if !resp.Succeeded {
			return fmt.Errorf("save checkpoint %d: %w", cp.Seq, ErrNotOwner)
		}
	}
	// The head, and the end of every older checkpoint's chunks, at once.
	resp, err := s.cli.Txn(ctx).If(own).Then(
		clientv3.OpPut(s.keys.head(), string(hv)),
		clientv3.OpDelete(s.keys.bodies(), clientv3.WithRange(s.keys.body(cp.Seq))),
	).Commit()
	if err != nil {
		return fmt.Errorf("state: save checkpoint %d: %w", cp.Seq, err)
	}
	if !resp.Succeeded {
		return fmt.Errorf("save checkpoint %d: %w", cp.Seq, ErrNotOwner)
	}
	return nil
}

// Owner asks etcd whether this process still owns the logid. A process
// can lose it without Done being closed yet: frozen past its lease, it
// finds out only at its next keep-alive.
func (s *Store) Owner(ctx context.Context) (bool, error) {
	resp, err := s.cli.Txn(ctx).If(s.mutex.IsOwner()).Commit()
	if err != nil {
		return false, fmt.Errorf("state: check ownership: %w", err)
	}
	return resp.Succeeded, nil
}

// Done is closed when ownership is lost (the lease could not be kept alive).
func (s *Store) Done() <-chan struct{} { return s.session.Done() }

// Close gives up ownership so a successor need not wait for the lease to
// expire.
func (s *Store) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	uerr := s.mutex.Unlock(ctx)
	serr := s.session.Close()
	if uerr != nil {
		return fmt.Errorf("state: release ownership: %w", uerr)
	}
	if serr != nil {
		return fmt.Errorf("state: close session: %w", serr)
	}
	return nil
}

// Abandon stops keeping the lease alive without releasing it, as a crashed
// process would; tests use it to simulate death without waiting out the TTL
// only when revoke is true.
func (s *Store) Abandon(revoke bool) {
	if revoke {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_, _ = s.cli.Revoke(ctx, s.session.Lease())
	}
	s.session.Orphan()
}

// publishProcess writes p under the lease, keyed by it.
func publishProcess(ctx context.Context, cli *clientv3.Client, l layout, lease clientv3.LeaseID, p Process) error {
	b, err := json.Marshal(p)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, grantAttempt)
	defer cancel()
	_, err = cli.Put(ctx, l.process(lease), string(b), clientv3.WithLease(lease))
	return err
}

// deniedOwnership is the error of an etcd user refused a key of logid's
// ownership (its lock or its process record): which range it needs.
func deniedOwnership(logid, base string, err error) error {
	return fmt.Errorf("%w: acquire ownership of %s (the user needs readwrite on the key range %s/): %v", ErrDenied, logid, base, err)
}
