package reader

import (
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/landfall/landfall/writer/orc/schema"
	"github.com/landfall/landfall/writer/orc/spec"
)

// Errors of the reader. Corrupt files yield errors wrapping spec.ErrCorrupt;
// a compression the reader can't decode wraps spec.ErrUnsupportedCompression.
var (
	// ErrNotORC means the bytes are not an ORC file at all (too small, no
	// magic). A zero-byte file is reported this way too: for landfall it is
	// a crash leftover, not an empty table.
	ErrNotORC = errors.New("orc: not an ORC file")
	// ErrUnsupportedVersion means the file's format version is newer than
	// this reader knows; reading it could silently return wrong values.
	ErrUnsupportedVersion = errors.New("orc: unsupported file version")
	// ErrEncrypted means a column's real values are encrypted and this
	// reader has no keys; the masked values of the unencrypted variant are
	// what it returns, and only if the file stores them.
	ErrEncrypted = errors.New("orc: encrypted columns unsupported")
)

// tailReadSize is how much of the end of the file Open reads in its first
// read: the postscript, footer and metadata of most files fit, so opening
// costs one round trip to HDFS.
const tailReadSize = 16 << 10

// Option configures Open.
type Option func(*config)

type config struct {
	maxStreamSize int
	maxTailSize   int
}

// WithMaxStreamSize bounds how many bytes one decompressed stream, stripe
// footer or index may take (default 256 MiB). A hostile file that expands
// past it fails with an error wrapping spec.ErrLimit instead of exhausting
// memory.
func WithMaxStreamSize(n int) Option { return func(c *config) { c.maxStreamSize = n } }

// WithMaxTailSize bounds the decompressed footer and metadata sections
// (default 64 MiB).
func WithMaxTailSize(n int) Option { return func(c *config) { c.maxTailSize = n } }

// File is an open ORC file. Its methods are safe for concurrent use; each
// BatchReader it hands out is not.
type File struct {
	r      io.ReaderAt
	size   int64
	cfg    config
	ps     spec.PostScript
	psLen  int
	footer spec.Footer
	schema *Type

	// metadataRaw is the compressed metadata section, parsed on demand:
	// most readers never look at stripe statistics.
	metadataRaw []byte

	mu  sync.Mutex // guards dec
	dec *spec.Decompressor

	// TailReads is how many ReadAt calls opening the file took.
	TailReads int
}

// Open reads the tail of an ORC file of the given size: postscript, footer
// and (lazily) metadata. Data is read only when a stripe is requested.
func Open(r io.ReaderAt, size int64, opts ...Option) (*File, error) {
	f := &File{r: r, size: size, cfg: config{maxStreamSize: 256 << 20, maxTailSize: 64 << 20}}
	for _, o := range opts {
		o(&f.cfg)
	}
	if err := f.readTail(); err != nil {
		return nil, err
	}
	return f, nil
}

func (f *File) readAt(p []byte, off int64) error {
	n, err := f.r.ReadAt(p, off)
	if n == len(p) {
		return nil
	}
	if err == nil || err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	return err
}

