package committer

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"path"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/landfall/landfall/committer/jsonscan"
	"github.com/landfall/landfall/hive"
	"github.com/landfall/landfall/index"
	"github.com/landfall/landfall/state"
	"github.com/landfall/landfall/writer"
	"github.com/landfall/landfall/writer/fsys"
	"github.com/landfall/landfall/writer/orc"
)

// stateStore is the etcd state of the logid, held by this process; an
// interface so that tests can put a store in front that fails on demand.
type stateStore interface {
	Load(ctx context.Context) (*state.Checkpoint, error)
	Save(ctx context.Context, cp *state.Checkpoint) error
	Done() <-chan struct{}
	// Fence guards every change to the warehouse: nil only while this
	// process provably owns the logid (state.Store.Fence).
	Fence(ctx context.Context) error
	// Epoch names this ownership; staging files live under it.
	Epoch() int64
}

// Options are the parts a Pipeline runs with. FS, Store and Format are
// required.
type Options struct {
	FS     fsys.FS
	Store  stateStore
	Format writer.Format
	// Steps run for every partition commit, in order; nil means the steps
	// named in commit.steps that the committer itself provides
	// (success-file).
	Steps []hive.Step
	// KafkaOpts are added to the franz-go client options (TLS, SASL, tests).
	KafkaOpts  []kgo.Opt
	Registerer prometheus.Registerer
	Logger     *slog.Logger
	// Now is the processing-time clock that drives the watermark during a
	// stream break and bounds future event times (default time.Now). The
	// checkpoint timer always runs on real time.
	Now func() time.Time
	// Failpoint, if set, is called at every named point (FP…); an error
	// crashes the pipeline there.
	Failpoint func(name string) error
}

// Pipeline lands one logid. Create it with New and call Run once.
type Pipeline struct {
	cfg     Config
	fs      fsys.FS
	store   stateStore
	format  writer.Format
	invalid writer.Format
	steps   []hive.Step
	log     *slog.Logger
	now     func() time.Time
	fp      func(string) error
	kopts   []kgo.Opt
	pattern *Pattern
	m       *metrics
	token   string
	epoch   int64
	idx     *index.Log
	// eventKey finds a record's event-time field: see eventKeyScanner.
	eventKey func(rec []byte) (val []byte, kind jsonscan.Kind, escaped bool, err error)

	// Owned by the consume loop; the shards run inside it, on their own
	// state, and read the rest.
	shards    []*shard
	cp        *state.Checkpoint
	bounds    map[int64]bound
	lastSeen  map[int32]int // checkpoint number when a partition last had a record
	ckptNo    int
	interval  int64 // records in the current checkpoint interval
	minEvent  int64 // smallest event time seen before the commit cursor exists
	fileSeq   atomic.Int64
	lateDirty map[string]bool // committed partitions that received late files

	// Shared with the finalizer and commit runner, under mu.
	mu       sync.Mutex
	pending  map[string]state.PendingFile // by staging name
	perPart  map[string]int               // pending files per partition
	unclosed map[*writer.Part]struct{}    // created and not closed yet
	queue    []*queued
	idxQueue []*indexItem // index entries promised, not yet published, in order
	// Merges written and waiting for their checkpoint, and those promised
	// and not finished yet, by merged name.
	mergeReady []*mergeJob
	// queueCopies counts the checkpoints that copied the commit queue;
	// durableCopies is the count of the last durable one.
	queueCopies   uint64
	durableCopies atomic.Uint64
	lastListed    int // renames, merges, index entries and commits the last durable checkpoint left to do
	merging       map[string]*mergeJob
	merged        []state.Merge  // finished since the last checkpoint
	live          *index.Tracker // the index's live set, for planning merges
	mergeWG       sync.WaitGroup
	idxWake       chan struct{}
	wake          chan struct{}
	fatal         chan error
	hwm           map[int32]int64 // high watermarks and consumed offsets, for lag
	consumed      map[int32]int64
	// commits counts partitions committed for the first time, updates
	// their re-commits (late data appended): a progress display that
	// added them up would count more partitions than exist.
	commits, updates atomic.Int64

	progress progress
	// ends lists what each Kafka partition holds, for stream-break and
	// idleness detection; a partition missing from its answer is unknown.
	ends func(context.Context) (map[int32]offsetRange, error)

	// Kafka, set up by connect and used by the consume loop only.
	cl           *kgo.Client
	adm          *kadm.Client
	parts        map[int32]bool // the topic's partitions being consumed
	nextDiscover time.Time      // earliest next look for new partitions
}

