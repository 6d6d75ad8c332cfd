package graph

import (
	"math"
	"math/rand/v2"
	"testing"

	"gorgonia.org/tensor"

	"github.com/colbert-go/colbert/model"
)

func randData(r *rand.Rand, n int, scale float64) []float32 {
	d := make([]float32, n)
	for i := range d {
		d[i] = float32(r.NormFloat64() * scale)
	}
	return d
}

// checkGrad compares a kernel's backward pass with central finite
// differences of L = Σ w·out (w random; L = out for scalar outputs) on a
// sample of coordinates of every input.
func checkGrad(t *testing.T, k kernel, in []fdata, tol float64) {
	t.Helper()
	r := rand.New(rand.NewPCG(7, 11))
	shapes := make([]tensor.Shape, len(in))
	for i := range in {
		shapes[i] = in[i].s
	}
	s, err := k.outShape(shapes)
	if err != nil {
		t.Fatal(err)
	}
	out, err := k.forward(in)
	if err != nil {
		t.Fatal(err)
	}
	if len(out) != s.TotalSize() {
		t.Fatalf("%s: forward gave %d values for shape %v", k.name(), len(out), s)
	}
	w := randData(r, len(out), 1)
	if s.IsScalar() {
		w[0] = 1
	}
	lossAt := func() float64 {
		o, err := k.forward(in)
		if err != nil {
			t.Fatal(err)
		}
		var l float64
		for i := range o {
			l += float64(w[i]) * float64(o[i])
		}
		return l
	}
	grads := make([][]float32, len(in))
	for i := range in {
		grads[i] = make([]float32, len(in[i].d))
	}
	if err := k.backward(in, out, w, grads); err != nil {
		t.Fatal(err)
	}
	const eps = 1e-3
	for i := range in {
		var num, den float64
		for c := 0; c < 30; c++ {
			j := r.IntN(len(in[i].d))
			old := in[i].d[j]
			in[i].d[j] = old + eps
			lp := lossAt()
			in[i].d[j] = old - eps
			lm := lossAt()
			in[i].d[j] = old
			fd := (lp - lm) / (2 * eps)
			d := fd - float64(grads[i][j])
			num += d * d
			den += fd * fd
		}
		rel := math.Sqrt(num / math.Max(den, 1e-12))
		if rel > tol {
			t.Errorf("%s input %d: gradient relative error %.3g > %g", k.name(), i, rel, tol)
		} else {
			t.Logf("%s input %d: gradient relative error %.3g", k.name(), i, rel)
		}
	}
}

func fd(d []float32, s ...int) fdata { return fdata{d: d, s: tensor.Shape(s)} }

func TestGradLayerNorm(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	checkGrad(t, &lnKernel{dims: 3, eps: 1e-12}, []fdata{
		fd(randData(r, 2*3*8, 1), 2, 3, 8), fd(randData(r, 8, 1), 8), fd(randData(r, 8, 1), 8)}, 1e-2)
	checkGrad(t, &lnKernel{dims: 3, res: true, eps: 1e-5}, []fdata{
		fd(randData(r, 2*3*8, 1), 2, 3, 8), fd(randData(r, 2*3*8, 1), 2, 3, 8), fd(randData(r, 8, 1), 8), fd(randData(r, 8, 1), 8)}, 1e-2)
}

func TestGradLinearAndActivations(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	checkGrad(t, &linearKernel{dims: 3, bias: true}, []fdata{
		fd(randData(r, 2*3*5, 1), 2, 3, 5), fd(randData(r, 4*5, 1), 4, 5), fd(randData(r, 4, 1), 4)}, 1e-2)
	checkGrad(t, &linearKernel{dims: 2}, []fdata{fd(randData(r, 3*5, 1), 3, 5), fd(randData(r, 4*5, 1), 4, 5)}, 1e-2)
	checkGrad(t, &actKernel{dims: 2}, []fdata{fd(randData(r, 40, 2), 5, 8)}, 1e-2)
	// Near 0 (Φ recomputed) and far in both tails (Φ = y/x).
	checkGrad(t, &actKernel{dims: 1}, []fdata{fd([]float32{0.004, -0.006, 0.02, -0.03, -6, 6, -3.5, 9, 0, 1}, 10)}, 1e-2)
	checkGrad(t, &actKernel{dims: 2, tanh: true}, []fdata{fd(randData(r, 40, 1), 5, 8)}, 1e-2)
	checkGrad(t, &l2Kernel{dims: 3}, []fdata{fd(randData(r, 2*3*6, 1), 2, 3, 6)}, 1e-2)
	checkGrad(t, &clsKernel{}, []fdata{fd(randData(r, 2*3*6, 1), 2, 3, 6)}, 1e-2)
	checkGrad(t, &clsKernel{keep: true}, []fdata{fd(randData(r, 2*3*6, 1), 2, 3, 6)}, 1e-2)
}

func TestGradAttention(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	b, l, h := 2, 5, 8
	mask := []float32{1, 1, 1, 0, 0, 1, 1, 1, 1, 1}
	k := &attnKernel{mask: mask, b: b, l: l, heads: 2}
	checkGrad(t, k, []fdata{fd(randData(r, b*l*h, 1), b, l, h), fd(randData(r, b*l*h, 1), b, l, h), fd(randData(r, b*l*h, 1), b, l, h)}, 1e-2)
	// Masked keys must not influence the output.
	in := []fdata{fd(randData(r, b*l*h, 1), b, l, h), fd(randData(r, b*l*h, 1), b, l, h), fd(randData(r, b*l*h, 1), b, l, h)}
	o1, _ := k.forward(in)
	for j := 3 * h; j < 5*h; j++ { // batch 0, keys 3 and 4
		in[1].d[j] += 5
		in[2].d[j] -= 7
	}
	o2, _ := k.forward(in)
	if d := maxAbsDiff(o1, o2); d != 0 {
		t.Errorf("masked keys changed the output by %g", d)
	}
}

