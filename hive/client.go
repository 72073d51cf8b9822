package hive

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/apache/thrift/lib/go/thrift"
	hms "github.com/beltran/gohive/hive_metastore"
	krb "github.com/jcmturner/gokrb5/v8/client"
	"github.com/prometheus/client_golang/prometheus"
)

// Client talks to the Hive metastore over Thrift (binary protocol, buffered
// transport: what a metastore serves unless SASL or framing is configured;
// with WithKerberos, SASL GSSAPI as a Kerberized metastore wants).
//
// It keeps a small pool of connections, bounds every call by the context and
// the configured call timeout, retries transient failures with backoff and
// fails over between URIs. A Client is safe for concurrent use.
type Client struct {
	cfg   MetastoreConfig
	uris  []string
	addrs []string
	log   *slog.Logger
	m     *clientMetrics
	dial  func(ctx context.Context, network, addr string) (net.Conn, error)
	// krb, when set, authenticates every connection with SASL GSSAPI
	// as the service spns[i] for addrs[i].
	krb  *krb.Client
	spns []string

	// sem holds one token per open or opening connection, so that at most
	// MaxConns calls are in flight: a slow metastore gets queued callers,
	// not a connection storm.
	sem chan struct{}

	mu        sync.Mutex
	idle      []*conn
	preferred int // index of the URI new connections try first
	closed    bool
}

type conn struct {
	uriIdx int
	nc     net.Conn // deadlines go here, with or without SASL above it
	cl     *hms.ThriftHiveMetastoreClient
}

type clientMetrics struct {
	requests  *prometheus.CounterVec
	duration  *prometheus.HistogramVec
	failovers prometheus.Counter
}

func newClientMetrics(reg prometheus.Registerer) *clientMetrics {
	return &clientMetrics{
		requests: register(reg, prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "landfall_hive_metastore_requests_total",
			Help: "Thrift calls to the Hive metastore by method and result (ok, not_found, already_exists, error, transient).",
		}, []string{"op", "result"})),
		duration: register(reg, prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "landfall_hive_metastore_request_seconds",
			Help:    "Duration of single Thrift calls to the Hive metastore, retries not included.",
			Buckets: prometheus.ExponentialBuckets(0.002, 4, 8),
		}, []string{"op"})),
		failovers: register(reg, prometheus.NewCounter(prometheus.CounterOpts{
			Name: "landfall_hive_metastore_failovers_total",
			Help: "Times the client moved to the next metastore URI after the current one failed.",
		})),
	}
}

// Option tunes a Client or the commit steps.
type Option func(*options)

type options struct {
	reg        prometheus.Registerer
	log        *slog.Logger
	dial       func(ctx context.Context, network, addr string) (net.Conn, error)
	client     *Client
	httpClient httpDoer
	kafkaOpts  []kafkaOpt
	kerberos   *krb.Client
}

// WithRegisterer registers metrics with reg (default: none are exported).
func WithRegisterer(reg prometheus.Registerer) Option { return func(o *options) { o.reg = reg } }

// WithLogger sets the logger (default slog.Default()).
func WithLogger(l *slog.Logger) Option { return func(o *options) { o.log = l } }

// WithClient makes the metastore step use an existing client instead of
// opening its own, so that the process keeps one pool.
func WithClient(c *Client) Option { return func(o *options) { o.client = c } }

func buildOptions(opts []Option) options {
	o := options{log: slog.Default()}
	for _, f := range opts {
		f(&o)
	}
	if o.dial == nil {
		o.dial = (&net.Dialer{}).DialContext
	}
	return o
}

// NewClient checks cfg and returns a client. It does not connect: the first
// call does, so that a metastore that is down at start delays only the
// partition commits, not the process.
func NewClient(cfg MetastoreConfig, opts ...Option) (*Client, error) {
	if errs := cfg.validate("hive.metastore", "hive.commit_steps"); len(errs) > 0 {
		return nil, Permanent(fmt.Errorf("hive: new metastore client: %w", errors.Join(errs...)))
	}
	o := buildOptions(opts)
	cfg = cfg.withDefaults()
	c := &Client{
		cfg:  cfg,
		uris: cfg.URIs,
		log:  o.log,
		m:    newClientMetrics(o.reg),
		dial: o.dial,
		krb:  o.kerberos,
		sem:  make(chan struct{}, cfg.MaxConns),
	}
	for _, u := range cfg.URIs {
		a, _ := parseThriftURI(u) // validated above
		c.addrs = append(c.addrs, a)
		c.spns = append(c.spns, cfg.metastoreSPN(a))
	}
	return c, nil
}

