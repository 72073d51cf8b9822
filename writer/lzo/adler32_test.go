package lzo

import (
	"bytes"
	stdadler "hash/adler32"
	"math/rand/v2"
	"testing"
)

func TestAdler32MatchesStandardLibrary(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 3))
	inputs := [][]byte{nil, {0}, {0xff}, bytes.Repeat([]byte{0xff}, 1<<20), make([]byte, 5000), logText(300_000, 1)}
	for range 500 {
		inputs = append(inputs, randomBytes(r.IntN(10_000), r.Uint64()))
	}
	for _, in := range inputs {
		for _, p := range [][]byte{in, in[min(len(in), 3):]} {
			if got, want := adler32Sum(p), stdadler.Checksum(p); got != want {
				t.Fatalf("adler32Sum of %d bytes = %#x, want %#x", len(p), got, want)
			}
		}
	}
}

func BenchmarkAdler32(b *testing.B) {
	benchAdler32(b, adler32Sum)
}

// BenchmarkAdler32Std is the standard library's, for comparison.
func BenchmarkAdler32Std(b *testing.B) {
	benchAdler32(b, stdadler.Checksum)
}

func benchAdler32(b *testing.B, sum func([]byte) uint32) {
	in := benchData()
	b.SetBytes(int64(len(in)))
	b.ResetTimer()
	start := cpuTime(b)
	for b.Loop() {
		for p := in; len(p) > 0; p = p[min(len(p), DefaultBlockSize):] {
			sum(p[:min(len(p), DefaultBlockSize)])
		}
	}
	measureCPU(b, start, len(in))
}
