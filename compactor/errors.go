package compactor

import (
	"errors"
	"fmt"
)

// Errors of the executors. Both mean "leave these files as they are": the
// run loop logs and counts them and commits the partition unmerged; neither
// is worth a retry, since the same bytes give the same answer.
var (
	// ErrIncompatible means the sources can't be merged by copying: they
	// differ in something the merged file can hold only once (an ORC
	// schema, compression or block size, lzop checksum flags). The
	// planner's compatibility keys keep such files apart, so seeing it
	// means a key was computed from other metadata than the files have.
	// Errors of this kind are *IncompatibleError.
	ErrIncompatible = errors.New("compactor: incompatible sources")
	// ErrBadSource means a source is not a complete file of its format (a
	// text file without its last newline, an lzop file without its end
	// marker, an ORC footer that doesn't add up); merging would carry the
	// damage into a file that replaces it.
	ErrBadSource = errors.New("compactor: bad source file")
)

// IncompatibleError says which source differs from the first, in what.
type IncompatibleError struct {
	Source    int    // index in the sources passed to the executor
	What      string // e.g. "compression", "schema", "lzop flags"
	Got, Want string
}

func (e *IncompatibleError) Error() string {
	return fmt.Sprintf("incompatible sources: source %d has %s %s, source 0 has %s", e.Source, e.What, e.Got, e.Want)
}

func (e *IncompatibleError) Unwrap() error { return ErrIncompatible }

func incompatible(i int, what string, got, want any) error {
	return &IncompatibleError{Source: i, What: what, Got: fmt.Sprint(got), Want: fmt.Sprint(want)}
}
