package state

import (
	"context"
	"errors"
	"fmt"
	"path"
	"time"

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
	key     string
}

type options struct {
	prefix string
	ttl    time.Duration
}

// Option configures Open.
type Option func(*options)

// WithPrefix sets the key prefix under which logids live (default /landfall).
func WithPrefix(p string) Option { return func(o *options) { o.prefix = p } }

// WithLeaseTTL sets how long a dead owner blocks a successor (default 10s).
// Shorter means faster takeover after a crash and a higher risk of losing
// ownership during a long pause (GC, etcd leader change).
func WithLeaseTTL(d time.Duration) Option { return func(o *options) { o.ttl = d } }

// Open takes ownership of logid, waiting while another process holds it.
// It returns when this process is the owner or ctx is done.
func Open(ctx context.Context, cli *clientv3.Client, logid string, opts ...Option) (*Store, error) {
	o := options{prefix: "/landfall", ttl: 10 * time.Second}
	for _, f := range opts {
		f(&o)
	}
	ttl := int(o.ttl / time.Second)
	if ttl < 1 {
		ttl = 1
	}
	base := path.Join(o.prefix, logid)
	for {
		// The lease is granted under ctx, so a process starting while etcd
		// is down still stops when asked. The session's keep-alive outlives
		// ctx on purpose: a graceful stop cancels ctx and still needs
		// ownership for its final checkpoint. Close ends it.
		lease, err := cli.Grant(ctx, int64(ttl))
		if err != nil {
			return nil, fmt.Errorf("state: open session: %w", err)
		}
		sess, err := concurrency.NewSession(cli, concurrency.WithTTL(ttl), concurrency.WithLease(lease.ID))
		if err != nil {
			return nil, fmt.Errorf("state: open session: %w", err)
		}
		m := concurrency.NewMutex(sess, base+"/owner")
		err = m.Lock(ctx)
		if err == nil {
			return &Store{cli: cli, session: sess, mutex: m, key: base + "/checkpoint"}, nil
		}
		sess.Close()
		// A standby may wait for hours; its lease can die meanwhile (etcd
		// restarted, the process paused). Then it waits again, anew.
		if ctx.Err() != nil || !errors.Is(err, concurrency.ErrSessionExpired) {
			return nil, fmt.Errorf("state: acquire ownership of %s: %w", logid, err)
		}
	}
}

// Load returns the last durable checkpoint, or nil if there is none.
func (s *Store) Load(ctx context.Context) (*Checkpoint, error) {
	return load(ctx, s.cli, s.key)
}

// Peek returns logid's last durable checkpoint, or nil if there is none,
// without taking ownership: for monitoring, tools and tests.
func Peek(ctx context.Context, cli *clientv3.Client, logid string, opts ...Option) (*Checkpoint, error) {
	o := options{prefix: "/landfall"}
	for _, f := range opts {
		f(&o)
	}
	return load(ctx, cli, path.Join(o.prefix, logid, "checkpoint"))
}

func load(ctx context.Context, cli *clientv3.Client, key string) (*Checkpoint, error) {
	resp, err := cli.Get(ctx, key)
	if err != nil {
		return nil, fmt.Errorf("state: load checkpoint: %w", err)
	}
	if len(resp.Kvs) == 0 {
		return nil, nil
	}
	return Decode(resp.Kvs[0].Value)
}

// Save writes cp if and only if this process still owns the logid.
func (s *Store) Save(ctx context.Context, cp *Checkpoint) error {
	b, err := Encode(cp)
	if err != nil {
		return err
	}
	resp, err := s.cli.Txn(ctx).If(s.mutex.IsOwner()).Then(clientv3.OpPut(s.key, string(b))).Commit()
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
