package lzo

import "encoding/binary"

// adler32Sum is hash/adler32's checksum computed eight bytes per step: the
// writer checksums every block twice and the reader checks them again, and
// the standard library's byte-at-a-time loop was a fifth of the writer's
// time. For eight bytes b0..b7 Adler-32 does
//
//	s1' = s1 + Σ b_j    s2' = s2 + 8·s1 + Σ (8-j)·b_j
//
// so each step adds the bytes' sum to s1 and s1 to a counter of steps, and
// the weighted sums are taken once per run from per-lane byte totals kept
// in 16-bit lanes of two registers.
func adler32Sum(p []byte) uint32 {
	const (
		mod   = 65521
		lanes = 0x00ff00ff00ff00ff
		// A run of at most 256 steps keeps every 16-bit lane below
		// 256·255 + 255 and the uint64 sums far from overflow.
		run = 256 * 8
	)
	s1, s2 := uint64(1), uint64(0)
	for len(p) >= 8 {
		n := min(len(p), run) &^ 7
		var even, odd, steps uint64 // lanes of b0,b2,b4,b6 and b1,b3,b5,b7
		q := p[:n]
		for ; len(q) >= 16; q = q[16:] {
			v, u := binary.LittleEndian.Uint64(q), binary.LittleEndian.Uint64(q[8:])
			ev, ov, eu, ou := v&lanes, (v>>8)&lanes, u&lanes, (u>>8)&lanes
			even += ev + eu
			odd += ov + ou
			sv := (ev + ov) * 0x0001000100010001 >> 48
			steps += 2*s1 + sv
			s1 += sv + (eu+ou)*0x0001000100010001>>48
		}
		if len(q) == 8 {
			v := binary.LittleEndian.Uint64(q)
			e, o := v&lanes, (v>>8)&lanes
			even += e
			odd += o
			steps += s1
			s1 += (e + o) * 0x0001000100010001 >> 48
		}
		w := 8*(even&0xffff) + 6*(even>>16&0xffff) + 4*(even>>32&0xffff) + 2*(even>>48) +
			7*(odd&0xffff) + 5*(odd>>16&0xffff) + 3*(odd>>32&0xffff) + 1*(odd>>48)
		s2 = (s2 + 8*steps + w) % mod
		s1 %= mod
		p = p[n:]
	}
	for _, b := range p {
		s1 += uint64(b)
		s2 += s1
	}
	return uint32(s2%mod)<<16 | uint32(s1%mod)
}
