package lzo

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math/bits"
)

// The LZO1X bitstream, as the Linux kernel's Documentation/staging/lzo.rst
// describes it. A stream is a sequence of instructions; the low two bits of
// every match instruction (or of its distance operand) say how many literals,
// 0 to 3, follow it, and that count changes what the next 0000xxxx opcode
// means. A match of distance 16384 with the M4 opcode ends the stream.
const (
	m2MaxLen    = 8      // 01LDDDSS / 1LLDDDSS: length 3..8
	m2MaxOffset = 0x0800 // and distance up to 2 KiB
	m3MaxLen    = 33     // 001LLLLL without an extended length
	m3MaxOffset = 0x4000 // 001LLLLL: distance up to 16 KiB
	m4MaxLen    = 9      // 0001HLLL without an extended length
	m4MaxOffset = 0xbfff // 0001HLLL: distance 16 KiB + 1 .. 48 KiB - 1
	m3Marker    = 32
	m4Marker    = 16

	// minMatch is the shortest match the compressor looks for: the hash
	// covers four bytes, and shorter matches rarely pay for their opcode.
	minMatch = 4

	// tailLen is how many bytes at the end of a block are never searched for
	// matches, so that the 8-byte loads of the match finder stay in bounds.
	tailLen = 12
)

// Errors of the LZO1X decompressor. Each says how the compressed data is
// corrupt; callers wrap them with the file and block they were reading.
var (
	ErrInputOverrun     = errors.New("lzo: compressed data ends early")
	ErrOutputOverrun    = errors.New("lzo: compressed data decodes to more bytes than declared")
	ErrLookbehind       = errors.New("lzo: match distance points before the start of the block")
	ErrInputNotConsumed = errors.New("lzo: bytes follow the end of the compressed stream")
	ErrOutputUnderrun   = errors.New("lzo: compressed data decodes to fewer bytes than declared")
)

// CompressBound is the largest size that Compress can produce for n input
// bytes: LZO1X expands incompressible data by at most one byte in 16, plus
// the opcodes of the first literal run and the end-of-stream marker.
func CompressBound(n int) int { return n + n/16 + 64 + 3 }

// hashBits sizes the match finder's table: 2^12 entries of 8 bytes fill
// the L1 cache. On log text it measured faster than 2^13 or 2^14 for an
// output 1% larger, still 6% smaller than lzop -1's.
const hashBits = 12

// segmentSize bounds the positions the table holds so that they fit its 32
// bits: the match finder forgets its history every segment, which costs
// nothing for lzop's blocks (at most 64 MiB) and a few matches for larger
// inputs. A variable so that tests can make segments small.
var segmentSize = 1 << 30

// Compressor is an LZO1X-1 style compressor: greedy parsing, a hash table
// of recent positions probed at every position of a literal run at first
// and at ever fewer the longer the run gets, which keeps incompressible
// input cheap. Its output is plain LZO1X that any
// LZO1X decompressor (lzop, hadoop-lzo, the kernel) reads. A Compressor
// holds 32 KiB of state and is not safe for concurrent use; reuse it.
type Compressor struct {
	// table maps a hash of six bytes to the last position they were seen
	// at, with the first four of them: comparing those finds out whether
	// the candidate matches without loading it from the input, which was
	// a third of the compressor's time.
	//
	//	entry = uint64(src[p:p+4] as little-endian uint32)<<32 | uint64(p-base+1<<16)
	//
	// Offsetting positions by 64 KiB makes an empty entry (0) look
	// farther than any LZO1X distance, so it needs no check of its own.
	table [1 << hashBits]uint64
}

// hash6 hashes the low six bytes of u. Hashing six bytes, though a match
// needs only four, sends the finder to candidates that usually match
// longer: fewer, longer matches made it 25% faster with a smaller output.
func hash6(u uint64) uint32 {
	return uint32((u<<16)*0xcf1bbcdcbfa563>>(64-hashBits)) & (1<<hashBits - 1)
}

