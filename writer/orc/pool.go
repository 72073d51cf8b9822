package orc

import (
	"fmt"
	"sync"

	"github.com/landfall/landfall/writer"
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

// bufferPool hands the column buffers of a closed file to the next file of
// the Format. The pipeline rolls every file at each checkpoint and opens
// new ones right after, for the same schema and about as many rows; without
// the pool each new file grows its buffers again from nothing, a copy per
// doubling plus the garbage collector's work for the old ones.
//
// Pooled buffers belong to no file, so the budget does not count them
// (like the pooled compressors): a set is only kept when it fits in what
// the budget leaves unused at that moment, and all sets together in an
// eighth of the limit. A file that takes a set is charged its capacity at
// its first append, and a spill frees it as usual.
type bufferPool struct {
	budget *writer.Budget
	mu     sync.Mutex
	sets   []*bufferSet
	bytes  int64
}

// bufferSet is a writer's columns and stripe encoder, emptied.
type bufferSet struct {
	root *column
	cols []*column
	enc  *stripeEncoder
	held int64
}

func newBufferPool(b *writer.Budget) *bufferPool { return &bufferPool{budget: b} }

// get returns a set, or nil when there is none.
func (p *bufferPool) get() *bufferSet {
	if p == nil {
		return nil
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	n := len(p.sets)
	if n == 0 {
		return nil
	}
	s := p.sets[n-1]
	p.sets[n-1] = nil
	p.sets = p.sets[:n-1]
	p.bytes -= s.held
	return s
}

// put keeps s, whose columns are empty, if the budget has room for it.
func (p *bufferPool) put(s *bufferSet) {
	if p == nil {
		return
	}
	limit := p.budget.Limit()
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.bytes+s.held > limit/8 || p.budget.InUse()+p.bytes+s.held > limit {
		return
	}
	p.sets = append(p.sets, s)
	p.bytes += s.held
}
