package writer

import (
	"errors"
	"fmt"
	"io"

	"github.com/landfall/landfall/writer/fsys"
)

// Part is one part file being written under its staging name. It is not safe
// for concurrent use: the committer's consume loop owns it until Roll, after
// which only Close may be called (from any goroutine).
type Part struct {
	fs     fsys.FS
	name   string
	file   fsys.File
	count  countingWriter
	enc    Encoder
	rows   int64
	rolled bool
}

// Create starts a part file at the staging name.
func Create(fs fsys.FS, f Format, staging string) (*Part, error) {
	file, err := fs.Create(staging)
	if err != nil {
		return nil, fmt.Errorf("create part file: %w", err)
	}
	p := &Part{fs: fs, name: staging, file: file}
	p.count.w = file
	// No buffer here: encoders buffer within their format's memory budget
	// and write in big pieces (see Format.NewEncoder).
	enc, err := f.NewEncoder(&p.count)
	if err != nil {
		file.Close()
		return nil, fmt.Errorf("create part file %s: %w", staging, err)
	}
	p.enc = enc
	return p, nil
}

// Append adds a record. See Encoder.Append for the meaning of its errors.
func (p *Part) Append(v []byte) error {
	if err := p.enc.Append(v); err != nil {
		if errors.Is(err, ErrInvalidRecord) {
			return err
		}
		return fmt.Errorf("append to %s: %w", p.name, err)
	}
	p.rows++
	return nil
}

// Row is a record its format has already scanned (orc.Row), so that a
// caller that reads a field of the record to pick the file (the
// committer's event time) and the encoder share one pass over its bytes.
type Row interface {
	// AppendTo adds the row to enc, an encoder of the format that scanned
	// it; its errors mean what Encoder.Append's do.
	AppendTo(enc Encoder) error
}

// AppendRow adds a scanned record. See Encoder.Append for the meaning of
// its errors.
func (p *Part) AppendRow(r Row) error {
	if err := r.AppendTo(p.enc); err != nil {
		if errors.Is(err, ErrInvalidRecord) {
			return err
		}
		return fmt.Errorf("append to %s: %w", p.name, err)
	}
	p.rows++
	return nil
}

// Rows is the number of records appended.
func (p *Part) Rows() int64 { return p.rows }

// Name is the staging name.
func (p *Part) Name() string { return p.name }

// Rolled describes a part file whose bytes are durable.
type Rolled struct {
	Size     int64
	Rows     int64
	Sidecars []string // suffixes of sidecar files written beside the staging name
}

// Roll finishes the encoding, writes the sidecars and makes everything
// durable. The file stays open; Close it afterwards, possibly asynchronously.
func (p *Part) Roll(meta map[string]string) (Rolled, error) {
	p.rolled = true
	if err := p.enc.Close(meta); err != nil {
		return Rolled{}, fmt.Errorf("finish %s: %w", p.name, err)
	}
	var suffixes []string
	if sc, ok := p.enc.(Sidecars); ok {
		for _, s := range sc.Sidecars() {
			if err := writeDurable(p.fs, p.name+s.Suffix, s.Data); err != nil {
				return Rolled{}, err
			}
			suffixes = append(suffixes, s.Suffix)
		}
	}
	if err := p.file.Sync(); err != nil {
		return Rolled{}, fmt.Errorf("sync %s: %w", p.name, err)
	}
	return Rolled{Size: p.count.n, Rows: p.rows, Sidecars: suffixes}, nil
}

// Close closes the file. Call it after Roll, or to abandon the file.
func (p *Part) Close() error {
	if d, ok := p.enc.(Discarder); ok && !p.rolled {
		// Abandoned: its buffers must leave the format's budget.
		d.Discard()
	}
	if err := p.file.Close(); err != nil {
		return fmt.Errorf("close %s: %w", p.name, err)
	}
	return nil
}

func writeDurable(fs fsys.FS, name string, data []byte) error {
	f, err := fs.Create(name)
	if err != nil {
		return fmt.Errorf("create sidecar: %w", err)
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return fmt.Errorf("write sidecar %s: %w", name, err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("sync sidecar %s: %w", name, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("close sidecar %s: %w", name, err)
	}
	return nil
}

type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(b []byte) (int, error) {
	n, err := c.w.Write(b)
	c.n += int64(n)
	return n, err
}
