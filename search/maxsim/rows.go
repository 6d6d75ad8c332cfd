package maxsim

import "fmt"

// Stride is the row length of the similarity matrices this query produces:
// Len rounded up to a multiple of Lanes (padding lanes hold 0).
func (q *Query) Stride() int { return (q.nq + Lanes - 1) / Lanes * Lanes }

// Similarities writes q_i·d_j for every row j of d (n×dim) to
// out[j*Stride()+i]. PLAID uses it for the query×centroid score matrix.
func (q *Query) Similarities(d []float32, out []float32) error {
	n := len(d) / q.dim
	if n*q.dim != len(d) {
		return fmt.Errorf("maxsim: matrix has %d floats, not a multiple of dim %d", len(d), q.dim)
	}
	stride := q.Stride()
	if len(out) < n*stride {
		return fmt.Errorf("maxsim: output has %d floats, need %d×%d", len(out), n, stride)
	}
	if n == 0 {
		return nil
	}
	for b := 0; b*Lanes < q.nq; b++ {
		qt := q.qt[b*q.dim*Lanes : (b+1)*q.dim*Lanes]
		o := out[b*Lanes:]
		lanes := min(Lanes, q.nq-b*Lanes)
		switch q.kernel {
		case AVX512:
			simAVX512(qt, d, n, q.dim, o, stride)
		case AVX2:
			simAVX2(qt, d, n, q.dim, lanes, o, stride)
		default:
			for j := 0; j < n; j++ {
				row, dst := d[j*q.dim:(j+1)*q.dim], o[j*stride:j*stride+Lanes]
				clear(dst)
				for k, x := range row {
					qk := qt[k*Lanes : k*Lanes+lanes]
					for i := range qk {
						dst[i] += x * qk[i]
					}
				}
			}
		}
	}
	return nil
}

// MaxRows is a row-gathering max for a similarity matrix s with the given
// stride (a multiple of Lanes, as from Similarities): for every lane i,
// mx[i] = max(mx[i], s[r*stride+i]) over r in rows. len(mx) must equal
// stride. Row indices must lie in [0, len(s)/stride).
func MaxRows(k Kernel, s []float32, stride int, rows []int32, mx []float32) {
	if stride%Lanes != 0 || len(mx) != stride {
		panic(fmt.Sprintf("maxsim: MaxRows stride %d, len(mx) %d", stride, len(mx)))
	}
	nrows := int32(len(s) / stride)
	for _, r := range rows {
		if r < 0 || r >= nrows {
			panic(fmt.Sprintf("maxsim: MaxRows row %d out of range [0,%d)", r, nrows))
		}
	}
	for b := 0; b < stride; b += Lanes {
		m := (*[Lanes]float32)(mx[b:])
		if k != Generic && k.Available() {
			maxRowsSIMD(k, s[b:], stride, rows, m)
			continue
		}
		for _, r := range rows {
			row := s[int(r)*stride+b : int(r)*stride+b+Lanes]
			for i, v := range row {
				if v > m[i] {
					m[i] = v
				}
			}
		}
	}
}
