//go:build amd64 && !purego

#include "textflag.h"

// BLOCK sets dst to the marks of the 64 bytes at addr: bit j set when byte
// j is '"', '\\' or below 0x20. Y10, Y11, Y12 hold '"', '\\' and 0x1f in
// every byte; a byte is below 0x20 when its unsigned minimum with 0x1f is
// itself. Clobbers Y0-Y5 and DX.
#define BLOCK(addr, dst) \
	VMOVDQU    (addr), Y0      \
	VMOVDQU    32(addr), Y1    \
	VPCMPEQB   Y10, Y0, Y2     \
	VPCMPEQB   Y11, Y0, Y3     \
	VPMINUB    Y12, Y0, Y4     \
	VPCMPEQB   Y4, Y0, Y4      \
	VPOR       Y3, Y2, Y2      \
	VPOR       Y4, Y2, Y2      \
	VPCMPEQB   Y10, Y1, Y3     \
	VPCMPEQB   Y11, Y1, Y4     \
	VPMINUB    Y12, Y1, Y5     \
	VPCMPEQB   Y5, Y1, Y5      \
	VPOR       Y4, Y3, Y3      \
	VPOR       Y5, Y3, Y3      \
	VPMOVMSKB  Y2, dst         \
	VPMOVMSKB  Y3, DX          \
	SHLQ       $32, DX         \
	ORQ        DX, dst

// func marksSIMD(b *byte, n int, m *uint64)
TEXT ·marksSIMD(SB), NOSPLIT, $0-24
	MOVQ b+0(FP), SI
	MOVQ n+8(FP), BX
	MOVQ m+16(FP), DI
	// The constants are broadcast from memory, all in VEX encoding. With
	// MOVQ AX, X10 (a legacy SSE instruction) and VPBROADCASTB from the
	// register, the profile put nearly all of marksSIMD's time on those
	// six instructions, and BenchmarkScan ran at twice marksSWAR's time,
	// on a virtualized Xeon with AVX-512 FP16 (Sapphire Rapids or later).
	// A penalty for mixing SSE and AVX is the likely cause; whatever it
	// is, the loads don't pay it.
	VPBROADCASTB ·quoteByte(SB), Y10
	VPBROADCASTB ·backslashByte(SB), Y11
	VPBROADCASTB ·ctlByte(SB), Y12
	LEAQ -64(SI)(BX*1), R8 // the last block's start: b+n-64

loop:
	CMPQ SI, R8
	JAE  last
	BLOCK(SI, AX)
	MOVQ AX, (DI)
	ADDQ $64, SI
	ADDQ $8, DI
	JMP  loop

last:
	// SI is where the last word's block starts, at or past R8; the block
	// loaded from R8 ends at b+n, so shift out what lies before SI.
	BLOCK(R8, AX)
	MOVQ SI, CX
	SUBQ R8, CX
	SHRQ CX, AX
	MOVQ AX, (DI)
	VZEROUPPER
	RET

DATA ·quoteByte+0(SB)/1, $0x22
GLOBL ·quoteByte(SB), RODATA|NOPTR, $1
DATA ·backslashByte+0(SB)/1, $0x5c
GLOBL ·backslashByte(SB), RODATA|NOPTR, $1
DATA ·ctlByte+0(SB)/1, $0x1f
GLOBL ·ctlByte(SB), RODATA|NOPTR, $1
