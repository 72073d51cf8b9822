package orc

import (
	"fmt"
	"sync"

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
