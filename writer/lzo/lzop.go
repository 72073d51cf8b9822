package lzo

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"sync"
	"time"

	"github.com/landfall/landfall/writer"
)

// The lzop container: a header, then blocks of at most MaxBlockSize
// uncompressed bytes, each compressed on its own so that Hadoop can start
// reading at any block (the .lzo.index lists where they start), then a
// four-byte zero. All integers are big-endian.
//
//	header: magic[9] version:2 libVersion:2 versionNeeded:2 method:1 level:1
//	        flags:4 [filter:4 if F_H_FILTER] mode:4 mtime:4 mtimeHigh:4
//	        nameLen:1 name[nameLen] checksum:4
//	        [extraLen:4 extra[extraLen] extraChecksum:4 if F_H_EXTRA_FIELD]
//	block:  uncompressedLen:4 (0 ends the file) compressedLen:4
//	        [adler32(uncompressed) if F_ADLER32_D] [crc32(uncompressed) if F_CRC32_D]
//	        [adler32(compressed) if F_ADLER32_C] [crc32(compressed) if F_CRC32_C]
//	        data[compressedLen]
//
// The compressed-data checksums are present only when compressedLen <
// uncompressedLen; an equal length means the block is stored as is because
// compression did not shrink it.
var magic = [9]byte{0x89, 'L', 'Z', 'O', 0x00, 0x0d, 0x0a, 0x1a, 0x0a}

// Header flags, as lzop defines them.
const (
	FlagAdler32D     uint32 = 0x0001 // adler32 of uncompressed data per block
	FlagAdler32C     uint32 = 0x0002 // adler32 of compressed data per block
	FlagStdin        uint32 = 0x0004
	FlagStdout       uint32 = 0x0008
	FlagNameDefault  uint32 = 0x0010
	FlagDOSish       uint32 = 0x0020
	FlagHExtraField  uint32 = 0x0040 // an extra field follows the header
	FlagHGMTDiff     uint32 = 0x0080
	FlagCRC32D       uint32 = 0x0100 // crc32 of uncompressed data per block
	FlagCRC32C       uint32 = 0x0200 // crc32 of compressed data per block
	FlagMultipart    uint32 = 0x0400 // unsupported by lzop and Hadoop
	FlagHFilter      uint32 = 0x0800 // unsupported by Hadoop
	FlagHCRC32       uint32 = 0x1000 // header checksum is crc32, not adler32
	FlagHPath        uint32 = 0x2000
	flagOSUnix       uint32 = 0x03000000
	flagsUnsupported        = FlagMultipart | FlagHFilter
)

// Compression methods in the header. Every one of them is LZO1X, which a
// single decompressor reads; they name the compressor that produced it.
const (
	MethodLZO1X1   = 1 // lzop -2..-6
	MethodLZO1X115 = 2 // lzop -1
	MethodLZO1X999 = 3 // lzop -7..-9
)

const (
	// lzopVersion is the lzop release whose format this writes (1.04, as
	// Debian ships); versionNeeded 0x0940 is what lzop writes for LZO1X and
	// what hadoop-lzo accepts (it refuses anything above 0x1010).
	lzopVersion   = 0x1040
	libVersion    = 0x20a0
	versionNeeded = 0x0940

	// MaxBlockSize is the largest uncompressed block lzop's format allows;
	// the reader refuses larger ones so that a corrupt length can't make it
	// allocate more.
	MaxBlockSize = 64 << 20

	// MaxWriteBlockSize is the largest block the Writer makes: the lzop
	// tool is compiled with 256 KiB buffers and refuses bigger blocks
	// ("block size too small -- recompile lzop").
	MaxWriteBlockSize = 256 << 10

	// DefaultBlockSize is the largest block every common reader decodes
	// with its default settings: Hadoop's io.compression.codec.lzo.buffersize
	// is 65536, and aircompressor's LzopCodec (the one Spark and Trino ship)
	// sizes its output buffer from it, so a bigger block fails there with
	// MalformedInputException although lzop and hadoop-lzo (256 KiB buffers)
	// read it. It costs about 3% more compressed bytes than lzop's own 256 KiB (LZO's
	// window is 48 KiB either way); see BenchmarkBlockSize. Files written
	// with bigger blocks stay readable here and by lzop.
	DefaultBlockSize = 64 << 10

	// HadoopLzoBufferSize is io.compression.codec.lzo.buffersize's default:
	// a block larger than it needs that setting raised in every reader
	// that goes through Hadoop's codec interface.
	HadoopLzoBufferSize = 64 << 10
)

