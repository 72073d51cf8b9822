package reader

import (
	"fmt"
	"math/big"

	"github.com/landfall/landfall/writer/orc/spec"
)

// The decoders below read one decompressed stream each. They keep their
// position between calls so that a stripe is decoded batch by batch. Every
// read is bounds-checked: a stream that ends early or holds a malformed run
// yields an error wrapping spec.ErrCorrupt.

var errEOS = fmt.Errorf("%w: stream ends early", spec.ErrCorrupt)

// stream is a decompressed stream and a read position.
type stream struct {
	b   []byte
	off int
}

func (s *stream) byte() (byte, error) {
	if s.off >= len(s.b) {
		return 0, errEOS
	}
	c := s.b[s.off]
	s.off++
	return c, nil
}

func (s *stream) bytes(n int) ([]byte, error) {
	if n < 0 || n > len(s.b)-s.off {
		return nil, errEOS
	}
	p := s.b[s.off : s.off+n : s.off+n]
	s.off += n
	return p, nil
}

func (s *stream) uvarint() (uint64, error) {
	var v uint64
	for shift := uint(0); ; shift += 7 {
		c, err := s.byte()
		if err != nil {
			return 0, err
		}
		if shift == 63 && c > 1 {
			return 0, fmt.Errorf("%w: varint overflows 64 bits", spec.ErrCorrupt)
		}
		v |= uint64(c&0x7f) << shift
		if c < 0x80 {
			return v, nil
		}
	}
}

func (s *stream) svarint() (int64, error) {
	v, err := s.uvarint()
	return unzigzag(v), err
}

// bigVarint reads an unbounded zigzag varint (decimal v1 DATA). maxBytes
// bounds its length: 38 digits need 127 bits, i.e. 19 bytes; older Hive
// decimals were unbounded, so the caller passes a generous cap.
func (s *stream) bigVarint(z *big.Int, maxBytes int) error {
	start := s.off
	for {
		c, err := s.byte()
		if err != nil {
			return err
		}
		if c < 0x80 {
			break
		}
		if s.off-start >= maxBytes {
			return fmt.Errorf("%w: decimal varint longer than %d bytes", spec.ErrCorrupt, maxBytes)
		}
	}
	p := s.b[start:s.off]
	if len(p) <= 9 {
		var v uint64
		for i, c := range p {
			v |= uint64(c&0x7f) << (7 * uint(i))
		}
		z.SetInt64(unzigzag(v)) // 9 bytes hold 63 bits: no overflow
		return nil
	}
	// Assemble the magnitude 7 bits at a time, most significant first.
	z.SetInt64(0)
	var t big.Int
	for i := len(p) - 1; i >= 0; i-- {
		z.Lsh(z, 7)
		z.Or(z, t.SetUint64(uint64(p[i]&0x7f)))
	}
	neg := z.Bit(0) == 1
	z.Rsh(z, 1)
	if neg {
		z.Neg(z)
		z.Sub(z, t.SetInt64(1))
	}
	return nil
}

func unzigzag(v uint64) int64 { return int64(v>>1) ^ -int64(v&1) }

// byteRLE decodes byte run-length encoding.
type byteRLE struct {
	s       stream
	run     int  // values left in the current run or literal group
	literal bool // current group is literals
	val     byte // value of a run
}

func (d *byteRLE) next() (byte, error) {
	if d.run == 0 {
		h, err := d.s.byte()
		if err != nil {
			return 0, err
		}
		if int8(h) >= 0 {
			d.run, d.literal = int(h)+3, false
			if d.val, err = d.s.byte(); err != nil {
				return 0, err
			}
		} else {
			d.run, d.literal = -int(int8(h)), true
		}
	}
	d.run--
	if d.literal {
		return d.s.byte()
	}
	return d.val, nil
}

// boolRLE decodes booleans packed most significant bit first into bytes
// that are byte-RLE encoded.
type boolRLE struct {
	bytes byteRLE
	cur   byte
	left  int
}

func (d *boolRLE) next() (bool, error) {
	if d.left == 0 {
		c, err := d.bytes.next()
		if err != nil {
			return false, err
		}
		d.cur, d.left = c, 8
	}
	d.left--
	return d.cur>>uint(d.left)&1 == 1, nil
}