type openPart struct {
	dir     string // partition path, or a sink area
	start   int64  // Unix ms; 0 for sinks
	end     int64
	part    *writer.Part
	offsets map[int32]*[2]int64 // [first, last] offset per Kafka partition
	cur     *[2]int64           // the range last tracked, for the hot path
	curPart int32
	// evMin and evMax bound the event times appended (for the index).
	evMin, evMax int64
	evSet        bool
	sink         bool
	late         bool
}

type bound struct {
	path       string
	start, end int64
}

type queued struct {
	c    state.Commit
	next time.Time // earliest next attempt
	// permanent: the last attempt failed in a way only an operator fixes.
	permanent bool
}

// New checks the options and prepares a pipeline.
func New(cfg Config, o Options) (*Pipeline, error) {
	if o.FS == nil || o.Store == nil || o.Format == nil {
		return nil, errors.New("committer: FS, Store and Format are required")
	}
	loc, err := time.LoadLocation(cfg.EventTime.Timezone)
	if err != nil {
		return nil, fmt.Errorf("event_time.timezone: %w", err)
	}
	pat, err := ParsePattern(cfg.Partition.Pattern, loc)
	if err != nil {
		return nil, fmt.Errorf("partition.pattern: %w", err)
	}
	// The invalid-record sink's files share the format's budget, so that
	// format.memory_budget bounds the process.
	var invOpts []writer.TextOption
	if b, ok := o.Format.(writer.Budgeted); ok {
		invOpts = append(invOpts, writer.WithBudget(b.Budget()))
	}
	inv, _ := writer.NewText("none", invOpts...)
	p := &Pipeline{
		cfg: cfg, fs: fenced{o.FS, o.Store.Fence}, store: o.Store, epoch: o.Store.Epoch(), format: o.Format, invalid: inv,
		steps: o.Steps, log: o.Logger, now: o.Now, fp: o.Failpoint, kopts: o.KafkaOpts,
		pattern: pat, token: randomToken(),
		unclosed: map[*writer.Part]struct{}{}, bounds: map[int64]bound{}, lastSeen: map[int32]int{},
		lateDirty: map[string]bool{}, pending: map[string]state.PendingFile{}, perPart: map[string]int{},
		wake: make(chan struct{}, 1), idxWake: make(chan struct{}, 1), merging: map[string]*mergeJob{}, fatal: make(chan error, 8), hwm: map[int32]int64{}, consumed: map[int32]int64{},
		minEvent: math.MaxInt64,
		eventKey: eventKeyScanner(cfg),
	}
	for range max(cfg.Parallelism, 1) {
		s := &shard{p: p, open: map[string]*openPart{}, bounds: map[int64]bound{}, minEvent: math.MaxInt64}
		if f, ok := o.Format.(*orc.Format); ok && cfg.Format.Name == "orc" {
			s.scanner = f.NewScanner(cfg.EventTime.Field)
		}
		p.shards = append(p.shards, s)
	}
	if p.log == nil {
		p.log = slog.Default()
	}
	p.log = p.log.With("logid", cfg.LogID)
	if p.now == nil {
		p.now = time.Now
	}
	if p.fp == nil {
		p.fp = func(string) error { return nil }
	}
	if p.steps == nil {
		for _, s := range cfg.Commit.Steps {
			if s != hive.StepSuccessFile {
				return nil, fmt.Errorf("commit.steps: step %q needs Options.Steps (the hive integration)", s)
			}
			p.steps = append(p.steps, SuccessFile{FS: p.fs})
		}
	}
	reg := o.Registerer
	if reg == nil {
		reg = prometheus.NewRegistry()
	}
	if p.m, err = newMetrics(reg); err != nil {
		return nil, err
	}
	if err := registerBufferMetrics(reg, o.Format); err != nil {
		return nil, err
	}
	p.idx = index.NewLog(p.fs, cfg.LogID, index.WithEpoch(p.epoch), index.WithRegisterer(reg), index.WithLogger(p.log),
		index.WithRetention(cfg.Index.Retention))
	if err := reg.Register(newStateCollector(p)); err != nil {
		return nil, err
	}
	return p, nil
}