// Header is the lzop file header.
type Header struct {
	Version       uint16
	LibVersion    uint16
	VersionNeeded uint16
	Method        uint8
	Level         uint8
	Flags         uint32
	Filter        uint32 // only with FlagHFilter
	Mode          uint32
	ModTime       time.Time
	Name          string
	Extra         []byte // only with FlagHExtraField
}

// checksumLens counts the per-block checksums the flags call for: of the
// uncompressed data, and of the compressed data (present only when a block
// is actually compressed).
func checksumLens(flags uint32) (d, c int) {
	if flags&FlagAdler32D != 0 {
		d++
	}
	if flags&FlagCRC32D != 0 {
		d++
	}
	if flags&FlagAdler32C != 0 {
		c++
	}
	if flags&FlagCRC32C != 0 {
		c++
	}
	return d, c
}

// appendHeader encodes h the way lzop does, with its checksum.
func appendHeader(b []byte, h *Header) ([]byte, error) {
	if len(h.Name) > 255 {
		return b, fmt.Errorf("lzo: encode header: name is %d bytes, the limit is 255", len(h.Name))
	}
	if h.Flags&(flagsUnsupported|FlagHExtraField) != 0 {
		return b, fmt.Errorf("lzo: encode header: flags %#x are not supported", h.Flags&(flagsUnsupported|FlagHExtraField))
	}
	b = append(b, magic[:]...)
	start := len(b)
	b = binary.BigEndian.AppendUint16(b, h.Version)
	b = binary.BigEndian.AppendUint16(b, h.LibVersion)
	b = binary.BigEndian.AppendUint16(b, h.VersionNeeded)
	b = append(b, h.Method, h.Level)
	b = binary.BigEndian.AppendUint32(b, h.Flags)
	b = binary.BigEndian.AppendUint32(b, h.Mode)
	mt := h.ModTime.Unix()
	if h.ModTime.IsZero() || mt < 0 {
		mt = 0
	}
	b = binary.BigEndian.AppendUint32(b, uint32(mt))
	b = binary.BigEndian.AppendUint32(b, uint32(uint64(mt)>>32))
	b = append(b, byte(len(h.Name)))
	b = append(b, h.Name...)
	var sum uint32
	if h.Flags&FlagHCRC32 != 0 {
		sum = crc32.ChecksumIEEE(b[start:])
	} else {
		sum = adler32Sum(b[start:])
	}
	return binary.BigEndian.AppendUint32(b, sum), nil
}

// WriterOption configures a Writer.
type WriterOption func(*writerConfig)

type writerConfig struct {
	blockSize    int
	flags        uint32
	modTime      time.Time
	name         string
	mode         uint32
	memoryBudget int64          // of a Format's open files; a lone Writer has none
	budget       *writer.Budget // shared with the process's other formats; nil: the Format's own
	noIndex      bool           // a Format's files get no .lzo.index sidecar
}

func defaultWriterConfig() writerConfig {
	return writerConfig{
		blockSize: DefaultBlockSize,
		// What lzop writes by default. A compactor that copies blocks
		// verifies them by decompressing, which costs less than a second
		// checksum on every write would.
		flags:        FlagAdler32D,
		mode:         0o100644,
		memoryBudget: writer.DefaultMemoryBudget,
	}
}

// WithBlockSize sets the uncompressed size of each block, between 1 byte and
// MaxWriteBlockSize (256 KiB, lzop's own); the default is DefaultBlockSize,
// 64 KiB. Blocks above HadoopLzoBufferSize need every Hadoop-codec reader
// (Spark, Trino, Hive with aircompressor) configured with
// io.compression.codec.lzo.buffersize at least that large. Smaller blocks
// split finer and compress worse.
func WithBlockSize(n int) WriterOption { return func(c *writerConfig) { c.blockSize = n } }

// WithMemoryBudget bounds the bytes that all open files of a Format buffer
// together (default writer.DefaultMemoryBudget, 256 MiB): each file's
// block buffer grows within its share of it, and a block ends early when
// the share is used up; see writer.Budget. NewWriter ignores it.
func WithMemoryBudget(n int64) WriterOption { return func(c *writerConfig) { c.memoryBudget = n } }

// WithBudget makes a Format's files share b with the other formats of the
// process (the pipeline's invalid-record sink) instead of a budget of
// their own; WithMemoryBudget is then ignored. NewWriter ignores it.
func WithBudget(b *writer.Budget) WriterOption { return func(c *writerConfig) { c.budget = b } }

