//go:build amd64

#include "textflag.h"

// Constants of exp32 (Cephes expf), broadcast from memory.
DATA expc<>+0(SB)/4, $88.7             // upper clamp
DATA expc<>+4(SB)/4, $-87.3            // below: 0
DATA expc<>+8(SB)/4, $1.44269504088896341 // log2(e)
DATA expc<>+12(SB)/4, $0.693359375     // ln2 high
DATA expc<>+16(SB)/4, $-2.12194440e-4  // ln2 low
DATA expc<>+20(SB)/4, $1.9875691500e-4
DATA expc<>+24(SB)/4, $1.3981999507e-3
DATA expc<>+28(SB)/4, $8.3334519073e-3
DATA expc<>+32(SB)/4, $4.1665795894e-2
DATA expc<>+36(SB)/4, $1.6666665459e-1
DATA expc<>+40(SB)/4, $5.0000001201e-1
DATA expc<>+44(SB)/4, $1.0
GLOBL expc<>(SB), RODATA|NOPTR, $48

// func expAVX2(x *float32, n int)
TEXT ·expAVX2(SB), NOSPLIT, $0-16
	MOVQ x+0(FP), DI
	MOVQ n+8(FP), CX
	VBROADCASTSS expc<>+0(SB), Y8   // hi clamp
	VBROADCASTSS expc<>+4(SB), Y9   // lo threshold
	VBROADCASTSS expc<>+8(SB), Y10  // log2e
	VBROADCASTSS expc<>+12(SB), Y11 // ln2hi
	VBROADCASTSS expc<>+16(SB), Y12 // ln2lo
	VBROADCASTSS expc<>+44(SB), Y13 // 1
	SHRQ $3, CX
	JZ done

loop:
	VMOVUPS (DI), Y0                // x
	VMINPS Y8, Y0, Y0               // x = min(x, 88.7)
	VCMPPS $0x1D, Y9, Y0, Y7        // keep = x >= -87.3 (GE_OQ)
	VMULPS Y10, Y0, Y1              // t = x·log2e
	VROUNDPS $0, Y1, Y1             // n = round to nearest
	VFNMADD231PS Y11, Y1, Y0        // r = x - n·ln2hi
	VFNMADD231PS Y12, Y1, Y0        // r -= n·ln2lo
	VBROADCASTSS expc<>+20(SB), Y2  // p = c0
	VBROADCASTSS expc<>+24(SB), Y3
	VFMADD213PS Y3, Y0, Y2          // p = p·r + c1
	VBROADCASTSS expc<>+28(SB), Y3
	VFMADD213PS Y3, Y0, Y2
	VBROADCASTSS expc<>+32(SB), Y3
	VFMADD213PS Y3, Y0, Y2
	VBROADCASTSS expc<>+36(SB), Y3
	VFMADD213PS Y3, Y0, Y2
	VBROADCASTSS expc<>+40(SB), Y3
	VFMADD213PS Y3, Y0, Y2          // p (degree 5)
	VMULPS Y0, Y0, Y4               // r²
	VADDPS Y13, Y0, Y5              // r + 1
	VFMADD231PS Y4, Y2, Y5          // y = p·r² + r + 1
	VCVTPS2DQ Y1, Y6                // int32(n)
	VPSLLD $23, Y6, Y6              // n << 23
	VPADDD Y6, Y5, Y5               // y · 2^n
	VANDPS Y7, Y5, Y5               // 0 where x < -87.3
	VMOVUPS Y5, (DI)
	ADDQ $32, DI
	DECQ CX
	JNZ loop

done:
	VZEROUPPER
	RET
