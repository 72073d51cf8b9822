package spec

import (
	"bytes"
	"errors"
	"fmt"
	"io"

	"github.com/klauspost/compress/flate"
	"github.com/klauspost/compress/s2"
	"github.com/klauspost/compress/zstd"
	"github.com/pierrec/lz4/v4"
)

// ORC compresses every stream, the stripe footers, the metadata and the
// footer (never the postscript) in chunks of at most the compression block
// size, each behind a 3-byte little-endian header holding length<<1 |
// isOriginal. A chunk that would not shrink is stored as is ("original").
// Files with compression NONE have no chunk headers at all.

// ErrLimit is wrapped by decompression errors when a stream decodes to more
// bytes than the caller allowed: a hostile file can pack gigabytes into a
// few kilobytes of zstd, and the caller's limit is what keeps memory bounded.
var ErrLimit = errors.New("orc: decompressed size exceeds limit")

// AppendChunkHeader appends the header of a chunk of n bytes on disk.
// n must be below 1<<23.
func AppendChunkHeader(dst []byte, n int, original bool) []byte {
	v := uint32(n) << 1
	if original {
		v |= 1
	}
	return append(dst, byte(v), byte(v>>8), byte(v>>16))
}

// ParseChunkHeader decodes a chunk header from the first three bytes of b.
func ParseChunkHeader(b []byte) (n int, original bool, err error) {
	if len(b) < ChunkHeaderSize {
		return 0, false, fmt.Errorf("%w: compression chunk header: %d bytes left, want %d", ErrCorrupt, len(b), ChunkHeaderSize)
	}
	v := uint32(b[0]) | uint32(b[1])<<8 | uint32(b[2])<<16
	return int(v >> 1), v&1 == 1, nil
}

// CompressorOption configures a Compressor.
type CompressorOption func(*compressorConfig)

type compressorConfig struct {
	level int
}

// WithLevel sets the codec's level in the codec's own scale: zlib 1 (fast)
// to 9 (small), zstd 1 to 22 as the zstd command line counts. The default
// (0) is each codec's default: zlib 6, zstd 3. Snappy and LZ4 have no level.
func WithLevel(level int) CompressorOption {
	return func(c *compressorConfig) { c.level = level }
}

// Compressor frames bytes into ORC compression chunks. It holds codec state
// that is expensive to build (zstd tables, deflate windows), so keep one per
// writer goroutine; it is not safe for concurrent use.
type Compressor struct {
	kind      CompressionKind
	blockSize int
	buf       []byte
	flateBuf  bytes.Buffer
	flate     *flate.Writer
	zstd      *zstd.Encoder
	lz4       lz4.Compressor
}

// NewCompressor returns a compressor for kind with chunks of at most
// blockSize uncompressed bytes. LZO and BROTLI can't be written.
func NewCompressor(kind CompressionKind, blockSize int, opts ...CompressorOption) (*Compressor, error) {
	var cfg compressorConfig
	for _, o := range opts {
		o(&cfg)
	}
	if blockSize <= 0 || blockSize > MaxCompressionBlockSize {
		return nil, fmt.Errorf("orc: new compressor: block size %d out of range 1..%d", blockSize, MaxCompressionBlockSize)
	}
	c := &Compressor{kind: kind, blockSize: blockSize}
	switch kind {
	case CompressionNone, CompressionSnappy, CompressionLZ4:
	case CompressionZlib:
		level := cfg.level
		if level == 0 {
			level = 6
		}
		w, err := flate.NewWriter(&c.flateBuf, level)
		if err != nil {
			return nil, fmt.Errorf("orc: new zlib compressor: %w", err)
		}
		c.flate = w
	case CompressionZstd:
		level := zstd.SpeedDefault
		if cfg.level != 0 {
			level = zstd.EncoderLevelFromZstd(cfg.level)
		}
		// One goroutine and no window larger than a chunk: every chunk is
		// an independent frame, so a bigger window buys nothing. Literal
		// entropy coding stays on even in blocks without matches: the fast
		// levels otherwise store columns of random ids (hex, UUIDs: no
		// repeats, 4 bits of entropy per byte) raw, ~50% larger than
		// Apache ORC writes them.
		e, err := zstd.NewWriter(nil, zstd.WithEncoderLevel(level), zstd.WithEncoderConcurrency(1),
			zstd.WithWindowSize(zstdWindow(blockSize)), zstd.WithEncoderCRC(false),
			zstd.WithAllLitEntropyCompression(true))
		if err != nil {
			return nil, fmt.Errorf("orc: new zstd compressor: %w", err)
		}
		c.zstd = e
	default:
		return nil, fmt.Errorf("%w: can't write %v", ErrUnsupportedCompression, kind)
	}
	return c, nil
}

func zstdWindow(blockSize int) int {
	w := zstd.MinWindowSize
	for w < blockSize && w < zstd.MaxWindowSize {
		w <<= 1
	}
	return w
}

// Kind is the compression kind.
func (c *Compressor) Kind() CompressionKind { return c.kind }