// Compress appends the LZO1X compressed form of src to dst and returns the
// extended slice. It allocates only if dst lacks CompressBound(len(src))
// bytes of spare capacity.
func (c *Compressor) Compress(dst, src []byte) []byte {
	if need := len(dst) + CompressBound(len(src)); cap(dst) < need {
		grown := make([]byte, len(dst), need)
		copy(grown, dst)
		dst = grown
	}
	start := len(dst)
	op := start
	out := dst[:cap(dst)]
	ii := 0 // start of the pending literal run
	if len(src) > tailLen+minMatch {
		ip := 1
		for base := 0; ip < len(src)-tailLen; base += segmentSize {
			clear(c.table[:])
			op, ii, ip = c.compressMatches(out, op, start, src, ii, ip, base, min(base+segmentSize, len(src)-tailLen))
		}
	}
	op = emitLiterals(out, op, start, src[ii:])
	// End of stream: M4 with distance 16384 and no trailing literals.
	out[op] = m4Marker | 1
	out[op+1] = 0
	out[op+2] = 0
	return dst[:op+3]
}

// compressMatches finds and emits matches in src that start in [ip, end),
// writing instructions to out from op on; start is where this block's
// output began and ii where its pending literal run began. It returns the
// new output position, literal run start and input position.
func (c *Compressor) compressMatches(out []byte, op, start int, src []byte, ii, ip, base, end int) (int, int, int) {
	table := &c.table
	// rel turns positions into the table's form (see Compressor.table).
	rel := 1<<16 - base
	for ip < end {
		// Probe two positions per 8-byte load.
		v := binary.LittleEndian.Uint64(src[ip:])
		h := hash6(v)
		e := table[h]
		table[h] = v<<32 | uint64(ip+rel)
		dist := ip + rel - int(uint32(e))
		if uint32(e>>32) != uint32(v) || uint(dist-1) >= m4MaxOffset {
			h = hash6(v >> 8)
			e = table[h]
			table[h] = v>>8<<32 | uint64(ip+1+rel)
			dist = ip + 1 + rel - int(uint32(e))
			if uint32(e>>32) != uint32(v>>8) || uint(dist-1) >= m4MaxOffset {
				// Skip faster the longer the current literal run: on
				// incompressible data this bounds the cost per byte.
				ip += 2 + (ip-ii)>>4
				continue
			}
			ip++
		}
		cand := ip - dist
		// Extend backwards over literals the skipping jumped past.
		for ip > ii && cand > 0 && src[ip-1] == src[cand-1] {
			ip--
			cand--
		}
		// Extend forwards eight bytes at a time.
		n := minMatch
		for ip+n+8 <= len(src) {
			x := binary.LittleEndian.Uint64(src[ip+n:]) ^ binary.LittleEndian.Uint64(src[cand+n:])
			if x != 0 {
				n += bits.TrailingZeros64(x) >> 3
				goto found
			}
			n += 8
		}
		for ip+n < len(src) && src[ip+n] == src[cand+n] {
			n++
		}
	found:
		// The common cases of emitLiterals and emitMatch, inlined: most
		// matches in text are short and near, with few literals between.
		// Literal runs are copied eight bytes at a time, which may write
		// past the run (the next instruction overwrites that): for the
		// short runs between matches a call to memmove costs more than
		// the copy. Runs at the start of the block, long runs and runs
		// near the end of the output buffer take the general path.
		if t := ip - ii; t > 0 && op != start && t <= 64 && op+t+10 <= len(out) {
			if t <= 3 {
				out[op-2] |= byte(t)
			} else if t <= 18 {
				out[op] = byte(t - 3)
				op++
			} else {
				out[op] = 0
				out[op+1] = byte(t - 18)
				op += 2
			}
			for i := 0; i < t; i += 8 {
				binary.LittleEndian.PutUint64(out[op+i:], binary.LittleEndian.Uint64(src[ii+i:]))
			}
			op += t
		} else {
			op = emitLiterals(out, op, start, src[ii:ip])
		}
		if n <= m2MaxLen && dist <= m2MaxOffset {
			d := dist - 1
			out[op] = byte((n-1)<<5 | (d&7)<<2)
			out[op+1] = byte(d >> 3)
			op += 2
		} else if n <= m3MaxLen && dist <= m3MaxOffset {
			d := dist - 1
			out[op] = byte(m3Marker | (n - 2))
			out[op+1] = byte(d << 2)
			out[op+2] = byte(d >> 6)
			op += 3
		} else {
			op = emitMatch(out, op, n, dist)
		}
		ip += n
		ii = ip
	}
	return op, ii, ip
}

