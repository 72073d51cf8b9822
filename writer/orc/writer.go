package orc

import (
	"errors"
	"fmt"
	"hash/maphash"
	"io"
	"sort"
	"time"

	"github.com/landfall/landfall/writer"
	"github.com/landfall/landfall/writer/orc/spec"
)

// Option configures a Format (and so every file it writes).
type Option func(*options)

type options struct {
	compression    spec.CompressionKind
	level          int
	blockSize      int
	stripeSize     int
	rowIndexStride int
	dictThreshold  float64
	memoryBudget   int64
	budget         *writer.Budget // shared with the process's other formats; nil: the Format's own
	bloomColumns   []string
	bloomFPP       float64
	zone           *time.Location // of timestamp wall clocks; nil is UTC
}

func defaultOptions() options {
	return options{
		compression:    spec.CompressionZstd,
		blockSize:      256 << 10,
		stripeSize:     64 << 20,
		rowIndexStride: spec.DefaultRowIndexStride,
		dictThreshold:  0.8,
		memoryBudget:   512 << 20,
		bloomFPP:       0.01,
	}
}

// WithCompression sets the generic compression (NONE, ZLIB, ZSTD, SNAPPY or
// LZ4) and its level (0 for the codec's default; zstd counts like the zstd
// command line, zlib 1..9). The default is ZSTD at level 3.
func WithCompression(kind spec.CompressionKind, level int) Option {
	return func(o *options) { o.compression, o.level = kind, level }
}

// WithBlockSize sets the compression chunk size (default 256 KiB). Larger
// chunks compress better; readers buffer one chunk per stream.
func WithBlockSize(n int) Option { return func(o *options) { o.blockSize = n } }

// WithStripeSize sets how many bytes of buffered column data make a stripe
// (default 64 MiB). The memory budget may flush stripes earlier.
func WithStripeSize(n int) Option { return func(o *options) { o.stripeSize = n } }

// WithRowIndexStride sets the rows per row group (default 10,000).
func WithRowIndexStride(n int) Option { return func(o *options) { o.rowIndexStride = n } }

// WithDictionaryThreshold sets the largest ratio of distinct to total values
// for which a string column is dictionary encoded in a stripe (default 0.8,
// Apache ORC's default); 0 disables dictionaries.
func WithDictionaryThreshold(r float64) Option { return func(o *options) { o.dictThreshold = r } }

// WithMemoryBudget bounds the bytes buffered by all open files of the
// Format together (default 512 MiB). When it is exceeded the files holding
// the most flush their stripes early, as Apache ORC's MemoryManager does;
// see writer.Budget.
func WithMemoryBudget(n int64) Option { return func(o *options) { o.memoryBudget = n } }

// WithBudget makes the Format's files share b with the other formats of
// the process (the pipeline's invalid-record sink) instead of a budget of
// their own; WithMemoryBudget is then ignored. Text and lzo files of b keep
// to their shares, ORC files to the limit: when it is exceeded, the files
// holding the most spill, whatever their format.
func WithBudget(b *writer.Budget) Option { return func(o *options) { o.budget = b } }

// WithBloomFilters writes bloom filters (BLOOM_FILTER_UTF8 streams) for the
// named top-level columns, with false positive probability fpp (0 for 0.01,
// Apache ORC's default).
func WithBloomFilters(fpp float64, columns ...string) Option {
	return func(o *options) {
		o.bloomColumns = append(o.bloomColumns, columns...)
		if fpp > 0 {
			o.bloomFPP = fpp
		}
	}
}

// WithTimeZone makes timestamp columns hold the wall clock in loc of each
// instant a record gives (a number of milliseconds since the epoch, or a
// string with Z or an offset); a string without a zone is a wall clock
// already and is kept as written. Pass the partition time zone
// (event_time.timezone), so that a row's ts and its partition's log_hour
// agree.
//
// Why the wall clock, stored as UTC with writerTimezone "UTC" in every
// stripe footer, and not writerTimezone = loc: ORC's timestamp is Hive's,
// a zoneless wall clock, and readers restore the wall clock the writer's
// zone declares: Hive 3+ (useUTCTimestamp) and Trino show it as is, and
// Spark turns it into the instant with that wall clock in its session
// time zone, so it shows the same digits in any JVM zone. The bytes are
// the ones Hive 3+ itself writes, the ORC-135 statistics and bloom filters
// are defined on this UTC reading, and no reader runs DST arithmetic (a
// footer naming a zone with DST makes Java readers shift wall clocks that
// fall in a gap). Without the option, instants are written as UTC wall
// clocks, as before.
func WithTimeZone(loc *time.Location) Option { return func(o *options) { o.zone = loc } }

