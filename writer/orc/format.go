package orc

import (
	"io"

	"github.com/landfall/landfall/writer"
)

// Format is the "orc" pipeline format: JSON records in, ORC files out, all
// files of a process sharing one memory budget.
type Format struct {
	schema *Type
	o      options
	mem    *memoryManager
	pool   *compressorPool
}

var _ writer.Format = (*Format)(nil)

// NewFormat returns the ORC format for schema (see ParseSchema). Options
// apply to every file; their errors are reported here, not per file.
func NewFormat(schema *Type, opts ...Option) (*Format, error) {
	o := defaultOptions()
	for _, opt := range opts {
		opt(&o)
	}
	if err := o.validate(); err != nil {
		return nil, err
	}
	// A trial writer checks what depends on the schema (bloom columns).
	pool := newCompressorPool(&o)
	if _, err := newWriter(io.Discard, schema, &o, nil, pool); err != nil {
		return nil, err
	}
	return &Format{schema: schema, o: o, mem: newMemoryManager(o.memoryBudget), pool: pool}, nil
}

// Name is the config name of the format.
func (f *Format) Name() string { return "orc" }

// Ext is the extension of committed ORC files.
func (f *Format) Ext() string { return ".orc" }

// Schema is the table schema the format writes.
func (f *Format) Schema() *Type { return f.schema }

// NewEncoder starts an ORC file on w.
func (f *Format) NewEncoder(w io.Writer) (writer.Encoder, error) {
	return newWriter(w, f.schema, &f.o, f.mem, f.pool)
}

// BufferedBytes is the memory all open files of the format hold now.
func (f *Format) BufferedBytes() int64 { return f.mem.total.Load() }
