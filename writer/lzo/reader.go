package lzo

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"time"
)

// Errors of the lzop container reader.
var (
	// ErrFormat means the bytes are not an lzop file this package can read.
	ErrFormat = errors.New("lzo: not an lzop file")
	// ErrChecksum means a header or block checksum does not match its data.
	ErrChecksum = errors.New("lzo: checksum mismatch")
	// ErrCorrupt means a block's framing is impossible (lengths out of
	// range, a file that ends before its end marker).
	ErrCorrupt = errors.New("lzo: corrupt block")
)

// Block is one block of an lzop file as it is stored: what a compactor
// needs to copy it into another file without recompressing.
type Block struct {
	// Offset is where the block starts in the file: the position of its
	// uncompressed length, which is what the .lzo.index records.
	Offset int64
	// UncompressedLen and CompressedLen are the block's lengths; they are
	// equal when the block is stored uncompressed.
	UncompressedLen uint32
	CompressedLen   uint32
	// Flags are the file's header flags: they say which checksums below
	// are present.
	Flags uint32
	// Checksums of the uncompressed data, and of the compressed data
	// (present only if the flags ask for them and the block is compressed).
	Adler32D, CRC32D, Adler32C, CRC32C uint32
	// Data is the block's payload as stored: LZO1X compressed, or the
	// plain bytes when Stored. It is valid until the next call to Next.
	Data []byte
}

// Stored reports whether the block holds its data uncompressed.
func (b *Block) Stored() bool { return b.CompressedLen == b.UncompressedLen }

// EncodedLen is the size of the block in the file, header included.
func (b *Block) EncodedLen() int64 {
	d, c := checksumLens(b.Flags)
	if b.Stored() {
		c = 0
	}
	return int64(8+4*(d+c)) + int64(b.CompressedLen)
}

// VerifyCompressed checks the checksums of the compressed data, if the file
// has them: enough to copy the block to another file with confidence.
func (b *Block) VerifyCompressed() error {
	if b.Stored() {
		return nil
	}
	if b.Flags&FlagAdler32C != 0 && adler32Sum(b.Data) != b.Adler32C {
		return fmt.Errorf("%w: adler32 of compressed block at offset %d", ErrChecksum, b.Offset)
	}
	if b.Flags&FlagCRC32C != 0 && crc32.ChecksumIEEE(b.Data) != b.CRC32C {
		return fmt.Errorf("%w: crc32 of compressed block at offset %d", ErrChecksum, b.Offset)
	}
	return nil
}

// Decompress appends the block's uncompressed data to dst, verifying every
// checksum the file carries.
func (b *Block) Decompress(dst []byte) ([]byte, error) {
	if err := b.VerifyCompressed(); err != nil {
		return dst, err
	}
	n := int(b.UncompressedLen)
	start := len(dst)
	if cap(dst)-start < n {
		grown := make([]byte, start, start+n)
		copy(grown, dst)
		dst = grown
	}
	out := dst[start : start+n]
	if b.Stored() {
		copy(out, b.Data)
	} else if err := Decompress(out, b.Data); err != nil {
		return dst, fmt.Errorf("lzo: decompress block at offset %d: %w", b.Offset, err)
	}
	if b.Flags&FlagAdler32D != 0 && adler32Sum(out) != b.Adler32D {
		return dst, fmt.Errorf("%w: adler32 of block at offset %d", ErrChecksum, b.Offset)
	}
	if b.Flags&FlagCRC32D != 0 && crc32.ChecksumIEEE(out) != b.CRC32D {
		return dst, fmt.Errorf("%w: crc32 of block at offset %d", ErrChecksum, b.Offset)
	}
	return dst[:start+n], nil
}

// Reader reads an lzop file: block by block with Next, or as the
// decompressed stream with Read. Don't mix the two.
type Reader struct {
	r      *bufio.Reader
	hdr    Header
	offset int64 // bytes consumed from r
	block  Block
	buf    []byte   // compressed payload of the current block
	out    []byte   // decompressed data of the current block
	pos    int      // read position in out
	head   [24]byte // a block's lengths and checksums; a field, not a local, so it doesn't escape per block
	err    error
	done   bool
}

// NewReader reads and checks the lzop header from r.
func NewReader(r io.Reader) (*Reader, error) {
	br, ok := r.(*bufio.Reader)
	if !ok {
		br = bufio.NewReaderSize(r, 64<<10)
	}
	zr := &Reader{r: br}
	if err := zr.readHeader(); err != nil {
		return nil, err
	}
	return zr, nil
}