func (o *options) validate() error {
	switch o.compression {
	case spec.CompressionNone, spec.CompressionZlib, spec.CompressionZstd, spec.CompressionSnappy, spec.CompressionLZ4:
	default:
		return fmt.Errorf("orc: compression %v can't be written; use NONE, ZLIB, ZSTD, SNAPPY or LZ4", o.compression)
	}
	if o.blockSize < 1024 || o.blockSize > spec.MaxCompressionBlockSize {
		return fmt.Errorf("orc: compression block size %d out of range 1024..%d", o.blockSize, spec.MaxCompressionBlockSize)
	}
	if o.stripeSize < 1024 || o.stripeSize > 1<<31 {
		// Buffers index string bytes with 32-bit offsets.
		return fmt.Errorf("orc: stripe size %d out of range 1 KiB..2 GiB", o.stripeSize)
	}
	if o.rowIndexStride < 1 {
		return fmt.Errorf("orc: row index stride %d must be positive", o.rowIndexStride)
	}
	if o.dictThreshold < 0 || o.dictThreshold > 1 {
		return fmt.Errorf("orc: dictionary threshold %v out of range 0..1", o.dictThreshold)
	}
	if o.budget == nil && o.memoryBudget < 1 {
		return fmt.Errorf("orc: memory budget %d must be positive", o.memoryBudget)
	}
	if o.bloomFPP <= 0 || o.bloomFPP >= 1 {
		return fmt.Errorf("orc: bloom filter fpp %v out of range (0,1)", o.bloomFPP)
	}
	return nil
}

// Writer writes one ORC file from JSON records. It is safe for use by one
// goroutine, plus the memory budget, which may flush its stripe from the
// goroutine of another file of the same budget (the account's lock is the
// writer's).
type Writer struct {
	acct   *writer.Account
	w      io.Writer
	o      *options
	schema *Type
	root   *column
	cols   []*column
	sc     *Scanner // of Append; made at the first
	pool   *compressorPool
	bufs   *bufferPool     // of the Format; nil for a file of its own
	comp   chunkCompressor // borrowed from pool while a stripe or the tail is written
	bloom  []bool          // per column id

	offset     uint64
	rows       uint64
	stripeRows int
	rgRows     int

	stripes     []spec.StripeInformation
	stripeStats []spec.StripeStatistics
	fileStats   []stats

	// stripe encoding scratch, reused across stripes; nil until the first
	// and after a flush that released the buffers, so that an open file
	// doesn't hold its 34 KiB between spills
	enc *stripeEncoder
	// heldStale says the buffers may hold other than what was last
	// charged: set by whatever can reallocate or drop them, so that an
	// append that only fills capacity is charged without summing it.
	heldStale bool
	closed    bool
	err       error // sticky: a failed write leaves the file unusable
	userMeta  []spec.UserMetadataItem
}

var errClosed = errors.New("orc: writer is closed")

// NewWriter starts an ORC file for schema on w. The header is written with
// the first stripe, so a file with no rows and no Close writes nothing. The
// file has a budget of its own (WithMemoryBudget) unless WithBudget shares
// one.
func NewWriter(w io.Writer, schema *Type, opts ...Option) (*Writer, error) {
	o := defaultOptions()
	for _, opt := range opts {
		opt(&o)
	}
	if err := o.validate(); err != nil {
		return nil, err
	}
	b := o.budget
	if b == nil {
		b = writer.NewBudget(o.memoryBudget)
	}
	return newWriter(w, schema, &o, b, nil, nil)
}

// newWriter starts a file charged to budget; o must be valid.
func newWriter(w io.Writer, schema *Type, o *options, budget *writer.Budget, pool *compressorPool, bufs *bufferPool) (*Writer, error) {
	if schema == nil || schema.Kind != spec.TypeStruct {
		return nil, errors.New("orc: new writer: the schema must be a struct")
	}
	if pool == nil {
		pool = newCompressorPool(o)
	}
	// Fail now, not at the first stripe, if the codec can't be built.
	comp, err := pool.get()
	if err != nil {
		return nil, fmt.Errorf("orc: new writer: %w", err)
	}
	pool.put(comp)
	wr := &Writer{w: w, o: o, schema: schema, pool: pool, bufs: bufs, heldStale: true}
	if s := bufs.get(); s != nil {
		wr.root, wr.cols, wr.enc = s.root, s.cols, s.enc
	} else {
		wr.root = newColumns(schema, "", o.dictThreshold, maphash.MakeSeed())
		wr.cols = wr.root.flat(nil)
	}
	wr.fileStats = make([]stats, len(wr.cols))
	for i, c := range wr.cols {
		wr.fileStats[i].init(c.t)
	}
	wr.bloom = make([]bool, len(wr.cols))
	for _, name := range o.bloomColumns {
		found := false
		for i, f := range schema.FieldNames {
			if f == lowerString(name) {
				wr.bloom[schema.Children[i].ID] = true
				found = true
			}
		}
		if !found {
			return nil, fmt.Errorf("orc: new writer: bloom filter column %q is not in the schema", name)
		}
	}
	wr.acct = budget.Open(wr.spill)
	return wr, nil
}

