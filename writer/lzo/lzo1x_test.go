package lzo

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"testing"
)

// cases covers what the match finder and the instruction encoder have to get
// right: empty and tiny inputs, long literal runs, every match kind (M2 up to
// 2 KiB, M3 up to 16 KiB, M4 up to 48 KiB), long matches with extended
// lengths, and overlapping matches at short distances.
func roundTripCases() map[string][]byte {
	c := map[string][]byte{
		"empty":      {},
		"one byte":   {'x'},
		"two bytes":  []byte("ab"),
		"sixteen":    []byte("0123456789abcdef"),
		"zeros 1M":   make([]byte, 1<<20),
		"random 300": randomBytes(300, 1),
		"random 1M":  randomBytes(1<<20, 2),
		"log 1M":     logText(1<<20, 3),
		"abab":       bytes.Repeat([]byte("ab"), 5000),
		"abcdefg":    bytes.Repeat([]byte("abcdefg"), 5000),
	}
	// A random chunk repeated at each distance class boundary.
	for _, gap := range []int{0, 1, 2040, 2048, 2049, 3000, 16380, 16384, 16385, 30000, 49150, 49151, 49152, 60000} {
		chunk := randomBytes(300, uint64(gap))
		b := append(append(append([]byte{}, chunk...), randomBytes(gap, 7)...), chunk...)
		c["gap "+itoa(gap)] = b
	}
	// Literal runs of every length around the encoding boundaries.
	for _, n := range []int{3, 4, 18, 19, 238, 239, 255, 256, 274, 275, 1000} {
		lit := randomBytes(n, uint64(n)+100)
		rep := bytes.Repeat([]byte("hello, world! "), 4)
		c["literals "+itoa(n)] = append(append(append([]byte{}, rep...), lit...), rep...)
	}
	return c
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	var b []byte
	for ; n > 0; n /= 10 {
		b = append([]byte{byte('0' + n%10)}, b...)
	}
	return string(b)
}

func TestCompressRoundTrip(t *testing.T) {
	var c Compressor
	for name, in := range roundTripCases() {
		comp := c.Compress(nil, in)
		if len(comp) > CompressBound(len(in)) {
			t.Errorf("%s: compressed %d bytes to %d, above CompressBound %d", name, len(in), len(comp), CompressBound(len(in)))
		}
		out := make([]byte, len(in))
		if err := Decompress(out, comp); err != nil {
			t.Fatalf("%s: decompress: %v", name, err)
		}
		if !bytes.Equal(out, in) {
			t.Fatalf("%s: round trip differs", name)
		}
	}
}

// TestCompressRoundTripProperty builds inputs from random literals and
// copies of earlier bytes at random distances and lengths, so that every
// instruction the encoder has shows up in many combinations.
func TestCompressRoundTripProperty(t *testing.T) {
	var c Compressor
	r := rand.New(rand.NewPCG(42, 42))
	for i := range 300 {
		n := r.IntN(200_000)
		if i%3 == 0 {
			n = r.IntN(300)
		}
		in := make([]byte, 0, n)
		for len(in) < n {
			switch {
			case len(in) == 0 || r.IntN(3) == 0:
				k := r.IntN(40) + 1
				for range k {
					in = append(in, byte(r.IntN(4+r.IntN(252))))
				}
			default:
				dist := 1 + r.IntN(min(len(in), []int{8, 2048, 16384, 49151, 70000}[r.IntN(5)]))
				k := 1 + r.IntN([]int{8, 40, 300, 3000}[r.IntN(4)])
				for range k {
					in = append(in, in[len(in)-dist])
				}
			}
		}
		in = in[:n]
		prefix := []byte("prefix")
		comp := c.Compress(prefix, in)
		if !bytes.Equal(comp[:len(prefix)], prefix) {
			t.Fatalf("case %d: Compress clobbered dst", i)
		}
		out := make([]byte, n)
		if err := Decompress(out, comp[len(prefix):]); err != nil {
			t.Fatalf("case %d (%d bytes): %v", i, n, err)
		}
		if !bytes.Equal(out, in) {
			t.Fatalf("case %d (%d bytes): round trip differs", i, n)
		}
	}
}

func TestCompressShrinksLogs(t *testing.T) {
	var c Compressor
	in := logText(4<<20, 1)
	comp := c.Compress(nil, in)
	if ratio := float64(len(comp)) / float64(len(in)); ratio > 0.45 {
		t.Fatalf("log text compressed to %.2f of its size; LZO1X-1 gets well under 0.45", ratio)
	}
}