func TestGradEmbedding(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	k := &embedKernel{ids: []int{3, 1, 3, 0, 2, 2}, types: []int{0, 0, 1, 1, 0, 1}, b: 2, l: 3}
	checkGrad(t, k, []fdata{fd(randData(r, 5*4, 1), 5, 4), fd(randData(r, 6*4, 1), 6, 4), fd(randData(r, 2*4, 1), 2, 4)}, 1e-2)
	bad := &embedKernel{ids: []int{9}, types: []int{0}, b: 1, l: 1}
	if _, err := bad.forward([]fdata{fd(randData(r, 5*4, 1), 5, 4), fd(randData(r, 6*4, 1), 6, 4), fd(randData(r, 2*4, 1), 2, 4)}); err == nil {
		t.Error("out-of-vocabulary id accepted")
	}
}

func TestGradMaxSimAndLosses(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 10))
	cand := [][]int{{0, 2, 1}, {3, 0, 2}}
	mask := []float32{1, 1, 0, 1, 1, 1, 1, 0, 0, 1, 1, 1, 0, 1, 1, 1}
	checkGrad(t, &maxSimKernel{dmask: mask, cand: cand}, []fdata{fd(randData(r, 2*3*4, 1), 2, 3, 4), fd(randData(r, 4*4*4, 1), 4, 4, 4)}, 1e-2)
	s := randData(r, 2*3, 2)
	checkGrad(t, &klKernel{teacher: randData(r, 6, 3), alpha: 0.7}, []fdata{fd(s, 2, 3)}, 1e-2)
	checkGrad(t, &ceKernel{labels: []int{0, 2}, scale: 1}, []fdata{fd(s, 2, 3)}, 1e-2)
	checkGrad(t, &ceKernel{labels: []int{0, 0}, scale: 1 / 0.5}, []fdata{fd(s, 2, 3)}, 1e-2)
	checkGrad(t, &reshapeKernel{inD: 2, shape: tensor.Shape{3, 2}}, []fdata{fd(randData(r, 6, 1), 6, 1)}, 1e-2)
	checkGrad(t, &sumKernel{dims: 2, weights: []float32{1, 0.5}}, []fdata{fd(randData(r, 6, 1), 2, 3), fd(randData(r, 6, 1), 2, 3)}, 1e-2)
}

// TestKLValues checks the KL loss against a direct evaluation of its
// definition, and that identical distributions give zero loss.
func TestKLValues(t *testing.T) {
	s := []float32{1, 2, 0.5, -1, 0, 3}
	tch := []float32{2, 1, 0, 0, 0, 1}
	k := &klKernel{teacher: tch, alpha: 2}
	out, _ := k.forward([]fdata{fd(s, 2, 3)})
	var want float64
	for b := 0; b < 2; b++ {
		var zs, zt float64
		for j := 0; j < 3; j++ {
			zs += math.Exp(float64(s[b*3+j]))
			zt += math.Exp(2 * float64(tch[b*3+j]))
		}
		for j := 0; j < 3; j++ {
			p := math.Exp(2*float64(tch[b*3+j])) / zt
			q := math.Exp(float64(s[b*3+j])) / zs
			want += p * math.Log(p/q)
		}
	}
	want /= 2
	if math.Abs(float64(out[0])-want) > 1e-6 {
		t.Errorf("KL = %g, want %g", out[0], want)
	}
	same := &klKernel{teacher: s, alpha: 1}
	if z, _ := same.forward([]fdata{fd(s, 2, 3)}); math.Abs(float64(z[0])) > 1e-7 {
		t.Errorf("KL of identical distributions = %g", z[0])
	}
}

// TestGraphGradMaxSimKL differentiates MaxSim → KL through Gorgonia (symbolic
// backprop over the custom ops, gradient summed over two uses of Q) and
// checks the result with finite differences.
func TestGraphGradMaxSimKL(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	qd, dd := randData(r, 2*3*4, 1), randData(r, 4*5*4, 1)
	teacher := randData(r, 2*2, 2)
	cand := [][]int{{1, 3}, {2, 0}}
	mask := make([]float32, 20)
	for i := range mask {
		mask[i] = float32(i % 3 % 2)
	}
	lossOf := func() (float32, *Result) {
		g := New(cfgZero, nil)
		q := g.Input("q", qd, 2, 3, 4)
		d := g.Input("d", dd, 4, 5, 4)
		s := g.MaxSim(q, d, mask, cand)
		loss := g.Sum([]float32{1, 0.25}, g.KLLoss(s, teacher, 1), g.CELoss(g.MaxSim(q, d, nil, cand), []int{0, 0}, 1))
		res, err := g.Backward(loss)
		if err != nil {
			t.Fatal(err)
		}
		return res.Loss, res
	}
	_, res := lossOf()
	const eps = 1e-3
	for _, x := range []struct {
		name string
		d    []float32
	}{{"q", qd}, {"d", dd}} {
		var num, den float64
		for j := range x.d {
			old := x.d[j]
			x.d[j] = old + eps
			lp, _ := lossOf()
			x.d[j] = old - eps
			lm, _ := lossOf()
			x.d[j] = old
			f := (float64(lp) - float64(lm)) / (2 * eps)
			diff := f - float64(res.Grads[x.name].Data[j])
			num += diff * diff
			den += f * f
		}
		if rel := math.Sqrt(num / den); rel > 2e-2 {
			t.Errorf("grad %s: relative error %.3g", x.name, rel)
		}
	}
}

var cfgZero = model.BertConfig{}
