package lzo

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// IndexSuffix is appended to a data file's name to name its index, as
// hadoop-lzo's LzoIndexer does: x.lzo gets x.lzo.index.
const IndexSuffix = ".index"

// ParseIndex decodes a .lzo.index: big-endian 8-byte offsets of block
// starts, strictly increasing.
func ParseIndex(b []byte) ([]int64, error) {
	if len(b)%8 != 0 {
		return nil, fmt.Errorf("lzo: parse index: %d bytes is not a whole number of 8-byte offsets", len(b))
	}
	offs := make([]int64, 0, len(b)/8)
	for i := 0; i < len(b); i += 8 {
		v := binary.BigEndian.Uint64(b[i:])
		if v > 1<<62 || (len(offs) > 0 && int64(v) <= offs[len(offs)-1]) {
			return nil, fmt.Errorf("lzo: parse index: entry %d (%d) is out of order or out of range", i/8, v)
		}
		offs = append(offs, int64(v))
	}
	return offs, nil
}

// BuildIndex walks an lzop file block by block, the way LzoIndexer does,
// and returns its .lzo.index. It reads every block's framing but
// decompresses nothing.
func BuildIndex(r io.Reader) ([]byte, error) {
	zr, err := NewReader(r)
	if err != nil {
		return nil, fmt.Errorf("lzo: build index: %w", err)
	}
	var idx []byte
	for {
		b, err := zr.Next()
		if errors.Is(err, io.EOF) {
			return idx, nil
		}
		if err != nil {
			return nil, fmt.Errorf("lzo: build index: %w", err)
		}
		idx = binary.BigEndian.AppendUint64(idx, uint64(b.Offset))
	}
}

// ReadBlockAt reads the block that starts at off in r, as an index entry
// points to it. h is the file's header, which says which checksums follow
// the block lengths. It returns io.EOF if off is the end marker.
func ReadBlockAt(r io.ReaderAt, off int64, h Header) (*Block, error) {
	z := &Reader{r: newBufReader(io.NewSectionReader(r, off, 1<<62)), hdr: h, offset: off}
	return z.Next()
}

func newBufReader(r io.Reader) *bufio.Reader { return bufio.NewReaderSize(r, 4096) }
