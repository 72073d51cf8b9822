package reader

import (
	"errors"
	"fmt"
	"io"
	"time"
	_ "time/tzdata" // timestamps depend on the writer's zone; hosts may lack zoneinfo

	"github.com/landfall/landfall/writer/orc/spec"
)

// ReadOption configures a BatchReader.
type ReadOption func(*readConfig)

type readConfig struct {
	batchSize int
	columns   []int
	maxElems  int
	maxDict   int
}

// WithBatchSize sets the rows per batch (default 1024).
func WithBatchSize(n int) ReadOption { return func(c *readConfig) { c.batchSize = n } }

// WithColumns reads only the given column ids (with their subtrees and
// ancestors); other columns read as null and cost no I/O.
func WithColumns(ids ...int) ReadOption { return func(c *readConfig) { c.columns = ids } }

// WithMaxElements bounds the list and map elements one batch may hold per
// column (default 4M). Lengths are RLE encoded, so a few bytes can claim
// billions of elements; this keeps a hostile file from exhausting memory.
func WithMaxElements(n int) ReadOption { return func(c *readConfig) { c.maxElems = n } }

// WithMaxDictionary bounds the entries of one string dictionary (default
// 16M, 64 MiB of offsets). Like list lengths, dictionary lengths are RLE
// encoded, so only this limit keeps a hostile footer from claiming billions.
func WithMaxDictionary(n int) ReadOption { return func(c *readConfig) { c.maxDict = n } }

// BatchReader decodes a file stripe by stripe in batches of rows. It is not
// safe for concurrent use; open one per goroutine.
type BatchReader struct {
	f       *File
	cfg     readConfig
	include []bool
	dec     *spec.Decompressor
	stripe  int    // next stripe to load
	left    uint64 // rows left in the current stripe
	root    columnReader
	vec     *Vector
	zones   map[string]*time.Location
	err     error
}

// Batches starts reading the file's rows.
func (f *File) Batches(opts ...ReadOption) (*BatchReader, error) {
	cfg := readConfig{batchSize: 1024, maxElems: 4 << 20, maxDict: 16 << 20}
	for _, o := range opts {
		o(&cfg)
	}
	if cfg.batchSize <= 0 {
		return nil, fmt.Errorf("orc: batch size %d", cfg.batchSize)
	}
	r := &BatchReader{f: f, cfg: cfg, vec: newVector(f.schema), zones: map[string]*time.Location{}}
	if cfg.columns != nil {
		r.include = make([]bool, len(f.footer.Types))
		for _, id := range cfg.columns {
			if id < 0 || id >= len(r.include) {
				return nil, fmt.Errorf("orc: column %d of %d", id, len(r.include))
			}
		}
		markIncluded(f.schema, cfg.columns, r.include)
	}
	dec, err := spec.NewDecompressor(f.ps.Compression, f.ps.CompressionBlockSize, spec.WithLZO(decodeLZOChunk))
	if err != nil {
		return nil, fmt.Errorf("orc: read rows: %w", err)
	}
	r.dec = dec
	return r, nil
}

// markIncluded includes the subtrees of ids and their ancestors. It reports
// whether t is included.
func markIncluded(t *Type, ids []int, include []bool) bool {
	for _, id := range ids {
		if id == t.ID {
			for i := t.ID; i <= t.MaxID; i++ {
				include[i] = true
			}
			return true
		}
	}
	any := false
	for _, c := range t.Children {
		if markIncluded(c, ids, include) {
			any = true
		}
	}
	if any {
		include[t.ID] = true
	}
	return any
}

// Next decodes the next batch into the reader's vector and returns it, or
// io.EOF after the last row. The vector is reused by the next call.
func (r *BatchReader) Next() (*Vector, error) {
	if r.err != nil {
		return nil, r.err
	}
	for r.left == 0 {
		if r.stripe >= len(r.f.footer.Stripes) {
			return nil, io.EOF
		}
		if err := r.loadStripe(r.stripe); err != nil {
			r.err = err
			return nil, err
		}
		r.stripe++
	}
	n := r.cfg.batchSize
	if uint64(n) > r.left {
		n = int(r.left)
	}
	if err := r.root.next(r.vec, n, nil); err != nil {
		r.err = fmt.Errorf("orc: stripe %d: %w", r.stripe-1, err)
		return nil, r.err
	}
	r.left -= uint64(n)
	return r.vec, nil
}

