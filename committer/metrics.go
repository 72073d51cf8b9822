package committer

import (
	"math"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/landfall/landfall/state"
	"github.com/landfall/landfall/writer"
)

type metrics struct {
	records, bytes, late, files, checkpoints, orphans, partitionsCommitted, commitFailures prometheus.Counter
	invalid, offsetResets, skippedOffsets                                                  *prometheus.CounterVec
	checkpointSeconds                                                                      prometheus.Histogram
	checkpointStall                                                                        prometheus.Histogram
	openFiles, watermark                                                                   prometheus.Gauge
	// skippedEmpty counts hours behind the watermark by more than
	// commit.horizon that the commit cursor passed without committing.
	skippedEmpty prometheus.Counter
	// indexPublished counts index entries this pipeline published.
	indexPublished                                    prometheus.Counter
	merges, mergesSkipped, mergeBytes, retiredDeleted prometheus.Counter
	mergeSeconds, partitionFiles                      prometheus.Histogram
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	c := func(name, help string) prometheus.Counter {
		return prometheus.NewCounter(prometheus.CounterOpts{Name: "landfall_committer_" + name, Help: help})
	}
	m := &metrics{
		records:             c("records_total", "Records consumed from Kafka."),
		bytes:               c("record_bytes_total", "Bytes of record values consumed."),
		late:                c("late_records_total", "Records for partitions already committed."),
		files:               c("files_total", "Part files rolled at checkpoints."),
		checkpoints:         c("checkpoints_total", "Durable checkpoints written."),
		orphans:             c("orphan_files_removed_total", "In-progress files of failed checkpoints removed at recovery."),
		partitionsCommitted: c("partitions_committed_total", "Partition commits completed (all steps)."),
		commitFailures:      c("commit_failures_total", "Failed partition commit attempts (retried)."),
		invalid: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "landfall_committer_invalid_records_total", Help: "Records sent to the invalid-record sink.",
		}, []string{"reason"}),
		offsetResets: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "landfall_committer_offset_resets_total", Help: "Stored Kafka offsets found out of range and reset by kafka.out_of_range.",
		}, []string{"reason"}),
		skippedOffsets: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "landfall_committer_skipped_offsets_total", Help: "Kafka offsets never landed because of an out-of-range reset (deleted by retention, or skipped by kafka.out_of_range: latest).",
		}, []string{"reason"}),
		checkpointSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "landfall_committer_checkpoint_seconds", Help: "Time to roll files and write a checkpoint.",
			Buckets: prometheus.ExponentialBuckets(0.005, 2, 14),
		}),
		checkpointStall: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "landfall_committer_checkpoint_stall_seconds", Help: "Time the consume loop stopped consuming for a checkpoint (the rest of the checkpoint runs beside it).",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 16),
		}),
		openFiles:    prometheus.NewGauge(prometheus.GaugeOpts{Name: "landfall_committer_open_files", Help: "Part files being written."}),
		watermark:    prometheus.NewGauge(prometheus.GaugeOpts{Name: "landfall_committer_watermark_seconds", Help: "Event-time watermark, Unix seconds."}),
		skippedEmpty: c("empty_hours_skipped_total", "Hours without data older than commit.horizon behind the watermark, passed by the commit cursor without a commit."),
	}
	m.indexPublished = c("index_entries_published_total", "File-index entries published by the pipeline (after their files were renamed).")
	m.merges = c("merges_total", "Small-file merges published (compaction).")
	m.mergesSkipped = c("merges_skipped_total", "Partitions committed without merging their small files (the merge failed or outlasted compaction.max_delay).")
	m.mergeBytes = c("merge_bytes_total", "Bytes of merged files written.")
	m.retiredDeleted = c("retired_files_deleted_total", "Files retired by merges deleted after index.file_retention.")
	m.mergeSeconds = prometheus.NewHistogram(prometheus.HistogramOpts{Name: "landfall_committer_merge_seconds",
		Help: "Time to merge a partition's small files, from plan to the sources' retirement.", Buckets: prometheus.ExponentialBuckets(0.01, 2, 16)})
	m.partitionFiles = prometheus.NewHistogram(prometheus.HistogramOpts{Name: "landfall_committer_committed_partition_files",
		Help: "Data files of each Hive partition at its first commit (after its merge, with compaction on): what every query of it opens.", Buckets: prometheus.ExponentialBuckets(1, 2, 13)})
	for _, col := range []prometheus.Collector{m.skippedEmpty, m.indexPublished, m.merges, m.mergesSkipped, m.mergeBytes, m.retiredDeleted, m.mergeSeconds, m.partitionFiles} {
		if err := reg.Register(col); err != nil {
			return nil, err
		}
	}
	// Every label value known in advance starts at 0: a counter that first
	// appears at 1 has no earlier sample, so increase() and rate() miss
	// exactly the first invalid record or the first offset reset, the one
	// an alert exists for.
	for _, r := range []string{"not_json", "no_event_time", "bad_event_time", "schema_mismatch", "other"} {
		m.invalid.WithLabelValues(r)
	}
	for _, r := range []string{"below_log_start", "past_log_end"} {
		m.offsetResets.WithLabelValues(r)
		m.skippedOffsets.WithLabelValues(r)
	}
	for _, col := range []prometheus.Collector{m.records, m.bytes, m.late, m.files, m.checkpoints, m.orphans,
		m.partitionsCommitted, m.commitFailures, m.invalid, m.offsetResets, m.skippedOffsets, m.checkpointSeconds, m.checkpointStall, m.openFiles, m.watermark} {
		if err := reg.Register(col); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// registerBufferMetrics exports what the open part files hold against
// format.memory_budget, for the formats that account for it.
func registerBufferMetrics(reg prometheus.Registerer, f writer.Format) error {
	var held func() float64
	var limit float64
	var spills func() float64
	switch f := f.(type) {
	case writer.Budgeted:
		b := f.Budget()
		held, limit = func() float64 { return float64(b.InUse()) }, float64(b.Limit())
		spills = func() float64 { return float64(b.Spills()) }
	case interface {
		BufferedBytes() int64
		MemoryBudget() int64
	}: // orc
		held, limit = func() float64 { return float64(f.BufferedBytes()) }, float64(f.MemoryBudget())
	default:
		return nil
	}
	cols := []prometheus.Collector{prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "landfall_writer_buffered_bytes", Help: "Bytes the open part files hold in memory (bounded by format.memory_budget).",
	}, held)}
	if limit > 0 {
		cols = append(cols, prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "landfall_writer_memory_budget_bytes", Help: "format.memory_budget in effect.",
		}, func() float64 { return limit }))
	}
	if spills != nil {
		cols = append(cols, prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "landfall_writer_spills_total", Help: "Times files wrote out early to stay within format.memory_budget.",
		}, spills))
	}
	for _, c := range cols {
		if err := reg.Register(c); err != nil {
			return err
		}
	}
	return nil
}

