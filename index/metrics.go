package index

import (
	"errors"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Option configures a Log or a Reader.
type Option func(*options)

type options struct {
	reg       prometheus.Registerer
	log       *slog.Logger
	now       func() time.Time
	retention time.Duration
	epoch     int64
	readRetry time.Duration
}

func newOptions(opts []Option) options {
	o := options{log: slog.New(slog.DiscardHandler), now: time.Now, retention: DefaultRetention, readRetry: DefaultReadRetry}
	for _, opt := range opts {
		opt(&o)
	}
	return o
}

// DefaultRetention is how long published entries are kept by Expire: a
// reader lagging longer gets ErrCursorExpired.
const DefaultRetention = 7 * 24 * time.Hour

// WithRegisterer registers the metrics (landfall_index_*) with reg; without
// it nothing is registered.
func WithRegisterer(reg prometheus.Registerer) Option { return func(o *options) { o.reg = reg } }

// WithLogger sets the logger; the default discards.
func WithLogger(l *slog.Logger) Option { return func(o *options) { o.log = l } }

// WithClock injects the clock used for commit times, ages and retention.
func WithClock(now func() time.Time) Option { return func(o *options) { o.now = now } }

// WithEpoch names the writer's ownership epoch (state.Store.Epoch): its
// inflight entries carry it, so that a paused older owner that resumes can
// neither overwrite nor remove a newer owner's inflight entry, and the
// newer owner never publishes an older one's.
func WithEpoch(e int64) Option { return func(o *options) { o.epoch = e } }

// WithRetention sets how old an entry must be before Expire deletes it
// (DefaultRetention).
func WithRetention(d time.Duration) Option { return func(o *options) { o.retention = d } }

// WithReadRetry sets how long a following Reader retries a failing read
// before Follow returns its error (DefaultReadRetry); 0 returns at once.
func WithReadRetry(d time.Duration) Option { return func(o *options) { o.readRetry = d } }

type logMetrics struct {
	published     prometheus.Counter
	snapshotBytes prometheus.Gauge
	snapshotFiles prometheus.Gauge
	expired       prometheus.Counter
	cleaned       prometheus.Counter
	newestMs      atomic.Int64
}

func newLogMetrics(o *options) *logMetrics {
	m := &logMetrics{
		published: prometheus.NewCounter(prometheus.CounterOpts{Name: "landfall_index_entries_published_total",
			Help: "Index entries published (renamed from inflight), counting each entry once."}),
		snapshotBytes: prometheus.NewGauge(prometheus.GaugeOpts{Name: "landfall_index_snapshot_bytes",
			Help: "Size of the newest index snapshot."}),
		snapshotFiles: prometheus.NewGauge(prometheus.GaugeOpts{Name: "landfall_index_snapshot_files",
			Help: "Live data files in the newest index snapshot."}),
		expired: prometheus.NewCounter(prometheus.CounterOpts{Name: "landfall_index_expired_entries_total",
			Help: "Index entries deleted by expiry."}),
		cleaned: prometheus.NewCounter(prometheus.CounterOpts{Name: "landfall_index_inflight_removed_total",
			Help: "Inflight index files left by a crash and removed after recovery."}),
	}
	if o.reg == nil {
		return m
	}
	now := o.now
	age := prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "landfall_index_newest_entry_age_seconds",
		Help: "Age of the newest published entry's commit time; it grows while nothing is published."},
		func() float64 {
			ms := m.newestMs.Load()
			if ms == 0 {
				return 0
			}
			return now().Sub(time.UnixMilli(ms)).Seconds()
		})
	m.published = register(o.reg, m.published)
	m.snapshotBytes = register(o.reg, m.snapshotBytes)
	m.snapshotFiles = register(o.reg, m.snapshotFiles)
	m.expired = register(o.reg, m.expired)
	m.cleaned = register(o.reg, m.cleaned)
	register(o.reg, prometheus.Collector(age))
	return m
}

type readerMetrics struct {
	entries    prometheus.Counter
	unknown    prometheus.Counter
	readErrors prometheus.Counter
}

func newReaderMetrics(o *options) *readerMetrics {
	m := &readerMetrics{
		entries: prometheus.NewCounter(prometheus.CounterOpts{Name: "landfall_index_reader_entries_total",
			Help: "Index entries handed to the reader's callback (a snapshot counts once)."}),
		unknown: prometheus.NewCounter(prometheus.CounterOpts{Name: "landfall_index_reader_unknown_actions_total",
			Help: "Actions of kinds this build doesn't know, skipped by the reader (a newer writer)."}),
		readErrors: prometheus.NewCounter(prometheus.CounterOpts{Name: "landfall_index_reader_read_errors_total",
			Help: "Failed index reads a following reader retried (or, past its read retry, returned)."}),
	}
	if o.reg != nil {
		m.entries = register(o.reg, m.entries)
		m.unknown = register(o.reg, m.unknown)
		m.readErrors = register(o.reg, m.readErrors)
	}
	return m
}

// register registers c, or returns the collector already registered under
// its name (a second Log in one process shares the series), so that
// metrics never panic the caller.
func register[C prometheus.Collector](reg prometheus.Registerer, c C) C {
	if err := reg.Register(c); err != nil {
		var are prometheus.AlreadyRegisteredError
		if errors.As(err, &are) {
			if existing, ok := are.ExistingCollector.(C); ok {
				return existing
			}
		}
	}
	return c
}