// WithoutIndex makes a Format write no .lzo.index beside its files, for
// tables read with plain TextInputFormat and an LzopCodec (Spark's and
// Trino's aircompressor, Hive without hadoop-lzo): such a reader never
// splits an lzop file, and it reads every file of a partition directory
// whose name does not start with "." or "_", a sidecar included, as rows.
// Only hadoop-lzo's input formats use the index (and skip it). The lone
// Writer still records block offsets (Index).
func WithoutIndex() WriterOption { return func(c *writerConfig) { c.noIndex = true } }

// WithChecksums sets which per-block checksums are written, as a
// combination of FlagAdler32D, FlagCRC32D, FlagAdler32C and FlagCRC32C. The
// default is FlagAdler32D, like lzop's.
func WithChecksums(flags uint32) WriterOption {
	return func(c *writerConfig) {
		const mask = FlagAdler32D | FlagCRC32D | FlagAdler32C | FlagCRC32C
		c.flags = c.flags&^mask | flags&mask
	}
}

// WithModTime sets the modification time in the header (lzop restores it on
// decompression); the default is the zero time, stored as 0, which keeps
// output reproducible.
func WithModTime(t time.Time) WriterOption { return func(c *writerConfig) { c.modTime = t } }

// WithName sets the original file name in the header (at most 255 bytes).
func WithName(name string) WriterOption { return func(c *writerConfig) { c.name = name } }

func (c *writerConfig) validate() error {
	if c.blockSize < 1 || c.blockSize > MaxWriteBlockSize {
		return fmt.Errorf("lzo: block size %d is out of range: want 1..%d (lzop can't read bigger blocks)", c.blockSize, MaxWriteBlockSize)
	}
	if len(c.name) > 255 {
		return fmt.Errorf("lzo: file name is %d bytes, the limit is 255", len(c.name))
	}
	return nil
}

// Writer compresses a stream into an lzop file and records where each block
// starts, so that the .lzo.index costs no second pass over the file. Each
// block goes to the underlying writer in one Write call; a Format's writers
// batch blocks into writes of up to 256 KiB, as far as the memory budget
// allows, since small writes cost the kernel more per byte.
//
// Errors are sticky: after a failed Write, every later call returns the same
// error, because the file has a hole that no retry can fill.
type Writer struct {
	w       io.Writer
	cfg     writerConfig
	buf     writer.Buffer  // uncompressed bytes of the block being filled
	out     *writer.Buffer // blocks not yet written to w; nil for NewWriter's
	direct  bool           // bypass out, while a spill frees it
	scratch *scratch       // this writer's own, when it has no pool
	pool    *sync.Pool     // of *scratch, shared with other writers
	offset  int64          // bytes written to w so far
	index   []byte         // big-endian offsets of the blocks written
	err     error
	closed  bool
	dChecks int
	cChecks int
}

// scratch is what a Writer needs only while it writes a block: the
// compressor's table and the output buffer. Writers of a Format take it
// from a pool for each block, so that hundreds of open part files hold only
// their pending data, not a compressor each.
type scratch struct {
	c     Compressor
	out   []byte
	plain []byte // a copied block's data, when a checksum must be computed
}

var errClosed = errors.New("lzo: writer is closed")

// NewWriter writes the lzop header to w and returns a Writer for the data.
func NewWriter(w io.Writer, opts ...WriterOption) (*Writer, error) {
	cfg := defaultWriterConfig()
	for _, o := range opts {
		o(&cfg)
	}
	return newWriter(w, cfg, nil, nil)
}

// newWriter starts a file; pool, if not nil, lends the writer its scratch
// block by block, and acct, if not nil, is the budget its block buffer
// lives in: a block ends early when the buffer can't grow.
func newWriter(w io.Writer, cfg writerConfig, pool *sync.Pool, acct *writer.Account) (*Writer, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	zw := &Writer{w: w, cfg: cfg, pool: pool}
	zw.buf.Init(acct, cfg.blockSize, zw.writeBlock)
	if acct != nil {
		zw.out = new(writer.Buffer)
		zw.out.InitWrites(acct, cfg.blockSize, writeSize, zw.writeOut)
	}
	if pool == nil {
		zw.scratch = new(scratch)
	}
	zw.dChecks, zw.cChecks = checksumLens(cfg.flags)
	hdr := Header{
		Version:       lzopVersion,
		LibVersion:    libVersion,
		VersionNeeded: versionNeeded,
		Method:        MethodLZO1X1,
		Level:         1,
		Flags:         cfg.flags | flagOSUnix,
		Mode:          cfg.mode,
		ModTime:       cfg.modTime,
		Name:          cfg.name,
	}
	b, err := appendHeader(nil, &hdr)
	if err != nil {
		return nil, err
	}
	if err := zw.write(b); err != nil {
		return nil, err
	}
	return zw, nil
}