// Close closes the idle connections; calls in flight finish and close their
// own connection. Calls after Close fail.
func (c *Client) Close() error {
	c.mu.Lock()
	idle := c.idle
	c.idle, c.closed = nil, true
	c.mu.Unlock()
	var errs []error
	for _, cn := range idle {
		if err := cn.nc.Close(); err != nil {
			errs = append(errs, fmt.Errorf("hive: close metastore connection to %s: %w", c.uris[cn.uriIdx], err))
		}
	}
	return errors.Join(errs...)
}

// call runs fn on a pooled connection, retrying transient failures with
// backoff and on the next URI. fn must be safe to repeat: a reply lost on
// the way back looks like a failure although the metastore acted on it,
// which is why partition registration treats "already exists" as success.
func (c *Client) call(ctx context.Context, op string, fn func(context.Context, *hms.ThriftHiveMetastoreClient) error) error {
	r := c.cfg.Retry
	var last error
	for attempt := 0; attempt < r.Attempts; attempt++ {
		if attempt > 0 {
			if err := sleepCtx(ctx, backoff(r, attempt)); err != nil {
				return fmt.Errorf("hive: metastore %s: %w (last error: %v)", op, err, last)
			}
		}
		transient, err := c.once(ctx, op, fn)
		if err == nil {
			return nil
		}
		if !transient || ctx.Err() != nil {
			return err
		}
		last = err
		if attempt+1 < r.Attempts {
			c.log.Warn("hive metastore call failed, retrying", "op", op, "attempt", attempt+1, "err", err)
		}
	}
	return fmt.Errorf("%w: %s failed %d times: %w", ErrUnavailable, op, r.Attempts, last)
}

func (c *Client) once(ctx context.Context, op string, fn func(context.Context, *hms.ThriftHiveMetastoreClient) error) (bool, error) {
	select {
	case c.sem <- struct{}{}:
	case <-ctx.Done():
		return false, fmt.Errorf("hive: metastore %s: wait for a connection: %w", op, ctx.Err())
	}
	defer func() { <-c.sem }()

	cn, err := c.get(ctx)
	if err != nil {
		// A principal the KDC doesn't know or a refused negotiation
		// stays so until an operator acts.
		transient := ctx.Err() == nil && !IsPermanent(err)
		c.m.requests.WithLabelValues(op, resultLabel(err, transient)).Inc()
		return transient, fmt.Errorf("hive: metastore %s: %w", op, err)
	}
	// The call's context carries the call timeout. Thrift's binary protocol
	// retries a timed-out read while its context has time left, so the
	// context, not only the socket, must end when the call times out.
	cctx, cancel := context.WithTimeout(ctx, c.cfg.CallTimeout)
	defer cancel()
	deadline, _ := cctx.Deadline()
	// The socket deadline is a backstop a little after the context's; the
	// AfterFunc below is what cuts a read when the context ends, so that a
	// cancelled caller never waits for a hung metastore.
	if err := cn.nc.SetDeadline(deadline.Add(time.Second)); err != nil {
		c.discard(cn, true)
		return true, fmt.Errorf("hive: metastore %s: set deadline: %w", op, err)
	}
	stop := context.AfterFunc(cctx, func() { _ = cn.nc.SetDeadline(time.Unix(1, 0)) })
	start := time.Now()
	err = fn(cctx, cn.cl)
	stopped := stop()
	c.m.duration.WithLabelValues(op).Observe(time.Since(start).Seconds())

	var out error
	var broken, transient bool
	switch {
	case err != nil && ctx.Err() != nil:
		// The caller gave up: the stream may hold half a reply, so the
		// connection goes, and there is no retry.
		out, broken = fmt.Errorf("hive: metastore %s at %s: %w (%v)", op, c.uris[cn.uriIdx], context.Cause(ctx), err), true
	case err != nil && cctx.Err() != nil:
		out, broken, transient = fmt.Errorf("hive: metastore %s at %s: no answer within %v: %w", op, c.uris[cn.uriIdx], c.cfg.CallTimeout, err), true, true
	default:
		broken, transient, out = classify(op, c.uris[cn.uriIdx], err)
	}
	c.m.requests.WithLabelValues(op, resultLabel(out, transient)).Inc()
	if broken || !stopped {
		c.discard(cn, err != nil && ctx.Err() == nil)
	} else {
		c.put(cn)
	}
	return transient, out
}

