package jsonscan

import (
	"math/rand/v2"
	"testing"
)

// checkMarks compares marks, which takes the SIMD path where the CPU has
// one, with marksSWAR.
func checkMarks(t *testing.T, b []byte) {
	t.Helper()
	if len(b) < 64 {
		return
	}
	nb := (len(b) + 63) / 64
	got, want := make([]uint64, nb+1), make([]uint64, nb+1)
	got[nb], want[nb] = 1, 1 // marks must clear the extra word
	marks(b, got)
	want[nb] = 0
	marksSWAR(b, want)
	want[nb-1] |= 1 << ((len(b) - 1) % 64)
	for k := range want {
		if got[k] != want[k] {
			t.Fatalf("len %d: word %d = %064b, want %064b", len(b), k, got[k], want[k])
		}
	}
}

// TestMarks runs every length up to a few blocks, with bytes drawn from
// the ones marks must tell apart: the marked, their neighbours, and high
// bytes.
func TestMarks(t *testing.T) {
	if !haveSIMD {
		t.Log("no SIMD path on this CPU: marks is marksSWAR")
	}
	alphabet := []byte{'"', '\\', 0, 0x1f, 0x20, 0x21, 0x23, 0x5b, 0x5d, 0x7f, 0x80, 0x9c, 0xa2, 0xff, 'a', '{', '}'}
	r := rand.New(rand.NewPCG(1, 2))
	for n := 64; n <= 64*6+1; n++ {
		for rep := 0; rep < 20; rep++ {
			b := make([]byte, n)
			for i := range b {
				b[i] = alphabet[r.IntN(len(alphabet))]
			}
			checkMarks(t, b)
			// Every byte value at every place of a block.
			for i := range b {
				b[i] = byte(r.Uint32())
			}
			checkMarks(t, b)
		}
	}
	for c := 0; c < 256; c++ {
		b := make([]byte, 130)
		for i := range b {
			b[i] = 'x'
		}
		for _, i := range []int{0, 31, 32, 63, 64, 65, 95, 127, 129} {
			b[i] = byte(c)
		}
		checkMarks(t, b)
	}
}