// writeSize is the most a Format's writer batches into one write.
const writeSize = 256 << 10

// write hands b to the file: through out when there is one.
func (z *Writer) write(b []byte) error {
	if z.out != nil && !z.direct {
		if err := z.out.Write(b); err != nil {
			return err // writeOut kept it
		}
		z.offset += int64(len(b))
		return nil
	}
	n, err := z.w.Write(b)
	z.offset += int64(n)
	if err == nil && n != len(b) {
		err = io.ErrShortWrite
	}
	if err != nil {
		z.err = fmt.Errorf("lzo: write file at offset %d: %w", z.offset-int64(n), err)
		return z.err
	}
	return nil
}

// writeOut writes a batch of blocks to the file.
func (z *Writer) writeOut(b []byte) error {
	n, err := z.w.Write(b)
	if err == nil && n != len(b) {
		err = io.ErrShortWrite
	}
	if err != nil && z.err == nil {
		z.err = fmt.Errorf("lzo: write file: %w", err)
	}
	return z.err
}

// Write compresses p. A block is written when the buffer is full: at the
// block size, or earlier when the memory budget won't let it grow. The
// rest waits in memory for the next Write or Close. The buffer grows as
// data arrives: a part file that gets a few records doesn't pay for a
// whole block.
func (z *Writer) Write(p []byte) (int, error) {
	if z.err != nil {
		return 0, z.err
	}
	if z.closed {
		return 0, errClosed
	}
	// The buffer stops at the first error, which writeBlock keeps; what
	// reached the file is unknown, so the count is all or nothing.
	if err := z.buf.Write(p); err != nil {
		return 0, err
	}
	return len(p), nil
}

// writeLine appends rec and a newline, the way Write would, without making
// the caller build the line in a buffer of its own.
func (z *Writer) writeLine(rec []byte) error {
	if z.err != nil {
		return z.err
	}
	if z.closed {
		return errClosed
	}
	return z.buf.WriteLine(rec)
}

// Flush writes the buffered data as a (short) block, so that what was
// written so far is readable from the underlying writer. Blocks are
// independent: flushing often costs compression ratio, nothing else.
func (z *Writer) Flush() error {
	if z.err != nil {
		return z.err
	}
	if z.closed {
		return errClosed
	}
	if err := z.buf.Flush(); err != nil || z.out == nil {
		return err
	}
	return z.out.Flush()
}

// spill writes the buffered data as a block and frees the buffers, for a
// file of the same budget that needs the memory. It must not grow out:
// that would ask the budget, which is busy with this very spill.
func (z *Writer) spill() {
	if z.err != nil || z.closed {
		z.discard() // the file is lost anyway
		return
	}
	if z.out != nil {
		z.out.Free() // an error stays in z.err
	}
	z.direct = true
	z.buf.Free()
	z.direct = false
}

// discard frees the buffers without writing them.
func (z *Writer) discard() {
	z.closed = true
	z.buf.Drop()
	if z.out != nil {
		z.out.Drop()
	}
}

func (z *Writer) acquire() *scratch {
	if z.pool == nil {
		return z.scratch
	}
	if s, ok := z.pool.Get().(*scratch); ok {
		return s
	}
	return new(scratch)
}

func (z *Writer) release(s *scratch) {
	if z.pool != nil {
		z.pool.Put(s)
	}
}

func (z *Writer) writeBlock(data []byte) error {
	// The block header goes in front of the compressed data in one buffer
	// so that the block reaches the file in one Write.
	s := z.acquire()
	defer z.release(s)
	hdrLen := 8 + 4*(z.dChecks+z.cChecks)
	out := s.out[:0]
	if need := hdrLen + CompressBound(len(data)); cap(out) < need {
		out = make([]byte, 0, need)
	}
	out = s.c.Compress(out[:hdrLen], data)
	s.out = out
	comp := out[hdrLen:]
	f := z.cfg.flags
	h := out[:0]
	stored := len(comp) >= len(data)
	if stored {
		// lzop stores a block as is when compression doesn't shrink it,
		// and then writes no checksum of compressed data.
		f &^= FlagAdler32C | FlagCRC32C
		comp = data
	}
	h = binary.BigEndian.AppendUint32(h, uint32(len(data)))
	h = binary.BigEndian.AppendUint32(h, uint32(len(comp)))
	if f&FlagAdler32D != 0 {
		h = binary.BigEndian.AppendUint32(h, adler32Sum(data))
	}
	if f&FlagCRC32D != 0 {
		h = binary.BigEndian.AppendUint32(h, crc32.ChecksumIEEE(data))
	}
	if f&FlagAdler32C != 0 {
		h = binary.BigEndian.AppendUint32(h, adler32Sum(comp))
	}
	if f&FlagCRC32C != 0 {
		h = binary.BigEndian.AppendUint32(h, crc32.ChecksumIEEE(comp))
	}
	if stored {
		out = append(h, data...)
	}
	z.index = binary.BigEndian.AppendUint64(z.index, uint64(z.offset))
	return z.write(out)
}