// Header returns the file's header.
func (z *Reader) Header() Header { return z.hdr }

// Offset is the number of bytes of the file consumed so far.
func (z *Reader) Offset() int64 { return z.offset }

func (z *Reader) full(b []byte) error {
	n, err := io.ReadFull(z.r, b)
	z.offset += int64(n)
	if errors.Is(err, io.EOF) {
		err = io.ErrUnexpectedEOF
	}
	return err
}

// headerReader accumulates the header bytes that its checksum covers.
type headerReader struct {
	z   *Reader
	sum []byte
	err error
}

func (h *headerReader) bytes(n int) []byte {
	if h.err != nil {
		return make([]byte, n)
	}
	start := len(h.sum)
	h.sum = append(h.sum, make([]byte, n)...)
	if err := h.z.full(h.sum[start:]); err != nil {
		h.err = err
	}
	return h.sum[start:]
}

func (h *headerReader) u8() uint8   { return h.bytes(1)[0] }
func (h *headerReader) u16() uint16 { return binary.BigEndian.Uint16(h.bytes(2)) }
func (h *headerReader) u32() uint32 { return binary.BigEndian.Uint32(h.bytes(4)) }

func (z *Reader) readHeader() error {
	var m [len(magic)]byte
	if err := z.full(m[:]); err != nil {
		return fmt.Errorf("%w: read magic: %v", ErrFormat, err)
	}
	if m != magic {
		return fmt.Errorf("%w: bad magic %x", ErrFormat, m[:])
	}
	h := &headerReader{z: z}
	hd := &z.hdr
	hd.Version = h.u16()
	hd.LibVersion = h.u16()
	if hd.Version >= 0x0940 {
		hd.VersionNeeded = h.u16()
	}
	hd.Method = h.u8()
	if hd.Version >= 0x0940 {
		hd.Level = h.u8()
	}
	hd.Flags = h.u32()
	if hd.Flags&FlagHFilter != 0 {
		hd.Filter = h.u32()
	}
	hd.Mode = h.u32()
	mtime := int64(h.u32())
	if hd.Version >= 0x0940 {
		mtime |= int64(h.u32()) << 32
	}
	if mtime != 0 {
		hd.ModTime = time.Unix(mtime, 0).UTC()
	}
	hd.Name = string(h.bytes(int(h.u8())))
	covered := h.sum
	want := h.u32()
	if h.err != nil {
		return fmt.Errorf("%w: read header: %v", ErrFormat, h.err)
	}
	switch {
	case hd.Version < 0x0900:
		return fmt.Errorf("%w: lzop version %#x is too old", ErrFormat, hd.Version)
	case hd.VersionNeeded > lzopVersion:
		return fmt.Errorf("%w: file needs lzop version %#x", ErrFormat, hd.VersionNeeded)
	case hd.Method < MethodLZO1X1 || hd.Method > MethodLZO1X999:
		return fmt.Errorf("%w: compression method %d is not LZO1X", ErrFormat, hd.Method)
	case hd.Flags&flagsUnsupported != 0:
		return fmt.Errorf("%w: flags %#x (filter or multipart) are not supported", ErrFormat, hd.Flags&flagsUnsupported)
	}
	var got uint32
	if hd.Flags&FlagHCRC32 != 0 {
		got = crc32.ChecksumIEEE(covered)
	} else {
		got = adler32Sum(covered)
	}
	if got != want {
		return fmt.Errorf("%w: header checksum is %#x, want %#x", ErrChecksum, got, want)
	}
	if hd.Flags&FlagHExtraField != 0 {
		// An extra field carries its own length and checksum.
		h := &headerReader{z: z}
		n := h.u32()
		if h.err == nil && n > 1<<16 {
			return fmt.Errorf("%w: header extra field of %d bytes", ErrFormat, n)
		}
		hd.Extra = h.bytes(int(n))[:n:n]
		sum := h.sum
		want := h.u32()
		if h.err != nil {
			return fmt.Errorf("%w: read header extra field: %v", ErrFormat, h.err)
		}
		sumOf := adler32Sum
		if hd.Flags&FlagHCRC32 != 0 {
			sumOf = crc32.ChecksumIEEE
		}
		if sumOf(sum) != want {
			return fmt.Errorf("%w: header extra field checksum", ErrChecksum)
		}
	}
	return nil
}

