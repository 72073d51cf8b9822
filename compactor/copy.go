package compactor

import (
	"context"
	"fmt"
	"io"
	"math"

	"golang.org/x/time/rate"
)

// Source is a file an executor merges: random access, for the ORC tail and
// stripes, and a size. fsys.Reader is one; bytes.Reader is one in tests.
type Source interface {
	io.ReaderAt
	Size() int64
}

// Option configures an executor.
type Option func(*options)

type options struct {
	limiter *rate.Limiter
	bufSize int
}

// DefaultBufferSize is the copy buffer of one merge: the only memory a
// merge holds besides the sources' tails (ORC) or one block (lzo).
const DefaultBufferSize = 1 << 20

func defaults(opts []Option) options {
	o := options{bufSize: DefaultBufferSize}
	for _, opt := range opts {
		opt(&o)
	}
	if o.bufSize < 4096 {
		o.bufSize = 4096
	}
	return o
}

// WithLimiter caps the bytes per second a merge reads and writes
// (compaction.max_bytes_per_second); share one limiter between concurrent
// merges to cap them together. Bytes are counted once, as they are copied.
func WithLimiter(l *rate.Limiter) Option { return func(o *options) { o.limiter = l } }

// WithBufferSize sets the copy buffer (default DefaultBufferSize, at least
// 4 KiB).
func WithBufferSize(n int) Option { return func(o *options) { o.bufSize = n } }

// NewLimiter returns a limiter for WithLimiter of bytesPerSecond, or nil
// (no limit) for 0. Its burst is one copy buffer, so a merge never runs
// more than a buffer ahead of the rate.
func NewLimiter(bytesPerSecond int64) *rate.Limiter {
	if bytesPerSecond <= 0 {
		return nil
	}
	return rate.NewLimiter(rate.Limit(bytesPerSecond), DefaultBufferSize)
}

// copier writes one merged file: bounded buffer, rate limit, offset.
type copier struct {
	ctx context.Context
	w   io.Writer
	o   options
	buf []byte
	off int64
}

func newCopier(ctx context.Context, w io.Writer, o options) *copier {
	return &copier{ctx: ctx, w: w, o: o, buf: make([]byte, o.bufSize)}
}

// wait charges n bytes to the limiter, in steps no bigger than its burst
// (WaitN refuses more), and notices a cancelled context.
func (c *copier) wait(n int) error {
	if err := c.ctx.Err(); err != nil {
		return err
	}
	l := c.o.limiter
	if l == nil || l.Limit() == rate.Inf {
		return nil
	}
	step := l.Burst()
	if step <= 0 {
		step = math.MaxInt
	}
	for n > 0 {
		k := min(n, step)
		if err := l.WaitN(c.ctx, k); err != nil {
			return err
		}
		n -= k
	}
	return nil
}

// write writes p to the merged file.
func (c *copier) write(p []byte) error {
	if err := c.wait(len(p)); err != nil {
		return err
	}
	n, err := c.w.Write(p)
	c.off += int64(n)
	if err == nil && n != len(p) {
		err = io.ErrShortWrite
	}
	if err != nil {
		return fmt.Errorf("write merged file at offset %d: %w", c.off-int64(n), err)
	}
	return nil
}

// copyRange copies n bytes at off of src to the merged file, one buffer at
// a time.
func (c *copier) copyRange(src io.ReaderAt, off, n int64) error {
	for n > 0 {
		k := int(min(n, int64(len(c.buf))))
		got, err := src.ReadAt(c.buf[:k], off)
		if got < k {
			if err == nil || err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return fmt.Errorf("read source at offset %d: %w", off, err)
		}
		if err := c.write(c.buf[:k]); err != nil {
			return err
		}
		off += int64(k)
		n -= int64(k)
	}
	return nil
}