func (f *File) readTail() error {
	if f.size < int64(len(spec.Magic))+1 {
		return fmt.Errorf("%w: file of %d bytes is too small", ErrNotORC, f.size)
	}
	n := min(f.size, tailReadSize)
	tail := make([]byte, n)
	if err := f.readAt(tail, f.size-n); err != nil {
		return fmt.Errorf("orc: read file tail: %w", err)
	}
	f.TailReads++
	psLen := int(tail[n-1])
	if psLen == 0 || int64(psLen)+1 > n {
		return fmt.Errorf("%w: postscript length %d in a file of %d bytes", ErrNotORC, psLen, f.size)
	}
	f.psLen = psLen
	if err := f.ps.Unmarshal(tail[n-1-int64(psLen) : n-1]); err != nil {
		return fmt.Errorf("orc: read postscript: %w", err)
	}
	if f.ps.Magic != spec.Magic {
		// Hive 0.11 files have no magic in the postscript; the header
		// must hold it then.
		if f.ps.Magic != "" {
			return fmt.Errorf("%w: postscript magic %q", ErrNotORC, f.ps.Magic)
		}
		var head [3]byte
		if err := f.readAt(head[:], 0); err != nil {
			return fmt.Errorf("orc: read file header: %w", err)
		}
		f.TailReads++
		if string(head[:]) != spec.Magic {
			return fmt.Errorf("%w: no magic in postscript or header", ErrNotORC)
		}
	}
	if err := checkVersion(f.ps.Version); err != nil {
		return err
	}
	// Lay out the tail: [stripe statistics][metadata][footer][postscript][1].
	avail := f.size - int64(psLen) - 1 - int64(len(spec.Magic))
	if avail < 0 {
		return fmt.Errorf("%w: postscript of %d bytes in a file of %d bytes", ErrNotORC, psLen, f.size)
	}
	footerLen, metaLen := f.ps.FooterLength, f.ps.MetadataLength
	if footerLen > uint64(avail) || metaLen > uint64(avail)-footerLen || f.ps.StripeStatisticsLength > uint64(avail)-footerLen-metaLen {
		return fmt.Errorf("%w: footer %d, metadata %d and stripe statistics %d bytes don't fit a file of %d bytes",
			spec.ErrCorrupt, footerLen, metaLen, f.ps.StripeStatisticsLength, f.size)
	}
	need := int64(psLen) + 1 + int64(footerLen) + int64(metaLen)
	if need > n {
		// One more read for what the first one missed.
		more := make([]byte, need-n)
		if err := f.readAt(more, f.size-need); err != nil {
			return fmt.Errorf("orc: read file tail: %w", err)
		}
		f.TailReads++
		tail = append(more, tail...)
		n = need
	}
	footerEnd := n - 1 - int64(psLen)
	footerRaw := tail[footerEnd-int64(footerLen) : footerEnd]
	f.metadataRaw = tail[footerEnd-int64(footerLen)-int64(metaLen) : footerEnd-int64(footerLen)]

	dec, err := spec.NewDecompressor(f.ps.Compression, f.ps.CompressionBlockSize, spec.WithLZO(decodeLZOChunk))
	if err != nil {
		return fmt.Errorf("orc: open %v file: %w", f.ps.Compression, err)
	}
	f.dec = dec
	fb, err := dec.Decompress(nil, footerRaw, f.cfg.maxTailSize)
	if err != nil {
		return fmt.Errorf("orc: decompress footer: %w", err)
	}
	if err := f.footer.Unmarshal(fb); err != nil {
		return fmt.Errorf("orc: read footer: %w", err)
	}
	if f.schema, err = schema.FromFooter(f.footer.Types); err != nil {
		return fmt.Errorf("orc: read schema: %w", err)
	}
	contentEnd := uint64(avail) + uint64(len(spec.Magic)) - footerLen - metaLen - f.ps.StripeStatisticsLength
	for i, s := range f.footer.Stripes {
		end := s.Offset + s.IndexLength + s.DataLength + s.FooterLength
		if s.Offset < uint64(len(spec.Magic)) || end < s.Offset || s.IndexLength > end || s.DataLength > end || end > contentEnd {
			return fmt.Errorf("%w: stripe %d [%d, +%d+%d+%d) is outside the file body (%d bytes)",
				spec.ErrCorrupt, i, s.Offset, s.IndexLength, s.DataLength, s.FooterLength, contentEnd)
		}
	}
	return nil
}

// checkVersion accepts the format versions whose encodings this reader
// implements: none (Hive 0.11 files), 0.11, 0.12 and Java's
// UNSTABLE-PRE-2.0 (1.9999, which adds DECIMAL64).
func checkVersion(v []uint32) error {
	switch {
	case len(v) == 0:
		return nil
	case len(v) >= 2 && v[0] == 0 && v[1] <= 12:
		return nil
	case len(v) >= 2 && v[0] == 1 && v[1] == 9999:
		return nil
	}
	return fmt.Errorf("%w: %v", ErrUnsupportedVersion, v)
}

// Close releases the decompressor. It does not close the io.ReaderAt.
func (f *File) Close() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.dec != nil {
		err := f.dec.Close()
		f.dec = nil
		return err
	}
	return nil
}