// progress is what the quickstart and operators' logs show.
type progress struct {
	records, invalid, committed atomic.Int64
	consuming                   atomic.Bool
	mu                          sync.Mutex
	seq                         uint64
	at                          time.Time
	watermark                   int64
	files                       int
	// cursor is the checkpoint's commit cursor, for the collector: the
	// checkpoint itself belongs to the consume loop.
	cursor    int64
	cursorSet bool
	// The consume loop's stalls for checkpoints: count, sum and largest.
	stalls             int
	stallSum, stallMax time.Duration
}

// addStall records one checkpoint's stall of the consume loop.
func (pr *progress) addStall(d time.Duration) {
	pr.mu.Lock()
	pr.stalls++
	pr.stallSum += d
	pr.stallMax = max(pr.stallMax, d)
	pr.mu.Unlock()
}

// setCheckpoint publishes a durable checkpoint cp; called from the consume
// loop, which owns cp.
func (pr *progress) setCheckpoint(seq uint64, at time.Time, cp *state.Checkpoint, files int) {
	pr.mu.Lock()
	pr.seq, pr.at, pr.watermark, pr.files = seq, at, cp.Watermark, files
	pr.cursor, pr.cursorSet = cp.CommitCursor, cp.CursorSet
	pr.mu.Unlock()
}

// Progress is a snapshot for progress displays.
type Progress struct {
	// Consuming: recovery is done and the topic's partitions are
	// assigned; what fails from here on is not set-up.
	Consuming                             bool
	Records, Invalid, PartitionsCommitted int64
	Lag                                   int64
	// FilesRolled is the number of files the last checkpoint rolled.
	FilesRolled   int
	Checkpoint    uint64
	CheckpointAt  time.Time
	Watermark     time.Time
	QueuedCommits int
	// Stalls is the number of checkpoints so far; StallTotal and StallMax
	// the time the consume loop stopped consuming for them, in all and at
	// most.
	Stalls               int
	StallTotal, StallMax time.Duration
}

