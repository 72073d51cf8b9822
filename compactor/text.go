package compactor

import (
	"context"
	"encoding/binary"
	"fmt"
	"io"
)

// zstdMagic opens every zstd frame (RFC 8878, 3.1.1).
const zstdMagic = 0xFD2FB528

// MergeText writes to dst the concatenation of srcs: for text it is the text
// of every source in order, and for text+zstd a sequence of frames, which
// zstd readers decode as the concatenation of the frames' contents
// (RFC 8878: a file is a sequence of frames).
//
// The writer ends every record with a newline, so a plain source that
// doesn't end with one is cut short, and concatenating it would glue its
// last record to the next source's first: it is refused with ErrBadSource.
// With compressed true each non-empty source must start with a zstd frame;
// its last newline can't be checked without decoding, which the writer's
// framing (whole records per frame) makes unnecessary.
func MergeText(ctx context.Context, dst io.Writer, srcs []Source, compressed bool, opts ...Option) (Result, error) {
	o := defaults(opts)
	if len(srcs) == 0 {
		return Result{}, fmt.Errorf("compactor: merge text: no sources")
	}
	for i, s := range srcs {
		if s.Size() == 0 {
			continue
		}
		if compressed {
			var m [4]byte
			if n, _ := s.ReadAt(m[:], 0); n < 4 || binary.LittleEndian.Uint32(m[:]) != zstdMagic {
				return Result{}, fmt.Errorf("compactor: merge text: source %d: %w: not a zstd frame", i, ErrBadSource)
			}
			continue
		}
		var last [1]byte
		if n, err := s.ReadAt(last[:], s.Size()-1); n != 1 {
			return Result{}, fmt.Errorf("compactor: merge text: source %d: read last byte: %w", i, err)
		}
		if last[0] != '\n' {
			return Result{}, fmt.Errorf("compactor: merge text: source %d: %w: does not end with a newline", i, ErrBadSource)
		}
	}
	c := newCopier(ctx, dst, o)
	for i, s := range srcs {
		if err := c.copyRange(s, 0, s.Size()); err != nil {
			return Result{}, fmt.Errorf("compactor: merge text: source %d: %w", i, err)
		}
	}
	return Result{Size: c.off, Rows: -1}, nil
}