// Close releases the reader's decompressor.
func (r *BatchReader) Close() error {
	if r.dec != nil {
		err := r.dec.Close()
		r.dec = nil
		return err
	}
	return nil
}

func (r *BatchReader) loadStripe(i int) error {
	s, err := r.f.Stripe(i)
	if err != nil {
		return err
	}
	sd := &stripeData{
		index:     i,
		streams:   map[streamKey][]byte{},
		enc:       s.Footer.Columns,
		dec:       r.dec,
		limit:     r.f.cfg.maxStreamSize,
		decimal64: len(r.f.ps.Version) >= 2 && r.f.ps.Version[0] == 1,
		maxElems:  r.cfg.maxElems,
		maxDict:   r.cfg.maxDict,
	}
	if tz := s.Footer.WriterTimezone; tz != "" {
		loc, ok := r.zones[tz]
		if !ok {
			if loc, err = time.LoadLocation(tz); err != nil {
				// Timestamps can't be read without their zone; the file
				// names one that no reader knows.
				return fmt.Errorf("orc: stripe %d: %w: writer time zone: %v", i, spec.ErrCorrupt, err)
			}
			r.zones[tz] = loc
		}
		sd.loc = loc
	}
	for _, v := range s.Footer.Encryption {
		for _, st := range v.Streams {
			if sd.encrypted == nil {
				sd.encrypted = map[int]bool{}
			}
			sd.encrypted[int(st.Column)] = true
		}
	}
	// Read the data section at once: one round trip per stripe, and only
	// the index section is skipped.
	info := s.Info
	dataOff := int64(info.Offset + info.IndexLength)
	if info.DataLength > uint64(r.f.size) {
		return fmt.Errorf("orc: stripe %d: %w: data length %d", i, spec.ErrCorrupt, info.DataLength)
	}
	var section []byte
	needed := false
	for _, st := range s.Streams {
		if st.Offset >= dataOff && st.Length > 0 && (r.include == nil || (st.Column < len(r.include) && r.include[st.Column])) {
			needed = true
		}
	}
	if needed {
		section = make([]byte, info.DataLength)
		if err := r.f.readAt(section, dataOff); err != nil {
			return fmt.Errorf("orc: read stripe %d data: %w", i, err)
		}
	}
	for _, st := range s.Streams {
		if st.Kind.IsIndex() || st.Kind == spec.StreamEncryptedData || st.Offset < dataOff {
			continue
		}
		if r.include != nil && !r.include[st.Column] {
			continue
		}
		sd.streams[streamKey{st.Column, st.Kind}] = section[st.Offset-dataOff : st.Offset-dataOff+st.Length]
	}
	root, err := newColumnReader(r.f.schema, sd, r.include)
	if err != nil {
		return fmt.Errorf("orc: stripe %d: %w", i, err)
	}
	r.root = root
	r.left = info.NumberOfRows
	return nil
}

// Rows iterates over the rows of a file as Go values (see Vector.Value).
// It is for tests and tools; pipelines use the batches.
type Rows struct {
	br  *BatchReader
	vec *Vector
	i   int
	err error
}

// Rows starts reading the file row by row.
func (f *File) Rows(opts ...ReadOption) (*Rows, error) {
	br, err := f.Batches(opts...)
	if err != nil {
		return nil, err
	}
	return &Rows{br: br}, nil
}

// Next advances to the next row and reports whether there is one.
func (r *Rows) Next() bool {
	if r.err != nil {
		return false
	}
	for r.vec == nil || r.i+1 >= r.vec.Len {
		vec, err := r.br.Next()
		if err != nil {
			if !errors.Is(err, io.EOF) {
				r.err = err
			}
			r.vec = nil
			return false
		}
		r.vec, r.i = vec, -1
	}
	r.i++
	return true
}

// Value is the current row.
func (r *Rows) Value() any { return r.vec.Value(r.i) }

// Err is the error that stopped Next, if any.
func (r *Rows) Err() error { return r.err }

// Close releases the reader.
func (r *Rows) Close() error { return r.br.Close() }