// BlockSize is the largest uncompressed chunk.
func (c *Compressor) BlockSize() int { return c.blockSize }

// Append frames src into as many chunks as it needs and appends them to dst.
// With CompressionNone it appends src unchanged.
func (c *Compressor) Append(dst, src []byte) ([]byte, error) {
	if c.kind == CompressionNone {
		return append(dst, src...), nil
	}
	for len(src) > 0 {
		n := min(len(src), c.blockSize)
		var err error
		if dst, err = c.AppendChunk(dst, src[:n]); err != nil {
			return dst, err
		}
		src = src[n:]
	}
	return dst, nil
}

// AppendChunk appends src as exactly one chunk (header and body); src must
// be at most BlockSize bytes. Writers that record row index positions call
// it chunk by chunk: the chunk starts at len(dst) before the call.
func (c *Compressor) AppendChunk(dst, src []byte) ([]byte, error) {
	if len(src) > c.blockSize {
		return dst, fmt.Errorf("orc: compress chunk: %d bytes exceed block size %d", len(src), c.blockSize)
	}
	if c.kind == CompressionNone {
		return append(dst, src...), nil
	}
	body, err := c.compress(src)
	if err != nil {
		return dst, fmt.Errorf("orc: compress %v chunk: %w", c.kind, err)
	}
	if body == nil || len(body) >= len(src) {
		dst = AppendChunkHeader(dst, len(src), true)
		return append(dst, src...), nil
	}
	dst = AppendChunkHeader(dst, len(body), false)
	return append(dst, body...), nil
}

// compress returns the compressed form of src in c's scratch buffer, or nil
// when the codec could not make it smaller.
func (c *Compressor) compress(src []byte) ([]byte, error) {
	switch c.kind {
	case CompressionZlib:
		c.flateBuf.Reset()
		c.flate.Reset(&c.flateBuf)
		if _, err := c.flate.Write(src); err != nil {
			return nil, err
		}
		if err := c.flate.Close(); err != nil {
			return nil, err
		}
		return c.flateBuf.Bytes(), nil
	case CompressionZstd:
		c.buf = c.zstd.EncodeAll(src, c.buf[:0])
		return c.buf, nil
	case CompressionSnappy:
		c.buf = s2.EncodeSnappy(c.buf[:cap(c.buf)], src)
		return c.buf, nil
	case CompressionLZ4:
		if need := lz4.CompressBlockBound(len(src)); cap(c.buf) < need {
			c.buf = make([]byte, need)
		}
		n, err := c.lz4.CompressBlock(src, c.buf[:cap(c.buf)])
		if err != nil || n == 0 {
			// lz4 reports incompressible input as (0, nil) or as a short
			// destination; both mean "store the original".
			return nil, nil
		}
		return c.buf[:n], nil
	}
	return nil, fmt.Errorf("%w: %v", ErrUnsupportedCompression, c.kind)
}

// Decompressor undoes the chunk framing of one file. Every chunk must expand
// to at most the file's compression block size, and the caller gives a limit
// on each whole stream, so memory stays bounded on hostile files. It is not
// safe for concurrent use; Close releases the codec state.
type Decompressor struct {
	kind      CompressionKind
	blockSize int
	scratch   []byte
	flate     io.ReadCloser
	zstd      *zstd.Decoder
	chunk     bytes.Reader
	lzo       func(buf, src []byte) ([]byte, error)
}

// DecompressorOption configures a Decompressor.
type DecompressorOption func(*Decompressor)

// WithLZO supplies an LZO1X chunk decoder, which this package does not
// carry itself (the LZO1X codec lives in writer/lzo, which must not become
// a dependency of every user of spec). decode decodes src into a prefix of
// buf, which is block-size long, and returns that prefix.
func WithLZO(decode func(buf, src []byte) ([]byte, error)) DecompressorOption {
	return func(d *Decompressor) { d.lzo = decode }
}

// NewDecompressor returns a decompressor for a file with the given
// compression and postscript block size (0 means absent, i.e. the default).
func NewDecompressor(kind CompressionKind, blockSize uint64, opts ...DecompressorOption) (*Decompressor, error) {
	if blockSize == 0 {
		blockSize = DefaultCompressionBlockSize
	}
	if blockSize > MaxCompressionBlockSize {
		return nil, fmt.Errorf("%w: compression block size %d exceeds %d", ErrCorrupt, blockSize, MaxCompressionBlockSize)
	}
	d := &Decompressor{kind: kind, blockSize: int(blockSize)}
	for _, o := range opts {
		o(d)
	}
	switch kind {
	case CompressionNone, CompressionSnappy, CompressionLZ4:
	case CompressionLZO:
		if d.lzo == nil {
			return nil, fmt.Errorf("%w: LZO needs an LZO1X decoder (WithLZO)", ErrUnsupportedCompression)
		}
	case CompressionZlib:
		d.flate = flate.NewReader(&d.chunk)
	case CompressionZstd:
		// The output of every chunk is capped at the block size by the
		// capacity of the buffer it decodes into; the window a frame
		// declares may be larger than the block (writers round it up), so
		// memory is capped separately at the largest legal chunk.
		z, err := zstd.NewReader(nil, zstd.WithDecoderConcurrency(1),
			zstd.WithDecoderMaxMemory(max(blockSize, MaxCompressionBlockSize+1)),
			zstd.WithDecodeAllCapLimit(true), zstd.WithDecoderLowmem(true))
		if err != nil {
			return nil, fmt.Errorf("orc: new zstd decompressor: %w", err)
		}
		d.zstd = z
	default:
		return nil, fmt.Errorf("%w: %v", ErrUnsupportedCompression, kind)
	}
	return d, nil
}

