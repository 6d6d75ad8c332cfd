//go:build amd64

package maxsim

import "golang.org/x/sys/cpu"

// CPU features, detected once at start-up (read-only afterwards).
// golang.org/x/sys/cpu checks both the CPU flags and that the OS saves the
// wide registers (XCR0).
var (
	hasAVX2   = cpu.X86.HasAVX2 && cpu.X86.HasFMA
	hasAVX512 = hasAVX2 && cpu.X86.HasAVX512F
)

// tileAVX512 folds max over 8 document rows (byte offsets offs from d) of
// the 32 query lanes qt ([dim][32]) into mx, or with out != nil stores the
// 8×32 similarities there.
//
//go:noescape
func tileAVX512(qt, d *float32, offs *[8]int, dim int, mx *[Lanes]float32, out *[8][Lanes]float32)

// tileAVX2 does the same for 6 rows and the 16 lanes at qt (row stride 32);
// out rows have a stride of 32 floats.
//
//go:noescape
func tileAVX2(qt, d *float32, offs *[6]int, dim int, mx *[16]float32, out *float32)

// maxRowsAVX512 folds max over the 32-float rows s[r*stride/4:] (stride in
// bytes) for r in rows[:n] into mx.
//
//go:noescape
func maxRowsAVX512(s *float32, stride int, rows *int32, n int, mx *[Lanes]float32)

//go:noescape
func maxRowsAVX2(s *float32, stride int, rows *int32, n int, mx *[Lanes]float32)

func maxAVX512(qt, d []float32, n, dim int, mx *[Lanes]float32) {
	var offs [8]int
	stride, last := dim*4, n-1
	_ = d[last*dim+dim-1]
	_ = qt[dim*Lanes-1]
	for j := 0; j < n; j += 8 {
		// A short tail repeats the last row: max is idempotent.
		for r := range offs {
			offs[r] = min(j+r, last) * stride
		}
		tileAVX512(&qt[0], &d[0], &offs, dim, mx, nil)
	}
}

func maxAVX2(qt, d []float32, n, dim, lanes int, mx *[Lanes]float32) {
	var offs [6]int
	stride, last := dim*4, n-1
	_ = d[last*dim+dim-1]
	_ = qt[dim*Lanes-1]
	for h := 0; h*16 < lanes; h++ {
		m := (*[16]float32)(mx[h*16:])
		for j := 0; j < n; j += 6 {
			for r := range offs {
				offs[r] = min(j+r, last) * stride
			}
			tileAVX2(&qt[h*16], &d[0], &offs, dim, m, nil)
		}
	}
}

// simAVX512 writes the similarities of the n rows of d with the 32 lanes of
// qt to out[j*stride : j*stride+32].
func simAVX512(qt, d []float32, n, dim int, out []float32, stride int) {
	var offs [8]int
	var tile [8][Lanes]float32
	rowBytes, last := dim*4, n-1
	_ = d[last*dim+dim-1]
	_ = qt[dim*Lanes-1]
	_ = out[last*stride+Lanes-1]
	for j := 0; j < n; j += 8 {
		for r := range offs {
			offs[r] = min(j+r, last) * rowBytes
		}
		tileAVX512(&qt[0], &d[0], &offs, dim, nil, &tile)
		for r := 0; r < 8 && j+r < n; r++ {
			copy(out[(j+r)*stride:(j+r)*stride+Lanes], tile[r][:])
		}
	}
}

func simAVX2(qt, d []float32, n, dim, lanes int, out []float32, stride int) {
	var offs [6]int
	var tile [6][Lanes]float32
	rowBytes, last := dim*4, n-1
	_ = d[last*dim+dim-1]
	_ = qt[dim*Lanes-1]
	_ = out[last*stride+Lanes-1]
	for j := 0; j < n; j += 6 {
		for r := range offs {
			offs[r] = min(j+r, last) * rowBytes
		}
		for h := 0; h*16 < lanes; h++ {
			tileAVX2(&qt[h*16], &d[0], &offs, dim, nil, &tile[0][h*16])
		}
		for r := 0; r < 6 && j+r < n; r++ {
			copy(out[(j+r)*stride:(j+r)*stride+Lanes], tile[r][:])
		}
	}
}

func maxRowsSIMD(k Kernel, s []float32, stride int, rows []int32, mx *[Lanes]float32) {
	if len(rows) == 0 {
		return
	}
	switch k {
	case AVX512:
		maxRowsAVX512(&s[0], stride*4, &rows[0], len(rows), mx)
	default:
		maxRowsAVX2(&s[0], stride*4, &rows[0], len(rows), mx)
	}
}