// intDecoder decodes a stream of integers (RLE v1 or v2).
type intDecoder interface {
	// next fills dst completely.
	next(dst []int64) error
}

func newIntDecoder(b []byte, signed, v2 bool) intDecoder {
	if v2 {
		return &rleV2{s: stream{b: b}, signed: signed}
	}
	return &rleV1{s: stream{b: b}, signed: signed}
}

// rleV1 decodes integer RLE version 1: runs with a fixed delta, or literal
// varints.
type rleV1 struct {
	s       stream
	signed  bool
	run     int
	literal bool
	delta   int64
	val     int64
}

func (d *rleV1) varint() (int64, error) {
	if d.signed {
		return d.s.svarint()
	}
	v, err := d.s.uvarint()
	return int64(v), err
}

func (d *rleV1) next(dst []int64) error {
	for i := range dst {
		if d.run == 0 {
			h, err := d.s.byte()
			if err != nil {
				return err
			}
			if int8(h) >= 0 {
				d.run, d.literal = int(h)+3, false
				dl, err := d.s.byte()
				if err != nil {
					return err
				}
				d.delta = int64(int8(dl))
				if d.val, err = d.varint(); err != nil {
					return err
				}
			} else {
				d.run, d.literal = -int(int8(h)), true
			}
		}
		d.run--
		if d.literal {
			v, err := d.varint()
			if err != nil {
				return err
			}
			dst[i] = v
			continue
		}
		dst[i] = d.val
		d.val += d.delta
	}
	return nil
}

// rleV2 decodes integer RLE version 2. It decodes one run (at most 512
// values) at a time into buf and hands values out from there.
type rleV2 struct {
	s      stream
	signed bool
	buf    [512]int64
	n, pos int
	patch  [512]uint64 // scratch for patch lists (at most 31 entries, but widths vary)
}

func (d *rleV2) next(dst []int64) error {
	for len(dst) > 0 {
		if d.pos == d.n {
			if err := d.readRun(); err != nil {
				return err
			}
		}
		c := copy(dst, d.buf[d.pos:d.n])
		d.pos += c
		dst = dst[c:]
	}
	return nil
}

// widths decodes the 5-bit width code of RLE v2.
func (d *rleV2) decodeSign(v uint64) int64 {
	if d.signed {
		return unzigzag(v)
	}
	return int64(v)
}

func (d *rleV2) readRun() error {
	h, err := d.s.byte()
	if err != nil {
		return err
	}
	d.pos = 0
	switch h >> 6 {
	case 0: // short repeat
		width := int(h>>3&7) + 1
		count := int(h&7) + 3
		p, err := d.s.bytes(width)
		if err != nil {
			return err
		}
		var v uint64
		for _, c := range p {
			v = v<<8 | uint64(c)
		}
		x := d.decodeSign(v)
		for i := 0; i < count; i++ {
			d.buf[i] = x
		}
		d.n = count
		return nil
	case 1: // direct
		h2, err := d.s.byte()
		if err != nil {
			return err
		}
		width := int(spec.RLEv2Widths[h>>1&0x1f])
		count := (int(h&1)<<8 | int(h2)) + 1
		var tmp [512]uint64
		if err := d.unpack(tmp[:count], width); err != nil {
			return err
		}
		for i := 0; i < count; i++ {
			d.buf[i] = d.decodeSign(tmp[i])
		}
		d.n = count
		return nil
	case 2:
		return d.patchedBase(h)
	default:
		return d.delta(h)
	}
}

// unpack reads len(dst) big-endian values of width bits each; the group is
// padded to a whole byte.
func (d *rleV2) unpack(dst []uint64, width int) error {
	total := (len(dst)*width + 7) / 8
	p, err := d.s.bytes(total)
	if err != nil {
		return err
	}
	unpackBits(dst, p, width)
	return nil
}

