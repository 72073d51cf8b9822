package orc

import (
	"bytes"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// The decoders below are test-only and written from the spec's text, not
// from the encoders, so that a misunderstanding shared by both would show up
// in the interoperability tests against Apache ORC instead of hiding here.

func decodeWidth(code int, delta bool) int {
	if delta && code == 0 {
		return 0
	}
	switch {
	case code <= 23:
		return code + 1
	case code == 24:
		return 26
	case code == 25:
		return 28
	case code == 26:
		return 30
	case code == 27:
		return 32
	case code == 28:
		return 40
	case code == 29:
		return 48
	case code == 30:
		return 56
	}
	return 64
}

type bitReader struct {
	b    []byte
	i    int
	bit  int
	fail bool
}

func (r *bitReader) read(w int) uint64 {
	var v uint64
	for k := 0; k < w; k++ {
		if r.i >= len(r.b) {
			r.fail = true
			return 0
		}
		bit := (r.b[r.i] >> uint(7-r.bit)) & 1
		v = v<<1 | uint64(bit)
		r.bit++
		if r.bit == 8 {
			r.bit, r.i = 0, r.i+1
		}
	}
	return v
}

func (r *bitReader) align() {
	if r.bit != 0 {
		r.bit, r.i = 0, r.i+1
	}
}

func readUvarint(b []byte, i *int) (uint64, error) {
	var v uint64
	for s := uint(0); ; s += 7 {
		if *i >= len(b) || s > 63 {
			return 0, fmt.Errorf("bad varint")
		}
		c := b[*i]
		*i++
		v |= uint64(c&0x7f) << s
		if c < 0x80 {
			return v, nil
		}
	}
}

func unzigzag(u uint64) int64 { return int64(u>>1) ^ -int64(u&1) }

func decodeRLEv2(b []byte, signed bool) ([]int64, error) {
	var out []int64
	dec := func(u uint64) int64 {
		if signed {
			return unzigzag(u)
		}
		return int64(u)
	}
	i := 0
	for i < len(b) {
		h := b[i]
		switch h >> 6 {
		case 0: // short repeat
			w := int(h>>3&7) + 1
			n := int(h&7) + 3
			if i+1+w > len(b) {
				return nil, fmt.Errorf("short repeat truncated")
			}
			var u uint64
			for k := 0; k < w; k++ {
				u = u<<8 | uint64(b[i+1+k])
			}
			for k := 0; k < n; k++ {
				out = append(out, dec(u))
			}
			i += 1 + w
		case 1: // direct
			w := decodeWidth(int(h>>1&31), false)
			n := (int(h&1)<<8 | int(b[i+1])) + 1
			r := bitReader{b: b, i: i + 2}
			for k := 0; k < n; k++ {
				out = append(out, dec(r.read(w)))
			}
			if r.fail {
				return nil, fmt.Errorf("direct truncated")
			}
			r.align()
			i = r.i
		case 2: // patched base
			w := decodeWidth(int(h>>1&31), false)
			n := (int(h&1)<<8 | int(b[i+1])) + 1
			bw := int(b[i+2]>>5) + 1
			pw := decodeWidth(int(b[i+2]&31), false)
			pgw := int(b[i+3]>>5) + 1
			pll := int(b[i+3] & 31)
			i += 4
			var base uint64
			for k := 0; k < bw; k++ {
				base = base<<8 | uint64(b[i+k])
			}
			i += bw
			signBit := uint64(1) << uint(bw*8-1)
			baseV := int64(base &^ signBit)
			if base&signBit != 0 {
				baseV = -baseV
			}
			r := bitReader{b: b, i: i}
			vals := make([]uint64, n)
			for k := range vals {
				vals[k] = r.read(w)
			}
			r.align()
			entryW := closestFixedBitsRef(pgw + pw)
			idx := 0
			for p := 0; p < pll; p++ {
				e := r.read(entryW)
				gap := int(e >> uint(pw))
				patch := e & (1<<uint(pw) - 1)
				idx += gap
				if patch != 0 {
					if idx >= n {
						return nil, fmt.Errorf("patch index out of range")
					}
					vals[idx] |= patch << uint(w)
				}
			}
			if r.fail {
				return nil, fmt.Errorf("patched base truncated")
			}
			r.align()
			i = r.i
			for _, v := range vals {
				out = append(out, baseV+int64(v))
			}
		case 3: // delta
			w := decodeWidth(int(h>>1&31), true)
			n := (int(h&1)<<8 | int(b[i+1])) + 1
			i += 2
			u, err := readUvarint(b, &i)
			if err != nil {
				return nil, err
			}
			base := dec(u)
			du, err := readUvarint(b, &i)
			if err != nil {
				return nil, err
			}
			delta := unzigzag(du)
			out = append(out, base)
			if n > 1 {
				out = append(out, base+delta)
			}
			r := bitReader{b: b, i: i}
			prev := base + delta
			for k := 2; k < n; k++ {
				var v int64
				if w == 0 {
					v = prev + delta
				} else {
					d := int64(r.read(w))
					if delta < 0 {
						d = -d
					}
					v = prev + d
				}
				out = append(out, v)
				prev = v
			}
			if r.fail {
				return nil, fmt.Errorf("delta truncated")
			}
			r.align()
			i = r.i
		}
	}
	return out, nil
}

// closestFixedBitsRef is the spec's rounding for patch entry widths.
func closestFixedBitsRef(n int) int {
	for _, w := range []int{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 26, 28, 30, 32, 40, 48, 56, 64} {
		if n <= w {
			return w
		}
	}
	return 64
}

func decodeByteRLE(b []byte) ([]byte, error) {
	var out []byte
	for i := 0; i < len(b); {
		h := int8(b[i])
		i++
		if h >= 0 {
			if i >= len(b) {
				return nil, fmt.Errorf("run truncated")
			}
			for k := 0; k < int(h)+3; k++ {
				out = append(out, b[i])
			}
			i++
		} else {
			n := -int(h)
			if i+n > len(b) {
				return nil, fmt.Errorf("literals truncated")
			}
			out = append(out, b[i:i+n]...)
			i += n
		}
	}
	return out, nil
}

func encodeInts(vals []int64, signed bool) []byte {
	s := &outStream{}
	var e intRLEv2
	e.reset(s, signed)
	for _, v := range vals {
		e.add(v)
	}
	e.flush()
	return s.out
}

func TestRLEv2SpecExamples(t *testing.T) {
	cases := []struct {
		name string
		vals []int64
		want []byte
	}{
		{"short repeat", []int64{10000, 10000, 10000, 10000, 10000}, []byte{0x0a, 0x27, 0x10}},
		{"direct", []int64{23713, 43806, 57005, 48879}, []byte{0x5e, 0x03, 0x5c, 0xa1, 0xab, 0x1e, 0xde, 0xad, 0xbe, 0xef}},
		// The spec's example packs these steps in 4 bits; 3 suffice, and
		// readers decode any width of the table.
		{"delta", []int64{2, 3, 5, 7, 11, 13, 17, 19, 23, 29}, []byte{0xc4, 0x09, 0x02, 0x02, 0x4a, 0x28, 0xa6}},
		{"patched base", []int64{2030, 2000, 2020, 1000000, 2040, 2050, 2060, 2070, 2080, 2090, 2100, 2110, 2120, 2130, 2140, 2150, 2160, 2170, 2180, 2190},
			[]byte{0x8e, 0x13, 0x2b, 0x21, 0x07, 0xd0, 0x1e, 0x00, 0x14, 0x70, 0x28, 0x32, 0x3c, 0x46, 0x50, 0x5a, 0x64, 0x6e, 0x78, 0x82, 0x8c, 0x96, 0xa0, 0xaa, 0xb4, 0xbe, 0xfc, 0xe8}},
	}
	for _, c := range cases {
		got := encodeInts(c.vals, false)
		if !bytes.Equal(got, c.want) {
			t.Errorf("%s: got % x, want % x", c.name, got, c.want)
		}
		back, err := decodeRLEv2(got, false)
		if err != nil || !equalInts(back, c.vals) {
			t.Errorf("%s: decode got %v, %v", c.name, back, err)
		}
	}
}

func TestRLEv2DecodesSpecDelta(t *testing.T) {
	got, err := decodeRLEv2([]byte{0xc6, 0x09, 0x02, 0x02, 0x22, 0x42, 0x42, 0x46}, false)
	if want := []int64{2, 3, 5, 7, 11, 13, 17, 19, 23, 29}; err != nil || !equalInts(got, want) {
		t.Errorf("test decoder: got %v, %v", got, err)
	}
}

func TestByteRLESpecExamples(t *testing.T) {
	enc := func(vals []byte) []byte {
		s := &outStream{}
		var e byteRLE
		e.reset(s)
		for _, v := range vals {
			e.add(v)
		}
		e.flush()
		return s.out
	}
	if got := enc(bytes.Repeat([]byte{0}, 100)); !bytes.Equal(got, []byte{0x61, 0x00}) {
		t.Errorf("100 zeros: % x", got)
	}
	if got := enc([]byte{0x44, 0x45}); !bytes.Equal(got, []byte{0xfe, 0x44, 0x45}) {
		t.Errorf("literals: % x", got)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for iter := 0; iter < 300; iter++ {
		vals := make([]byte, rng.IntN(2000))
		for i := range vals {
			if i > 0 && rng.IntN(3) > 0 {
				vals[i] = vals[i-1]
			} else {
				vals[i] = byte(rng.IntN(4 + iter))
			}
		}
		got, err := decodeByteRLE(enc(vals))
		if err != nil || !bytes.Equal(got, vals) {
			t.Fatalf("byte RLE round trip failed for %d values: %v", len(vals), err)
		}
	}
}

func equalInts(a, b []int64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// randomInts makes sequences that exercise every sub-encoding: runs,
// monotone stretches, narrow values with outliers, and extremes.
func randomInts(rng *rand.Rand, n int, signed bool) []int64 {
	vals := make([]int64, 0, n)
	for len(vals) < n {
		k := 1 + rng.IntN(700)
		switch rng.IntN(7) {
		case 0: // run
			v := rng.Int64N(1 << uint(rng.IntN(63)))
			for i := 0; i < k; i++ {
				vals = append(vals, v)
			}
		case 1: // monotone with steady or varying steps
			v := rng.Int64N(1 << 40)
			step := rng.Int64N(1 << uint(rng.IntN(20)))
			vary := rng.IntN(2) == 0
			dir := int64(1)
			if signed && rng.IntN(2) == 0 {
				dir = -1
			}
			for i := 0; i < k; i++ {
				vals = append(vals, v)
				s := step
				if vary {
					s = rng.Int64N(step + 1)
				}
				v += dir * s
			}
		case 2: // narrow with outliers
			for i := 0; i < k; i++ {
				v := rng.Int64N(100)
				if rng.IntN(30) == 0 {
					v = rng.Int64N(math.MaxInt64 >> uint(rng.IntN(40)))
				}
				vals = append(vals, v)
			}
		case 3: // random widths
			w := uint(rng.IntN(64))
			for i := 0; i < k; i++ {
				vals = append(vals, int64(rng.Uint64()>>w))
			}
		case 4: // extremes
			for i := 0; i < k%5+1; i++ {
				vals = append(vals, []int64{math.MaxInt64, math.MinInt64, 0, -1, 1}[rng.IntN(5)])
			}
		case 5: // short repeats between literals
			for i := 0; i < k; i++ {
				vals = append(vals, int64(i/(1+rng.IntN(4))))
			}
		default:
			for i := 0; i < k; i++ {
				vals = append(vals, rng.Int64N(1000)-500)
			}
		}
	}
	vals = vals[:n]
	if !signed {
		for i, v := range vals {
			if v < 0 {
				vals[i] = -(v + 1)
			}
		}
	}
	return vals
}

func TestRLEv2RoundTrip(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	for iter := 0; iter < 400; iter++ {
		signed := iter%2 == 0
		vals := randomInts(rng, rng.IntN(3000)+1, signed)
		enc := encodeInts(vals, signed)
		got, err := decodeRLEv2(enc, signed)
		if err != nil {
			t.Fatalf("iter %d: decode: %v", iter, err)
		}
		if !equalInts(got, vals) {
			for i := range vals {
				if i >= len(got) || got[i] != vals[i] {
					t.Fatalf("iter %d (signed %v): value %d: got %v, want %d (len %d vs %d)", iter, signed, i, got[min(i, len(got)-1)], vals[i], len(got), len(vals))
				}
			}
			t.Fatalf("iter %d: length %d, want %d", iter, len(got), len(vals))
		}
	}
}

// TestRLEv2PicksCheapEncodings checks that the sub-encodings are used where
// they pay: each input must encode smaller than plain direct encoding would.
func TestRLEv2PicksCheapEncodings(t *testing.T) {
	ramp := make([]int64, 512)
	for i := range ramp {
		ramp[i] = 1_000_000 + int64(i)*7
	}
	outliers := make([]int64, 512)
	for i := range outliers {
		outliers[i] = int64(i % 16)
	}
	outliers[100] = 1 << 40
	outliers[300] = 1 << 41
	run := make([]int64, 512)
	for i := range run {
		run[i] = 123456789
	}
	for name, c := range map[string]struct {
		vals    []int64
		header  byte // expected sub-encoding of the first group
		maxSize int
	}{
		"fixed delta":  {ramp, 3, 10},
		"patched base": {outliers, 2, 512*4/8 + 40},
		"long run":     {run, 3, 10},
	} {
		enc := encodeInts(c.vals, false)
		if enc[0]>>6 != c.header {
			t.Errorf("%s: sub-encoding %d, want %d", name, enc[0]>>6, c.header)
		}
		if len(enc) > c.maxSize {
			t.Errorf("%s: %d bytes, want at most %d", name, len(enc), c.maxSize)
		}
	}
}

func TestBoolRLEAndPositions(t *testing.T) {
	s := &outStream{}
	var e boolRLE
	e.reset(s)
	vals := []bool{true, false, false, false, false, false, false, false, true}
	for _, v := range vals {
		e.add(v)
	}
	pos := e.position(nil)
	// One full byte went to the byte encoder (pending, not written), one bit
	// is in the partial byte.
	if len(pos) != 3 || pos[0] != 0 || pos[1] != 1 || pos[2] != 1 {
		t.Errorf("positions %v, want [0 1 1]", pos)
	}
	e.flush()
	if want := []byte{0xfe, 0x80, 0x80}; !bytes.Equal(s.out, want) {
		t.Errorf("got % x, want % x", s.out, want)
	}
}

func TestNanosEncoding(t *testing.T) {
	for _, c := range []struct {
		n    uint32
		want uint64
	}{{0, 0}, {1000, 0x0a}, {100000, 0x0c}, {123456789, 123456789 << 3}, {500000000, 5<<3 | 7}} {
		if got := encodeNanos(c.n); got != c.want {
			t.Errorf("encodeNanos(%d) = %#x, want %#x", c.n, got, c.want)
		}
	}
}

// TestAppendPackedEveryWidth checks the packing of every width, the narrow
// fast path included, against packing one bit at a time.
func TestAppendPackedEveryWidth(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for w := 1; w <= 64; w++ {
		for _, n := range []int{1, 2, 7, 8, 9, 100, 512} {
			vals := make([]uint64, n)
			for i := range vals {
				vals[i] = rng.Uint64() >> uint(64-w)
			}
			var want []byte
			var cur byte
			nbits := 0
			for _, v := range vals {
				for k := w - 1; k >= 0; k-- {
					cur = cur<<1 | byte(v>>uint(k)&1)
					if nbits++; nbits == 8 {
						want, cur, nbits = append(want, cur), 0, 0
					}
				}
			}
			if nbits > 0 {
				want = append(want, cur<<uint(8-nbits))
			}
			got := appendPacked([]byte{0xaa}, vals, w)
			if got[0] != 0xaa || !bytes.Equal(got[1:], want) {
				t.Fatalf("width %d, %d values: got %x, want %x", w, n, got[1:], want)
			}
		}
	}
}
