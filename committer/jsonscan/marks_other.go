//go:build !amd64 || purego

package jsonscan

const haveSIMD = false

func marksSIMD(b *byte, n int, m *uint64) { panic("jsonscan: no SIMD marks on this platform") }
