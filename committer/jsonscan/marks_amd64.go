//go:build amd64 && !purego

package jsonscan

import "golang.org/x/sys/cpu"

// haveSIMD says marksSIMD can run: it needs AVX2, which 32 bytes to an
// instruction makes about six times as fast as marksSWAR.
var haveSIMD = cpu.X86.HasAVX2

// marksSIMD is marks for n = len(b) >= 64, without the mark on b's last
// byte: it writes the (n+63)/64 words of m, the last from the block
// b[n-64:n] shifted into place, as marksSWAR does.
//
//go:noescape
func marksSIMD(b *byte, n int, m *uint64)