func randomToken() string {
	var b [4]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// stagingRoot holds the part files being written, invisible to Hive: one
// directory per ownership epoch under one per logid, so that recovery finds
// every orphan with one listing and sweeps only what older owners left —
// never the files of a newer owner that took over while this process was
// paused.
func (p *Pipeline) stagingRoot() string { return path.Join(".landfall", p.cfg.LogID, "staging") }

// staging is this owner's own staging directory.
func (p *Pipeline) staging() string { return path.Join(p.stagingRoot(), epochDir(p.epoch)) }

func epochDir(epoch int64) string { return fmt.Sprintf("%020d", epoch) }

// Run consumes until ctx is cancelled (then it checkpoints, finalizes and
// returns nil) or until something fatal happens (then it stops dead and
// returns the error; the next Run recovers). Run is called once.
func (p *Pipeline) Run(ctx context.Context) (err error) {
	if err := p.load(ctx); err != nil {
		return err
	}

	cl, err := p.connect(ctx)
	if err != nil {
		return err
	}
	defer cl.Close()
	p.progress.consuming.Store(true)
	p.ends = endOffsets(kadm.NewClient(cl), p.cfg.Kafka.Topic)

	// The finalizer and commit runner get their own context: a graceful
	// stop must let them drain after the last checkpoint, a crash must not.
	bg, stopBG := context.WithCancel(context.WithoutCancel(ctx))
	var wg sync.WaitGroup
	fin := make(chan finalizeJob, 1024)
	for i := 0; i < 4; i++ {
		wg.Add(1)
		go func() { defer wg.Done(); p.finalizer(bg, fin) }()
	}
	wg.Add(2)
	go func() { defer wg.Done(); p.commitRunner(bg) }()
	go func() { defer wg.Done(); p.indexPublisher(bg) }()
	// inflight is the checkpoint whose files are rolling while the loop
	// consumes on; at most one at a time.
	var inflight *cut
	crashed := true
	defer func() {
		if crashed {
			if inflight != nil {
				// Its files must be left alone before they are abandoned.
				inflight.wait()
			}
			stopBG()
			close(fin)
			wg.Wait()
			p.mergeWG.Wait()
			p.abandon()
			return
		}
	}()

	next := time.Now().Add(p.cfg.Checkpoint.Interval)
	for {
		select {
		case err := <-p.fatal:
			return err
		case <-p.store.Done():
			return fmt.Errorf("lost ownership: %w", state.ErrNotOwner)
		default:
		}
		if ctx.Err() != nil {
			break
		}
		// A checkpoint is never cut short by a stop request: it either
		// completes or fails on its own timeout.
		if inflight != nil && inflight.rollDone() {
			ckCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), checkpointTimeout)
			err := p.finish(ckCtx, fin, inflight)
			cancel()
			if err != nil {
				return err
			}
			p.noteStall(inflight.stall)
			inflight = nil
			next = time.Now().Add(p.cfg.Checkpoint.Interval)
			continue
		}
		if inflight == nil && !time.Now().Before(next) {
			ckCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), checkpointTimeout)
			c, err := p.cut(ckCtx)
			cancel()
			if err != nil {
				return err
			}
			inflight = c
			continue
		}
		deadline := next
		if inflight != nil {
			// The next checkpoint waits for this one; the roll's end
			// ends the poll.
			deadline = time.Now().Add(p.cfg.Checkpoint.Interval)
		}
		pollCtx, cancel := context.WithDeadline(ctx, deadline)
		stop := func() bool { return false }
		if inflight != nil {
			stop = context.AfterFunc(inflight.rolled, cancel)
		}
		fetches := cl.PollRecords(pollCtx, 50000)
		stop()
		cancel()
		if err := p.consume(fetches); err != nil {
			return err
		}
	}

	// Graceful stop: the checkpoint under way, one last one, then let the
	// finalizer drain and give ready commits a moment.
	stopCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), checkpointTimeout)
	defer cancel()
	if inflight != nil {
		if err := p.finish(stopCtx, fin, inflight); err != nil {
			return err
		}
		inflight = nil
	}
	if err := p.checkpoint(stopCtx, fin); err != nil {
		return err
	}
	crashed = false
	close(fin)
	p.waitFinalized(stopCtx)
	p.waitIndexed(stopCtx)
	p.mergeWG.Wait()
	p.signal()
	p.waitCommits(stopCtx, 5*time.Second)
	stopBG()
	wg.Wait()
	settleCtx, cancelSettle := context.WithTimeout(context.WithoutCancel(ctx), checkpointTimeout)
	p.settle(settleCtx)
	cancelSettle()
	// Files whose close outlasted the stop's deadline.
	p.abandon()
	select {
	case err := <-p.fatal:
		return err
	default:
	}
	p.log.Info("stopped", "checkpoint", p.cp.Seq)
	return nil
}

