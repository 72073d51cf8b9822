package orc

import (
	"slices"

	"github.com/landfall/landfall/writer/orc/spec"
)

// outStream is one stream of a stripe being encoded. Without compression the
// bytes go straight to out; with it they collect in buf and are written to
// out as chunks of at most blockSize uncompressed bytes, each behind the
// 3-byte header of the spec (length*2 + isOriginal, little endian).
type outStream struct {
	kind   spec.StreamKind
	column uint32

	codec     chunkCompressor
	blockSize int
	buf       []byte // uncompressed bytes of the current chunk
	out       []byte // finished bytes of the stream
	err       error
}

func (s *outStream) reset(kind spec.StreamKind, column uint32, c chunkCompressor, blockSize int) {
	s.kind, s.column, s.codec, s.blockSize = kind, column, c, blockSize
	s.buf, s.out, s.err = s.buf[:0], s.out[:0], nil
}

func (s *outStream) write(p []byte) {
	if s.codec == nil {
		s.out = append(s.out, p...)
		return
	}
	for len(p) > 0 {
		room := s.blockSize - len(s.buf)
		if room > len(p) {
			room = len(p)
		}
		if len(s.buf)+room > cap(s.buf) {
			// Doubling, up to the block (see grown): append's growth
			// copied a fresh file's chunks several times on the way.
			s.buf = slices.Grow(s.buf, min(max(room, cap(s.buf), 64), s.blockSize-len(s.buf)))
		}
		s.buf = append(s.buf, p[:room]...)
		p = p[room:]
		if len(s.buf) == s.blockSize {
			s.spill()
		}
	}
}

func (s *outStream) writeByte(c byte) {
	if s.codec == nil {
		s.out = append(s.out, c)
		return
	}
	if len(s.buf) == cap(s.buf) {
		s.buf = slices.Grow(s.buf, min(max(cap(s.buf), 64), s.blockSize-len(s.buf)))
	}
	s.buf = append(s.buf, c)
	if len(s.buf) == s.blockSize {
		s.spill()
	}
}

// spill compresses the current chunk into out.
func (s *outStream) spill() {
	if len(s.buf) == 0 {
		return
	}
	// A chunk takes at most its bytes and a header.
	if n := len(s.buf) + spec.ChunkHeaderSize; len(s.out)+n > cap(s.out) {
		s.out = grown(s.out, n)
	}
	var err error
	if s.out, err = s.codec.AppendChunk(s.out, s.buf); err != nil && s.err == nil {
		s.err = err
	}
	s.buf = s.buf[:0]
}

// position appends where the next byte will go: the byte offset without
// compression; with it, the offset of the chunk it will be in and the number
// of uncompressed bytes before it in that chunk.
func (s *outStream) position(pos []uint64) []uint64 {
	if s.codec == nil {
		return append(pos, uint64(len(s.out)))
	}
	return append(pos, uint64(len(s.out)), uint64(len(s.buf)))
}

// finish flushes the last chunk; the stream's bytes are then s.out.
func (s *outStream) finish() error {
	if s.codec != nil {
		s.spill()
	}
	return s.err
}

// compressBlob frames a whole message (footer, index, metadata) in chunks.
func compressBlob(dst []byte, c chunkCompressor, msg []byte) ([]byte, error) {
	if c == nil {
		return append(dst, msg...), nil
	}
	return c.Append(dst, msg)
}
