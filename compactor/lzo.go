package compactor

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/landfall/landfall/writer/lzo"
)

// checksumFlags are the lzop header flags that decide a block's framing.
const checksumFlags = lzo.FlagAdler32D | lzo.FlagAdler32C | lzo.FlagCRC32D | lzo.FlagCRC32C

// MergeLZO writes to dst one lzop file: one header, then every block of
// srcs in order, copied as stored (lengths, checksums and compressed bytes;
// nothing is decompressed), then the end marker, and returns the merged
// file's .lzo.index as a sidecar, which lists the offset of every block.
//
// Blocks carry the checksums their file's header asks for, so they can be
// copied unchanged only between files with the same checksum flags;
// sources that differ are refused with an *IncompatibleError (recomputing
// a checksum of uncompressed data would mean decompressing). The
// compressed-data checksums, where the files have them, are verified on the
// way. A source without its end marker is refused with ErrBadSource.
//
// Memory is one block of a source (at most 256 KiB for blocks lzop can
// read) and the reader's buffer.
func MergeLZO(ctx context.Context, dst io.Writer, srcs []Source, opts ...Option) (Result, error) {
	o := defaults(opts)
	if len(srcs) == 0 {
		return Result{}, fmt.Errorf("compactor: merge lzo: no sources")
	}
	readers := make([]*lzo.Reader, len(srcs))
	var flags uint32
	for i, s := range srcs {
		r, err := lzo.NewReader(io.NewSectionReader(s, 0, s.Size()))
		if err != nil {
			return Result{}, fmt.Errorf("compactor: merge lzo: source %d: %w: %w", i, ErrBadSource, err)
		}
		f := r.Header().Flags & checksumFlags
		if i == 0 {
			flags = f
		} else if f != flags {
			return Result{}, fmt.Errorf("compactor: merge lzo: %w", incompatible(i, "lzop checksum flags", fmt.Sprintf("%#x", f), fmt.Sprintf("%#x", flags)))
		}
		readers[i] = r
	}
	c := newCopier(ctx, dst, o)
	w, err := lzo.NewWriter(limitedWriter{c}, lzo.WithChecksums(flags))
	if err != nil {
		return Result{}, fmt.Errorf("compactor: merge lzo: %w", err)
	}
	for i, r := range readers {
		for {
			b, err := r.Next()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				return Result{}, fmt.Errorf("compactor: merge lzo: source %d: %w: %w", i, ErrBadSource, err)
			}
			if err := w.CopyBlock(b); err != nil {
				return Result{}, fmt.Errorf("compactor: merge lzo: copy block at offset %d of source %d: %w", b.Offset, i, err)
			}
		}
		if r.Offset() != srcs[i].Size() {
			// Bytes after the end marker would be dropped silently.
			return Result{}, fmt.Errorf("compactor: merge lzo: source %d: %w: %d bytes after the end marker", i, ErrBadSource, srcs[i].Size()-r.Offset())
		}
	}
	if err := w.Close(); err != nil {
		return Result{}, fmt.Errorf("compactor: merge lzo: finish file: %w", err)
	}
	idx := append([]byte(nil), w.Index()...)
	return Result{Size: c.off, Rows: -1, Sidecars: []Sidecar{{Suffix: lzo.IndexSuffix, Data: idx}}}, nil
}

// limitedWriter routes the lzo writer's writes through the copier, for the
// rate limit and the offset.
type limitedWriter struct{ c *copier }

func (l limitedWriter) Write(p []byte) (int, error) {
	if err := l.c.write(p); err != nil {
		return 0, err
	}
	return len(p), nil
}
