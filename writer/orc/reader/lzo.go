package reader

import (
	"errors"
	"fmt"

	"github.com/landfall/landfall/writer/lzo"
)

// decodeLZOChunk decodes one LZO1X chunk of an ORC file. ORC does not store
// the decoded size of a chunk, and lzo.Decompress needs it exactly, so the
// size is searched for: a buffer that is too short fails with
// ErrOutputOverrun, one that is too long with ErrOutputUnderrun. Writers
// fill every chunk but a stream's last to the block size, so the first try
// (the whole buffer) almost always succeeds.
func decodeLZOChunk(buf, src []byte) ([]byte, error) {
	lo, hi := 0, len(buf)
	try := hi
	for lo <= hi {
		err := lzo.Decompress(buf[:try], src)
		switch {
		case err == nil:
			return buf[:try], nil
		case errors.Is(err, lzo.ErrOutputOverrun):
			lo = try + 1
		case errors.Is(err, lzo.ErrOutputUnderrun):
			hi = try - 1
		default:
			return nil, err
		}
		try = lo + (hi-lo)/2
	}
	return nil, fmt.Errorf("lzo chunk decodes to no size up to %d bytes", len(buf))
}
