package committer

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/landfall/landfall/writer"
)

type metrics struct {
	records, bytes, late, files, checkpoints, orphans, partitionsCommitted, commitFailures prometheus.Counter
	invalid, offsetResets, skippedOffsets                                                  *prometheus.CounterVec
	checkpointSeconds                                                                      prometheus.Histogram
	openFiles, watermark                                                                   prometheus.Gauge
	// skippedEmpty counts hours behind the watermark by more than
	// commit.horizon that the commit cursor passed without committing.
	skippedEmpty prometheus.Counter
	// indexPublished counts index entries this pipeline published.
	indexPublished prometheus.Counter
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
		openFiles:    prometheus.NewGauge(prometheus.GaugeOpts{Name: "landfall_committer_open_files", Help: "Part files being written."}),
		watermark:    prometheus.NewGauge(prometheus.GaugeOpts{Name: "landfall_committer_watermark_seconds", Help: "Event-time watermark, Unix seconds."}),
		skippedEmpty: c("empty_hours_skipped_total", "Hours without data older than commit.horizon behind the watermark, passed by the commit cursor without a commit."),
	}
	m.indexPublished = c("index_entries_published_total", "File-index entries published by the pipeline (after their files were renamed).")
	for _, col := range []prometheus.Collector{m.skippedEmpty, m.indexPublished} {
		if err := reg.Register(col); err != nil {
			return nil, err
		}
	}
	for _, col := range []prometheus.Collector{m.records, m.bytes, m.late, m.files, m.checkpoints, m.orphans,
		m.partitionsCommitted, m.commitFailures, m.invalid, m.offsetResets, m.skippedOffsets, m.checkpointSeconds, m.openFiles, m.watermark} {
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
	case interface{ BufferedBytes() int64 }: // orc
		held = func() float64 { return float64(f.BufferedBytes()) }
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
}

func (pr *progress) setCheckpoint(seq uint64, at time.Time, wm int64, files int) {
	pr.mu.Lock()
	pr.seq, pr.at, pr.watermark, pr.files = seq, at, wm, files
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
}

// Progress returns a snapshot; safe to call from any goroutine.
func (p *Pipeline) Progress() Progress {
	pr := &p.progress
	pr.mu.Lock()
	out := Progress{
		Consuming: pr.consuming.Load(),
		Records:   pr.records.Load(), Invalid: pr.invalid.Load(), PartitionsCommitted: pr.committed.Load(),
		Checkpoint: pr.seq, CheckpointAt: pr.at, FilesRolled: pr.files,
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
