package committer_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"

	"github.com/landfall/landfall/cmd/landfall/loggen"
	"github.com/landfall/landfall/committer"
	"github.com/landfall/landfall/committer/committest"
	"github.com/landfall/landfall/hive"
	"github.com/landfall/landfall/state"
	"github.com/landfall/landfall/writer"
	"github.com/landfall/landfall/writer/fsys"
)

var etcdURL string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "landfall-etcd-")
	if err != nil {
		panic(err)
	}
	e, err := state.StartEmbedded(dir, 0, 0)
	if err != nil {
		panic(err)
	}
	etcdURL = e.URL()
	code := m.Run()
	e.Close()
	os.RemoveAll(dir)
	os.Exit(code)
}

// env is one test's world: a Kafka topic, a warehouse directory, and a logid
// in the shared etcd.
type env struct {
	t       testing.TB
	cluster *kfake.Cluster
	topic   string
	dir     string
	logid   string
	etcd    *clientv3.Client
	prod    *kgo.Client
	// openFiles counts the files the pipelines created and have not
	// closed (a leak survives a crash that a restart in-process repeats).
	openFiles atomic.Int64

	mu       sync.Mutex
	produced map[string]loggen.Kind // id → what the generator made
	gen      *loggen.Generator
}

func newEnv(t testing.TB, partitions int32) *env {
	t.Helper()
	topic := "logs"
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(partitions, topic))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	cli, err := clientv3.New(clientv3.Config{Endpoints: []string{etcdURL}, DialTimeout: 5 * time.Second, Logger: zap.NewNop()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cli.Close() })
	prod, err := kgo.NewClient(kgo.SeedBrokers(c.ListenAddrs()...), kgo.RecordPartitioner(kgo.RoundRobinPartitioner()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(prod.Close)
	return &env{
		t: t, cluster: c, topic: topic, dir: t.TempDir(), etcd: cli, prod: prod,
		logid:    strings.NewReplacer("/", "_", " ", "_", "=", "_").Replace(t.Name()) + fmt.Sprint(time.Now().UnixNano()%1e6),
		produced: map[string]loggen.Kind{}, gen: loggen.New(uint64(len(t.Name()))),
	}
}

// uri is the warehouse's URI: dir is a local path, or a URI already (the
// benchmark's HDFS warehouse).
func (e *env) uri() string {
	if strings.Contains(e.dir, "://") {
		return e.dir
	}
	return "file://" + e.dir
}

func (e *env) fs() (fsys.FS, error) { return fsys.Open(e.uri()) }

func (e *env) config(mod func(*committer.Config)) committer.Config {
	cfg := committer.Config{
		LogID:      e.logid,
		Kafka:      committer.KafkaConfig{Brokers: e.cluster.ListenAddrs(), Topic: e.topic, FetchMaxBytes: 256 << 10},
		Etcd:       committer.EtcdConfig{Endpoints: []string{etcdURL}},
		Warehouse:  committer.WarehouseConfig{URI: e.uri()},
		EventTime:  committer.EventTimeConfig{Field: "ts", MaxFuture: 100 * 365 * 24 * time.Hour},
		Checkpoint: committer.CheckpointConfig{Interval: 50 * time.Millisecond},
		Watermark:  committer.WatermarkConfig{OutOfOrderness: time.Minute},
	}
	if mod != nil {
		mod(&cfg)
	}
	cfg.Defaults()
	if err := cfg.Validate(); err != nil {
		e.t.Fatal(err)
	}
	return cfg
}

// produce writes n generated records with event times from et, step apart,
// and waits until Kafka has them.
func (e *env) produce(n int, et time.Time, step time.Duration) time.Time {
	e.t.Helper()
	next, err := e.tryProduce(n, et, step)
	if err != nil {
		e.t.Fatal(err)
	}
	return next
}

// tryProduce is produce for background goroutines, which must not call
// t.Fatal. Records count as produced only once Kafka acknowledged them.
func (e *env) tryProduce(n int, et time.Time, step time.Duration) (time.Time, error) {
	var buf []byte
	ids := make([]string, 0, n)
	kinds := make([]loggen.Kind, 0, n)
	recs := make([]*kgo.Record, 0, n)
	e.mu.Lock()
	for i := 0; i < n; i++ {
		v, kind := e.gen.Next(buf[:0], et)
		ids = append(ids, fmt.Sprint(e.gen.Seq()))
		kinds = append(kinds, kind)
		recs = append(recs, &kgo.Record{Topic: e.topic, Value: append([]byte(nil), v...)})
		et = et.Add(step)
	}
	e.mu.Unlock()
	if err := e.prod.ProduceSync(context.Background(), recs...).FirstErr(); err != nil {
		return et, fmt.Errorf("produce: %w", err)
	}
	e.mu.Lock()
	for i, id := range ids {
		e.produced[id] = kinds[i]
	}
	e.mu.Unlock()
	return et, nil
}

// produceInBackground produces n generated records every 15 ms, event
// times from et and step apart, until the returned stop is called (or the
// test ends), so that faults happen with data in flight; stop returns the
// first produce error.
func (e *env) produceInBackground(n int, et time.Time, step time.Duration) (stop func() error) {
	done := make(chan struct{})
	var wg sync.WaitGroup
	var perr error
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-done:
				return
			case <-time.After(15 * time.Millisecond):
				if et, perr = e.tryProduce(n, et, step); perr != nil {
					return
				}
			}
		}
	}()
	var once sync.Once
	stop = func() error {
		once.Do(func() { close(done); wg.Wait() })
		return perr
	}
	e.t.Cleanup(func() { stop() })
	return stop
}