// noteStall records time the consume loop spent not consuming for a
// checkpoint.
func (p *Pipeline) noteStall(d time.Duration) {
	p.m.checkpointStall.Observe(d.Seconds())
	p.progress.addStall(d)
}

// load reads the durable checkpoint and recovers from it, as Run and
// Compact do before anything else.
func (p *Pipeline) load(ctx context.Context) error {
	cp, err := p.store.Load(ctx)
	if err != nil {
		return fmt.Errorf("load checkpoint: %w", err)
	}
	if cp == nil {
		cp = &state.Checkpoint{}
	}
	if cp.Offsets == nil {
		cp.Offsets = map[int32]int64{}
	}
	if cp.MaxEventTime == nil {
		cp.MaxEventTime = map[int32]int64{}
	}
	if cp.Partitions == nil {
		cp.Partitions = map[string]*state.Partition{}
	}
	p.cp = cp
	// Before recovery renames or writes anything: a table in another
	// format must stay as it is.
	if err := p.checkTableFormatPatiently(ctx); err != nil {
		return err
	}
	p.log.Info("recovering", "checkpoint", cp.Seq, "pending_files", len(cp.Pending), "queued_commits", len(cp.Commits))
	if err := p.recover(ctx); err != nil {
		if errors.Is(err, ErrLostFile) || errors.Is(err, index.ErrNotWritten) {
			// Most often the configuration, not the warehouse: the state
			// was written against another one.
			return fmt.Errorf("%w; if warehouse.uri (%s) changed, point it back at the warehouse logid %s wrote to, or start a new logid", err, p.cfg.Warehouse.URI, p.cfg.LogID)
		}
		return err
	}
	// Progress reads the queue from other goroutines.
	p.mu.Lock()
	for _, c := range cp.Commits {
		p.queue = append(p.queue, &queued{c: c})
	}
	p.mu.Unlock()
	return nil
}

