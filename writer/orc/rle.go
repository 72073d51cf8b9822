package orc

import (
	"math/bits"
	"slices"

	"github.com/landfall/landfall/writer/orc/spec"
)

// The run-length encoders below write into a stream and can report, at any
// moment, the position a reader must seek to in order to resume at the next
// value: the stream's position where the pending (not yet written) group
// will start, followed by the number of values already buffered in it. That
// is exactly what a row index entry records.

// byteRLE is ORC's byte run-length encoding: runs of 3..130 equal bytes, or
// literal groups of up to 128 bytes.
type byteRLE struct {
	out     *outStream
	lit     [128]byte
	n       int  // values pending
	run     bool // pending values are a run of lit[0]
	tailRep int  // how many trailing literals are equal
}

const (
	byteRLEMinRun = 3
	byteRLEMaxRun = 130
	byteRLEMaxLit = 128
)

func (e *byteRLE) reset(out *outStream) {
	e.out, e.n, e.run, e.tailRep = out, 0, false, 0
}

func (e *byteRLE) add(b byte) {
	switch {
	case e.n == 0:
		e.lit[0], e.n, e.run, e.tailRep = b, 1, false, 1
	case e.run:
		if b == e.lit[0] {
			e.n++
			if e.n == byteRLEMaxRun {
				e.flush()
			}
			return
		}
		e.flush()
		e.lit[0], e.n, e.tailRep = b, 1, 1
	default:
		if b == e.lit[e.n-1] {
			e.tailRep++
		} else {
			e.tailRep = 1
		}
		e.lit[e.n] = b
		e.n++
		if e.tailRep == byteRLEMinRun {
			// Three equal bytes pay as a run: write the literals before them
			// and continue with a run.
			if e.n > byteRLEMinRun {
				e.writeLiterals(e.n - byteRLEMinRun)
			}
			e.lit[0], e.n, e.run = b, byteRLEMinRun, true
			return
		}
		if e.n == byteRLEMaxLit {
			e.writeLiterals(e.n)
			e.n, e.tailRep = 0, 0
		}
	}
}

func (e *byteRLE) writeLiterals(n int) {
	e.out.writeByte(byte(-n))
	e.out.write(e.lit[:n])
}

func (e *byteRLE) flush() {
	if e.n == 0 {
		return
	}
	if e.run {
		e.out.writeByte(byte(e.n - byteRLEMinRun))
		e.out.writeByte(e.lit[0])
	} else {
		e.writeLiterals(e.n)
	}
	e.n, e.run, e.tailRep = 0, false, 0
}

func (e *byteRLE) position(pos []uint64) []uint64 {
	return append(e.out.position(pos), uint64(e.n))
}

// boolRLE packs booleans MSB first into bytes and byte-RLE encodes those.
type boolRLE struct {
	bytes byteRLE
	cur   byte
	nbits int
}

func (e *boolRLE) reset(out *outStream) {
	e.bytes.reset(out)
	e.cur, e.nbits = 0, 0
}

func (e *boolRLE) add(v bool) {
	if v {
		e.cur |= 0x80 >> uint(e.nbits)
	}
	e.nbits++
	if e.nbits == 8 {
		e.bytes.add(e.cur)
		e.cur, e.nbits = 0, 0
	}
}

func (e *boolRLE) flush() {
	if e.nbits > 0 {
		e.bytes.add(e.cur)
		e.cur, e.nbits = 0, 0
	}
	e.bytes.flush()
}

func (e *boolRLE) position(pos []uint64) []uint64 {
	return append(e.bytes.position(pos), uint64(e.nbits))
}

func zigzag(v int64) uint64 { return uint64(v<<1) ^ uint64(v>>63) }

func appendUvarint(b []byte, v uint64) []byte {
	for v >= 0x80 {
		b = append(b, byte(v)|0x80)
		v >>= 7
	}
	return append(b, byte(v))
}

// bitWidth is the number of bits needed to hold v (0 for 0).
func bitWidth(v uint64) int { return 64 - bits.LeadingZeros64(v) }

