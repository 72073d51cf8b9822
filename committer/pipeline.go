package committer

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"path"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/landfall/landfall/committer/jsonscan"
	"github.com/landfall/landfall/hive"
	"github.com/landfall/landfall/state"
	"github.com/landfall/landfall/writer"
	"github.com/landfall/landfall/writer/fsys"
)

// stateStore is the etcd state of the logid, held by this process; an
// interface so that tests can put a store in front that fails on demand.
type stateStore interface {
	Load(ctx context.Context) (*state.Checkpoint, error)
	Save(ctx context.Context, cp *state.Checkpoint) error
	Done() <-chan struct{}
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
	// eventKey finds a record's event-time field: see eventKeyScanner.
	eventKey func(rec []byte) (val []byte, kind jsonscan.Kind, escaped bool, err error)

	// Owned by the consume loop.
	cp        *state.Checkpoint
	open      map[string]*openPart
	last      *openPart
	bounds    map[int64]bound
	lastSeen  map[int32]int // checkpoint number when a partition last had a record
	ckptNo    int
	interval  int64 // records in the current checkpoint interval
	minEvent  int64 // smallest event time seen before the commit cursor exists
	fileSeq   int
	lateDirty map[string]bool // committed partitions that received late files

	// Shared with the finalizer and commit runner, under mu.
	mu       sync.Mutex
	pending  map[string]state.PendingFile // by staging name
	perPart  map[string]int               // pending files per partition
	unclosed map[*writer.Part]struct{}    // created and not closed yet
	queue    []*queued
	wake     chan struct{}
	fatal    chan error
	hwm      map[int32]int64 // high watermarks and consumed offsets, for lag
	consumed map[int32]int64

	progress progress
	// ends lists [start, end) offsets per Kafka partition, for stream-break
	// detection.
	ends func(context.Context) (map[int32][2]int64, error)
}