// Kind is the compression kind.
func (d *Decompressor) Kind() CompressionKind { return d.kind }

// BlockSize is the largest chunk the decompressor accepts.
func (d *Decompressor) BlockSize() int { return d.blockSize }

// Close releases the codec state. The Decompressor can't be used after.
func (d *Decompressor) Close() error {
	if d.zstd != nil {
		d.zstd.Close()
	}
	return nil
}

// Decompress appends the decoded stream src to dst. It fails with an error
// wrapping ErrLimit once more than limit bytes would be appended, and with
// ErrCorrupt on bad framing or a chunk larger than the block size.
// With CompressionNone src is appended as is.
func (d *Decompressor) Decompress(dst, src []byte, limit int) ([]byte, error) {
	if d.kind == CompressionNone {
		if len(src) > limit {
			return dst, fmt.Errorf("%w: %d bytes, limit %d", ErrLimit, len(src), limit)
		}
		return append(dst, src...), nil
	}
	start := len(dst)
	for off := 0; off < len(src); {
		n, original, err := ParseChunkHeader(src[off:])
		if err != nil {
			return dst, fmt.Errorf("decompress %v at offset %d: %w", d.kind, off, err)
		}
		off += ChunkHeaderSize
		if n > len(src)-off {
			return dst, fmt.Errorf("%w: decompress %v at offset %d: chunk of %d bytes, %d left", ErrCorrupt, d.kind, off-ChunkHeaderSize, n, len(src)-off)
		}
		body := src[off : off+n]
		if original {
			if n > d.blockSize {
				return dst, fmt.Errorf("%w: decompress %v at offset %d: original chunk of %d bytes exceeds block size %d", ErrCorrupt, d.kind, off-ChunkHeaderSize, n, d.blockSize)
			}
		} else {
			body, err = d.chunkBody(body)
			if err != nil {
				return dst, fmt.Errorf("%w: decompress %v chunk at offset %d: %v", ErrCorrupt, d.kind, off-ChunkHeaderSize, err)
			}
		}
		if len(dst)-start+len(body) > limit {
			return dst, fmt.Errorf("%w: %v stream over %d bytes", ErrLimit, d.kind, limit)
		}
		dst = append(dst, body...)
		off += n
	}
	return dst, nil
}

// chunkBody decodes one compressed chunk into the scratch buffer.
func (d *Decompressor) chunkBody(src []byte) ([]byte, error) {
	if cap(d.scratch) < d.blockSize {
		d.scratch = make([]byte, d.blockSize)
	}
	buf := d.scratch[:d.blockSize]
	switch d.kind {
	case CompressionZlib:
		d.chunk.Reset(src)
		if err := d.flate.(flate.Resetter).Reset(&d.chunk, nil); err != nil {
			return nil, err
		}
		n, err := io.ReadFull(d.flate, buf)
		switch {
		case err == io.ErrUnexpectedEOF || err == io.EOF:
			return buf[:n], nil
		case err != nil:
			return nil, err
		}
		// The block is full; one more byte means the chunk expands past it.
		var one [1]byte
		if m, _ := d.flate.Read(one[:]); m > 0 {
			return nil, fmt.Errorf("inflates past block size %d", d.blockSize)
		}
		return buf, nil
	case CompressionZstd:
		out, err := d.zstd.DecodeAll(src, buf[:0:d.blockSize])
		if err != nil {
			return nil, err
		}
		if len(out) > d.blockSize {
			return nil, fmt.Errorf("decodes to %d bytes, block size %d", len(out), d.blockSize)
		}
		return out, nil
	case CompressionSnappy:
		n, err := s2.DecodedLen(src)
		if err != nil {
			return nil, err
		}
		if n > d.blockSize {
			return nil, fmt.Errorf("decodes to %d bytes, block size %d", n, d.blockSize)
		}
		return s2.Decode(buf[:n], src)
	case CompressionLZ4:
		n, err := lz4.UncompressBlock(src, buf)
		if err != nil {
			return nil, err
		}
		return buf[:n], nil
	case CompressionLZO:
		out, err := d.lzo(buf, src)
		if err == nil && len(out) > d.blockSize {
			err = fmt.Errorf("decodes to %d bytes, block size %d", len(out), d.blockSize)
		}
		return out, err
	}
	return nil, fmt.Errorf("%w: %v", ErrUnsupportedCompression, d.kind)
}