// connect finds the topic's partitions and starts consuming each at the
// checkpoint's offset. A partition without one starts at its beginning,
// except on the first start with kafka.start_offset: latest, where "latest"
// is resolved here, once, and kept in the checkpoint: a partition that has
// no record yet must not be skipped to its end again at every restart, and
// one created after the first start has no "latest" to skip to.
func (p *Pipeline) connect(ctx context.Context) (*kgo.Client, error) {
	base := append([]kgo.Opt{
		kgo.SeedBrokers(p.cfg.Kafka.Brokers...),
		kgo.ClientID(p.cfg.Kafka.ClientID),
	}, p.kopts...)
	admin, err := kgo.NewClient(base...)
	if err != nil {
		return nil, fmt.Errorf("kafka client: %w", err)
	}
	defer admin.Close()
	adm := kadm.NewClient(admin)
	topic := p.cfg.Kafka.Topic
	var parts []int32
	for attempt := 0; ; attempt++ {
		md, err := adm.Metadata(ctx, topic)
		if err == nil {
			td, ok := md.Topics[topic]
			switch {
			case !ok:
				err = fmt.Errorf("topic missing from metadata")
			case td.Err != nil:
				err = td.Err
			default:
				parts = td.Partitions.Numbers()
			}
		}
		if err == nil && len(parts) > 0 && p.cp.Seq == 0 && p.cfg.Kafka.StartOffset == "latest" {
			err = p.resolveLatest(ctx, adm, parts)
		}
		if err == nil && len(parts) > 0 {
			break
		}
		if ctx.Err() != nil {
			// A stop while starting: the caller tells it from a failure.
			return nil, fmt.Errorf("kafka: describe topic %s: %w", topic, ctx.Err())
		}
		if attempt >= 30 {
			return nil, fmt.Errorf("kafka: describe topic %s: %v", topic, err)
		}
		p.log.Warn("kafka metadata not ready, retrying", "topic", topic, "err", err)
		select {
		case <-ctx.Done():
		case <-time.After(time.Second):
		}
	}

	offsets := map[int32]kgo.Offset{}
	p.parts = map[int32]bool{}
	for _, part := range parts {
		p.parts[part] = true
		if off, ok := p.cp.Offsets[part]; ok {
			offsets[part] = kgo.NewOffset().At(off)
		} else {
			offsets[part] = kgo.NewOffset().AtStart()
		}
	}
	opts := append(base,
		kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{topic: offsets}),
		kgo.FetchMaxBytes(p.cfg.Kafka.FetchMaxBytes),
		// franz-go's 1 MiB a partition would cap a backlog of few
		// partitions at a few MiB a round trip, far below what one
		// response may hold.
		kgo.FetchMaxPartitionBytes(p.cfg.Kafka.FetchMaxBytes),
		kgo.FetchMaxWait(500*time.Millisecond),
		// Records of aborted transactions must never land, and records of
		// open ones not yet; the markers that end transactions are kept so
		// that the stored offset moves past them (see consume).
		kgo.FetchIsolationLevel(kgo.ReadCommitted()),
		kgo.KeepControlRecords(),
		// An offset that is out of range reaches consume as a fetch error
		// instead of franz-go's silent reset, so that kafka.out_of_range
		// decides and the loss is logged and counted.
		kgo.ConsumeResetOffset(kgo.NoResetOffset()),
	)
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return nil, fmt.Errorf("kafka consumer: %w", err)
	}
	p.cl, p.adm = cl, kadm.NewClient(cl)
	p.nextDiscover = time.Now().Add(p.cfg.Kafka.PartitionDiscoveryInterval)
	p.log.Info("consuming", "topic", topic, "partitions", len(parts))
	return cl, nil
}

// resolveLatest puts the end of every partition without a stored offset
// into the checkpoint's offsets. It runs on the first start only (no
// durable checkpoint yet; a crash before the first one resolves again).
func (p *Pipeline) resolveLatest(ctx context.Context, adm *kadm.Client, parts []int32) error {
	topic := p.cfg.Kafka.Topic
	ends, err := adm.ListCommittedOffsets(ctx, topic)
	if err != nil {
		return fmt.Errorf("list end offsets for start_offset latest: %w", err)
	}
	resolved := map[int32]int64{}
	for _, part := range parts {
		if _, ok := p.cp.Offsets[part]; ok {
			continue
		}
		o, ok := ends.Lookup(topic, part)
		if !ok || o.Err != nil {
			return fmt.Errorf("list end offset of partition %d for start_offset latest: %v", part, o.Err)
		}
		resolved[part] = o.Offset
	}
	for part, off := range resolved {
		p.cp.Offsets[part] = off
		p.log.Info("start_offset latest resolved", "topic", topic, "partition", part, "offset", off)
	}
	return nil
}

// offsetRange is what a Kafka partition holds at one moment: its log start
// offset and its last stable offset, the end of what a read_committed
// consumer can read (the high watermark when no transaction is open).
type offsetRange struct{ start, end int64 }

// endOffsets lists every partition of the topic. Partitions whose listing
// failed are left out of the answer, and the error says why; the answer for
// the others is still good.
func endOffsets(adm *kadm.Client, topic string) func(context.Context) (map[int32]offsetRange, error) {
	return func(ctx context.Context) (map[int32]offsetRange, error) {
		starts, serr := adm.ListStartOffsets(ctx, topic)
		ends, eerr := adm.ListCommittedOffsets(ctx, topic)
		errs := []error{serr, eerr}
		out := map[int32]offsetRange{}
		ends.Each(func(o kadm.ListedOffset) {
			s, ok := starts.Lookup(topic, o.Partition)
			switch {
			case o.Err != nil:
				errs = append(errs, fmt.Errorf("partition %d: list end offset: %w", o.Partition, o.Err))
			case !ok:
			case s.Err != nil:
				errs = append(errs, fmt.Errorf("partition %d: list start offset: %w", o.Partition, s.Err))
			default:
				out[o.Partition] = offsetRange{start: s.Offset, end: o.Offset}
			}
		})
		if err := errors.Join(errs...); err != nil {
			return out, fmt.Errorf("list offsets of %s: %w", topic, err)
		}
		return out, nil
	}
}