// produceRaw writes exact values.
func (e *env) produceRaw(values ...string) {
	e.t.Helper()
	recs := make([]*kgo.Record, len(values))
	for i, v := range values {
		recs[i] = &kgo.Record{Topic: e.topic, Value: []byte(v)}
	}
	if err := e.prod.ProduceSync(context.Background(), recs...).FirstErr(); err != nil {
		e.t.Fatal(err)
	}
}

// instance is one running pipeline, like one landfall process.
type instance struct {
	p      *committer.Pipeline
	fs     fsys.FS
	store  *state.Store
	cancel context.CancelFunc
	done   chan error
}

type opts struct {
	failpoint func(string) error
	now       func() time.Time
	format    writer.Format
	store     func(*state.Store) any
	reg       prometheus.Registerer
	// wrapFS, if set, is put around the warehouse the pipeline sees (faults,
	// fsys.WithDeadline).
	wrapFS func(fsys.FS) fsys.FS
	// leaseTTL is the ownership lease (default 2s, short for the crash
	// tests' takeovers); benchmarks on a loaded machine need longer.
	leaseTTL time.Duration
}

// start takes ownership and runs a pipeline in the background.
func (e *env) start(cfg committer.Config, o opts) *instance {
	e.t.Helper()
	return e.startWith(cfg, o, nil)
}