func lowerString(s string) string { return string(lowerASCII(nil, []byte(s))) }

// Append converts one JSON record and buffers it. A record that does not
// fit the schema returns a *writer.RecordError and leaves no trace in the
// file; any other error is fatal for the file.
func (w *Writer) Append(value []byte) error {
	w.acct.Lock()
	err := w.charge(w.appendLocked(value))
	w.acct.Unlock()
	return err
}

// charge follows a successful append, with the account locked: the columns
// grew before they could ask, so charge what they hold now and flush the
// largest files, this one included, if that is over the budget. A failed
// flush of this file is its error.
func (w *Writer) charge(err error) error {
	if err == nil {
		// Most appends fit in the buffers' capacity: the charge stays, and
		// Set's two atomic read-modify-writes on the shared budget (a
		// contended cache line with many files) are skipped.
		if w.heldStale {
			w.heldStale = false
			if h := w.heldBytes(); h != w.acct.Held() {
				w.acct.Set(h)
			}
		}
		w.acct.Fit()
		err = w.err
	}
	return err
}

// spill flushes the buffered rows as an early stripe and frees the
// buffers, for a file of the budget that needs the memory; it runs with
// the account locked, maybe in another file's goroutine, so an error
// stays in w.err for the file's owner.
func (w *Writer) spill() {
	if w.err == nil {
		_ = w.flushStripe(true)
	}
	if w.err != nil {
		w.releaseBuffers() // the file is lost anyway
	}
	w.acct.Set(w.heldBytes())
}

func (w *Writer) appendLocked(value []byte) error {
	if w.closed {
		return errClosed
	}
	if w.err != nil {
		return w.err
	}
	if w.sc == nil {
		w.sc = newScanner(w.schema, w.o, "")
	}
	row, _, ok := w.sc.Scan(value)
	if !ok {
		row = w.sc.Convert(value)
	}
	return w.appendRowLocked(row)
}

// AppendRow adds a row that a Scanner of the writer's Format made; see
// Append for its errors.
func (w *Writer) AppendRow(r *Row) error {
	w.acct.Lock()
	err := w.charge(w.appendRowLocked(r))
	w.acct.Unlock()
	return err
}

func (w *Writer) appendRowLocked(r *Row) error {
	if w.closed {
		return errClosed
	}
	if w.err != nil {
		return w.err
	}
	if r.err != nil {
		return r.err
	}
	if r.s.schema != w.schema && r.s.schema.String() != w.schema.String() {
		return fmt.Errorf("orc: append row: scanned for %s, not the file's %s", r.s.schema, w.schema)
	}
	grew := false
	if len(w.root.present) == cap(w.root.present) {
		w.root.present, grew = grown(w.root.present, 1), true
	}
	for i, c := range w.cols[1:] {
		if c.appendFrom(r.s.cols[i+1], r.s) {
			grew = true
		}
	}
	w.heldStale = w.heldStale || grew
	w.root.present = append(w.root.present, true)
	w.rows++
	w.stripeRows++
	w.rgRows++
	if w.rgRows == w.o.rowIndexStride {
		w.endRowGroup()
	}
	if w.stripeRows&63 == 0 && w.bufferedBytes() >= w.o.stripeSize {
		return w.flushStripe(false)
	}
	return nil
}

func truncatedError(err error) string {
	s := err.Error()
	if len(s) > 120 {
		s = s[:117] + "..."
	}
	return s
}

func (w *Writer) endRowGroup() {
	w.heldStale = true
	first := len(w.root.rg) == 0
	for _, c := range w.cols {
		c.rg = append(c.rg, len(c.present))
		// Like Apache ORC, decide early whether a dictionary can pay: a
		// column too distinct in its first row group goes direct for the
		// rest of the stripe and stops paying for hashing.
		if first && c.str.dictMode && !c.str.useDictionary() {
			c.str.toDirect()
		}
	}
	w.rgRows = 0
}

// bufferedBytes is the size of the values waiting for the next stripe.
func (w *Writer) bufferedBytes() int {
	n := 0
	for _, c := range w.cols {
		n += len(c.present) + 8*len(c.ints) + 4*len(c.nanos) + 8*len(c.floats) + 16*len(c.decs) +
			4*len(c.str.ids) + len(c.str.arena) + 4*len(c.str.offs) + len(c.str.data) + 4*len(c.str.ends)
	}
	return n
}

// heldBytes is the memory the writer's buffers hold.
func (w *Writer) heldBytes() int64 {
	n := 0
	for _, c := range w.cols {
		n += c.heldBytes()
	}
	return int64(n + w.enc.heldBytes())
}

