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
// block it is filling, which grows with the data up to the block size
// within the file's share of the format's memory budget (a block ends
// early when the share runs out, which lzop and the index allow); the
// compressor state is pooled and taken only while a block is written.
// Each block reaches the file in one write.
type Format struct {
	cfg    writerConfig
	pool   sync.Pool // *scratch, shared by the encoders of all open files
	budget *writer.Budget
}

var (
	_ writer.Format   = (*Format)(nil)
	_ writer.Budgeted = (*Format)(nil)
)

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
	if f.budget = f.cfg.budget; f.budget != nil {
		return f, nil
	}
	if f.cfg.memoryBudget < 1 {
		return nil, fmt.Errorf("lzo: memory budget %d must be positive", f.cfg.memoryBudget)
	}
	f.budget = writer.NewBudget(f.cfg.memoryBudget)
	return f, nil
}

// Budget is the memory budget of the format's open files.
func (f *Format) Budget() *writer.Budget { return f.budget }

// Name implements writer.Format.
func (f *Format) Name() string { return "lzo" }

// Ext implements writer.Format.
func (f *Format) Ext() string { return ".lzo" }

// NewEncoder implements writer.Format: it writes the lzop header to w.
// Blocks are big writes, so w needs no buffer of its own.
func (f *Format) NewEncoder(w io.Writer) (writer.Encoder, error) {
	e := &encoder{}
	e.acct = f.budget.Open(e.spill)
	// The header is charged before e.w is set: hold the account so that
	// another file's reclaim can't spill this one half made.
	e.acct.Lock()
	defer e.acct.Unlock()
	zw, err := newWriter(w, f.cfg, &f.pool, e.acct)
	if err != nil {
		e.acct.Close()
		return nil, fmt.Errorf("lzo: start file: %w", err)
	}
	e.w = zw
	return e, nil
}

// encoder writes one record per line.
type encoder struct {
	w    *Writer
	acct *writer.Account
}

var (
	_ writer.Encoder   = (*encoder)(nil)
	_ writer.Sidecars  = (*encoder)(nil)
	_ writer.Discarder = (*encoder)(nil)
)

// Append writes value and a newline. A value holding a newline would read
// back as two records, so it is rejected whole.
func (e *encoder) Append(value []byte) error {
	if bytes.IndexByte(value, '\n') >= 0 {
		return &writer.RecordError{Reason: "record contains a newline"}
	}
	e.acct.Lock()
	defer e.acct.Unlock()
	return e.w.writeLine(value)
}

// spill ends the block being filled early, for a file that needs the
// memory; it runs with the account locked.
func (e *encoder) spill() { e.w.spill() }

// Close writes the last block and the end marker; meta has no place in an
// lzop file and is ignored.
func (e *encoder) Close(map[string]string) error {
	e.acct.Lock()
	defer e.acct.Unlock()
	err := e.w.Close()
	e.acct.Close()
	return err
}

// Discard frees the block being filled without writing it.
func (e *encoder) Discard() {
	e.acct.Lock()
	defer e.acct.Unlock()
	e.w.discard()
	e.acct.Close()
}

// Sidecars returns the .lzo.index, or nothing under WithoutIndex.
func (e *encoder) Sidecars() []writer.Sidecar {
	if e.w.cfg.noIndex {
		return nil
	}
	return []writer.Sidecar{{Suffix: IndexSuffix, Data: e.w.Index()}}
}