func resultLabel(err error, transient bool) string {
	switch {
	case err == nil:
		return "ok"
	case errors.Is(err, ErrNotFound):
		return "not_found"
	case errors.Is(err, ErrAlreadyExists):
		return "already_exists"
	case transient:
		return "transient"
	}
	return "error"
}

// get returns an idle connection or dials one, starting at the preferred
// URI and moving on when a URI refuses or times out.
func (c *Client) get(ctx context.Context) (*conn, error) {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil, errors.New("client closed")
	}
	if n := len(c.idle); n > 0 {
		cn := c.idle[n-1]
		c.idle = c.idle[:n-1]
		c.mu.Unlock()
		return cn, nil
	}
	first := c.preferred
	c.mu.Unlock()

	var errs []error
	for i := range c.addrs {
		idx := (first + i) % len(c.addrs)
		cn, err := c.connect(ctx, idx)
		if err == nil {
			if i > 0 {
				c.failover(first, idx)
			}
			return cn, nil
		}
		errs = append(errs, err)
		if ctx.Err() != nil {
			break
		}
	}
	return nil, errors.Join(errs...)
}

func (c *Client) connect(ctx context.Context, idx int) (*conn, error) {
	dctx, cancel := context.WithTimeout(ctx, c.cfg.ConnectTimeout)
	defer cancel()
	var mech *gssapiMech
	if c.krb != nil {
		// The ticket first: a principal the KDC doesn't know fails the
		// same whether the metastore is up or not.
		mech = newGSSAPIMech(c.krb, c.spns[idx])
		if _, _, err := mech.ticket(); err != nil {
			return nil, c.ticketErr(idx, err)
		}
	}
	nc, err := c.dial(dctx, "tcp", c.addrs[idx])
	if err != nil {
		return nil, fmt.Errorf("connect to %s: %w", c.uris[idx], err)
	}
	var tr thrift.TTransport = thrift.NewStreamTransportRW(nc)
	if mech != nil {
		if tr, err = c.negotiate(dctx, idx, nc, mech); err != nil {
			_ = nc.Close()
			return nil, err
		}
	}
	conf := &thrift.TConfiguration{}
	proto := thrift.NewTBinaryProtocolConf(tr, conf)
	return &conn{uriIdx: idx, nc: nc, cl: hms.NewThriftHiveMetastoreClient(thrift.NewTStandardClient(proto, proto))}, nil
}

// negotiate runs the SASL GSSAPI negotiation on nc within the connect
// timeout and returns the transport for the Thrift calls.
func (c *Client) negotiate(ctx context.Context, idx int, nc net.Conn, mech *gssapiMech) (thrift.TTransport, error) {
	if d, ok := ctx.Deadline(); ok {
		if err := nc.SetDeadline(d); err != nil {
			return nil, fmt.Errorf("sasl to %s: set deadline: %w", c.uris[idx], err)
		}
	}
	stop := context.AfterFunc(ctx, func() { _ = nc.SetDeadline(time.Unix(1, 0)) })
	rw := bufio.NewReadWriter(bufio.NewReader(nc), bufio.NewWriter(nc))
	err := saslNegotiate(rw, mech)
	if !stop() && err == nil {
		err = fmt.Errorf("no end of the negotiation within %v: %w", c.cfg.ConnectTimeout, ctx.Err())
	}
	if err != nil {
		var te *errTicket
		var refused *SASLRefusedError
		var me *mechError
		switch {
		case errors.As(err, &te):
			return nil, c.ticketErr(idx, te.err)
		case errors.As(err, &refused), errors.As(err, &me):
			// The metastore said no, or its answers don't verify: the
			// principal or the metastore's setup is wrong, not the network.
			return nil, Permanent(fmt.Errorf("hive.metastore.kerberos_principal: sasl GSSAPI to %s as the service %s: %w; check that it is the metastore's hive.metastore.kerberos.principal and that landfall's principal may use the metastore",
				c.uris[idx], c.spns[idx], err))
		}
		return nil, fmt.Errorf("sasl to %s: %w", c.uris[idx], err)
	}
	if err := nc.SetDeadline(time.Time{}); err != nil {
		return nil, fmt.Errorf("sasl to %s: clear deadline: %w", c.uris[idx], err)
	}
	return newSASLTransport(nc, rw), nil
}

