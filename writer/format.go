package writer

import (
	"errors"
	"fmt"
	"io"
)

// Format encodes records into one kind of file. A Format is shared by every
// part file of a process, so it is where process-wide limits live (ORC's
// memory budget, for instance); it must be safe for concurrent use.
type Format interface {
	// Name is the config name of the format: "text", "lzo", "orc".
	Name() string
	// Ext is the extension of committed data files, with its dot.
	Ext() string
	// NewEncoder starts a file on w. The encoder owns w until Close returns
	// but never closes it: the caller syncs and closes the file itself so that
	// it can do that asynchronously. w is the file itself, unbuffered: the
	// encoder buffers within the format's memory budget and writes in big
	// pieces (P5: the memory of open files is bounded only if every buffer
	// is counted).
	NewEncoder(w io.Writer) (Encoder, error)
}

// Encoder writes one file.
type Encoder interface {
	// Append adds one record. An error that wraps ErrInvalidRecord means the
	// record was rejected whole — nothing of it reached the file — and the
	// caller routes it to the invalid-record sink; any other error is fatal for
	// this file.
	Append(value []byte) error
	// Close flushes what the encoder buffers and writes the format's trailer.
	// meta holds file-level key/values (landfall version, Kafka offset range)
	// that formats with user metadata record; others ignore it. Formats report
	// their real write failures here, so the error must be checked.
	Close(meta map[string]string) error
}

// Sidecars is implemented by encoders that produce small companion files,
// such as the .lzo.index beside an lzop file. It is called after Close; each
// sidecar is committed with its data file, exactly once like it, and is
// published before the data file so a reader never sees data without it.
type Sidecars interface {
	Sidecars() []Sidecar
}

// Sidecar is a companion file: its committed name is the data file's
// committed name plus Suffix.
type Sidecar struct {
	Suffix string
	Data   []byte
}

// ErrInvalidRecord marks a record that can't be written in this format (not
// JSON, a field that does not fit the schema). It never stops the stream.
var ErrInvalidRecord = errors.New("writer: invalid record")

// RecordError says why one record was rejected.
type RecordError struct {
	Reason string // short and stable enough to count by, e.g. "column status: want int, got string"
}

func (e *RecordError) Error() string { return fmt.Sprintf("writer: invalid record: %s", e.Reason) }
func (e *RecordError) Unwrap() error { return ErrInvalidRecord }