type openPart struct {
	dir     string // partition path, or a sink area
	start   int64  // Unix ms; 0 for sinks
	end     int64
	part    *writer.Part
	offsets map[int32]*[2]int64 // [first, last] offset per Kafka partition
	cur     *[2]int64           // the range last tracked, for the hot path
	curPart int32
	sink    bool
	late    bool
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
	inv, _ := writer.NewText("none")
	p := &Pipeline{
		cfg: cfg, fs: o.FS, store: o.Store, format: o.Format, invalid: inv,
		steps: o.Steps, log: o.Logger, now: o.Now, fp: o.Failpoint, kopts: o.KafkaOpts,
		pattern: pat, token: randomToken(),
		open: map[string]*openPart{}, unclosed: map[*writer.Part]struct{}{}, bounds: map[int64]bound{}, lastSeen: map[int32]int{},
		lateDirty: map[string]bool{}, pending: map[string]state.PendingFile{}, perPart: map[string]int{},
		wake: make(chan struct{}, 1), fatal: make(chan error, 8), hwm: map[int32]int64{}, consumed: map[int32]int64{},
		minEvent: math.MaxInt64,
		eventKey: eventKeyScanner(cfg),
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
			p.steps = append(p.steps, SuccessFile{FS: o.FS})
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
	return p, nil
}

func randomToken() string {
	var b [4]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// staging is where part files are written before they are committed: one
// hidden directory per logid, so that recovery finds every orphan with one
// listing and Hive never sees an in-progress file.
func (p *Pipeline) staging() string { return path.Join(".landfall", p.cfg.LogID, "staging") }

// Run consumes until ctx is cancelled (then it checkpoints, finalizes and
// returns nil) or until something fatal happens (then it stops dead and
// returns the error; the next Run recovers). Run is called once.
func (p *Pipeline) Run(ctx context.Context) (err error) {
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
	p.log.Info("recovering", "checkpoint", cp.Seq, "pending_files", len(cp.Pending), "queued_commits", len(cp.Commits))
	if err := p.recover(ctx); err != nil {
		return err
	}
	for _, c := range cp.Commits {
		p.queue = append(p.queue, &queued{c: c})
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
	wg.Add(1)
	go func() { defer wg.Done(); p.commitRunner(bg) }()
	crashed := true
	defer func() {
		if crashed {
			stopBG()
			close(fin)
			wg.Wait()
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
		if !time.Now().Before(next) {
			// A checkpoint is never cut short by a stop request: it either
			// completes or fails on its own timeout.
			ckCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), checkpointTimeout)
			err := p.checkpoint(ckCtx, fin)
			cancel()
			if err != nil {
				return err
			}
			next = time.Now().Add(p.cfg.Checkpoint.Interval)
			continue
		}
		pollCtx, cancel := context.WithDeadline(ctx, next)
		fetches := cl.PollRecords(pollCtx, 50000)
		cancel()
		if err := p.consume(fetches); err != nil {
			return err
		}
	}

	// Graceful stop: one last checkpoint, then let the finalizer drain and
	// give ready commits a moment.
	stopCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), checkpointTimeout)
	defer cancel()
	if err := p.checkpoint(stopCtx, fin); err != nil {
		return err
	}
	crashed = false
	close(fin)
	p.waitFinalized(stopCtx)
	p.signal()
	p.waitCommits(stopCtx, 5*time.Second)
	stopBG()
	wg.Wait()
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

// connect finds the topic's partitions and starts consuming each at the
// checkpoint's offset.
func (p *Pipeline) connect(ctx context.Context) (*kgo.Client, error) {
	base := append([]kgo.Opt{
		kgo.SeedBrokers(p.cfg.Kafka.Brokers...),
		kgo.ClientID(p.cfg.Kafka.ClientID),
	}, p.kopts...)
	admin, err := kgo.NewClient(base...)
	if err != nil {
		return nil, fmt.Errorf("kafka client: %w", err)
	}
	adm := kadm.NewClient(admin)
	var parts []int32
	for attempt := 0; ; attempt++ {
		md, err := adm.Metadata(ctx, p.cfg.Kafka.Topic)
		if err == nil {
			td, ok := md.Topics[p.cfg.Kafka.Topic]
			switch {
			case !ok:
				err = fmt.Errorf("topic missing from metadata")
			case td.Err != nil:
				err = td.Err
			default:
				parts = td.Partitions.Numbers()
			}
		}
		if err == nil && len(parts) > 0 {
			break
		}
		if attempt >= 30 || ctx.Err() != nil {
			admin.Close()
			return nil, fmt.Errorf("kafka: describe topic %s: %v", p.cfg.Kafka.Topic, err)
		}
		p.log.Warn("kafka metadata not ready, retrying", "topic", p.cfg.Kafka.Topic, "err", err)
		select {
		case <-ctx.Done():
		case <-time.After(time.Second):
		}
	}
	admin.Close()

	offsets := map[int32]kgo.Offset{}
	for _, part := range parts {
		if off, ok := p.cp.Offsets[part]; ok {
			offsets[part] = kgo.NewOffset().At(off)
		} else if p.cfg.Kafka.StartOffset == "latest" {
			offsets[part] = kgo.NewOffset().AtEnd()
		} else {
			offsets[part] = kgo.NewOffset().AtStart()
		}
	}
	opts := append(base,
		kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{p.cfg.Kafka.Topic: offsets}),
		kgo.FetchMaxBytes(p.cfg.Kafka.FetchMaxBytes),
		kgo.FetchMaxWait(500*time.Millisecond),
	)
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return nil, fmt.Errorf("kafka consumer: %w", err)
	}
	p.log.Info("consuming", "topic", p.cfg.Kafka.Topic, "partitions", len(parts))
	return cl, nil
}

func endOffsets(adm *kadm.Client, topic string) func(context.Context) (map[int32][2]int64, error) {
	return func(ctx context.Context) (map[int32][2]int64, error) {
		starts, err := adm.ListStartOffsets(ctx, topic)
		if err == nil {
			err = starts.Error()
		}
		if err != nil {
			return nil, fmt.Errorf("list start offsets: %w", err)
		}
		ends, err := adm.ListEndOffsets(ctx, topic)
		if err == nil {
			err = ends.Error()
		}
		if err != nil {
			return nil, fmt.Errorf("list end offsets: %w", err)
		}
		out := map[int32][2]int64{}
		ends.Each(func(o kadm.ListedOffset) {
			s, _ := starts.Lookup(topic, o.Partition)
			out[o.Partition] = [2]int64{s.Offset, o.Offset}
		})
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
	fetches.EachError(func(t string, part int32, err error) {
		if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
			return
		}
		p.log.Warn("kafka fetch error", "topic", t, "partition", part, "err", err)
	})
	nowMs := p.now().UnixMilli()
	maxEvent := nowMs + p.cfg.EventTime.MaxFuture.Milliseconds()
	var n, bytes int64
	fetches.EachPartition(func(ftp kgo.FetchTopicPartition) {
		if len(ftp.Records) == 0 && ftp.HighWatermark == 0 {
			return
		}
		// Per-partition state is read once per batch and written back once:
		// a batch holds one Kafka partition's records in offset order.
		part := ftp.Partition
		next, known := p.cp.Offsets[part]
		ps := partState{maxEvent: p.cp.MaxEventTime[part]}
		for _, r := range ftp.Records {
			if ferr != nil {
				break
			}
			if known && r.Offset < next {
				continue // already in a durable checkpoint
			}
			n++
			bytes += int64(len(r.Value))
			ps.next = r.Offset + 1
			ferr = p.handle(r, maxEvent, &ps)
		}
		if ps.next > 0 {
			p.cp.Offsets[part] = ps.next
		}
		if ps.valid {
			p.cp.MaxEventTime[part] = ps.maxEvent
			p.lastSeen[part] = p.ckptNo
		}
		p.mu.Lock()
		p.hwm[part] = ftp.HighWatermark
		p.consumed[part] = p.cp.Offsets[part]
		p.mu.Unlock()
	})
	p.interval += n
	p.m.records.Add(float64(n))
	p.m.bytes.Add(float64(bytes))
	p.progress.records.Add(n)
	return ferr
}

