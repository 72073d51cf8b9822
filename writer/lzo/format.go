package lzo

import (
	"bytes"
	"fmt"
	"io"
	"sync"

	"github.com/landfall/landfall/writer"
)

// Option configures a Format.
type Option func(*Format)

// Format is text+lzo: one record per line in an lzop file that Hadoop's
// LzopCodec reads and, with the .lzo.index sidecar, splits at block
// boundaries. It is safe for concurrent use.
type Format struct {
	cfg  writerConfig
	pool sync.Pool // *scratch, shared by the encoders of all open files
}

var _ writer.Format = (*Format)(nil)

// NewFormat returns the lzo format. Options left out keep lzop's defaults.
func NewFormat(opts ...Option) (*Format, error) {
	f := &Format{cfg: defaultWriterConfig()}
	for _, o := range opts {
		o(f)
	}
	if err := f.cfg.validate(); err != nil {
		return nil, err
	}
	return f, nil
}

// WithFormatBlockSize sets the uncompressed block size of the files the
// format writes (see WithBlockSize).
func WithFormatBlockSize(n int) Option { return func(f *Format) { f.cfg.blockSize = n } }

// WithFormatChecksums sets the per-block checksums (see WithChecksums).
func WithFormatChecksums(flags uint32) Option {
	return func(f *Format) { WithChecksums(flags)(&f.cfg) }
}

// Name implements writer.Format.
func (f *Format) Name() string { return "lzo" }

// Ext implements writer.Format.
func (f *Format) Ext() string { return ".lzo" }

// NewEncoder implements writer.Format: it writes the lzop header to w.
func (f *Format) NewEncoder(w io.Writer) (writer.Encoder, error) {
	s, _ := f.pool.Get().(*scratch)
	zw, err := newWriter(w, f.cfg, s, func(s *scratch) { f.pool.Put(s) })
	if err != nil {
		if s != nil {
			f.pool.Put(s)
		}
		return nil, fmt.Errorf("lzo: start file: %w", err)
	}
	return &encoder{w: zw}, nil
}

// encoder writes one record per line.
type encoder struct {
	w *Writer
}

var (
	_ writer.Encoder  = (*encoder)(nil)
	_ writer.Sidecars = (*encoder)(nil)
)

// Append writes value and a newline. A value holding a newline would read
// back as two records, so it is rejected whole.
func (e *encoder) Append(value []byte) error {
	if bytes.IndexByte(value, '\n') >= 0 {
		return &writer.RecordError{Reason: "record contains a newline"}
	}
	return e.w.writeLine(value)
}

// Close writes the last block and the end marker; meta has no place in an
// lzop file and is ignored.
func (e *encoder) Close(map[string]string) error { return e.w.Close() }

// Sidecars returns the .lzo.index.
func (e *encoder) Sidecars() []writer.Sidecar {
	return []writer.Sidecar{{Suffix: IndexSuffix, Data: e.w.Index()}}
}