// TestDecompressHandmade decodes streams with instructions our compressor
// never emits (M1 matches in both states, a literal run as first byte 0),
// checked against what lzo.rst says they mean.
func TestDecompressHandmade(t *testing.T) {
	cases := []struct {
		name string
		in   []byte
		want string
	}{
		{"empty", []byte{0x11, 0, 0}, ""},
		// First byte 17+3: three literals, state 3; then M1 0000DDSS with
		// D=2, S=1 and H=0: 2 bytes from distance 3, then one literal.
		{"m1 after short literals", []byte{20, 'a', 'b', 'c', 0x09, 0x00, 'z', 0x11, 0, 0}, "abcabz"},
		// Literal run via 0000LLLL at start (state 0): L=1 → 4 literals.
		{"literal run opcode", []byte{0x01, 'w', 'x', 'y', 'z', 0x11, 0, 0}, "wxyz"},
		// Long literal run: L=0, one extension byte 1 → 3+15+1 = 19.
		{"long literal run", append(append([]byte{0x00, 0x01}, "0123456789abcdefghi"...), 0x11, 0, 0), "0123456789abcdefghi"},
		// M2 01LDDDSS: length 3, D=0 H=0 → distance 1, S=0.
		{"m2 run", []byte{21, 'a', 'b', 'c', 'd', 0x40, 0x00, 0x11, 0, 0}, "abcdddd"},
		// M3 001LLLLL with L=2 → length 4, LE16 distance field (3<<2)|1
		// → distance 4, one literal.
		{"m3", []byte{21, 'a', 'b', 'c', 'd', 0x22, 0x0d, 0x00, '!', 0x11, 0, 0}, "abcdabcd!"},
	}
	for _, c := range cases {
		out := make([]byte, len(c.want))
		if err := Decompress(out, c.in); err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		if string(out) != c.want {
			t.Errorf("%s: got %q, want %q", c.name, out, c.want)
		}
	}
}

func TestDecompressM1AfterLongLiteralRun(t *testing.T) {
	// 2100 literals, then M1 in state 4: 3 bytes from distance
	// (H<<2)+D+2049 with H=12, D=3 → 2049+51 = 2100, i.e. from offset 0.
	lit := randomBytes(2100, 5)
	in := []byte{0x00}
	in = putLengthForTest(in, 2100-18)
	in = append(in, lit...)
	in = append(in, 0x0c, 12, 0x11, 0, 0)
	out := make([]byte, 2103)
	if err := Decompress(out, in); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(out[:2100], lit) || !bytes.Equal(out[2100:], lit[:3]) {
		t.Fatalf("M1 in state 4 decoded wrong: tail %x, want %x", out[2100:], lit[:3])
	}
}

func putLengthForTest(b []byte, n int) []byte {
	for n > 255 {
		b = append(b, 0)
		n -= 255
	}
	return append(b, byte(n))
}

func TestDecompressCorrupt(t *testing.T) {
	var c Compressor
	in := logText(100_000, 9)
	comp := c.Compress(nil, in)
	out := make([]byte, len(in))
	// Every truncation is an error.
	for n := 0; n < len(comp); n += 1 + n/50 {
		if err := Decompress(out, comp[:n]); err == nil {
			t.Fatalf("truncated to %d of %d bytes: no error", n, len(comp))
		}
	}
	if err := Decompress(out[:len(in)-1], comp); !errors.Is(err, ErrOutputOverrun) {
		t.Errorf("output one byte short: got %v, want ErrOutputOverrun", err)
	}
	if err := Decompress(make([]byte, len(in)+1), comp); !errors.Is(err, ErrOutputUnderrun) {
		t.Errorf("output one byte long: got %v, want ErrOutputUnderrun", err)
	}
	if err := Decompress(out, append(comp[:len(comp):len(comp)], 0)); !errors.Is(err, ErrInputNotConsumed) {
		t.Errorf("trailing byte: got %v, want ErrInputNotConsumed", err)
	}
	// A match that reaches before the start of the output.
	if err := Decompress(make([]byte, 8), []byte{18, 'a', 0x7c, 0xff, 0x11, 0, 0}); !errors.Is(err, ErrLookbehind) {
		t.Errorf("far match: got %v, want ErrLookbehind", err)
	}
	// Flipping bytes never panics and rarely decodes to the input.
	r := rand.New(rand.NewPCG(1, 2))
	for range 2000 {
		bad := append([]byte{}, comp...)
		for range 1 + r.IntN(4) {
			bad[r.IntN(len(bad))] ^= byte(1 + r.IntN(255))
		}
		_ = Decompress(out, bad)
	}
}

// TestCompressSegments makes the match finder's segments tiny, so that the
// restart every segmentSize bytes (1 GiB in production) is crossed
// thousands of times, also by matches that run past a segment's end.
func TestCompressSegments(t *testing.T) {
	defer func(n int) { segmentSize = n }(segmentSize)
	var c Compressor
	for _, size := range []int{1, 7, 1000, 65536} {
		segmentSize = size
		for name, in := range roundTripCases() {
			comp := c.Compress(nil, in)
			out := make([]byte, len(in))
			if err := Decompress(out, comp); err != nil || !bytes.Equal(out, in) {
				t.Fatalf("segments of %d, %s: round trip differs (%v)", size, name, err)
			}
		}
	}
}

// TestCodecDoesNotAllocate holds the compressor and decompressor to zero
// allocations per block once their buffers are sized.
func TestCodecDoesNotAllocate(t *testing.T) {
	var c Compressor
	in := logText(DefaultBlockSize, 4)
	comp := c.Compress(nil, in)
	buf := make([]byte, 0, CompressBound(len(in)))
	out := make([]byte, len(in))
	if n := testing.AllocsPerRun(10, func() {
		buf = c.Compress(buf[:0], in)
		if err := Decompress(out, comp); err != nil {
			t.Fatal(err)
		}
	}); n != 0 {
		t.Fatalf("%v allocations per block, want 0", n)
	}
}