// ticketErr explains a failed ticket request for the metastore's service:
// an unknown principal is the config's to fix, anything else (a KDC that
// doesn't answer) may pass.
func (c *Client) ticketErr(idx int, err error) error {
	msg := strings.ReplaceAll(err.Error(), "\n", " ")
	if strings.Contains(msg, "KDC_ERR_S_PRINCIPAL_UNKNOWN") {
		return Permanent(fmt.Errorf("hive.metastore.kerberos_principal: the KDC knows no metastore principal %s for %s (%s); set it to the metastore's hive.metastore.kerberos.principal (_HOST stands for the URI's host)",
			c.spns[idx], c.uris[idx], msg))
	}
	return fmt.Errorf("kerberos ticket for the metastore principal %s (%s): %s", c.spns[idx], c.uris[idx], msg)
}

func (c *Client) failover(from, to int) {
	c.mu.Lock()
	moved := c.preferred == from
	if moved {
		c.preferred = to
	}
	c.mu.Unlock()
	if moved {
		c.m.failovers.Inc()
		c.log.Warn("hive metastore failover", "from", c.uris[from], "to", c.uris[to])
	}
}

func (c *Client) put(cn *conn) {
	if err := cn.nc.SetDeadline(time.Time{}); err != nil {
		c.discard(cn, false)
		return
	}
	c.mu.Lock()
	if c.closed || len(c.idle) >= c.cfg.MaxConns {
		c.mu.Unlock()
		_ = cn.nc.Close() // surplus connection; nothing was pending on it
		return
	}
	c.idle = append(c.idle, cn)
	c.mu.Unlock()
}

// discard closes a connection that may hold half a reply. When its URI
// failed (rather than the caller giving up), the idle connections to the
// same URI are dropped too — after a metastore restart they are all dead —
// and the next URI becomes preferred.
func (c *Client) discard(cn *conn, uriFailed bool) {
	_ = cn.nc.Close() // broken already; its close error says nothing new
	if !uriFailed {
		return
	}
	c.mu.Lock()
	keep := c.idle[:0]
	var drop []*conn
	for _, o := range c.idle {
		if o.uriIdx == cn.uriIdx {
			drop = append(drop, o)
		} else {
			keep = append(keep, o)
		}
	}
	c.idle = keep
	from := c.preferred
	c.mu.Unlock()
	for _, o := range drop {
		_ = o.nc.Close()
	}
	if len(c.addrs) > 1 && from == cn.uriIdx {
		c.failover(from, (from+1)%len(c.addrs))
	}
}