// Progress returns a snapshot; safe to call from any goroutine.
func (p *Pipeline) Progress() Progress {
	pr := &p.progress
	pr.mu.Lock()
	out := Progress{
		Consuming: pr.consuming.Load(),
		Records:   pr.records.Load(), Invalid: pr.invalid.Load(), PartitionsCommitted: pr.committed.Load(),
		Checkpoint: pr.seq, CheckpointAt: pr.at, FilesRolled: pr.files,
		Stalls: pr.stalls, StallTotal: pr.stallSum, StallMax: pr.stallMax,
	}
	if pr.watermark > 0 {
		out.Watermark = time.UnixMilli(pr.watermark).UTC()
	}
	pr.mu.Unlock()
	p.mu.Lock()
	for part, h := range p.hwm {
		if lag := h - p.consumed[part]; lag > 0 {
			out.Lag += lag
		}
	}
	out.QueuedCommits = len(p.queue)
	p.mu.Unlock()
	return out
}

// stateCollector exports, at scrape time, what operators alert on and the
// pipeline already keeps: lag per Kafka partition, how overdue the oldest
// partition commit is, and when the last checkpoint was written. It reads
// under the locks that guard that state, so the consume loop does no extra
// work per record for them.
type stateCollector struct {
	p                 *Pipeline
	started           time.Time
	lag, age, lastCkp *prometheus.Desc
	info              prometheus.Metric
}

func newStateCollector(p *Pipeline) *stateCollector {
	return &stateCollector{
		p: p, started: time.Now(),
		lag: prometheus.NewDesc("landfall_committer_kafka_lag_records",
			"Records in the Kafka partition past what landfall has consumed: its high watermark at the last fetch minus the next offset to consume. "+
				"A partition whose fetches fail keeps its last value; the watermark then stalls.",
			[]string{"partition"}, nil),
		age: prometheus.NewDesc("landfall_committer_oldest_uncommitted_partition_age_seconds",
			"Processing time since the end of the oldest Hive partition whose commit has not completed "+
				"(waiting for the watermark, or queued and retrying); for a late-data update, since it was queued. 0 while every such partition is still open.",
			nil, nil),
		// The metrics carry no logid: one process lands one logid, and the
		// scrape target says which process. This series says which logid,
		// for dashboards (join on instance) and the operator's eye.
		info: prometheus.MustNewConstMetric(prometheus.NewDesc("landfall_committer_info",
			"The logid, topic and landfall version this pipeline runs; always 1.", []string{"logid", "topic", "version"}, nil),
			prometheus.GaugeValue, 1, p.cfg.LogID, p.cfg.Kafka.Topic, Version),
		lastCkp: prometheus.NewDesc("landfall_committer_last_checkpoint_timestamp_seconds",
			"Unix time of the last durable checkpoint this pipeline wrote; before its first, the time the pipeline was created, so that time() minus it counts a stall from the start.",
			nil, nil),
	}
}

func (c *stateCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.lag
	ch <- c.age
	ch <- c.lastCkp
	ch <- c.info.Desc()
}

func (c *stateCollector) Collect(ch chan<- prometheus.Metric) {
	p := c.p
	ch <- c.info
	now := p.now().UnixMilli()
	p.progress.mu.Lock()
	at, cursor, cursorSet := p.progress.at, p.progress.cursor, p.progress.cursorSet
	p.progress.mu.Unlock()
	if at.IsZero() {
		at = c.started
	}
	ch <- prometheus.MustNewConstMetric(c.lastCkp, prometheus.GaugeValue, float64(at.UnixNano())/1e9)

	// The oldest partition owed a commit is the one at the commit cursor
	// (the watermark has not passed it yet) or an older one already queued
	// whose steps have not all succeeded (a metastore that is down).
	oldest := int64(math.MaxInt64)
	if cursorSet {
		_, _, end := p.pattern.Bounds(time.UnixMilli(cursor))
		oldest = end.UnixMilli()
	}
	p.mu.Lock()
	for part, hwm := range p.hwm {
		ch <- prometheus.MustNewConstMetric(c.lag, prometheus.GaugeValue, float64(max(0, hwm-p.consumed[part])), strconv.Itoa(int(part)))
	}
	for _, q := range p.queue {
		owed := q.c.Queued
		if !q.c.Update {
			if t, ok := p.pattern.Time(q.c.Partition); ok {
				_, _, end := p.pattern.Bounds(t)
				owed = end.UnixMilli()
			}
		}
		oldest = min(oldest, owed)
	}
	p.mu.Unlock()
	age := 0.0
	if oldest != math.MaxInt64 && now > oldest {
		age = float64(now-oldest) / 1000
	}
	ch <- prometheus.MustNewConstMetric(c.age, prometheus.GaugeValue, age)
}
