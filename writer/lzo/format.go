package lzo

import (
	"bytes"
	"fmt"
	"io"
	"sync"

	"github.com/landfall/landfall/writer"
)

// Format is text+lzo: one record per line in an lzop file that Hadoop's
// LzopCodec reads and, with the .lzo.index sidecar, splits at block
// boundaries. It is safe for concurrent use. An open file holds only the
// block it is filling, which grows with the data up to the block size; the
// compressor state is pooled and taken only while a block is written.
type Format struct {
	cfg  writerConfig
	pool sync.Pool // *scratch, shared by the encoders of all open files
}

var _ writer.Format = (*Format)(nil)

// NewFormat returns the lzo format; every file it starts is written with
// opts (WithBlockSize, WithChecksums, ...). Options left out keep lzop's
// defaults.
func NewFormat(opts ...WriterOption) (*Format, error) {
	f := &Format{cfg: defaultWriterConfig()}
	for _, o := range opts {
		o(&f.cfg)
	}
	if err := f.cfg.validate(); err != nil {
		return nil, err
	}
	return f, nil
}

// Name implements writer.Format.
func (f *Format) Name() string { return "lzo" }

// Ext implements writer.Format.
func (f *Format) Ext() string { return ".lzo" }

// NewEncoder implements writer.Format: it writes the lzop header to w.
func (f *Format) NewEncoder(w io.Writer) (writer.Encoder, error) {
	zw, err := newWriter(w, f.cfg, &f.pool)
	if err != nil {
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