// startWith is start with the partition-commit steps given.
func (e *env) startWith(cfg committer.Config, o opts, steps []hive.Step) *instance {
	e.t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	ttl := o.leaseTTL
	if ttl == 0 {
		ttl = 2 * time.Second
	}
	st, err := state.Open(ctx, e.etcd, cfg.LogID, state.WithLeaseTTL(ttl))
	if err != nil {
		e.t.Fatal(err)
	}
	local, err := e.fs()
	if err != nil {
		e.t.Fatal(err)
	}
	var lfs fsys.FS = countingFS{local, &e.openFiles}
	if o.wrapFS != nil {
		lfs = o.wrapFS(lfs)
	}
	f := o.format
	if f == nil {
		f, _ = writer.NewText(cfg.Format.Compression)
	}
	po := committer.Options{FS: lfs, Store: st, Format: f, Failpoint: o.failpoint, Now: o.now, Steps: steps, Registerer: o.reg,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	if testing.Verbose() {
		po.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	}
	if o.store != nil {
		po.Store = o.store(st).(interface {
			Load(context.Context) (*state.Checkpoint, error)
			Save(context.Context, *state.Checkpoint) error
			Done() <-chan struct{}
			Fence(context.Context) error
			Epoch() int64
		})
	}
	p, err := committer.New(cfg, po)
	if err != nil {
		e.t.Fatal(err)
	}
	in := &instance{p: p, fs: local, store: st, cancel: cancel, done: make(chan error, 1)}
	go func() { in.done <- p.Run(ctx) }()
	return in
}

// stop stops gracefully and releases ownership.
func (in *instance) stop(t testing.TB) {
	t.Helper()
	in.cancel()
	select {
	case err := <-in.done:
		if err != nil {
			t.Fatalf("graceful stop: %v", err)
		}
	case <-time.After(60 * time.Second):
		t.Fatal("pipeline did not stop within 60s")
	}
	if err := in.store.Close(); err != nil {
		t.Fatal(err)
	}
	// An HDFS warehouse (the benchmark's) holds a NameNode connection.
	if c, ok := in.fs.(io.Closer); ok {
		if err := c.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

// crashed waits for a crash and abandons the instance as a dead process
// would leave it (its lease revoked so the successor needn't wait).
func (in *instance) crashed(t *testing.T, within time.Duration) error {
	t.Helper()
	select {
	case err := <-in.done:
		in.cancel()
		in.store.Abandon(true)
		return err
	case <-time.After(within):
		return nil
	}
}

// checkpoint reads the durable checkpoint.
func (e *env) checkpoint() *state.Checkpoint {
	e.t.Helper()
	cp, err := state.Peek(context.Background(), e.etcd, e.logid)
	if err != nil {
		e.t.Fatal(err)
	}
	return cp
}

// waitConsumed waits until the durable checkpoint has consumed everything
// produced so far.
func (e *env) waitConsumed(within time.Duration) {
	e.t.Helper()
	e.mu.Lock()
	want := int64(len(e.produced))
	e.mu.Unlock()
	deadline := time.Now().Add(within)
	for time.Now().Before(deadline) {
		if cp := e.checkpoint(); cp != nil {
			var got int64
			for _, o := range cp.Offsets {
				got += o
			}
			if got >= want {
				return
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	cp := e.checkpoint()
	if cp == nil {
		e.t.Fatalf("no durable checkpoint within %v", within)
		return
	}
	var got int64
	for _, o := range cp.Offsets {
		got += o
	}
	e.t.Fatalf("checkpoint did not reach %d consumed records within %v: checkpoint %d has %d, %d pending files, %d partitions", want, within, cp.Seq, got, len(cp.Pending), len(cp.Partitions))
}

// waitFor polls cond.
func waitFor(t *testing.T, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for time.Now().Before(deadline) {
		if cond() {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("timed out after %v waiting for %s", within, what)
}

// readTable reads every committed file back from the local warehouse.
func readTable(t *testing.T, root string) *committest.Table {
	t.Helper()
	lfs, err := fsys.NewLocal(root)
	if err != nil {
		t.Fatal(err)
	}
	tb, err := committest.Read(lfs, committest.Decoders)
	if err != nil {
		t.Fatal(err)
	}
	return tb
}

// checkExactlyOnce asserts that every produced record is in exactly one
// committed file, or in the invalid sink if it was malformed.
func (e *env) checkExactlyOnce(tb *committest.Table) {
	e.t.Helper()
	e.mu.Lock()
	defer e.mu.Unlock()
	produced, malformed := map[string]bool{}, map[string]bool{}
	for id, kind := range e.produced {
		produced[id] = true
		malformed[id] = kind == loggen.Malformed
	}
	if probs := tb.Check(produced, malformed); len(probs) > 0 {
		for _, p := range probs {
			e.t.Error(p)
		}
		e.t.FailNow()
	}
	e.t.Logf("%d records produced, all found exactly once in %d files (%d invalid)", len(e.produced), tb.Files, len(tb.Invalid))
}

// counter counts failpoint hits and crashes at the chosen one.
type counter struct {
	mu    sync.Mutex
	name  string
	at    int
	hits  map[string]int
	fired atomic.Bool
}

func crashAt(name string, at int) *counter {
	return &counter{name: name, at: at, hits: map[string]int{}}
}

func (c *counter) hook(name string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.hits[name]++
	if name == c.name && c.hits[name] == c.at && !c.fired.Load() {
		c.fired.Store(true)
		return fmt.Errorf("%w %s (hit %d)", committer.ErrCrash, name, c.at)
	}
	return nil
}

// countingFS counts the files created through it and not closed yet.
type countingFS struct {
	fsys.FS
	open *atomic.Int64
}

type countedFile struct {
	fsys.File
	open   *atomic.Int64
	closed atomic.Bool
}

func (c countingFS) Create(name string) (fsys.File, error) {
	f, err := c.FS.Create(name)
	if err != nil {
		return nil, err
	}
	c.open.Add(1)
	return &countedFile{File: f, open: c.open}, nil
}

func (f *countedFile) Close() error {
	if !f.closed.Swap(true) {
		f.open.Add(-1)
	}
	return f.File.Close()
}

// compact runs Compact as `landfall compact` does: owning the logid,
// with the given commit steps, no consumption.
func (e *env) compact(cfg committer.Config, partition string, steps []hive.Step, fp func(string) error) (committer.CompactResult, error) {
	e.t.Helper()
	st, err := state.Open(context.Background(), e.etcd, cfg.LogID, state.WithLeaseTTL(2*time.Second))
	if err != nil {
		e.t.Fatal(err)
	}
	defer st.Close()
	local, err := e.fs()
	if err != nil {
		e.t.Fatal(err)
	}
	f, _ := writer.NewText(cfg.Format.Compression)
	p, err := committer.New(cfg, committer.Options{FS: local, Store: st, Format: f, Steps: steps, Failpoint: fp,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		e.t.Fatal(err)
	}
	return p.Compact(context.Background(), partition)
}