// CopyBlock appends a block read from another lzop file as it is stored,
// without recompressing it: what a compactor merging small files does.
// Buffered data is written first as a block of its own, because a block
// can't be split. The block's compressed-data checksums are verified when
// its file has them; checksums this writer writes and the source file lacks
// are computed, from the block's data, or by decompressing it (which
// verifies the rest) for checksums of uncompressed data.
func (z *Writer) CopyBlock(b *Block) error {
	if err := z.Flush(); err != nil {
		return err
	}
	switch {
	case int64(b.CompressedLen) != int64(len(b.Data)) || b.CompressedLen == 0 || b.CompressedLen > b.UncompressedLen:
		return fmt.Errorf("%w: copy block from offset %d: lengths %d/%d with %d bytes of data", ErrCorrupt, b.Offset, b.UncompressedLen, b.CompressedLen, len(b.Data))
	case b.UncompressedLen > MaxWriteBlockSize:
		return fmt.Errorf("lzo: copy block from offset %d: %d bytes is more than the %d lzop reads", b.Offset, b.UncompressedLen, MaxWriteBlockSize)
	}
	if err := b.VerifyCompressed(); err != nil {
		return fmt.Errorf("lzo: copy block: %w", err)
	}
	s := z.acquire()
	defer z.release(s)
	f := z.cfg.flags
	stored := b.Stored()
	if stored {
		f &^= FlagAdler32C | FlagCRC32C
	}
	missing := f &^ b.Flags
	var plain []byte
	if missing&(FlagAdler32D|FlagCRC32D) != 0 {
		var err error
		if plain, err = b.Decompress(s.plain[:0]); err != nil {
			return fmt.Errorf("lzo: copy block: %w", err)
		}
		s.plain = plain
	}
	pick := func(flag, have uint32, of []byte, sum func([]byte) uint32) uint32 {
		if missing&flag == 0 {
			return have
		}
		return sum(of)
	}
	h := binary.BigEndian.AppendUint32(s.out[:0], b.UncompressedLen)
	h = binary.BigEndian.AppendUint32(h, b.CompressedLen)
	if f&FlagAdler32D != 0 {
		h = binary.BigEndian.AppendUint32(h, pick(FlagAdler32D, b.Adler32D, plain, adler32Sum))
	}
	if f&FlagCRC32D != 0 {
		h = binary.BigEndian.AppendUint32(h, pick(FlagCRC32D, b.CRC32D, plain, crc32.ChecksumIEEE))
	}
	if f&FlagAdler32C != 0 {
		h = binary.BigEndian.AppendUint32(h, pick(FlagAdler32C, b.Adler32C, b.Data, adler32Sum))
	}
	if f&FlagCRC32C != 0 {
		h = binary.BigEndian.AppendUint32(h, pick(FlagCRC32C, b.CRC32C, b.Data, crc32.ChecksumIEEE))
	}
	h = append(h, b.Data...)
	s.out = h
	z.index = binary.BigEndian.AppendUint64(z.index, uint64(z.offset))
	return z.write(h)
}

// Close writes the last block and the end marker. It does not close the
// underlying writer. The file is complete only if Close returns nil.
func (z *Writer) Close() error {
	if z.closed {
		return z.err
	}
	err := z.err
	if err == nil {
		err = z.buf.Free() // the last block, into out if there is one
	}
	if err == nil {
		var end [4]byte
		err = z.write(end[:])
	}
	if err == nil && z.out != nil {
		err = z.out.Free()
	}
	z.discard()
	z.scratch = nil
	return err
}

// Index returns the .lzo.index of what was written so far, in the format of
// hadoop-lzo's LzoIndexer: the big-endian 8-byte offset of every block's
// start. It is complete after Close. The slice must not be modified.
func (z *Writer) Index() []byte { return z.index }

// Offset is the number of bytes written to the underlying writer.
func (z *Writer) Offset() int64 { return z.offset }