// appendPacked appends vals as big-endian w-bit fields, padded to a byte.
func appendPacked(b []byte, vals []uint64, w int) []byte {
	if w == 0 {
		return b
	}
	var acc uint64 // bits not yet written, right-aligned
	nacc := 0
	if w == 8 {
		for _, v := range vals {
			b = append(b, byte(v))
		}
		return b
	}
	if w <= 56 {
		return appendPackedNarrow(b, vals, w)
	}
	for _, v := range vals {
		if w < 64 {
			v &= 1<<uint(w) - 1
		}
		// Emit the value in pieces so that acc never needs more than 64 bits.
		rem := w
		for rem > 0 {
			take := 64 - nacc
			if take > rem {
				take = rem
			}
			if take > 56 {
				take = 56
			}
			piece := (v >> uint(rem-take)) & (1<<uint(take) - 1)
			acc = acc<<uint(take) | piece
			nacc += take
			rem -= take
			for nacc >= 8 {
				b = append(b, byte(acc>>uint(nacc-8)))
				nacc -= 8
			}
			if nacc > 0 {
				acc &= 1<<uint(nacc) - 1
			} else {
				acc = 0
			}
		}
	}
	if nacc > 0 {
		b = append(b, byte(acc<<uint(8-nacc)))
	}
	return b
}

// appendPackedNarrow is appendPacked for w <= 56, the widths of nearly
// all groups: fewer than 8 bits are pending between values, so a whole
// value fits in the accumulator next to them and needs no splitting.
func appendPackedNarrow(b []byte, vals []uint64, w int) []byte {
	at := len(b)
	b = slices.Grow(b, (len(vals)*w+7)/8)
	out := b[at : at+(len(vals)*w+7)/8]
	mask := uint64(1)<<uint(w) - 1
	var acc uint64 // the low nacc bits are pending; the bits above are stale
	nacc, o := 0, 0
	for _, v := range vals {
		acc = acc<<uint(w) | v&mask
		nacc += w
		for nacc >= 8 {
			nacc -= 8
			out[o] = byte(acc >> uint(nacc))
			o++
		}
	}
	if nacc > 0 {
		out[o] = byte(acc << uint(8-nacc))
	}
	return b[:at+len(out)]
}

// intRLEv2 is ORC's integer run-length encoding version 2. It buffers up to
// 512 values and, per group, picks whichever of its four sub-encodings is
// cheapest: short repeat for 3..10 equal values, delta for monotone or
// constant-step runs (and long runs of equal values), patched base when a
// few outliers would otherwise widen every value, direct otherwise.
type intRLEv2 struct {
	out    *outStream
	signed bool
	lit    [rlev2Max]int64
	n      int
	rep    int // trailing equal values in lit
	buf    []byte
	// scratch for encoding decisions
	zz      [rlev2Max]uint64
	adj     [rlev2Max]uint64
	hist    [65]int
	histTop int // no entry of hist above it is set
	zz100   int // the width of every value of the group
	data    [rlev2Max]uint64
	patch   []uint64
}

const (
	rlev2Max           = 512
	rlev2MinRepeat     = 3
	rlev2MaxShortRepat = 10
)

func (e *intRLEv2) reset(out *outStream, signed bool) {
	e.out, e.signed, e.n, e.rep = out, signed, 0, 0
}

func (e *intRLEv2) add(v int64) {
	if e.n > 0 && v == e.lit[e.n-1] {
		e.rep++
	} else {
		if e.rep >= rlev2MinRepeat {
			// The buffer holds exactly one run of equal values (see below);
			// a different value ends it.
			e.writeRepeat()
		}
		e.rep = 1
	}
	e.lit[e.n] = v
	e.n++
	if e.rep == rlev2MinRepeat && e.n > rlev2MinRepeat {
		// A run starts: flush the values before it so that the run can be
		// written as a repeat however long it gets.
		e.writeGroup(e.lit[:e.n-rlev2MinRepeat])
		e.lit[0], e.lit[1], e.lit[2] = v, v, v
		e.n = rlev2MinRepeat
	}
	if e.n == rlev2Max {
		if e.rep == e.n {
			e.writeRepeat()
		} else {
			e.writeGroup(e.lit[:e.n])
			e.n, e.rep = 0, 0
		}
	}
}

func (e *intRLEv2) flush() {
	if e.n == 0 {
		return
	}
	if e.rep == e.n && e.n >= rlev2MinRepeat {
		e.writeRepeat()
	} else {
		e.writeGroup(e.lit[:e.n])
	}
	e.n, e.rep = 0, 0
}

func (e *intRLEv2) position(pos []uint64) []uint64 {
	return append(e.out.position(pos), uint64(e.n))
}

