package graph

import (
	"fmt"
	"hash"
	"hash/fnv"

	"github.com/chewxy/hm"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// kernel is the numeric core of one graph operation: a forward function and
// the vector-Jacobian product for every input. All inputs are float32 tensors
// (or scalars); integer data such as token ids and masks are fields of the
// kernel, so they never become graph nodes.
type kernel interface {
	name() string
	// inDims is the number of dimensions of each input (0 = scalar).
	inDims() []int
	outDims() int
	outShape(in []tensor.Shape) (tensor.Shape, error)
	forward(in []fdata) ([]float32, error)
	// backward writes into dst[i] (zeroed, sized as input i) the gradient of
	// the cost with respect to input i, given the output and its gradient.
	backward(in []fdata, out, grad []float32, dst [][]float32) error
}

// fdata is one input as raw data plus shape.
type fdata struct {
	d []float32
	s tensor.Shape
}

func typeOf(dims int) hm.Type {
	if dims == 0 {
		return tensor.Float32
	}
	return G.TensorType{Dims: dims, Of: tensor.Float32}
}

func valueData(v G.Value) (fdata, error) {
	switch t := v.(type) {
	case *tensor.Dense:
		d, ok := t.Data().([]float32)
		if !ok {
			if f, ok2 := t.Data().(float32); ok2 {
				return fdata{d: []float32{f}, s: tensor.ScalarShape()}, nil
			}
			return fdata{}, fmt.Errorf("graph: expected float32 tensor, got %v", t.Dtype())
		}
		return fdata{d: d, s: t.Shape().Clone()}, nil
	case *G.F32:
		return fdata{d: []float32{float32(*t)}, s: tensor.ScalarShape()}, nil
	}
	return fdata{}, fmt.Errorf("graph: unsupported value %T", v)
}

func makeValue(d []float32, s tensor.Shape) G.Value {
	if s.IsScalar() {
		return G.NewF32(d[0])
	}
	return tensor.New(tensor.WithShape(s.Clone()...), tensor.WithBacking(d))
}

func hashOf(parts ...any) uint32 {
	h := fnv.New32a()
	fmt.Fprint(h, parts...)
	return h.Sum32()
}

// fnOp adapts a kernel to Gorgonia's Op and SDOp interfaces. id makes every
// application unique: kernels carry constants (ids, masks) that Gorgonia's
// hash-based node deduplication cannot see.
type fnOp struct {
	k  kernel
	id int
}

func (o *fnOp) Arity() int { return len(o.k.inDims()) }
func (o *fnOp) Type() hm.Type {
	ts := []hm.Type{}
	for _, d := range o.k.inDims() {
		ts = append(ts, typeOf(d))
	}
	ts = append(ts, typeOf(o.k.outDims()))
	return hm.NewFnType(ts...)
}
func (o *fnOp) InferShape(ds ...G.DimSizer) (tensor.Shape, error) {
	ss, err := G.DimSizersToShapes(ds)
	if err != nil {
		return nil, err
	}
	return o.k.outShape(ss)
}
func (o *fnOp) Do(vals ...G.Value) (G.Value, error) {
	in, err := toData(vals)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", o.k.name(), err)
	}
	shapes := make([]tensor.Shape, len(in))
	for i := range in {
		shapes[i] = in[i].s
	}
	s, err := o.k.outShape(shapes)
	if err != nil {
		return nil, err
	}
	out, err := o.k.forward(in)
	if err != nil {
		return nil, err
	}
	return makeValue(out, s), nil
}
func (o *fnOp) ReturnsPtr() bool      { return false }
func (o *fnOp) CallsExtern() bool     { return false }
func (o *fnOp) OverwritesInput() int  { return -1 }
func (o *fnOp) WriteHash(h hash.Hash) { fmt.Fprintf(h, "%s#%d", o.k.name(), o.id) }
func (o *fnOp) Hashcode() uint32      { return hashOf(o.k.name(), "#", o.id) }
func (o *fnOp) String() string        { return fmt.Sprintf("%s#%d", o.k.name(), o.id) }

func (o *fnOp) DiffWRT(n int) []bool {
	r := make([]bool, n)
	for i := range r {
		r[i] = true
	}
	return r
}

// SymDiff adds one node computing every input gradient at once (so shared work
// such as the attention probabilities is done once), then one cheap view node
// per input when there are several.
func (o *fnOp) SymDiff(inputs G.Nodes, output, grad *G.Node) (G.Nodes, error) {
	g := &gradOp{k: o.k, id: o.id}
	children := append(append(G.Nodes{}, inputs...), output, grad)
	all, err := G.ApplyOp(g, children...)
	if err != nil {
		return nil, fmt.Errorf("%s grad: %w", o.k.name(), err)
	}
	if len(inputs) == 1 {
		return G.Nodes{all}, nil
	}
	ret := make(G.Nodes, len(inputs))
	off := 0
	for i, in := range inputs {
		s := in.Shape().Clone()
		p := &pickOp{off: off, shape: s, id: o.id, idx: i}
		if ret[i], err = G.ApplyOp(p, all); err != nil {
			return nil, fmt.Errorf("%s grad %d: %w", o.k.name(), i, err)
		}
		off += s.TotalSize()
	}
	return ret, nil
}