// abandon closes the files a run left open (being written, or rolled and
// not closed yet), each in the background since a close on a broken HDFS
// may hang: a process that restarts the pipeline in-process must not leak
// their handles and buffers (Part.Close gives the buffers back first). On
// HDFS the caller closes the client soon after, and such a close may then
// fail; what the file holds is what a crash leaves, and the next run's
// recovery deletes or publishes it by the checkpoint.
func (p *Pipeline) abandon() {
	p.mu.Lock()
	for part := range p.unclosed {
		go part.Close()
	}
	clear(p.unclosed)
	p.mu.Unlock()
}

// consume routes one poll's records to part files.
func (p *Pipeline) consume(fetches kgo.Fetches) error {
	var ferr error
	var outOfRange []int32
	fetches.EachError(func(t string, part int32, err error) {
		if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
			return
		}
		if t == p.cfg.Kafka.Topic && errors.Is(err, kerr.OffsetOutOfRange) {
			outOfRange = append(outOfRange, part)
			return
		}
		p.log.Warn("kafka fetch error", "topic", t, "partition", part, "err", err)
	})
	nowMs := p.now().UnixMilli()
	maxEvent := nowMs + p.cfg.EventTime.MaxFuture.Milliseconds()
	for _, sh := range p.shards {
		clear(sh.batches) // the last poll's records go
		sh.batches = sh.batches[:0]
	}
	fetches.EachPartition(func(ftp kgo.FetchTopicPartition) {
		if len(ftp.Records) == 0 && ftp.HighWatermark == 0 {
			return
		}
		// A Kafka partition always goes to the same shard: its records
		// stay in offset order, in one shard's files.
		sh := p.shards[ShardOf(ftp.Partition, len(p.shards))]
		sh.batches = append(sh.batches, batch{ftp: ftp})
	})
	if len(p.shards) == 1 {
		p.shards[0].run(maxEvent)
	} else {
		var wg sync.WaitGroup
		for _, sh := range p.shards {
			if len(sh.batches) == 0 {
				continue
			}
			wg.Add(1)
			go func() { defer wg.Done(); sh.run(maxEvent) }()
		}
		wg.Wait()
	}
	var n, bytes int64
	for _, sh := range p.shards {
		n += sh.n
		bytes += sh.bytes
		if ferr == nil {
			ferr = sh.err
		}
		p.minEvent = min(p.minEvent, sh.minEvent)
		for i := range sh.batches {
			b := &sh.batches[i]
			part := b.ftp.Partition
			if b.ps.next > 0 {
				p.cp.Offsets[part] = b.ps.next
			}
			if b.ps.valid {
				// A poll may hold two batches of a partition, both started
				// from the stored maximum.
				if cur, ok := p.cp.MaxEventTime[part]; !ok || b.ps.maxEvent > cur {
					p.cp.MaxEventTime[part] = b.ps.maxEvent
				}
				p.lastSeen[part] = p.ckptNo
			}
			p.mu.Lock()
			p.hwm[part] = b.ftp.HighWatermark
			p.consumed[part] = p.cp.Offsets[part]
			p.mu.Unlock()
		}
	}
	p.interval += n
	p.m.records.Add(float64(n))
	p.m.bytes.Add(float64(bytes))
	p.progress.records.Add(n)
	if ferr != nil {
		return ferr
	}
	for _, part := range outOfRange {
		if err := p.outOfRange(part); err != nil {
			return err
		}
	}
	return nil
}

// ShardOf is the shard, of parallelism, that handles a Kafka partition's
// records (`landfall status` shows it).
func ShardOf(partition int32, parallelism int) int { return int(partition) % parallelism }