func (e *intRLEv2) enc(v int64) uint64 {
	if e.signed {
		return zigzag(v)
	}
	return uint64(v)
}

func (e *intRLEv2) appendVarint(b []byte, v int64) []byte {
	return appendUvarint(b, e.enc(v))
}

// writeRepeat writes lit[:n], all equal, as short repeat or fixed delta.
func (e *intRLEv2) writeRepeat() {
	v, n := e.lit[0], e.n
	b := e.buf[:0]
	if n <= rlev2MaxShortRepat {
		u := e.enc(v)
		w := (bitWidth(u) + 7) / 8
		if w == 0 {
			w = 1
		}
		b = append(b, byte((w-1)<<3|(n-rlev2MinRepeat)))
		for i := w - 1; i >= 0; i-- {
			b = append(b, byte(u>>(uint(i)*8)))
		}
	} else {
		// Delta with a zero step and width 0: header, base, delta base 0.
		b = append(b, byte(3<<6|(n-1)>>8), byte(n-1))
		b = e.appendVarint(b, v)
		b = append(b, 0)
	}
	e.buf = b
	e.out.write(b)
	e.n, e.rep = 0, 0
}

// percentileBits is the smallest fixed width that holds p percent of the
// values counted in hist (hist[w] = number of values of bit width w, none
// wider than top).
func percentileBits(hist *[65]int, top, n int, p float64) int {
	allowed := int(float64(n) * (1 - p))
	for w := top; w > 0; w-- {
		allowed -= hist[w]
		if allowed < 0 {
			return spec.ClosestFixedBits(w)
		}
	}
	return 1
}

func (e *intRLEv2) writeGroup(vals []int64) {
	n := len(vals)
	b := e.buf[:0]
	defer func() {
		e.buf = b
		e.out.write(b)
	}()

	// Groups are often short (a run of three ends them), so the histogram
	// is cleared and read only up to the widest value, and the full width
	// comes from the OR of the values rather than from the histogram.
	clear(e.hist[:e.histTop+1])
	var or uint64
	for i, v := range vals {
		u := e.enc(v)
		e.zz[i] = u
		or |= u
		e.hist[bitWidth(u)]++
	}
	e.histTop = bitWidth(or)
	e.zz100 = spec.ClosestFixedBits(e.histTop)
	zz := e.zz[:n]
	if n <= rlev2MinRepeat {
		b = e.appendDirect(b, zz, e.zz100)
		return
	}

	// Delta: monotone sequences whose steps are narrower than the values.
	if b2, ok := e.tryDelta(b, vals); ok {
		b = b2
		return
	}

	zz100 := e.zz100
	directBits := n * zz100
	zz90 := percentileBits(&e.hist, e.histTop, n, 0.9)
	if zz100-zz90 > 1 {
		start := len(b)
		b2, pbBits, ok := e.tryPatched(b, vals)
		if ok && pbBits < directBits {
			b = b2
			return
		}
		b = b2[:start]
	}
	b = e.appendDirect(b, zz, zz100)
}

func (e *intRLEv2) appendDirect(b []byte, zz []uint64, w int) []byte {
	n := len(zz)
	b = append(b, byte(1<<6|spec.EncodeWidth(w)<<1|(n-1)>>8), byte(n-1))
	return appendPacked(b, zz, w)
}

// tryDelta encodes vals as a delta run when they are monotone (the first
// step not zero) and the steps need fewer bits than the values.
func (e *intRLEv2) tryDelta(b []byte, vals []int64) ([]byte, bool) {
	n := len(vals)
	first := vals[1] - vals[0]
	if (first > 0) != (vals[1] > vals[0]) || first == 0 {
		return b, false // overflow or a zero first step
	}
	inc := first > 0
	fixed := true
	var maxStep uint64
	for i := 2; i < n; i++ {
		d := vals[i] - vals[i-1]
		if (d >= 0) != (vals[i] >= vals[i-1]) {
			return b, false // the step overflows int64
		}
		if inc && d < 0 || !inc && d > 0 {
			return b, false
		}
		if d != first {
			fixed = false
		}
		ad := uint64(d)
		if d < 0 {
			ad = uint64(-d)
		}
		if ad > maxStep {
			maxStep = ad
		}
	}
	w := 0
	if !fixed {
		w = spec.ClosestFixedBits(bitWidth(maxStep))
		if w == 1 {
			// Code 0 means "no step bits" in a delta header, so one-bit
			// steps are written two bits wide.
			w = 2
		}
		if w >= e.zz100 {
			return b, false
		}
	}
	code := 0
	if w > 0 {
		code = spec.EncodeWidth(w)
	}
	b = append(b, byte(3<<6|code<<1|(n-1)>>8), byte(n-1))
	b = e.appendVarint(b, vals[0])
	b = appendUvarint(b, zigzag(first))
	if w > 0 {
		steps := e.adj[:n-2]
		for i := 2; i < n; i++ {
			d := vals[i] - vals[i-1]
			if d < 0 {
				d = -d
			}
			steps[i-2] = uint64(d)
		}
		b = appendPacked(b, steps, w)
	}
	return b, true
}

