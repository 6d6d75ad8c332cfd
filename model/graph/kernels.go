package graph

import (
	"fmt"
	"math"
	"runtime"
	"sync"

	"gonum.org/v1/gonum/blas"
	"gorgonia.org/tensor"

	"github.com/colbert-go/colbert/model/internal/vmath"
)

// gemm is C = alpha·op(A)·op(B) + beta·C on row-major slices (gonum's BLAS,
// or OpenBLAS when built with the openblas tag). Callers pass beta 1 when C
// is freshly allocated (zero), which spares BLAS a pass clearing it.
func gemm(tA, tB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	ta, tb := blas.NoTrans, blas.NoTrans
	if tA {
		ta = blas.Trans
	}
	if tB {
		tb = blas.Trans
	}
	sgemm.Sgemm(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

// rowGemm is gemm split by rows of C over w goroutines (C is m×n,
// A is m×k without transpose): the big projections use both cores even with
// a single-threaded BLAS (OpenBLAS with OPENBLAS_NUM_THREADS=1).
func rowGemm(w int, tB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	if w <= 1 || m < 128 {
		gemm(false, tB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
		return
	}
	chunk := (m + w - 1) / w
	parallelFor(w, w, func(i int) {
		r0 := i * chunk
		r1 := min(m, r0+chunk)
		if r0 < r1 {
			gemm(false, tB, r1-r0, n, k, alpha, a[r0*lda:], lda, b, ldb, beta, c[r0*ldc:], ldc)
		}
	})
}

// colGemmTN is C = alpha·Aᵀ·B + beta·C split by rows of C (= columns of A).
func colGemmTN(w int, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	if w <= 1 || m < 64 {
		gemm(true, false, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
		return
	}
	chunk := (m + w - 1) / w
	parallelFor(w, w, func(i int) {
		r0 := i * chunk
		r1 := min(m, r0+chunk)
		if r0 < r1 {
			gemm(true, false, r1-r0, n, k, alpha, a[r0:], lda, b, ldb, beta, c[r0*ldc:], ldc)
		}
	})
}

// parallelFor runs f(0…n-1) on w workers; f must only write to memory
// owned by its index.
func parallelFor(w, n int, f func(i int)) {
	if w > n {
		w = n
	}
	if w <= 1 {
		for i := 0; i < n; i++ {
			f(i)
		}
		return
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	next := 0
	for j := 0; j < w; j++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				mu.Lock()
				i := next
				next++
				mu.Unlock()
				if i >= n {
					return
				}
				f(i)
			}
		}()
	}
	wg.Wait()
}

// parallelRows splits rows 0…n-1 into one contiguous range per worker
// (w of them, fewer when n is small) and runs f on each: the elementwise and
// per-row kernels (LayerNorm, GELU) use every core. It returns the number of
// ranges, so callers can size per-range partial sums; range i is passed as
// its index.
func parallelRows(w, n, minRows int, f func(part, lo, hi int)) int {
	if minRows < 1 {
		minRows = 1
	}
	w = max(1, min(w, n/minRows))
	chunk := (n + w - 1) / w
	parts := (n + chunk - 1) / chunk
	if n == 0 {
		return 0
	}
	parallelFor(parts, parts, func(i int) { f(i, i*chunk, min(n, (i+1)*chunk)) })
	return parts
}

// rowParts is how many ranges parallelRows will use for n rows.
func rowParts(w, n, minRows int) int {
	if n == 0 {
		return 0
	}
	w = max(1, min(w, n/max(1, minRows)))
	chunk := (n + w - 1) / w
	return (n + chunk - 1) / chunk
}

// par is how many workers a kernel splits its work over: Graph.Threads,
// set by Graph.apply (0 = GOMAXPROCS).
type par struct{ threads int }

func (p *par) setThreads(n int) { p.threads = n }
func (p *par) workers() int {
	if p.threads > 0 {
		return p.threads
	}
	return runtime.GOMAXPROCS(0)
}

func shapeErr(k string, want string, got []tensor.Shape) error {
	return fmt.Errorf("graph: %s: want %s, got shapes %v", k, want, got)
}

// ---- embeddings ----------------------------------------------------------

// embedKernel sums word, position and token-type embeddings for fixed ids:
// (word [V,H], pos [P,H], type [T,H]) → [B,L,H]. Its gradient scatter-adds
// into the tables.
type embedKernel struct {
	ids, types []int
	b, l       int
}

func (k *embedKernel) name() string  { return "embed" }
func (k *embedKernel) inDims() []int { return []int{2, 2, 2} }
func (k *embedKernel) outDims() int  { return 3 }
func (k *embedKernel) outShape(in []tensor.Shape) (tensor.Shape, error) {
	if len(in) != 3 || len(in[0]) != 2 || len(in[1]) != 2 || len(in[2]) != 2 || in[0][1] != in[1][1] || in[0][1] != in[2][1] {
		return nil, shapeErr("embed", "3 tables [*,H]", in)
	}
	if k.l > in[1][0] {
		return nil, fmt.Errorf("graph: embed: sequence length %d exceeds max_position_embeddings %d", k.l, in[1][0])
	}
	return tensor.Shape{k.b, k.l, in[0][1]}, nil
}
func (k *embedKernel) check(in []fdata) error {
	v, t := in[0].s[0], in[2].s[0]
	for i, id := range k.ids {
		if id < 0 || id >= v {
			return fmt.Errorf("graph: embed: token id %d at position %d outside vocabulary of %d", id, i, v)
		}
		if tt := k.types[i]; tt < 0 || tt >= t {
			return fmt.Errorf("graph: embed: token type %d at position %d outside %d types", tt, i, t)
		}
	}
	return nil
}
func (k *embedKernel) forward(in []fdata) ([]float32, error) {
	if err := k.check(in); err != nil {
		return nil, err
	}
	h := in[0].s[1]
	out := make([]float32, k.b*k.l*h)
	for r := 0; r < k.b*k.l; r++ {
		w := in[0].d[k.ids[r]*h:][:h]
		p := in[1].d[(r%k.l)*h:][:h]
		t := in[2].d[k.types[r]*h:][:h]
		o := out[r*h:][:h]
		for j := range o {
			o[j] = w[j] + p[j] + t[j]
		}
	}
	return out, nil
}
func (k *embedKernel) backward(in []fdata, _, grad []float32, dst [][]float32) error {
	h := in[0].s[1]
	gw, gp, gt := dst[0], dst[1], dst[2]
	for r := 0; r < k.b*k.l; r++ {
		g := grad[r*h:][:h]
		w := gw[k.ids[r]*h:][:h]
		p := gp[(r%k.l)*h:][:h]
		t := gt[k.types[r]*h:][:h]
		for j, v := range g {
			w[j] += v
			p[j] += v
			t[j] += v
		}
	}
	return nil
}

// ---- layer norm ----------------------------------------------------------

// lnKernel is LayerNorm over the last axis, optionally of x + residual:
// (x, [res,] gamma, beta) → same shape as x. Statistics in float64.
type lnKernel struct {
	par
	dims int
	res  bool
	eps  float64
}

func (k *lnKernel) name() string { return "layernorm" }
func (k *lnKernel) inDims() []int {
	if k.res {
		return []int{k.dims, k.dims, 1, 1}
	}
	return []int{k.dims, 1, 1}
}
func (k *lnKernel) outDims() int { return k.dims }
func (k *lnKernel) outShape(in []tensor.Shape) (tensor.Shape, error) {
	x := in[0]
	h := x[len(x)-1]
	n := len(in)
	if k.res && !in[1].Eq(x) || in[n-2].TotalSize() != h || in[n-1].TotalSize() != h {
		return nil, shapeErr("layernorm", "x, [res same shape], gamma [H], beta [H]", in)
	}
	return x.Clone(), nil
}

// lnRows is the fewest rows a LayerNorm worker takes.
const lnRows = 64

func (k *lnKernel) input(in []fdata) []float32 {
	if !k.res {
		return in[0].d
	}
	x := make([]float32, len(in[0].d))
	a, b := in[0].d, in[1].d
	h := in[len(in)-2].s.TotalSize()
	parallelRows(k.workers(), len(x)/h, lnRows, func(_, lo, hi int) {
		for i := lo * h; i < hi*h; i++ {
			x[i] = a[i] + b[i]
		}
	})
	return x
}
func (k *lnKernel) forward(in []fdata) ([]float32, error) {
	x := k.input(in)
	n := len(in)
	gamma, beta := in[n-2].d, in[n-1].d
	h := len(gamma)
	out := make([]float32, len(x))
	parallelRows(k.workers(), len(x)/h, lnRows, func(_, lo, hi int) {
		for r := lo; r < hi; r++ {
			row := x[r*h:][:h]
			mean, inv := stats(row, k.eps)
			o := out[r*h:][:h]
			for j, v := range row {
				o[j] = float32((float64(v)-mean)*inv)*gamma[j] + beta[j]
			}
		}
	})
	return out, nil
}
func stats(row []float32, eps float64) (mean, inv float64) {
	for _, v := range row {
		mean += float64(v)
	}
	mean /= float64(len(row))
	var vr float64
	for _, v := range row {
		d := float64(v) - mean
		vr += d * d
	}
	vr /= float64(len(row))
	return mean, 1 / math.Sqrt(vr+eps)
}
func (k *lnKernel) backward(in []fdata, _, grad []float32, dst [][]float32) error {
	x := k.input(in)
	n := len(in)
	gamma := in[n-2].d
	h := len(gamma)
	dx := dst[0]
	rows := len(x) / h
	// Each worker sums its rows' gamma/beta gradients; the partial sums are
	// added in worker order, so the result does not depend on scheduling.
	parts := rowParts(k.workers(), rows, lnRows)
	dgs, dbs := make([][]float64, parts), make([][]float64, parts)
	parallelRows(k.workers(), rows, lnRows, func(part, lo, hi int) {
		dg, db, xh := make([]float64, h), make([]float64, h), make([]float64, h)
		for r := lo; r < hi; r++ {
			row := x[r*h:][:h]
			g := grad[r*h:][:h]
			mean, inv := stats(row, k.eps)
			var m1, m2 float64
			for j, v := range row {
				xh[j] = (float64(v) - mean) * inv
				dxh := float64(g[j]) * float64(gamma[j])
				m1 += dxh
				m2 += dxh * xh[j]
				dg[j] += float64(g[j]) * xh[j]
				db[j] += float64(g[j])
			}
			m1 /= float64(h)
			m2 /= float64(h)
			d := dx[r*h:][:h]
			for j := range d {
				dxh := float64(g[j]) * float64(gamma[j])
				d[j] = float32(inv * (dxh - m1 - xh[j]*m2))
			}
		}
		dgs[part], dbs[part] = dg, db
	})
	dg, db := make([]float64, h), make([]float64, h)
	for p := range dgs {
		for j := range dg {
			dg[j] += dgs[p][j]
			db[j] += dbs[p][j]
		}
	}
	if k.res {
		copy(dst[1], dx)
	}
	to32(dst[n-2], dg)
	to32(dst[n-1], db)
	return nil
}

func to32(dst []float32, v []float64) {
	for i, x := range v {
		dst[i] = float32(x)
	}
}

// ---- linear --------------------------------------------------------------

// linearKernel is y = x·Wᵀ + b with W in PyTorch layout [out, in]:
// (x [..., in], W [out, in], [b [out]]) → [..., out].
type linearKernel struct {
	par
	dims int
	bias bool
}

func (k *linearKernel) name() string { return "linear" }
func (k *linearKernel) inDims() []int {
	if k.bias {
		return []int{k.dims, 2, 1}
	}
	return []int{k.dims, 2}
}
func (k *linearKernel) outDims() int { return k.dims }
func (k *linearKernel) outShape(in []tensor.Shape) (tensor.Shape, error) {
	x, w := in[0], in[1]
	if len(w) != 2 || x[len(x)-1] != w[1] || k.bias && in[2].TotalSize() != w[0] {
		return nil, shapeErr("linear", "x [...,in], W [out,in], b [out]", in)
	}
	s := x.Clone()
	s[len(s)-1] = w[0]
	return s, nil
}
func (k *linearKernel) forward(in []fdata) ([]float32, error) {
	x, w := in[0], in[1]
	o, i := w.s[0], w.s[1]
	n := len(x.d) / i
	out := make([]float32, n*o)
	if k.bias {
		for r := 0; r < n; r++ {
			copy(out[r*o:][:o], in[2].d)
		}
	}
	rowGemm(k.workers(), true, n, o, i, 1, x.d, i, w.d, i, 1, out, o)
	return out, nil
}
func (k *linearKernel) backward(in []fdata, _, grad []float32, dst [][]float32) error {
	x, w := in[0], in[1]
	o, i := w.s[0], w.s[1]
	n := len(x.d) / i
	rowGemm(k.workers(), false, n, i, o, 1, grad, o, w.d, i, 1, dst[0], i)
	colGemmTN(k.workers(), o, i, n, 1, grad, o, x.d, i, 1, dst[1], i)
	if k.bias {
		db := make([]float64, o)
		for r := 0; r < n; r++ {
			for j, v := range grad[r*o:][:o] {
				db[j] += float64(v)
			}
		}
		to32(dst[2], db)
	}
	return nil
}

// ---- activations ---------------------------------------------------------

// actKernel applies an elementwise activation: exact (erf) GELU as HF's
// "gelu", or tanh (the BERT pooler).
type actKernel struct {
	par
	dims int
	tanh bool
	// dgelu holds GELU's derivative at each input, computed by the forward
	// pass next to the value (they share Φ) for the backward pass.
	dgelu []float32
}

func (k *actKernel) name() string {
	if k.tanh {
		return "tanh"
	}
	return "gelu"
}
func (k *actKernel) inDims() []int                                    { return []int{k.dims} }
func (k *actKernel) outDims() int                                     { return k.dims }
func (k *actKernel) outShape(in []tensor.Shape) (tensor.Shape, error) { return in[0].Clone(), nil }

// actChunk is the fewest values an activation worker takes.
const actChunk = 8192

func (k *actKernel) forward(in []fdata) ([]float32, error) {
	out := make([]float32, len(in[0].d))
	src := in[0].d
	if !k.tanh {
		k.dgelu = make([]float32, len(src))
	}
	parallelRows(k.workers(), len(src), actChunk, func(_, lo, hi int) {
		if k.tanh {
			for i := lo; i < hi; i++ {
				out[i] = float32(math.Tanh(float64(src[i])))
			}
			return
		}
		// Value and derivative together, eight lanes at a time.
		vmath.GELU(src[lo:hi], out[lo:hi], k.dgelu[lo:hi])
	})
	return out, nil
}

const invSqrt2Pi = 0.3989422804014327

func (k *actKernel) backward(in []fdata, out, grad []float32, dst [][]float32) error {
	d := dst[0]
	src := in[0].d
	if saved := k.dgelu; saved != nil && !k.tanh {
		k.dgelu = nil // used once; a second backward recomputes
		parallelRows(k.workers(), len(src), actChunk, func(_, lo, hi int) {
			for i := lo; i < hi; i++ {
				d[i] = saved[i] * grad[i]
			}
		})
		return nil
	}
	parallelRows(k.workers(), len(src), actChunk, func(_, lo, hi int) {
		for i := lo; i < hi; i++ {
			x := src[i]
			var dy float32
			if k.tanh {
				t := out[i]
				dy = 1 - t*t
			} else {
				// Φ(x) = y/x from the forward output spares a second erf; near 0
				// the quotient loses precision, so compute it there.
				var cdf float32
				if x > 1e-2 || x < -1e-2 {
					cdf = out[i] / x
				} else {
					cdf = 0.5 * (1 + erf32(x*(1/math.Sqrt2)))
				}
				dy = cdf + x*exp32(-0.5*x*x)*invSqrt2Pi
			}
			d[i] = dy * grad[i]
		}
	})
	return nil
}

// ---- attention -----------------------------------------------------------

// attnKernel is multi-head scaled dot-product attention with a key padding
// mask (HF's additive finfo.min mask, i.e. masked keys get probability 0):
// (q, k, v [B,L,H]) → context [B,L,H], heads laid out as H = heads·dh.
// The backward pass recomputes the probabilities instead of storing them.
type attnKernel struct {
	par
	mask        []float32 // [B·L], 1 = attend
	b, l, heads int
	// probs holds the forward pass's probabilities [B·heads·L·L] for the
	// backward pass (one graph runs forward then backward once), so the
	// backward pass does not recompute QKᵀ and the softmax.
	probs []float32
}

func (k *attnKernel) name() string  { return "attention" }
func (k *attnKernel) inDims() []int { return []int{3, 3, 3} }
func (k *attnKernel) outDims() int  { return 3 }
func (k *attnKernel) outShape(in []tensor.Shape) (tensor.Shape, error) {
	if !in[0].Eq(in[1]) || !in[0].Eq(in[2]) || in[0][0] != k.b || in[0][1] != k.l || in[0][2]%k.heads != 0 {
		return nil, shapeErr("attention", fmt.Sprintf("q, k, v [%d,%d,heads·dh]", k.b, k.l), in)
	}
	return in[0].Clone(), nil
}

// softmax fills p [L,L] (which must be zero on entry) with the attention
// probabilities of batch b, head h.
func (k *attnKernel) softmax(q, kk []float32, b, h, hid int, p []float32) {
	l, dh := k.l, hid/k.heads
	off := b*l*hid + h*dh
	scale := float32(1 / math.Sqrt(float64(dh)))
	gemm(false, true, l, l, dh, scale, q[off:], hid, kk[off:], hid, 1, p, l)
	m := k.mask[b*l:][:l]
	for i := 0; i < l; i++ {
		row := p[i*l:][:l]
		mx := float32(math.Inf(-1))
		for j, v := range row {
			if m[j] != 0 && v > mx {
				mx = v
			}
		}
		if math.IsInf(float64(mx), -1) { // every key masked
			clear(row)
			continue
		}
		for j, v := range row {
			if m[j] == 0 {
				row[j] = -200 // e^-200 underflows to exactly 0
			} else {
				row[j] = v - mx
			}
		}
		vmath.ExpInPlace(row)
		var s float64
		for _, e := range row {
			s += float64(e)
		}
		if s > 0 {
			inv := float32(1 / s)
			for j := range row {
				row[j] *= inv
			}
		}
	}
}
func (k *attnKernel) forward(in []fdata) ([]float32, error) {
	if len(k.mask) != k.b*k.l {
		return nil, fmt.Errorf("graph: attention: mask has %d values, want %d", len(k.mask), k.b*k.l)
	}
	hid := in[0].s[2]
	dh := hid / k.heads
	out := make([]float32, len(in[0].d))
	ll := k.l * k.l
	k.probs = make([]float32, k.b*k.heads*ll)
	parallelFor(k.workers(), k.b*k.heads, func(t int) {
		b, h := t/k.heads, t%k.heads
		p := k.probs[t*ll:][:ll]
		k.softmax(in[0].d, in[1].d, b, h, hid, p)
		off := b*k.l*hid + h*dh
		gemm(false, false, k.l, dh, k.l, 1, p, k.l, in[2].d[off:], hid, 1, out[off:], hid)
	})
	return out, nil
}
func (k *attnKernel) backward(in []fdata, _, grad []float32, dst [][]float32) error {
	hid := in[0].s[2]
	dh := hid / k.heads
	scale := float32(1 / math.Sqrt(float64(dh)))
	q, kk, v := in[0].d, in[1].d, in[2].d
	dq, dk, dv := dst[0], dst[1], dst[2]
	l := k.l
	ll := l * l
	saved := k.probs
	k.probs = nil // used once; a second backward recomputes
	parallelFor(k.workers(), k.b*k.heads, func(t int) {
		b, h := t/k.heads, t%k.heads
		var p []float32
		if saved != nil {
			p = saved[t*ll:][:ll]
		} else {
			p = make([]float32, ll)
			k.softmax(q, kk, b, h, hid, p)
		}
		dp := make([]float32, ll)
		off := b*l*hid + h*dh
		// dV = Pᵀ·dC ; dP = dC·Vᵀ
		gemm(true, false, l, dh, l, 1, p, l, grad[off:], hid, 1, dv[off:], hid)
		gemm(false, true, l, l, dh, 1, grad[off:], hid, v[off:], hid, 1, dp, l)
		// dS = P ⊙ (dP − rowsum(dP ⊙ P))
		for i := 0; i < l; i++ {
			pr, dr := p[i*l:][:l], dp[i*l:][:l]
			var s float64
			for j := range pr {
				s += float64(pr[j]) * float64(dr[j])
			}
			for j := range pr {
				dr[j] = pr[j] * (dr[j] - float32(s))
			}
		}
		// dQ = scale·dS·K ; dK = scale·dSᵀ·Q
		gemm(false, false, l, dh, l, scale, dp, l, kk[off:], hid, 1, dq[off:], hid)
		gemm(true, false, l, dh, l, scale, dp, l, q[off:], hid, 1, dk[off:], hid)
	})
	return nil
}

// ---- pooling and normalisation -------------------------------------------

// clsKernel takes the first token of every sequence: [B,L,H] → [B,H], or
// [B,1,H] with keep (a one-vector sequence for MaxSim).
type clsKernel struct{ keep bool }

func (k *clsKernel) name() string  { return "cls" }
func (k *clsKernel) inDims() []int { return []int{3} }
func (k *clsKernel) outDims() int {
	if k.keep {
		return 3
	}
	return 2
}
func (k *clsKernel) outShape(in []tensor.Shape) (tensor.Shape, error) {
	if len(in[0]) != 3 {
		return nil, shapeErr("cls", "[B,L,H]", in)
	}
	if k.keep {
		return tensor.Shape{in[0][0], 1, in[0][2]}, nil
	}
	return tensor.Shape{in[0][0], in[0][2]}, nil
}
func (k *clsKernel) forward(in []fdata) ([]float32, error) {
	b, l, h := in[0].s[0], in[0].s[1], in[0].s[2]
	out := make([]float32, b*h)
	for i := 0; i < b; i++ {
		copy(out[i*h:][:h], in[0].d[i*l*h:][:h])
	}
	return out, nil
}
func (k *clsKernel) backward(in []fdata, _, grad []float32, dst [][]float32) error {
	b, l, h := in[0].s[0], in[0].s[1], in[0].s[2]
	for i := 0; i < b; i++ {
		copy(dst[0][i*l*h:][:h], grad[i*h:][:h])
	}
	return nil
}

// l2Kernel L2-normalises every vector along the last axis, as
// torch.nn.functional.normalize (norm clamped below at 1e-12).
type l2Kernel struct{ dims int }

const normEps = 1e-12

func (k *l2Kernel) name() string                                     { return "l2norm" }
func (k *l2Kernel) inDims() []int                                    { return []int{k.dims} }
func (k *l2Kernel) outDims() int                                     { return k.dims }
func (k *l2Kernel) outShape(in []tensor.Shape) (tensor.Shape, error) { return in[0].Clone(), nil }
func rowNorm(r []float32) float64 {
	var s float64
	for _, v := range r {
		s += float64(v) * float64(v)
	}
	return math.Max(math.Sqrt(s), normEps)
}
func (k *l2Kernel) forward(in []fdata) ([]float32, error) {
	d := in[0].s[len(in[0].s)-1]
	out := make([]float32, len(in[0].d))
	for r := 0; r < len(out)/d; r++ {
		x := in[0].d[r*d:][:d]
		inv := 1 / rowNorm(x)
		for j, v := range x {
			out[r*d+j] = float32(float64(v) * inv)
		}
	}
	return out, nil
}
func (k *l2Kernel) backward(in []fdata, out, grad []float32, dst [][]float32) error {
	d := in[0].s[len(in[0].s)-1]
	dx := dst[0]
	for r := 0; r < len(grad)/d; r++ {
		x := in[0].d[r*d:][:d]
		n := rowNorm(x)
		y, g := out[r*d:][:d], grad[r*d:][:d]
		var dot float64
		if n > normEps {
			for j := range y {
				dot += float64(y[j]) * float64(g[j])
			}
		}
		for j := range y {
			dx[r*d+j] = float32((float64(g[j]) - float64(y[j])*dot) / n)
		}
	}
	return nil
}

// ---- MaxSim --------------------------------------------------------------

// maxSimKernel scores query b against documents cand[b][j]:
// Σ_i max_{t kept} ⟨Q[b,i], D[n,t]⟩, (Q [B,Lq,d], D [N,Ld,d]) → [B, nway].
// Documents without a kept vector score 0. The gradient flows to the
// arg-max document vector of every query vector (ties: the first).
type maxSimKernel struct {
	par
	dmask []float32 // [N·Ld], 1 = scored; nil = all
	cand  [][]int
}

func (k *maxSimKernel) name() string  { return "maxsim" }
func (k *maxSimKernel) inDims() []int { return []int{3, 3} }
func (k *maxSimKernel) outDims() int  { return 2 }
func (k *maxSimKernel) outShape(in []tensor.Shape) (tensor.Shape, error) {
	q, d := in[0], in[1]
	if len(q) != 3 || len(d) != 3 || q[2] != d[2] || len(k.cand) != q[0] || len(k.cand) == 0 {
		return nil, shapeErr("maxsim", fmt.Sprintf("Q [%d,Lq,d], D [N,Ld,d]", len(k.cand)), in)
	}
	n := len(k.cand[0])
	for b, c := range k.cand {
		if len(c) != n {
			return nil, fmt.Errorf("graph: maxsim: query %d has %d candidates, query 0 has %d", b, len(c), n)
		}
		for _, x := range c {
			if x < 0 || x >= d[0] {
				return nil, fmt.Errorf("graph: maxsim: candidate %d of query %d outside %d documents", x, b, d[0])
			}
		}
	}
	if k.dmask != nil && len(k.dmask) != d[0]*d[1] {
		return nil, fmt.Errorf("graph: maxsim: doc mask has %d values, want %d", len(k.dmask), d[0]*d[1])
	}
	return tensor.Shape{q[0], n}, nil
}

// argmax returns, for query b and document n, the best kept doc position of
// every query vector (-1 when none) and the score.
func (k *maxSimKernel) argmax(q, d fdata, b, n int, sims []float32, best []int) float32 {
	lq, ld, dim := q.s[1], d.s[1], q.s[2]
	gemm(false, true, lq, ld, dim, 1, q.d[b*lq*dim:], dim, d.d[n*ld*dim:], dim, 0, sims, ld)
	var score float32
	for i := 0; i < lq; i++ {
		row := sims[i*ld:][:ld]
		bi := -1
		for t, v := range row {
			if k.dmask != nil && k.dmask[n*ld+t] == 0 {
				continue
			}
			if bi < 0 || v > row[bi] {
				bi = t
			}
		}
		best[i] = bi
		if bi >= 0 {
			score += row[bi]
		}
	}
	return score
}
func (k *maxSimKernel) forward(in []fdata) ([]float32, error) {
	q, d := in[0], in[1]
	nway := len(k.cand[0])
	out := make([]float32, len(k.cand)*nway)
	parallelFor(k.workers(), len(k.cand), func(b int) {
		sims := make([]float32, q.s[1]*d.s[1])
		best := make([]int, q.s[1])
		for j, n := range k.cand[b] {
			out[b*nway+j] = k.argmax(q, d, b, n, sims, best)
		}
	})
	return out, nil
}
func (k *maxSimKernel) backward(in []fdata, _, grad []float32, dst [][]float32) error {
	q, d := in[0], in[1]
	lq, ld, dim := q.s[1], d.s[1], q.s[2]
	nway := len(k.cand[0])
	bests := make([][]int, len(k.cand)*nway)
	parallelFor(k.workers(), len(k.cand), func(b int) {
		sims := make([]float32, lq*ld)
		for j, n := range k.cand[b] {
			best := make([]int, lq)
			k.argmax(q, d, b, n, sims, best)
			bests[b*nway+j] = best
		}
	})
	dq, dd := dst[0], dst[1]
	for b, c := range k.cand {
		for j, n := range c {
			g := grad[b*nway+j]
			for i, t := range bests[b*nway+j] {
				if t < 0 {
					continue
				}
				qv := q.d[(b*lq+i)*dim:][:dim]
				dv := d.d[(n*ld+t)*dim:][:dim]
				gq := dq[(b*lq+i)*dim:][:dim]
				gd := dd[(n*ld+t)*dim:][:dim]
				for x := range qv {
					gq[x] += g * dv[x]
					gd[x] += g * qv[x]
				}
			}
		}
	}
	return nil
}

// ---- losses --------------------------------------------------------------

func logSoftmax(row []float32, scale float64) []float64 {
	mx := math.Inf(-1)
	for _, v := range row {
		mx = math.Max(mx, scale*float64(v))
	}
	var s float64
	for _, v := range row {
		s += math.Exp(scale*float64(v) - mx)
	}
	lse := mx + math.Log(s)
	out := make([]float64, len(row))
	for i, v := range row {
		out[i] = scale*float64(v) - lse
	}
	return out
}

// klKernel is ColBERT's distillation loss:
// KLDiv(batchmean, log_target)(log_softmax(S), log_softmax(α·T)), S [B,n] → scalar.
type klKernel struct {
	teacher []float32 // [B·n]
	alpha   float64
}

func (k *klKernel) name() string  { return "kl" }
func (k *klKernel) inDims() []int { return []int{2} }
func (k *klKernel) outDims() int  { return 0 }
func (k *klKernel) outShape(in []tensor.Shape) (tensor.Shape, error) {
	if len(in[0]) != 2 || in[0].TotalSize() != len(k.teacher) {
		return nil, fmt.Errorf("graph: kl: scores %v but %d teacher scores", in[0], len(k.teacher))
	}
	return tensor.ScalarShape(), nil
}
func (k *klKernel) forward(in []fdata) ([]float32, error) {
	b, n := in[0].s[0], in[0].s[1]
	var loss float64
	for i := 0; i < b; i++ {
		ls := logSoftmax(in[0].d[i*n:][:n], 1)
		lt := logSoftmax(k.teacher[i*n:][:n], k.alpha)
		for j := range ls {
			loss += math.Exp(lt[j]) * (lt[j] - ls[j])
		}
	}
	return []float32{float32(loss / float64(b))}, nil
}
func (k *klKernel) backward(in []fdata, _, grad []float32, dst [][]float32) error {
	b, n := in[0].s[0], in[0].s[1]
	d := dst[0]
	g := float64(grad[0]) / float64(b)
	for i := 0; i < b; i++ {
		ls := logSoftmax(in[0].d[i*n:][:n], 1)
		lt := logSoftmax(k.teacher[i*n:][:n], k.alpha)
		for j := range ls {
			d[i*n+j] = float32(g * (math.Exp(ls[j]) - math.Exp(lt[j])))
		}
	}
	return nil
}

// ceKernel is mean cross-entropy of softmax(scale·S) against one label per
// row: S [B,n] → scalar. scale 1 is ColBERT's CE; 1/τ gives the contrastive loss.
type ceKernel struct {
	par
	labels []int
	scale  float64
}

func (k *ceKernel) name() string  { return "ce" }
func (k *ceKernel) inDims() []int { return []int{2} }
func (k *ceKernel) outDims() int  { return 0 }
func (k *ceKernel) outShape(in []tensor.Shape) (tensor.Shape, error) {
	if len(in[0]) != 2 || in[0][0] != len(k.labels) {
		return nil, fmt.Errorf("graph: ce: scores %v but %d labels", in[0], len(k.labels))
	}
	for i, l := range k.labels {
		if l < 0 || l >= in[0][1] {
			return nil, fmt.Errorf("graph: ce: label %d of row %d outside %d classes", l, i, in[0][1])
		}
	}
	return tensor.ScalarShape(), nil
}

// ceRows is the row count above which the CE kernel splits rows over
// workers: the masked-LM loss has ~1 000 rows of a whole vocabulary each,
// where the exponentials dominate the step; ColBERT's [B, nway] stays serial.
const ceRows = 64

func (k *ceKernel) forward(in []fdata) ([]float32, error) {
	b, n := in[0].s[0], in[0].s[1]
	rows := make([]float64, b)
	k.each(b, func(i int) {
		row := in[0].d[i*n:][:n]
		rows[i] = logSumExp(row, k.scale) - k.scale*float64(row[k.labels[i]])
	})
	var loss float64
	for _, l := range rows { // in row order: the sum does not depend on scheduling
		loss += l
	}
	return []float32{float32(loss / float64(b))}, nil
}
func (k *ceKernel) backward(in []fdata, _, grad []float32, dst [][]float32) error {
	b, n := in[0].s[0], in[0].s[1]
	d := dst[0]
	g := float64(grad[0]) * k.scale / float64(b)
	k.each(b, func(i int) {
		row := in[0].d[i*n:][:n]
		lse := logSumExp(row, k.scale)
		o := d[i*n:][:n]
		for j, v := range row {
			p := math.Exp(k.scale*float64(v) - lse)
			if j == k.labels[i] {
				p--
			}
			o[j] = float32(g * p)
		}
	})
	return nil
}

// each runs f over the rows, on every core when there are many.
func (k *ceKernel) each(b int, f func(i int)) {
	if b < ceRows {
		for i := 0; i < b; i++ {
			f(i)
		}
		return
	}
	w := 4 * k.workers()
	chunk := (b + w - 1) / w
	parallelFor(k.workers(), w, func(c int) {
		for i := c * chunk; i < min(b, (c+1)*chunk); i++ {
			f(i)
		}
	})
}

// logSumExp is log Σ exp(scale·v) over row, computed as logSoftmax does
// (same operations, so the same bits).
func logSumExp(row []float32, scale float64) float64 {
	mx := math.Inf(-1)
	for _, v := range row {
		if x := scale * float64(v); x > mx || math.IsNaN(x) {
			mx = x
		}
	}
	var s float64
	for _, v := range row {
		s += math.Exp(scale*float64(v) - mx)
	}
	return mx + math.Log(s)
}

// sumKernel adds n same-shaped inputs with weights (loss terms, residuals).
type sumKernel struct {
	dims    int
	weights []float32
}

func (k *sumKernel) name() string { return "sum" }
func (k *sumKernel) inDims() []int {
	d := make([]int, len(k.weights))
	for i := range d {
		d[i] = k.dims
	}
	return d
}
func (k *sumKernel) outDims() int { return k.dims }
func (k *sumKernel) outShape(in []tensor.Shape) (tensor.Shape, error) {
	for _, s := range in[1:] {
		if !s.Eq(in[0]) {
			return nil, shapeErr("sum", "same shapes", in)
		}
	}
	return in[0].Clone(), nil
}
func (k *sumKernel) forward(in []fdata) ([]float32, error) {
	out := make([]float32, len(in[0].d))
	for i, x := range in {
		w := k.weights[i]
		for j, v := range x.d {
			out[j] += w * v
		}
	}
	return out, nil
}
func (k *sumKernel) backward(in []fdata, _, grad []float32, dst [][]float32) error {
	for i := range in {
		for j, v := range grad {
			dst[i][j] = k.weights[i] * v
		}
	}
	return nil
}

// reshapeKernel views its input under another shape of the same size
// (e.g. cross-encoder logits [B·nway, 1] → scores [B, nway]).
type reshapeKernel struct {
	inD   int
	shape tensor.Shape
}

func (k *reshapeKernel) name() string  { return "reshape" }
func (k *reshapeKernel) inDims() []int { return []int{k.inD} }
func (k *reshapeKernel) outDims() int  { return len(k.shape) }
func (k *reshapeKernel) outShape(in []tensor.Shape) (tensor.Shape, error) {
	if in[0].TotalSize() != k.shape.TotalSize() {
		return nil, fmt.Errorf("graph: reshape %v to %v changes the size", in[0], k.shape)
	}
	return k.shape.Clone(), nil
}
func (k *reshapeKernel) forward(in []fdata) ([]float32, error) {
	return append([]float32(nil), in[0].d...), nil
}
func (k *reshapeKernel) backward(_ []fdata, _, grad []float32, dst [][]float32) error {
	copy(dst[0], grad)
	return nil
}
