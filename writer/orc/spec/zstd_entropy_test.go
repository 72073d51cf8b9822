package spec

import (
	"encoding/hex"
	"math/rand/v2"
	"testing"
)

// Random hex has no repeats but only 4 bits of entropy per byte; ZSTD must
// entropy-code it (≈ 50–55% of the input), not store it raw.
func TestZstdEntropyCodesLiterals(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	raw := make([]byte, 32<<10)
	for i := range raw {
		raw[i] = byte(rng.Uint32())
	}
	src := []byte(hex.EncodeToString(raw)) // 64 KiB of hex
	for _, level := range []int{0, 1} {
		c, err := NewCompressor(CompressionZstd, DefaultCompressionBlockSize, WithLevel(level))
		if err != nil {
			t.Fatal(err)
		}
		out, err := c.Append(nil, src)
		if err != nil {
			t.Fatal(err)
		}
		if r := float64(len(out)) / float64(len(src)); r > 0.6 {
			t.Errorf("level %d: random hex compressed to %.2f of its size, want ≤ 0.6", level, r)
		}
		d, err := NewDecompressor(CompressionZstd, DefaultCompressionBlockSize)
		if err != nil {
			t.Fatal(err)
		}
		back, err := d.Decompress(nil, out, len(src))
		if err != nil || string(back) != string(src) {
			t.Fatalf("level %d: round trip: %v", level, err)
		}
	}
}