// tryPatched encodes vals as patched base: values minus their minimum in a
// width that fits 95% of them, the high bits of the rest in a patch list.
// It reports the size in bits so the caller can compare with direct.
func (e *intRLEv2) tryPatched(b []byte, vals []int64) ([]byte, int, bool) {
	n := len(vals)
	minV, maxV := vals[0], vals[0]
	for _, v := range vals {
		minV = min(minV, v)
		maxV = max(maxV, v)
	}
	if bitWidth(uint64(maxV)-uint64(minV)) == 64 {
		return b, 0, false // the patch would need all 64 bits
	}
	var hist [65]int
	adj := e.adj[:n]
	for i, v := range vals {
		a := uint64(v) - uint64(minV)
		adj[i] = a
		hist[bitWidth(a)]++
	}
	w := percentileBits(&hist, 64, n, 0.95)
	w100 := percentileBits(&hist, 64, n, 1.0)
	if w100 <= w {
		return b, 0, false
	}
	pw := spec.ClosestFixedBits(w100 - w)
	// Gaps between patched values; a gap over 255 needs filler patches.
	var (
		patches  int
		maxGap   int
		prev     int
		nPatched int
	)
	for i, a := range adj {
		if a>>uint(w) == 0 {
			continue
		}
		gap := i - prev
		for gap > 255 {
			patches++
			gap -= 255
			maxGap = 255 // a filler patch carries a gap of 255
		}
		maxGap = max(maxGap, gap)
		patches++
		nPatched++
		prev = i
	}
	if patches > 31 || nPatched == 0 {
		return b, 0, false
	}
	pgw := 1
	if maxGap > 0 {
		pgw = bitWidth(uint64(maxGap))
	}
	if pgw+pw > 64 {
		return b, 0, false
	}
	entryW := spec.ClosestFixedBits(pgw + pw)
	if entryW > 64 {
		return b, 0, false
	}
	// Base in sign-magnitude big-endian, with room for the sign bit.
	mag := uint64(minV)
	if minV < 0 {
		mag = uint64(-minV)
	}
	bw := (bitWidth(mag) + 1 + 7) / 8
	if bw == 0 {
		bw = 1
	}
	if bw > 8 {
		return b, 0, false
	}
	sizeBits := 32 + bw*8 + (n*w+7)/8*8 + (patches*entryW+7)/8*8

	b = append(b,
		byte(2<<6|spec.EncodeWidth(w)<<1|(n-1)>>8), byte(n-1),
		byte((bw-1)<<5|spec.EncodeWidth(pw)),
		byte((pgw-1)<<5|patches))
	base := mag
	if minV < 0 {
		base |= 1 << uint(bw*8-1)
	}
	for i := bw - 1; i >= 0; i-- {
		b = append(b, byte(base>>(uint(i)*8)))
	}
	// Data: low w bits of each adjusted value; the patch list gets the rest.
	entries := e.patch[:0]
	prev = 0
	mask := uint64(1)<<uint(w) - 1
	data := e.data[:n] // not zz: the caller may still write direct
	for i, a := range adj {
		data[i] = a & mask
		if hi := a >> uint(w); hi != 0 {
			gap := i - prev
			for gap > 255 {
				entries = append(entries, 255<<uint(pw))
				gap -= 255
			}
			entries = append(entries, uint64(gap)<<uint(pw)|hi)
			prev = i
		}
	}
	b = appendPacked(b, data, w)
	b = appendPacked(b, entries, entryW)
	e.patch = entries
	return b, sizeBits, true
}