// Schema is the type tree of the file; the root has id 0.
func (f *File) Schema() *Type { return f.schema }

// NumRows is the number of rows the footer records.
func (f *File) NumRows() uint64 { return f.footer.NumberOfRows }

// PostScript is the file's postscript. Callers must not modify it.
func (f *File) PostScript() *spec.PostScript { return &f.ps }

// Footer is the file's footer: stripes, types, statistics, user metadata.
// A compactor builds the merged footer from it. Callers must not modify it.
func (f *File) Footer() *spec.Footer { return &f.footer }

// Compression is the file's compression kind.
func (f *File) Compression() spec.CompressionKind { return f.ps.Compression }

// Stripes locates the stripes; each is a contiguous byte range
// [Offset, Offset+Length()) that a compactor may copy verbatim into a file
// with the same schema, compression and block size.
func (f *File) Stripes() []spec.StripeInformation { return f.footer.Stripes }

// Statistics are the file-level statistics, indexed by column id.
func (f *File) Statistics() []spec.ColumnStatistics { return f.footer.Statistics }

// UserMetadata returns the value of a user metadata key.
func (f *File) UserMetadata(name string) ([]byte, bool) {
	for _, m := range f.footer.Metadata {
		if m.Name == name {
			return m.Value, true
		}
	}
	return nil, false
}

// StripeStatistics parses the metadata section: the statistics of every
// column of every stripe, in stripe order.
func (f *File) StripeStatistics() ([]spec.StripeStatistics, error) {
	b, err := f.decompress(f.metadataRaw, f.cfg.maxTailSize)
	if err != nil {
		return nil, fmt.Errorf("orc: decompress metadata: %w", err)
	}
	var m spec.Metadata
	if err := m.Unmarshal(b); err != nil {
		return nil, fmt.Errorf("orc: read metadata: %w", err)
	}
	return m.StripeStats, nil
}

// decompress decodes a section with the file's shared decompressor.
func (f *File) decompress(raw []byte, limit int) ([]byte, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.dec == nil {
		return nil, errors.New("orc: file is closed")
	}
	return f.dec.Decompress(nil, raw, limit)
}

// StreamInfo is one stream of a stripe with its absolute position in the file.
type StreamInfo struct {
	Kind   spec.StreamKind
	Column int
	Offset int64
	Length int64
}

// Stripe is the directory of one stripe.
type Stripe struct {
	Index  int
	Info   spec.StripeInformation
	Footer spec.StripeFooter
	// Streams are the stripe's streams in file order, the virtual
	// ENCRYPTED_INDEX/ENCRYPTED_DATA ranges of encrypted variants included.
	Streams []StreamInfo
}

// Stream finds a stream by column and kind.
func (s *Stripe) Stream(column int, kind spec.StreamKind) (StreamInfo, bool) {
	for _, st := range s.Streams {
		if st.Column == column && st.Kind == kind {
			return st, true
		}
	}
	return StreamInfo{}, false
}