// backoff is exponential with full jitter: retries of many landfall
// processes after a metastore restart spread out instead of arriving
// together.
func backoff(r RetryConfig, attempt int) time.Duration {
	d := r.InitialBackoff
	for i := 1; i < attempt && d < r.MaxBackoff; i++ {
		d *= 2
	}
	d = min(d, r.MaxBackoff)
	return d/2 + rand.N(d/2+1)
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Ping makes one cheap call (get_all_databases) to check that a metastore
// answers.
func (c *Client) Ping(ctx context.Context) error {
	return c.call(ctx, "get_all_databases", func(ctx context.Context, cl *hms.ThriftHiveMetastoreClient) error {
		_, err := cl.GetAllDatabases(ctx)
		return err
	})
}

// GetTable returns the metastore's table object.
func (c *Client) GetTable(ctx context.Context, db, table string) (*hms.Table, error) {
	var t *hms.Table
	err := c.call(ctx, "get_table_req", func(ctx context.Context, cl *hms.ThriftHiveMetastoreClient) error {
		// Hive 4 removed get_table; Hive 2 lacks nothing but is asked the
		// old way when it does not know get_table_req.
		r, err := cl.GetTableReq(ctx, &hms.GetTableRequest{DbName: db, TblName: table, ID: -1})
		var ae thrift.TApplicationException
		if errors.As(err, &ae) && ae.TypeId() == thrift.UNKNOWN_METHOD {
			t, err = cl.GetTable(ctx, db, table)
			return err
		}
		if err == nil {
			if r.Table == nil {
				return &hms.MetaException{Message: "get_table_req answered without a table"}
			}
			t = r.Table
		}
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("hive: get table %s.%s: %w", db, table, err)
	}
	return t, nil
}

// CreateDatabase creates a database; it is not an error if it exists.
func (c *Client) CreateDatabase(ctx context.Context, name, location string) error {
	err := c.call(ctx, "create_database", func(ctx context.Context, cl *hms.ThriftHiveMetastoreClient) error {
		return cl.CreateDatabase(ctx, &hms.Database{Name: name, LocationUri: location, Parameters: map[string]string{}})
	})
	if err != nil && !errors.Is(err, ErrAlreadyExists) {
		return fmt.Errorf("hive: create database %s: %w", name, err)
	}
	return nil
}

// CreateTable creates the table that spec describes (what DDL prints, for
// metastores reached without HiveServer2). It returns an error wrapping
// ErrAlreadyExists if the table exists.
func (c *Client) CreateTable(ctx context.Context, spec TableSpec) error {
	t, err := spec.HiveTable()
	if err != nil {
		return err
	}
	err = c.call(ctx, "create_table", func(ctx context.Context, cl *hms.ThriftHiveMetastoreClient) error {
		return cl.CreateTable(ctx, t)
	})
	if err != nil {
		return fmt.Errorf("hive: create table %s.%s: %w", spec.Database, spec.Table, err)
	}
	return nil
}

// GetPartition returns one partition by its values; the error wraps
// ErrNotFound if it does not exist.
func (c *Client) GetPartition(ctx context.Context, db, table string, values []string) (*hms.Partition, error) {
	var p *hms.Partition
	err := c.call(ctx, "get_partition", func(ctx context.Context, cl *hms.ThriftHiveMetastoreClient) (err error) {
		p, err = cl.GetPartition(ctx, db, table, values)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("hive: get partition %s.%s %v: %w", db, table, values, err)
	}
	return p, nil
}

// ListPartitions returns every partition of a table.
func (c *Client) ListPartitions(ctx context.Context, db, table string) ([]*hms.Partition, error) {
	var ps []*hms.Partition
	err := c.call(ctx, "get_partitions", func(ctx context.Context, cl *hms.ThriftHiveMetastoreClient) (err error) {
		ps, err = cl.GetPartitions(ctx, db, table, -1)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("hive: list partitions of %s.%s: %w", db, table, err)
	}
	return ps, nil
}

// addPartition and alterPartition pass DO_NOT_UPDATE_STATS so that the
// metastore keeps the statistics landfall counted instead of listing the
// directory itself (slow on HDFS, and wrong while compaction runs).
func (c *Client) addPartition(ctx context.Context, p *hms.Partition) (*hms.Partition, error) {
	var added *hms.Partition
	err := c.call(ctx, "add_partition", func(ctx context.Context, cl *hms.ThriftHiveMetastoreClient) (err error) {
		added, err = cl.AddPartitionWithEnvironmentContext(ctx, p, statsContext())
		return err
	})
	return added, err
}

func (c *Client) alterPartition(ctx context.Context, p *hms.Partition) error {
	return c.call(ctx, "alter_partition", func(ctx context.Context, cl *hms.ThriftHiveMetastoreClient) error {
		return cl.AlterPartitionWithEnvironmentContext(ctx, p.DbName, p.TableName, p, statsContext())
	})
}

func statsContext() *hms.EnvironmentContext {
	return &hms.EnvironmentContext{Properties: map[string]string{
		"DO_NOT_UPDATE_STATS": "true",
		"STATS_GENERATED":     "TASK",
	}}
}