func unpackBits(dst []uint64, p []byte, width int) {
	if width == 8 {
		for i := range dst {
			dst[i] = uint64(p[i])
		}
		return
	}
	var acc uint64 // bits not yet used, right-aligned
	accBits := 0
	j := 0
	for i := range dst {
		var v uint64
		need := width
		for need > 0 {
			if accBits == 0 {
				acc = uint64(p[j])
				j++
				accBits = 8
			}
			take := min(need, accBits)
			v = v<<uint(take) | (acc>>uint(accBits-take))&(1<<uint(take)-1)
			accBits -= take
			need -= take
		}
		dst[i] = v
	}
}

func (d *rleV2) patchedBase(h byte) error {
	hdr, err := d.s.bytes(3)
	if err != nil {
		return err
	}
	width := int(spec.RLEv2Widths[h>>1&0x1f])
	count := (int(h&1)<<8 | int(hdr[0])) + 1
	baseBytes := int(hdr[1]>>5) + 1
	patchWidth := int(spec.RLEv2Widths[hdr[1]&0x1f])
	gapWidth := int(hdr[2]>>5) + 1
	patchLen := int(hdr[2] & 0x1f)
	if patchWidth+gapWidth > 64 {
		return fmt.Errorf("%w: rle v2 patch of %d+%d bits", spec.ErrCorrupt, gapWidth, patchWidth)
	}
	p, err := d.s.bytes(baseBytes)
	if err != nil {
		return err
	}
	var ub uint64
	for _, c := range p {
		ub = ub<<8 | uint64(c)
	}
	// The most significant bit of the base is its sign.
	signBit := uint64(1) << (8*uint(baseBytes) - 1)
	base := int64(ub &^ signBit)
	if ub&signBit != 0 {
		base = -base
	}
	var vals [512]uint64
	if err := d.unpack(vals[:count], width); err != nil {
		return err
	}
	patches := d.patch[:patchLen]
	if err := d.unpack(patches, spec.ClosestFixedBits(patchWidth+gapWidth)); err != nil {
		return err
	}
	patchMask := uint64(1)<<uint(patchWidth) - 1
	if patchWidth == 64 {
		patchMask = ^uint64(0)
	}
	// Apply patches: each entry is a gap (rows since the previous patch)
	// and the high bits to OR in. Gaps over 255 are chains of 255-gap
	// entries with a zero patch.
	idx := 0
	for i := 0; i < len(patches); i++ {
		gap := int(patches[i] >> uint(patchWidth))
		if patchWidth == 64 {
			gap = 0
		}
		patch := patches[i] & patchMask
		idx += gap
		if gap == 255 && patch == 0 {
			continue
		}
		if idx >= count {
			return fmt.Errorf("%w: rle v2 patch at %d past run of %d", spec.ErrCorrupt, idx, count)
		}
		if width < 64 {
			vals[idx] |= patch << uint(width)
		}
	}
	for i := 0; i < count; i++ {
		d.buf[i] = base + int64(vals[i])
	}
	d.n = count
	return nil
}

func (d *rleV2) delta(h byte) error {
	h2, err := d.s.byte()
	if err != nil {
		return err
	}
	code := h >> 1 & 0x1f
	width := 0
	if code != 0 {
		width = int(spec.RLEv2Widths[code])
	}
	count := (int(h&1)<<8 | int(h2)) + 1
	var first int64
	if d.signed {
		first, err = d.s.svarint()
	} else {
		var u uint64
		u, err = d.s.uvarint()
		first = int64(u)
	}
	if err != nil {
		return err
	}
	step, err := d.s.svarint()
	if err != nil {
		return err
	}
	d.buf[0] = first
	if width == 0 {
		// Fixed delta: every value differs from the previous by step.
		for i := 1; i < count; i++ {
			d.buf[i] = d.buf[i-1] + step
		}
		d.n = count
		return nil
	}
	if count < 2 {
		return fmt.Errorf("%w: rle v2 delta run of %d values with delta width %d", spec.ErrCorrupt, count, width)
	}
	d.buf[1] = first + step
	var deltas [512]uint64
	if err := d.unpack(deltas[:count-2], width); err != nil {
		return err
	}
	for i := 2; i < count; i++ {
		if step < 0 {
			d.buf[i] = d.buf[i-1] - int64(deltas[i-2])
		} else {
			d.buf[i] = d.buf[i-1] + int64(deltas[i-2])
		}
	}
	d.n = count
	return nil
}
