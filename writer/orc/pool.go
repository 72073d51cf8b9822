package orc

import (
	"fmt"
	"sync"

	"github.com/klauspost/compress/zstd"

	"github.com/landfall/landfall/writer/orc/spec"
)

// chunkCompressor frames bytes into ORC compression chunks.
type chunkCompressor interface {
	// AppendChunk appends src (at most one block) as exactly one chunk.
	AppendChunk(dst, src []byte) ([]byte, error)
	// Append appends src as as many chunks as it needs.
	Append(dst, src []byte) ([]byte, error)
}

// compressorPool shares compressors between the writers of a Format. A
// zstd or deflate compressor holds megabytes of tables and windows but is
// only needed while a stripe or the tail is written; hundreds of open files
// each holding one would cost more than the memory budget they live under.
type compressorPool struct {
	kind      spec.CompressionKind
	blockSize int
	level     int
	pool      sync.Pool
}

func newCompressorPool(o *options) *compressorPool {
	return &compressorPool{kind: o.compression, blockSize: o.blockSize, level: o.level}
}

// get returns a compressor, or nil for uncompressed files.
func (p *compressorPool) get() (chunkCompressor, error) {
	if p.kind == spec.CompressionNone {
		return nil, nil
	}
	if c, ok := p.pool.Get().(chunkCompressor); ok {
		return c, nil
	}
	if p.kind == spec.CompressionZstd {
		return newZstdCompressor(p.blockSize, p.level)
	}
	c, err := spec.NewCompressor(p.kind, p.blockSize, spec.WithLevel(p.level))
	if err != nil {
		return nil, fmt.Errorf("orc: start %v compressor: %w", p.kind, err)
	}
	return c, nil
}

func (p *compressorPool) put(c chunkCompressor) {
	if c != nil {
		p.pool.Put(c)
	}
}

// zstdCompressor is the writer's own ZSTD chunk compressor. It differs from
// spec's in one setting that decides file size: klauspost's fast levels
// skip entropy coding of literals when a block has no matches, so columns
// of random ids (hex, UUIDs — no repeats, but 4 bits of entropy per byte)
// were stored uncompressed, about 50% larger than Apache ORC writes them.
type zstdCompressor struct {
	enc       *zstd.Encoder
	blockSize int
	buf       []byte
}

func newZstdCompressor(blockSize, level int) (*zstdCompressor, error) {
	lv := zstd.SpeedDefault
	if level != 0 {
		lv = zstd.EncoderLevelFromZstd(level)
	}
	window := zstd.MinWindowSize
	for window < blockSize && window < zstd.MaxWindowSize {
		window <<= 1
	}
	enc, err := zstd.NewWriter(nil, zstd.WithEncoderLevel(lv), zstd.WithEncoderConcurrency(1),
		zstd.WithWindowSize(window), zstd.WithEncoderCRC(false), zstd.WithAllLitEntropyCompression(true))
	if err != nil {
		return nil, fmt.Errorf("orc: start zstd compressor: %w", err)
	}
	return &zstdCompressor{enc: enc, blockSize: blockSize}, nil
}

func (c *zstdCompressor) AppendChunk(dst, src []byte) ([]byte, error) {
	if len(src) > c.blockSize {
		return dst, fmt.Errorf("orc: compress chunk: %d bytes exceed block size %d", len(src), c.blockSize)
	}
	c.buf = c.enc.EncodeAll(src, c.buf[:0])
	if len(c.buf) >= len(src) {
		dst = spec.AppendChunkHeader(dst, len(src), true)
		return append(dst, src...), nil
	}
	dst = spec.AppendChunkHeader(dst, len(c.buf), false)
	return append(dst, c.buf...), nil
}

func (c *zstdCompressor) Append(dst, src []byte) ([]byte, error) {
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
