package orc

import (
	"io"

	"github.com/landfall/landfall/writer"
)

// Format is the "orc" pipeline format: JSON records in, ORC files out, all
// files of a process sharing one memory budget.
//
// Records are JSON objects. Fields map to columns by name, case-insensitively
// as in Hive; a missing field or JSON null is a null value, and fields not in
// the schema are ignored. Values convert like Hive's JSON SerDe:
//
//   - boolean: true/false, or the strings "true"/"false" in any case
//   - tinyint..bigint: integral numbers or numeric strings, range-checked
//   - float, double: numbers or numeric strings (parsed exactly)
//   - string: strings; other scalars and nested values as their JSON text
//   - varchar(n), char(n): truncated to n characters; char padded with spaces
//   - binary: base64 strings
//   - timestamp: "YYYY-MM-DD HH:MM:SS[.fffffffff]", RFC 3339 (an offset is
//     converted to UTC), "YYYY-MM-DD", or a number of milliseconds since the
//     epoch; stored as UTC wall clock
//   - date: "YYYY-MM-DD" or a number of days since 1970-01-01
//   - decimal(p,s): numbers or numeric strings, rounded half up to s digits,
//     rejected when more than p-s integer digits
//   - struct: objects; array: arrays; map: objects (keys parsed as the key type)
//
// Anything else rejects the whole record with a *writer.RecordError naming
// the column, and nothing of the record reaches the file.
type Format struct {
	schema *Type
	o      options
	budget *writer.Budget
	pool   *compressorPool
	bufs   *bufferPool
}

var (
	_ writer.Format   = (*Format)(nil)
	_ writer.Budgeted = (*Format)(nil)
)

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
	b := o.budget
	if b == nil {
		b = writer.NewBudget(o.memoryBudget)
	}
	// A trial writer checks what depends on the schema (bloom columns).
	pool := newCompressorPool(&o)
	trial, err := newWriter(io.Discard, schema, &o, b, pool, nil)
	if err != nil {
		return nil, err
	}
	trial.Discard()
	return &Format{schema: schema, o: o, budget: b, pool: pool, bufs: newBufferPool(b)}, nil
}

// Name is the config name of the format.
func (f *Format) Name() string { return "orc" }

// Ext is the extension of committed ORC files.
func (f *Format) Ext() string { return ".orc" }

// Schema is the table schema the format writes.
func (f *Format) Schema() *Type { return f.schema }

// NewEncoder starts an ORC file on w.
func (f *Format) NewEncoder(w io.Writer) (writer.Encoder, error) {
	return newWriter(w, f.schema, &f.o, f.budget, f.pool, f.bufs)
}

// Budget is the memory budget of the format's open files (writer.Budgeted),
// its own or the one WithBudget shares.
func (f *Format) Budget() *writer.Budget { return f.budget }

// BufferedBytes is the memory all open files of the format's budget hold
// now.
func (f *Format) BufferedBytes() int64 { return f.budget.InUse() }

// MemoryBudget is the limit BufferedBytes is kept under.
func (f *Format) MemoryBudget() int64 { return f.budget.Limit() }