// partState is a Kafka partition's bookkeeping during one fetch batch.
type partState struct {
	next     int64 // next offset to consume
	maxEvent int64
	valid    bool // a record with an event time was seen
}

// handle routes one record; its offset is consumed whatever happens to it.
func (p *Pipeline) handle(r *kgo.Record, maxEvent int64, ps *partState) error {
	val, kind, escaped, err := p.eventKey(r.Value)
	if err != nil {
		return p.reject(r, "not JSON: "+truncate(err.Error(), 120))
	}
	ms, reason := eventMillis(val, kind, escaped, p.cfg.EventTime.Format)
	if reason != "" {
		return p.reject(r, reason)
	}
	if ms > maxEvent {
		return p.reject(r, "event time too far in the future")
	}
	if ms > ps.maxEvent {
		ps.maxEvent = ms
	}
	ps.valid = true
	if p.cp.CommitCursor == 0 && ms < p.minEvent {
		p.minEvent = ms
	}
	op := p.last
	if op == nil || ms < op.start || ms >= op.end {
		var err error
		if op, err = p.route(ms); err != nil {
			return err
		}
	}
	if err := op.part.Append(r.Value); err != nil {
		if errors.Is(err, writer.ErrInvalidRecord) {
			var re *writer.RecordError
			if errors.As(err, &re) {
				return p.reject(r, re.Reason)
			}
			return p.reject(r, err.Error())
		}
		return err
	}
	op.track(r.Partition, r.Offset)
	if op.late {
		p.m.late.Inc()
	}
	return nil
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
func (p *Pipeline) boundOf(ms int64) bound {
	k := ms / step.Milliseconds()
	if ms < 0 {
		k--
	}
	if b, ok := p.bounds[k]; ok {
		return b
	}
	path, s, e := p.pattern.Bounds(time.UnixMilli(ms))
	b := bound{path: path, start: s.UnixMilli(), end: e.UnixMilli()}
	if len(p.bounds) > 100000 {
		clear(p.bounds)
	}
	p.bounds[k] = b
	return b
}

// route finds (or opens) the part file for an event time, applying the late
// policy to partitions that are already committed.
func (p *Pipeline) route(ms int64) (*openPart, error) {
	b := p.boundOf(ms)
	dir := b.path
	late := p.cp.CommitCursor != 0 && b.start < p.cp.CommitCursor
	if late && p.cfg.Late.Policy == "sink" {
		dir = path.Join("_late", b.path)
	}
	op := p.open[dir]
	if op == nil {
		part, err := p.newPart(p.format)
		if err != nil {
			return nil, err
		}
		op = &openPart{dir: dir, start: b.start, end: b.end, part: part, sink: dir != b.path, late: late}
		p.open[dir] = op
		p.m.openFiles.Set(float64(len(p.open)))
	}
	if !late {
		p.last = op
	}
	return op, nil
}

func (p *Pipeline) newPart(f writer.Format) (*writer.Part, error) {
	p.fileSeq++
	name := path.Join(p.staging(), fmt.Sprintf("%s-%06d%s", p.token, p.fileSeq, f.Ext()))
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
func (p *Pipeline) reject(r *kgo.Record, reason string) error {
	op := p.open[invalidDir]
	if op == nil {
		part, err := p.newPart(p.invalid)
		if err != nil {
			return err
		}
		op = &openPart{dir: invalidDir, part: part, sink: true}
		p.open[invalidDir] = op
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
