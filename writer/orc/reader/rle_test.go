package reader

import (
	"errors"
	"math/big"
	"reflect"
	"testing"

	"github.com/landfall/landfall/writer/orc/spec"
)

// The examples of the ORC v1 specification, decoded.

func TestByteRLESpecExamples(t *testing.T) {
	d := byteRLE{s: stream{b: []byte{0x61, 0x00, 0xfe, 0x44, 0x45}}}
	for i := 0; i < 100; i++ {
		if b, err := d.next(); err != nil || b != 0 {
			t.Fatalf("value %d: %v %v", i, b, err)
		}
	}
	for _, want := range []byte{0x44, 0x45} {
		if b, err := d.next(); err != nil || b != want {
			t.Fatalf("got %x %v, want %x", b, err, want)
		}
	}
	if _, err := d.next(); !errors.Is(err, spec.ErrCorrupt) {
		t.Fatalf("past the end: %v", err)
	}
}

func TestBoolRLESpecExample(t *testing.T) {
	d := boolRLE{bytes: byteRLE{s: stream{b: []byte{0xff, 0x80}}}}
	for i := 0; i < 8; i++ {
		b, err := d.next()
		if err != nil || b != (i == 0) {
			t.Fatalf("bit %d: %v %v", i, b, err)
		}
	}
}

func decodeInts(t *testing.T, b []byte, signed, v2 bool, n int) []int64 {
	t.Helper()
	out := make([]int64, n)
	if err := newIntDecoder(b, signed, v2).next(out); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestRLEv1SpecExamples(t *testing.T) {
	got := decodeInts(t, []byte{0x61, 0x00, 0x07}, false, false, 100)
	for _, v := range got {
		if v != 7 {
			t.Fatalf("run of 7: %v", got)
		}
	}
	got = decodeInts(t, []byte{0x61, 0xff, 0x64}, false, false, 100)
	for i, v := range got {
		if v != int64(100-i) {
			t.Fatalf("100 down to 1: %v", got)
		}
	}
	got = decodeInts(t, []byte{0xfb, 0x02, 0x03, 0x04, 0x07, 0x0b}, false, false, 5)
	if !reflect.DeepEqual(got, []int64{2, 3, 4, 7, 11}) {
		t.Fatalf("literals: %v", got)
	}
}

func TestRLEv2SpecExamples(t *testing.T) {
	for _, c := range []struct {
		name string
		in   []byte
		want []int64
	}{
		{"short repeat", []byte{0x0a, 0x27, 0x10}, []int64{10000, 10000, 10000, 10000, 10000}},
		{"direct", []byte{0x5e, 0x03, 0x5c, 0xa1, 0xab, 0x1e, 0xde, 0xad, 0xbe, 0xef}, []int64{23713, 43806, 57005, 48879}},
		{"patched base", []byte{0x8e, 0x13, 0x2b, 0x21, 0x07, 0xd0, 0x1e, 0x00, 0x14, 0x70, 0x28, 0x32, 0x3c, 0x46, 0x50, 0x5a, 0x64, 0x6e,
			0x78, 0x82, 0x8c, 0x96, 0xa0, 0xaa, 0xb4, 0xbe, 0xfc, 0xe8},
			[]int64{2030, 2000, 2020, 1000000, 2040, 2050, 2060, 2070, 2080, 2090, 2100, 2110, 2120, 2130, 2140, 2150, 2160, 2170, 2180, 2190}},
		{"delta", []byte{0xc6, 0x09, 0x02, 0x02, 0x22, 0x42, 0x42, 0x46}, []int64{2, 3, 5, 7, 11, 13, 17, 19, 23, 29}},
	} {
		got := decodeInts(t, c.in, false, true, len(c.want))
		if !reflect.DeepEqual(got, c.want) {
			t.Errorf("%s: got %v, want %v", c.name, got, c.want)
		}
	}
}

func TestRLEv2SignedAndFixedDelta(t *testing.T) {
	// Short repeat of zigzag(-3)=5, three times: header 00 000 000.
	if got := decodeInts(t, []byte{0x00, 0x05}, true, true, 3); !reflect.DeepEqual(got, []int64{-3, -3, -3}) {
		t.Fatalf("signed short repeat: %v", got)
	}
	// Delta with width 0: base zigzag(10)=20, delta -2 (zigzag 3), 5 values.
	if got := decodeInts(t, []byte{0xc0, 0x04, 0x14, 0x03}, true, true, 5); !reflect.DeepEqual(got, []int64{10, 8, 6, 4, 2}) {
		t.Fatalf("fixed delta: %v", got)
	}
}

func TestRLEv2Truncated(t *testing.T) {
	full := []byte{0x8e, 0x13, 0x2b, 0x21, 0x07, 0xd0, 0x1e, 0x00, 0x14, 0x70, 0x28, 0x32, 0x3c, 0x46, 0x50, 0x5a, 0x64, 0x6e,
		0x78, 0x82, 0x8c, 0x96, 0xa0, 0xaa, 0xb4, 0xbe, 0xfc, 0xe8}
	for i := 0; i < len(full); i++ {
		out := make([]int64, 20)
		if err := newIntDecoder(full[:i], false, true).next(out); !errors.Is(err, spec.ErrCorrupt) {
			t.Fatalf("truncated at %d: %v", i, err)
		}
	}
}

func TestDecodeNanos(t *testing.T) {
	for in, want := range map[int64]int64{0x0a: 1000, 0x0c: 100000, 5 << 3: 5, 0: 0} {
		if got, err := decodeNanos(in); err != nil || got != want {
			t.Errorf("decodeNanos(%#x) = %d, %v; want %d", in, got, err, want)
		}
	}
	if _, err := decodeNanos(1<<62 | 7); !errors.Is(err, spec.ErrCorrupt) {
		t.Errorf("huge nanos: %v", err)
	}
}

func TestBigVarint(t *testing.T) {
	for _, want := range []string{"0", "-1", "1", "12345678654745600000000000", "-99999999999999999999999999999999999999", "9223372036854775807", "-9223372036854775808"} {
		v, _ := new(big.Int).SetString(want, 10)
		// zigzag: 2v for v >= 0, -2v-1 for v < 0
		z := new(big.Int).Lsh(v, 1)
		if v.Sign() < 0 {
			z.Neg(z).Sub(z, big.NewInt(1))
		}
		var b []byte
		for z.Cmp(big.NewInt(0x80)) >= 0 {
			b = append(b, byte(z.Uint64()&0x7f)|0x80)
			z.Rsh(z, 7)
		}
		b = append(b, byte(z.Uint64()))
		s := stream{b: b}
		var got big.Int
		if err := s.bigVarint(&got, 128); err != nil || got.String() != want {
			t.Errorf("%s: got %s, %v", want, got.String(), err)
		}
	}
	s := stream{b: []byte{0x80, 0x80, 0x80}}
	if err := s.bigVarint(new(big.Int), 2); !errors.Is(err, spec.ErrCorrupt) {
		t.Errorf("overlong varint: %v", err)
	}
}