// Flush writes the buffered rows as a stripe.
func (w *Writer) Flush() error {
	w.acct.Lock()
	defer w.acct.Unlock()
	if w.closed {
		return errClosed
	}
	err := w.flushStripe(false)
	w.acct.Set(w.heldBytes())
	return err
}

// Close writes the last stripe and the file tail with meta as user
// metadata. It does not close the underlying writer.
func (w *Writer) Close(meta map[string]string) error {
	w.acct.Lock()
	defer w.acct.Unlock()
	err := w.closeLocked(meta)
	w.acct.Close()
	return err
}

// Discard abandons the file without finishing it (writer.Discarder): its
// buffers leave the format's budget, and a reclaim no longer flushes its
// stripes into a file nobody will read.
func (w *Writer) Discard() {
	w.acct.Lock()
	defer w.acct.Unlock()
	w.closed = true
	w.acct.Close()
}

func (w *Writer) closeLocked(meta map[string]string) error {
	if w.closed {
		return errClosed
	}
	w.closed = true
	if w.err != nil {
		return w.err
	}
	// With a pool, the buffers outlive the file: they go to the next one.
	if err := w.flushStripe(w.bufs == nil); err != nil {
		return err
	}
	if w.offset == 0 {
		if err := w.write([]byte(spec.Magic)); err != nil {
			return err
		}
	}
	keys := make([]string, 0, len(meta))
	for k := range meta {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		w.userMeta = append(w.userMeta, spec.UserMetadataItem{Name: k, Value: []byte(meta[k])})
	}
	if err := w.writeTail(); err != nil {
		return err
	}
	if w.bufs != nil {
		w.bufs.put(&bufferSet{root: w.root, cols: w.cols, enc: w.enc, held: w.heldBytes()})
		w.root, w.cols, w.enc = nil, nil, nil
	}
	return nil
}

func (w *Writer) write(p []byte) error {
	if w.err != nil {
		return w.err
	}
	n, err := w.w.Write(p)
	w.offset += uint64(n)
	if err != nil {
		w.err = fmt.Errorf("orc: write file: %w", err)
		return w.err
	}
	return nil
}

func (w *Writer) writeTail() error {
	comp, err := w.pool.get()
	if err != nil {
		return w.fail("write tail", err)
	}
	w.comp = comp
	defer func() {
		w.pool.put(w.comp)
		w.comp = nil
	}()
	content := w.offset
	meta := spec.Metadata{StripeStats: w.stripeStats}
	metaBytes, err := compressBlob(nil, w.comp, meta.AppendTo(nil))
	if err != nil {
		return w.fail("compress metadata", err)
	}
	footer := spec.Footer{
		HeaderLength:    uint64(len(spec.Magic)),
		ContentLength:   content,
		Stripes:         w.stripes,
		Types:           w.schema.Footer(),
		Metadata:        w.userMeta,
		NumberOfRows:    w.rows,
		RowIndexStride:  uint32(w.o.rowIndexStride),
		Writer:          writerCode,
		Calendar:        spec.CalendarProlepticGregorian,
		SoftwareVersion: "landfall",
	}
	footer.Statistics = make([]spec.ColumnStatistics, len(w.fileStats))
	for i := range w.fileStats {
		footer.Statistics[i] = w.fileStats[i].proto()
	}
	footerBytes, err := compressBlob(nil, w.comp, footer.AppendTo(nil))
	if err != nil {
		return w.fail("compress footer", err)
	}
	ps := spec.PostScript{
		FooterLength:         uint64(len(footerBytes)),
		Compression:          w.o.compression,
		CompressionBlockSize: uint64(w.o.blockSize),
		Version:              spec.Version0_12,
		MetadataLength:       uint64(len(metaBytes)),
		WriterVersion:        spec.WriterVersionORC135, // 6: the first version of a non-Java writer
		Magic:                spec.Magic,
	}
	psBytes := ps.AppendTo(nil)
	if len(psBytes) > spec.MaxPostScriptLength {
		return w.fail("write postscript", fmt.Errorf("postscript of %d bytes", len(psBytes)))
	}
	tail := append(metaBytes, footerBytes...)
	tail = append(tail, psBytes...)
	tail = append(tail, byte(len(psBytes)))
	return w.write(tail)
}

// writerCode is the Footer.writer of landfall's files. The codes are
// registered per implementation in the spec and landfall has none yet;
// claiming Java's 0 would make readers apply Java-specific bug workarounds,
// so it uses an unregistered code, which Apache ORC's readers treat as an
// unknown writer that follows the current spec.
const writerCode = 0x4c46 // "LF"

func (w *Writer) fail(what string, err error) error {
	if w.err == nil {
		w.err = fmt.Errorf("orc: %s: %w", what, err)
	}
	return w.err
}