func toData(vals []G.Value) ([]fdata, error) {
	in := make([]fdata, len(vals))
	for i, v := range vals {
		var err error
		if in[i], err = valueData(v); err != nil {
			return nil, fmt.Errorf("input %d: %w", i, err)
		}
	}
	return in, nil
}

// gradOp computes all input gradients of a kernel: inputs…, output, grad →
// the single input's gradient, or every gradient concatenated into a vector.
type gradOp struct {
	k  kernel
	id int
}

func (o *gradOp) Arity() int { return len(o.k.inDims()) + 2 }
func (o *gradOp) Type() hm.Type {
	ts := []hm.Type{}
	for _, d := range o.k.inDims() {
		ts = append(ts, typeOf(d))
	}
	ts = append(ts, typeOf(o.k.outDims()), typeOf(o.k.outDims()))
	if n := o.k.inDims(); len(n) == 1 {
		ts = append(ts, typeOf(n[0]))
	} else {
		ts = append(ts, typeOf(1))
	}
	return hm.NewFnType(ts...)
}
func (o *gradOp) InferShape(ds ...G.DimSizer) (tensor.Shape, error) {
	ss, err := G.DimSizersToShapes(ds)
	if err != nil {
		return nil, err
	}
	n := len(o.k.inDims())
	if n == 1 {
		return ss[0].Clone(), nil
	}
	tot := 0
	for _, s := range ss[:n] {
		tot += s.TotalSize()
	}
	return tensor.Shape{tot}, nil
}
func (o *gradOp) Do(vals ...G.Value) (G.Value, error) {
	all, err := toData(vals)
	if err != nil {
		return nil, fmt.Errorf("%s grad: %w", o.k.name(), err)
	}
	n := len(o.k.inDims())
	tot := 0
	for _, in := range all[:n] {
		tot += len(in.d)
	}
	// One buffer holds every input's gradient; pickOp views its parts.
	cat := make([]float32, tot)
	dst := make([][]float32, n)
	off := 0
	for i, in := range all[:n] {
		dst[i] = cat[off : off+len(in.d) : off+len(in.d)]
		off += len(in.d)
	}
	if err := o.k.backward(all[:n], all[n].d, all[n+1].d, dst); err != nil {
		return nil, err
	}
	if n == 1 {
		return makeValue(cat, all[0].s), nil
	}
	return tensor.New(tensor.WithShape(tot), tensor.WithBacking(cat)), nil
}
func (o *gradOp) ReturnsPtr() bool      { return false }
func (o *gradOp) CallsExtern() bool     { return false }
func (o *gradOp) OverwritesInput() int  { return -1 }
func (o *gradOp) WriteHash(h hash.Hash) { fmt.Fprintf(h, "grad:%s#%d", o.k.name(), o.id) }
func (o *gradOp) Hashcode() uint32      { return hashOf("grad:", o.k.name(), "#", o.id) }
func (o *gradOp) String() string        { return fmt.Sprintf("grad:%s#%d", o.k.name(), o.id) }

// pickOp views one input's gradient inside a gradOp's concatenated output.
type pickOp struct {
	off   int
	shape tensor.Shape
	id    int
	idx   int
}

func (o *pickOp) Arity() int { return 1 }
func (o *pickOp) Type() hm.Type {
	return hm.NewFnType(typeOf(1), typeOf(len(o.shape)))
}
func (o *pickOp) InferShape(ds ...G.DimSizer) (tensor.Shape, error) { return o.shape.Clone(), nil }
func (o *pickOp) Do(vals ...G.Value) (G.Value, error) {
	in, err := valueData(vals[0])
	if err != nil {
		return nil, err
	}
	n := o.shape.TotalSize()
	if o.off+n > len(in.d) {
		return nil, fmt.Errorf("graph: pick %d+%d out of %d", o.off, n, len(in.d))
	}
	// A view: the parts are disjoint and only this node reads its part, so
	// an in-place update by a consumer cannot reach another gradient.
	return makeValue(in.d[o.off:o.off+n:o.off+n], o.shape), nil
}
func (o *pickOp) ReturnsPtr() bool     { return false }
func (o *pickOp) CallsExtern() bool    { return false }
func (o *pickOp) OverwritesInput() int { return -1 }
func (o *pickOp) WriteHash(h hash.Hash) {
	fmt.Fprintf(h, "pick#%d.%d", o.id, o.idx)
}
func (o *pickOp) Hashcode() uint32 { return hashOf("pick#", o.id, ".", o.idx) }
func (o *pickOp) String() string   { return fmt.Sprintf("pick#%d.%d", o.id, o.idx) }