// Stripe reads and checks the footer of stripe i.
func (f *File) Stripe(i int) (*Stripe, error) {
	if i < 0 || i >= len(f.footer.Stripes) {
		return nil, fmt.Errorf("orc: stripe %d of %d", i, len(f.footer.Stripes))
	}
	info := f.footer.Stripes[i]
	footerOff := int64(info.Offset + info.IndexLength + info.DataLength)
	if info.FooterLength > uint64(f.cfg.maxStreamSize) {
		return nil, fmt.Errorf("orc: read stripe %d footer: %w: %d bytes", i, spec.ErrLimit, info.FooterLength)
	}
	raw := make([]byte, info.FooterLength)
	if err := f.readAt(raw, footerOff); err != nil {
		return nil, fmt.Errorf("orc: read stripe %d footer: %w", i, err)
	}
	b, err := f.decompress(raw, f.cfg.maxStreamSize)
	if err != nil {
		return nil, fmt.Errorf("orc: decompress stripe %d footer: %w", i, err)
	}
	s := &Stripe{Index: i, Info: info}
	if err := s.Footer.Unmarshal(b); err != nil {
		return nil, fmt.Errorf("orc: read stripe %d footer: %w", i, err)
	}
	off := int64(info.Offset)
	end := int64(info.Offset + info.IndexLength + info.DataLength)
	ncols := len(f.footer.Types)
	for _, st := range s.Footer.Streams {
		if st.Length > uint64(end-off) {
			return nil, fmt.Errorf("orc: stripe %d: %w: %v stream of column %d (%d bytes) overruns the stripe", i, spec.ErrCorrupt, st.Kind, st.Column, st.Length)
		}
		if int(st.Column) >= ncols && st.Kind != spec.StreamEncryptedIndex && st.Kind != spec.StreamEncryptedData {
			return nil, fmt.Errorf("orc: stripe %d: %w: stream for column %d of %d", i, spec.ErrCorrupt, st.Column, ncols)
		}
		s.Streams = append(s.Streams, StreamInfo{Kind: st.Kind, Column: int(st.Column), Offset: off, Length: int64(st.Length)})
		off += int64(st.Length)
	}
	if len(s.Footer.Columns) != ncols {
		return nil, fmt.Errorf("orc: stripe %d: %w: bad stripe footer: %d column encodings for %d columns", i, spec.ErrCorrupt, len(s.Footer.Columns), ncols)
	}
	return s, nil
}

// RowIndex reads the row group index of a column in stripe i: per row
// group, the stream positions and statistics. Files written without an
// index (row index stride 0) have none; that is an error here.
func (f *File) RowIndex(i, column int) (*spec.RowIndex, error) {
	s, err := f.Stripe(i)
	if err != nil {
		return nil, err
	}
	st, ok := s.Stream(column, spec.StreamRowIndex)
	if !ok {
		return nil, fmt.Errorf("orc: stripe %d has no row index for column %d", i, column)
	}
	b, err := f.readIndexStream(st)
	if err != nil {
		return nil, fmt.Errorf("orc: stripe %d: %w", i, err)
	}
	var ri spec.RowIndex
	if err := ri.Unmarshal(b); err != nil {
		return nil, fmt.Errorf("orc: stripe %d: read row index of column %d: %w", i, column, err)
	}
	return &ri, nil
}

// BloomFilterIndex reads the bloom filters of a column in stripe i,
// preferring BLOOM_FILTER_UTF8 (consistent across writers) over the older
// BLOOM_FILTER. It returns the kind it read.
func (f *File) BloomFilterIndex(i, column int) (*spec.BloomFilterIndex, spec.StreamKind, error) {
	s, err := f.Stripe(i)
	if err != nil {
		return nil, 0, err
	}
	st, ok := s.Stream(column, spec.StreamBloomFilterUTF8)
	if !ok {
		if st, ok = s.Stream(column, spec.StreamBloomFilter); !ok {
			return nil, 0, fmt.Errorf("orc: stripe %d has no bloom filter for column %d", i, column)
		}
	}
	b, err := f.readIndexStream(st)
	if err != nil {
		return nil, 0, fmt.Errorf("orc: stripe %d: %w", i, err)
	}
	var bf spec.BloomFilterIndex
	if err := bf.Unmarshal(b); err != nil {
		return nil, 0, fmt.Errorf("orc: stripe %d: read bloom filters of column %d: %w", i, column, err)
	}
	return &bf, st.Kind, nil
}

func (f *File) readIndexStream(st StreamInfo) ([]byte, error) {
	if st.Length > int64(f.cfg.maxStreamSize) {
		return nil, fmt.Errorf("%w: %v stream of column %d has %d bytes", spec.ErrLimit, st.Kind, st.Column, st.Length)
	}
	raw := make([]byte, st.Length)
	if err := f.readAt(raw, st.Offset); err != nil {
		return nil, fmt.Errorf("read %v stream of column %d: %w", st.Kind, st.Column, err)
	}
	b, err := f.decompress(raw, f.cfg.maxStreamSize)
	if err != nil {
		return nil, fmt.Errorf("decompress %v stream of column %d: %w", st.Kind, st.Column, err)
	}
	return b, nil
}