// Next returns the next block as stored, without decompressing or
// verifying it, or io.EOF after the end marker. The Block and its Data are
// valid until the next call.
func (z *Reader) Next() (*Block, error) {
	if z.err != nil {
		return nil, z.err
	}
	if z.done {
		return nil, io.EOF
	}
	b, err := z.next()
	if err != nil {
		z.err = err
		return nil, err
	}
	return b, nil
}

func (z *Reader) next() (*Block, error) {
	b := &z.block
	*b = Block{Offset: z.offset, Flags: z.hdr.Flags}
	lens := z.head[:8]
	if err := z.full(lens[:4]); err != nil {
		return nil, fmt.Errorf("%w: read block length at offset %d: %v (no end marker)", ErrCorrupt, b.Offset, err)
	}
	b.UncompressedLen = binary.BigEndian.Uint32(lens[:4])
	if b.UncompressedLen == 0 {
		z.done = true
		return nil, io.EOF
	}
	if err := z.full(lens[4:]); err != nil {
		return nil, fmt.Errorf("%w: read block at offset %d: %v", ErrCorrupt, b.Offset, err)
	}
	b.CompressedLen = binary.BigEndian.Uint32(lens[4:])
	switch {
	case b.UncompressedLen > MaxBlockSize:
		return nil, fmt.Errorf("%w: block at offset %d declares %d bytes, more than the %d lzop allows", ErrCorrupt, b.Offset, b.UncompressedLen, MaxBlockSize)
	case b.CompressedLen == 0 || b.CompressedLen > b.UncompressedLen:
		return nil, fmt.Errorf("%w: block at offset %d has compressed length %d for %d bytes", ErrCorrupt, b.Offset, b.CompressedLen, b.UncompressedLen)
	case uint64(b.UncompressedLen) > 256*uint64(b.CompressedLen)+1024:
		// LZO1X can't expand a byte into more than 255: the block is
		// corrupt, and allocating what it claims would be wasted.
		return nil, fmt.Errorf("%w: block at offset %d declares %d bytes from %d compressed", ErrCorrupt, b.Offset, b.UncompressedLen, b.CompressedLen)
	}
	sums := z.head[8:]
	d, c := checksumLens(b.Flags)
	if b.Stored() {
		c = 0
	}
	if err := z.full(sums[:4*(d+c)]); err != nil {
		return nil, fmt.Errorf("%w: read block checksums at offset %d: %v", ErrCorrupt, b.Offset, err)
	}
	s := sums
	take := func() uint32 { v := binary.BigEndian.Uint32(s); s = s[4:]; return v }
	if b.Flags&FlagAdler32D != 0 {
		b.Adler32D = take()
	}
	if b.Flags&FlagCRC32D != 0 {
		b.CRC32D = take()
	}
	if c > 0 && b.Flags&FlagAdler32C != 0 {
		b.Adler32C = take()
	}
	if c > 0 && b.Flags&FlagCRC32C != 0 {
		b.CRC32C = take()
	}
	// Read the payload in steps so that a length that lies about a
	// truncated file can't make us allocate what isn't there.
	n := int(b.CompressedLen)
	z.buf = z.buf[:0]
	for len(z.buf) < n {
		step := min(n-len(z.buf), max(len(z.buf), 1<<20))
		z.buf = append(z.buf, make([]byte, step)...)
		if err := z.full(z.buf[len(z.buf)-step:]); err != nil {
			return nil, fmt.Errorf("%w: read block data at offset %d: %v", ErrCorrupt, b.Offset, err)
		}
	}
	b.Data = z.buf
	return b, nil
}

// Read reads decompressed data, verifying every checksum the file has.
func (z *Reader) Read(p []byte) (int, error) {
	for z.pos == len(z.out) {
		b, err := z.Next()
		if err != nil {
			return 0, err
		}
		if z.out, err = b.Decompress(z.out[:0]); err != nil {
			z.err = err
			return 0, err
		}
		z.pos = 0
	}
	n := copy(p, z.out[z.pos:])
	z.pos += n
	return n, nil
}

// WriteTo writes the decompressed data to w; io.Copy uses it to skip a
// buffer copy.
func (z *Reader) WriteTo(w io.Writer) (int64, error) {
	var total int64
	for {
		if z.pos < len(z.out) {
			n, err := w.Write(z.out[z.pos:])
			total += int64(n)
			z.pos += n
			if err != nil {
				return total, err
			}
		}
		b, err := z.Next()
		if err == io.EOF {
			return total, nil
		}
		if err != nil {
			return total, err
		}
		if z.out, err = b.Decompress(z.out[:0]); err != nil {
			z.err = err
			return total, err
		}
		z.pos = 0
	}
}