// A shard handles the records of the Kafka partitions given to it (a
// partition always to the same shard), with its own open files, scanner
// and caches, so that shards decode and encode in parallel
// (parallelism). During a consume call it reads the checkpoint and writes
// only its own state; the consume loop folds the results in afterwards.
type shard struct {
	p       *Pipeline
	open    map[string]*openPart
	last    *openPart
	bounds  map[int64]bound
	scanner *orc.Scanner // for ORC: see handle
	// minEvent is the smallest event time seen before the commit cursor
	// exists.
	minEvent int64

	// One consume call's work and outcome.
	batches  []batch
	n, bytes int64
	err      error
}

// batch is one Kafka partition's records in a fetch, and what they did to
// the partition's bookkeeping.
type batch struct {
	ftp kgo.FetchTopicPartition
	ps  partState
}

// run handles the shard's batches.
func (s *shard) run(maxEvent int64) {
	p := s.p
	s.n, s.bytes, s.err = 0, 0, nil
	for i := range s.batches {
		b := &s.batches[i]
		// Per-partition state is read once per batch and written back
		// once: a batch holds one Kafka partition's records in offset
		// order.
		part := b.ftp.Partition
		next, known := p.cp.Offsets[part]
		b.ps = partState{maxEvent: p.cp.MaxEventTime[part]}
		for _, r := range b.ftp.Records {
			if s.err != nil {
				return
			}
			if known && r.Offset < next {
				continue // already in a durable checkpoint
			}
			if r.Attrs.IsControl() {
				// A transaction's commit or abort marker holds no data but
				// takes an offset: without moving past it the stored offset
				// stays below the partition's end, and a stream break
				// never comes.
				b.ps.next = r.Offset + 1
				continue
			}
			s.n++
			s.bytes += int64(len(r.Value))
			b.ps.next = r.Offset + 1
			s.err = s.handle(r, maxEvent, &b.ps)
		}
	}
}

// partState is a Kafka partition's bookkeeping during one fetch batch.
type partState struct {
	next     int64 // next offset to consume
	maxEvent int64
	valid    bool // a record with an event time was seen
}

// handle routes one record; its offset is consumed whatever happens to it.
func (s *shard) handle(r *kgo.Record, maxEvent int64, ps *partState) error {
	p := s.p
	var (
		row     writer.Row
		val     []byte
		kind    jsonscan.Kind
		escaped bool
	)
	if s.scanner != nil {
		if sr, field, ok := s.scanner.Scan(r.Value); ok {
			row = sr
			val, kind, escaped = fieldValue(field)
		}
	}
	if row == nil {
		// Not a record the one pass takes: the event time, and the
		// reason the record is invalid if it is, as the two passes had
		// them.
		var err error
		val, kind, escaped, err = p.eventKey(r.Value)
		if err != nil {
			return s.reject(r, "not JSON: "+truncate(err.Error(), 120))
		}
		if s.scanner != nil {
			row = s.scanner.Convert(r.Value)
		}
	}
	ms, reason := eventMillis(val, kind, escaped, p.cfg.EventTime.Format)
	if reason != "" {
		return s.reject(r, reason)
	}
	if ms > maxEvent {
		return s.reject(r, "event time too far in the future")
	}
	if ms > ps.maxEvent {
		ps.maxEvent = ms
	}
	ps.valid = true
	if !p.cp.CursorSet && ms < s.minEvent {
		s.minEvent = ms
	}
	op := s.last
	if op == nil || ms < op.start || ms >= op.end {
		var err error
		if op, err = s.route(ms); err != nil {
			return err
		}
	}
	var err error
	if row != nil {
		err = op.part.AppendRow(row)
	} else {
		err = op.part.Append(r.Value)
	}
	if err != nil {
		if errors.Is(err, writer.ErrInvalidRecord) {
			var re *writer.RecordError
			if errors.As(err, &re) {
				return s.reject(r, re.Reason)
			}
			return s.reject(r, err.Error())
		}
		return err
	}
	op.track(r.Partition, r.Offset)
	switch {
	case !op.evSet:
		op.evMin, op.evMax, op.evSet = ms, ms, true
	case ms < op.evMin:
		op.evMin = ms
	case ms > op.evMax:
		op.evMax = ms
	}
	if op.late {
		p.m.late.Inc()
	}
	return nil
}

