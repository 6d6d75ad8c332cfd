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

// Abramowitz–Stegun 7.1.26 constants for erf, and GELU's.
DATA geluc<>+0(SB)/4, $0.3275911
DATA geluc<>+4(SB)/4, $1.061405429
DATA geluc<>+8(SB)/4, $-1.453152027
DATA geluc<>+12(SB)/4, $1.421413741
DATA geluc<>+16(SB)/4, $-0.284496736
DATA geluc<>+20(SB)/4, $0.254829592
DATA geluc<>+24(SB)/4, $0.70710678118654752 // 1/√2
DATA geluc<>+28(SB)/4, $0.5
DATA geluc<>+32(SB)/4, $0.3989422804014327  // 1/√(2π)
DATA geluc<>+36(SB)/4, $-0.5
DATA geluc<>+40(SB)/4, $0x7fffffff          // |·| mask
GLOBL geluc<>(SB), RODATA|NOPTR, $44

// func geluAVX2(x, out, d *float32, n int)
// out = x·Φ(x), d = Φ(x) + x·φ(x), with Φ from erf (A&S 7.1.26) and the
// exponential of expAVX2 above (same constants); n a multiple of 8.
TEXT ·geluAVX2(SB), NOSPLIT, $0-32
	MOVQ x+0(FP), SI
	MOVQ out+8(FP), DI
	MOVQ d+16(FP), DX
	MOVQ n+24(FP), CX
	VBROADCASTSS expc<>+0(SB), Y8   // hi clamp
	VBROADCASTSS expc<>+4(SB), Y9   // lo threshold
	VBROADCASTSS expc<>+8(SB), Y10  // log2e
	VBROADCASTSS expc<>+12(SB), Y11 // ln2hi
	VBROADCASTSS expc<>+16(SB), Y12 // ln2lo
	VBROADCASTSS expc<>+44(SB), Y13 // 1
	VBROADCASTSS geluc<>+40(SB), Y14 // abs mask
	VBROADCASTSS geluc<>+28(SB), Y15 // 0.5
	SHRQ $3, CX
	JZ done

loop:
	VMOVUPS (SI), Y0                // x
	// e = exp(-x²/2), as expAVX2
	VMULPS Y0, Y0, Y1
	VBROADCASTSS geluc<>+36(SB), Y2
	VMULPS Y2, Y1, Y1               // a = -x²/2
	VMINPS Y8, Y1, Y1
	VCMPPS $0x1D, Y9, Y1, Y7        // keep = a >= -87.3
	VMULPS Y10, Y1, Y2
	VROUNDPS $0, Y2, Y2             // n
	VFNMADD231PS Y11, Y2, Y1        // r = a - n·ln2hi
	VFNMADD231PS Y12, Y2, Y1        // r -= n·ln2lo
	VBROADCASTSS expc<>+20(SB), Y3
	VBROADCASTSS expc<>+24(SB), Y4
	VFMADD213PS Y4, Y1, Y3
	VBROADCASTSS expc<>+28(SB), Y4
	VFMADD213PS Y4, Y1, Y3
	VBROADCASTSS expc<>+32(SB), Y4
	VFMADD213PS Y4, Y1, Y3
	VBROADCASTSS expc<>+36(SB), Y4
	VFMADD213PS Y4, Y1, Y3
	VBROADCASTSS expc<>+40(SB), Y4
	VFMADD213PS Y4, Y1, Y3          // p
	VMULPS Y1, Y1, Y4               // r²
	VADDPS Y13, Y1, Y5              // r + 1
	VFMADD231PS Y4, Y3, Y5          // y = p·r² + r + 1
	VCVTPS2DQ Y2, Y6
	VPSLLD $23, Y6, Y6
	VPADDD Y6, Y5, Y5
	VANDPS Y7, Y5, Y5               // Y5 = e
	// t = 1 / (1 + 0.3275911·|x|/√2)
	VANDPS Y14, Y0, Y1              // |x|
	VBROADCASTSS geluc<>+24(SB), Y2
	VMULPS Y2, Y1, Y1               // ax
	VBROADCASTSS geluc<>+0(SB), Y2
	VMOVAPS Y13, Y3
	VFMADD231PS Y2, Y1, Y3          // 1 + p·ax
	VDIVPS Y3, Y13, Y3              // t
	VBROADCASTSS geluc<>+4(SB), Y4  // poly = a5
	VBROADCASTSS geluc<>+8(SB), Y2
	VFMADD213PS Y2, Y3, Y4          // poly·t + a4
	VBROADCASTSS geluc<>+12(SB), Y2
	VFMADD213PS Y2, Y3, Y4
	VBROADCASTSS geluc<>+16(SB), Y2
	VFMADD213PS Y2, Y3, Y4
	VBROADCASTSS geluc<>+20(SB), Y2
	VFMADD213PS Y2, Y3, Y4          // … + a1
	VMULPS Y3, Y4, Y4               // poly·t
	VMULPS Y5, Y4, Y4               // poly·t·e
	VSUBPS Y4, Y13, Y4              // |erf| = 1 - poly·t·e
	VANDNPS Y0, Y14, Y2             // sign bit of x
	VXORPS Y2, Y4, Y4               // erf(x/√2)
	VMOVAPS Y15, Y1
	VFMADD231PS Y15, Y4, Y1         // Φ = 0.5 + 0.5·erf
	VMULPS Y0, Y1, Y2               // out = x·Φ
	VMOVUPS Y2, (DI)
	VBROADCASTSS geluc<>+32(SB), Y2
	VMULPS Y2, Y5, Y5               // φ = e/√(2π)
	VFMADD231PS Y5, Y0, Y1          // d = Φ + x·φ
	VMOVUPS Y1, (DX)
	ADDQ $32, SI
	ADDQ $32, DI
	ADDQ $32, DX
	DECQ CX
	JNZ loop

done:
	VZEROUPPER
	RET