// emitLiterals writes a literal run. start is where this block's output
// began: a run at the very start of a block has its own short encoding, and
// a run of 1 to 3 bytes after a match rides in the match's state bits.
func emitLiterals(out []byte, op, start int, lit []byte) int {
	t := len(lit)
	switch {
	case t == 0:
		return op
	case op == start && t <= 238:
		out[op] = byte(17 + t)
		op++
	case op != start && t <= 3:
		out[op-2] |= byte(t)
	case t <= 18:
		out[op] = byte(t - 3)
		op++
	default:
		out[op] = 0
		op++
		op = putLength(out, op, t-18)
	}
	op += copy(out[op:], lit)
	return op
}

// putLength writes the extension bytes of a long length: a zero byte per
// 255, then the remainder, which is never zero.
func putLength(out []byte, op, n int) int {
	for n > 255 {
		out[op] = 0
		op++
		n -= 255
	}
	out[op] = byte(n)
	return op + 1
}

func emitMatch(out []byte, op, n, dist int) int {
	switch {
	case n <= m2MaxLen && dist <= m2MaxOffset:
		d := dist - 1
		out[op] = byte((n-1)<<5 | (d&7)<<2)
		out[op+1] = byte(d >> 3)
		return op + 2
	case dist <= m3MaxOffset:
		d := dist - 1
		if n <= m3MaxLen {
			out[op] = byte(m3Marker | (n - 2))
			op++
		} else {
			out[op] = m3Marker
			op = putLength(out, op+1, n-m3MaxLen)
		}
		out[op] = byte(d << 2)
		out[op+1] = byte(d >> 6)
		return op + 2
	default:
		d := dist - 0x4000
		hi := byte((d >> 11) & 8)
		if n <= m4MaxLen {
			out[op] = m4Marker | hi | byte(n-2)
			op++
		} else {
			out[op] = m4Marker | hi
			op = putLength(out, op+1, n-m4MaxLen)
		}
		out[op] = byte(d << 2)
		out[op+1] = byte(d >> 6)
		return op + 2
	}
}

// Decompress decodes the LZO1X stream src into dst, which must be exactly as
// long as the uncompressed data (lzop and Hadoop store that length with each
// block). It never writes outside dst, never reads outside src and never
// allocates; corrupt input yields one of the Err* errors above, wrapped with
// the offset where decoding stopped.
func Decompress(dst, src []byte) error {
	op, ip, err := decompress(dst, src)
	if err != nil {
		return fmt.Errorf("%w (input offset %d, output offset %d)", err, ip, op)
	}
	return nil
}