// fieldValue classifies the raw JSON text of a member's value as
// jsonscan.Scan returns it.
func fieldValue(raw []byte) (val []byte, kind jsonscan.Kind, escaped bool) {
	switch {
	case len(raw) == 0:
		return nil, jsonscan.Missing, false
	case raw[0] == '"':
		val = raw[1 : len(raw)-1]
		return val, jsonscan.String, bytes.IndexByte(val, '\\') >= 0
	case raw[0] == '-' || raw[0]-'0' < 10:
		return raw, jsonscan.Number, false
	}
	return raw, jsonscan.Other, false
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

func (op *openPart) track(part int32, off int64) {
	if op.cur != nil && op.curPart == part {
		// Offsets of one Kafka partition only grow.
		op.cur[1] = off
		return
	}
	if op.offsets == nil {
		op.offsets = map[int32]*[2]int64{}
	}
	r := op.offsets[part]
	if r == nil {
		r = &[2]int64{off, off}
		op.offsets[part] = r
	}
	r[0], r[1] = min(r[0], off), max(r[1], off)
	op.cur, op.curPart = r, part
}

// boundOf returns the partition holding the event time ms, cached per
// 15-minute bucket (partition bounds fall on such buckets).
func (p *Pipeline) boundOf(ms int64) bound { return p.boundIn(p.bounds, ms) }

// boundIn is boundOf with the cache given: each shard has its own.
func (p *Pipeline) boundIn(cache map[int64]bound, ms int64) bound {
	k := ms / step.Milliseconds()
	if ms < 0 {
		k--
	}
	if b, ok := cache[k]; ok {
		return b
	}
	path, s, e := p.pattern.Bounds(time.UnixMilli(ms))
	b := bound{path: path, start: s.UnixMilli(), end: e.UnixMilli()}
	if len(cache) > 100000 {
		clear(cache)
	}
	cache[k] = b
	return b
}

// route finds (or opens) the part file for an event time, applying the late
// policy to partitions that are already committed.
func (s *shard) route(ms int64) (*openPart, error) {
	p := s.p
	b := p.boundIn(s.bounds, ms)
	dir := b.path
	late := p.cp.CursorSet && b.start < p.cp.CommitCursor
	if late && p.cfg.Late.Policy == "sink" {
		dir = path.Join("_late", b.path)
	}
	op := s.open[dir]
	if op == nil {
		part, err := p.newPart(p.format)
		if err != nil {
			return nil, err
		}
		op = &openPart{dir: dir, start: b.start, end: b.end, part: part, sink: dir != b.path, late: late}
		s.open[dir] = op
		p.m.openFiles.Inc()
	}
	if !late {
		s.last = op
	}
	return op, nil
}

func (p *Pipeline) newPart(f writer.Format) (*writer.Part, error) {
	name := path.Join(p.staging(), fmt.Sprintf("%s-%06d%s", p.token, p.fileSeq.Add(1), f.Ext()))
	part, err := writer.Create(p.fs, f, name)
	if err != nil {
		return nil, err
	}
	p.mu.Lock()
	p.unclosed[part] = struct{}{}
	p.mu.Unlock()
	return part, nil
}

// reject sends a record to the invalid-record sink: a hidden _invalid/ area
// of the table, committed exactly once like data, one JSON line per record
// with its coordinates, the reason and the raw bytes.
func (s *shard) reject(r *kgo.Record, reason string) error {
	p := s.p
	op := s.open[invalidDir]
	if op == nil {
		part, err := p.newPart(p.invalid)
		if err != nil {
			return err
		}
		op = &openPart{dir: invalidDir, part: part, sink: true}
		s.open[invalidDir] = op
		p.m.openFiles.Inc()
	}
	if err := op.part.Append(invalidLine(r, reason, p.now())); err != nil {
		return fmt.Errorf("write invalid record: %w", err)
	}
	op.track(r.Partition, r.Offset)
	p.m.invalid.WithLabelValues(reasonLabel(reason)).Inc()
	p.progress.invalid.Add(1)
	return nil
}

const invalidDir = "_invalid"

// checkpointTimeout bounds one checkpoint's syncs and state write; past it
// the process stops and recovery takes over.
const checkpointTimeout = 2 * time.Minute
