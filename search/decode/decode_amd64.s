//go:build amd64

#include "textflag.h"

// func decode2AVX512(centroids *float32, codes *int32, n int, packed *byte, lut *[256][4]float32, dst *float32, dim int)
// Per vector: x = centroid[code] + lut[byte] (4 dims per byte), x /= |x|.
TEXT ·decode2AVX512(SB), NOSPLIT, $0-56
	MOVQ centroids+0(FP), R9
	MOVQ codes+8(FP), R10
	MOVQ n+16(FP), R11
	MOVQ packed+24(FP), DI
	MOVQ lut+32(FP), R8
	MOVQ dst+40(FP), DX
	MOVQ dim+48(FP), CX
	SHLQ $2, CX                  // row bytes
	MOVL $0x3f800000, AX
	MOVL AX, X7
	VBROADCASTSS X7, Z7          // 1.0

vec:
	MOVLQSX (R10), SI
	IMULQ CX, SI
	ADDQ R9, SI                  // centroid row
	VXORPS Z8, Z8, Z8
	XORQ BX, BX

dims:
	MOVBLZX 0(DI), AX
	SHLQ $4, AX
	VMOVUPS (R8)(AX*1), X0
	MOVBLZX 1(DI), AX
	SHLQ $4, AX
	VINSERTF32X4 $1, (R8)(AX*1), Z0, Z0
	MOVBLZX 2(DI), AX
	SHLQ $4, AX
	VINSERTF32X4 $2, (R8)(AX*1), Z0, Z0
	MOVBLZX 3(DI), AX
	SHLQ $4, AX
	VINSERTF32X4 $3, (R8)(AX*1), Z0, Z0
	VADDPS (SI)(BX*1), Z0, Z0
	VMOVUPS Z0, (DX)(BX*1)
	VFMADD231PS Z0, Z0, Z8
	ADDQ $4, DI
	ADDQ $64, BX
	CMPQ BX, CX
	JLT  dims

	// s = sum(Z8); scale = s > 0 ? 1/sqrt(s) : 1
	VEXTRACTF64X4 $1, Z8, Y1
	VADDPS Y1, Y8, Y8
	VEXTRACTF128 $1, Y8, X1
	VADDPS X1, X8, X8
	VHADDPS X8, X8, X8
	VHADDPS X8, X8, X8
	VXORPS X2, X2, X2
	VUCOMISS X2, X8
	JBE  next                    // zero vector stays zero
	VSQRTSS X8, X8, X8
	VDIVSS X8, X7, X8            // 1/sqrt(s)
	VBROADCASTSS X8, Z8
	XORQ BX, BX

scale:
	VMULPS (DX)(BX*1), Z8, Z0
	VMOVUPS Z0, (DX)(BX*1)
	ADDQ $64, BX
	CMPQ BX, CX
	JLT  scale

next:
	ADDQ CX, DX
	ADDQ $4, R10
	DECQ R11
	JNZ  vec
	VZEROUPPER
	RET