func decompress(dst, src []byte) (op, ip int, err error) {
	if len(src) == 0 {
		return 0, 0, ErrInputOverrun
	}
	// state is the number of literals the previous instruction copied: 0,
	// 1..3, or 4 for "four or more".
	state := 0
	if b := int(src[0]); b > 17 {
		t := b - 17
		ip = 1
		if t > len(src)-ip {
			return op, ip, ErrInputOverrun
		}
		if t > len(dst) {
			return op, ip, ErrOutputOverrun
		}
		op = copy(dst, src[ip:ip+t])
		ip += t
		state = min(t, 4)
	}
	for {
		if ip >= len(src) {
			return op, ip, ErrInputOverrun
		}
		b := int(src[ip])
		ip++
		var n, dist int
		switch {
		case b >= 64: // M2: 1LLDDDSS or 01LDDDSS, then one distance byte
			if ip >= len(src) {
				return op, ip, ErrInputOverrun
			}
			n = (b >> 5) + 1
			dist = int(src[ip])<<3 + (b>>2)&7 + 1
			ip++
		case b >= 32: // M3: 001LLLLL, optional length bytes, LE16 distance
			n = b & 31
			if n == 0 {
				if n, ip, err = readLength(src, ip, 31); err != nil {
					return op, ip, err
				}
			}
			n += 2
			if len(src)-ip < 2 {
				return op, ip, ErrInputOverrun
			}
			d := int(binary.LittleEndian.Uint16(src[ip:]))
			ip += 2
			dist = d>>2 + 1
			b = d // its low two bits are the trailing literal count
		case b >= 16: // M4: 0001HLLL, optional length bytes, LE16 distance
			n = b & 7
			if n == 0 {
				if n, ip, err = readLength(src, ip, 7); err != nil {
					return op, ip, err
				}
			}
			n += 2
			if len(src)-ip < 2 {
				return op, ip, ErrInputOverrun
			}
			d := int(binary.LittleEndian.Uint16(src[ip:]))
			ip += 2
			dist = 0x4000 + (b&8)<<11 + d>>2
			if dist == 0x4000 {
				switch {
				case ip != len(src):
					return op, ip, ErrInputNotConsumed
				case op != len(dst):
					return op, ip, ErrOutputUnderrun
				}
				return op, ip, nil
			}
			b = d
		case state == 0: // 0000LLLL after no literals: a literal run of 4 or more
			n = b
			if n == 0 {
				if n, ip, err = readLength(src, ip, 15); err != nil {
					return op, ip, err
				}
			}
			n += 3
			if n > len(src)-ip {
				return op, ip, ErrInputOverrun
			}
			if n > len(dst)-op {
				return op, ip, ErrOutputOverrun
			}
			op += copy(dst[op:], src[ip:ip+n])
			ip += n
			state = 4
			continue
		default: // M1: 0000DDSS then one byte; its meaning depends on state
			if ip >= len(src) {
				return op, ip, ErrInputOverrun
			}
			dist = int(src[ip])<<2 + b>>2 + 1
			ip++
			n = 2
			if state == 4 {
				dist += 2048
				n = 3
			}
		}
		if dist > op {
			return op, ip, ErrLookbehind
		}
		if n > len(dst)-op {
			return op, ip, ErrOutputOverrun
		}
		m := op - dist
		if dist >= 8 && len(dst)-op >= n+8 {
			// Copy eight bytes at a time; a chunk never reads bytes the
			// same copy has yet to write because they are 8+ bytes apart.
			for i := 0; i < n; i += 8 {
				binary.LittleEndian.PutUint64(dst[op+i:], binary.LittleEndian.Uint64(dst[m+i:]))
			}
		} else {
			for i := range n {
				dst[op+i] = dst[m+i]
			}
		}
		op += n
		// Up to three literals follow the match.
		state = b & 3
		if state > 0 {
			if state > len(src)-ip {
				return op, ip, ErrInputOverrun
			}
			if state > len(dst)-op {
				return op, ip, ErrOutputOverrun
			}
			if len(src)-ip >= 4 && len(dst)-op >= 4 {
				binary.LittleEndian.PutUint32(dst[op:], binary.LittleEndian.Uint32(src[ip:]))
			} else {
				copy(dst[op:op+state], src[ip:])
			}
			op += state
			ip += state
		}
	}
}

// readLength decodes an extended length: each zero byte adds 255, the first
// non-zero byte ends it. base is the largest length the opcode itself holds.
// The loop consumes a byte per iteration, so hostile input can't make it
// spin longer than its own length.
func readLength(src []byte, ip, base int) (int, int, error) {
	n := base
	for ip < len(src) && src[ip] == 0 {
		n += 255
		ip++
	}
	if ip >= len(src) {
		return 0, ip, ErrInputOverrun
	}
	n += int(src[ip])
	return n, ip + 1, nil
}
