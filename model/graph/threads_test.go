package graph

import (
	"math"
	"testing"

	"github.com/colbert-go/colbert/model"
)

// TestThreadsReachKernels checks that Graph.Threads is what the kernels
// split their work over, and that the result does not depend on it.
func TestThreadsReachKernels(t *testing.T) {
	cfg := model.SmallConfig(200)
	ck, err := model.NewCheckpoint(cfg, model.KindColBERT, model.DefaultColBERTConfig(), 4)
	if err != nil {
		t.Fatal(err)
	}
	tk := Tokens{B: 6, L: 40, IDs: make([]int, 240)}
	for i := range tk.IDs {
		tk.IDs[i] = 5 + (i*37)%190
	}
	cand := [][]int{{0, 1, 2}, {3, 4, 5}}
	q := Tokens{B: 2, L: 8, IDs: tk.IDs[:16]}
	run := func(threads int) (*Result, *Graph) {
		g := New(cfg, ck.Params)
		g.Threads = threads
		d := g.ColBERT(g.Encode(tk))
		res, err := g.Backward(g.CELoss(g.MaxSim(g.ColBERT(g.Encode(q)), d, nil, cand), []int{0, 0}, 1))
		if err != nil {
			t.Fatal(err)
		}
		return res, g
	}
	one, _ := run(1)
	three, g := run(3)
	seen := 0
	for _, n := range g.G.AllNodes() {
		if op, ok := n.Op().(*fnOp); ok {
			if p, ok := op.k.(interface{ workers() int }); ok {
				seen++
				if w := p.workers(); w != 3 {
					t.Fatalf("%s: %d workers, want Graph.Threads 3", op.k.name(), w)
				}
			}
		}
	}
	if seen == 0 {
		t.Fatal("no parallel kernel found in the graph")
	}
	if math.Abs(float64(one.Loss-three.Loss)) > 1e-6 {
		t.Errorf("loss %g with 1 thread, %g with 3", one.Loss, three.Loss)
	}
	for name, a := range one.Grads {
		b := three.Grads[name]
		for i := range a.Data {
			if d := math.Abs(float64(a.Data[i] - b.Data[i])); d > 1e-5*math.Max(1, math.Abs(float64(a.Data[i]))) {
				t.Fatalf("%s[%d]: %g with 1 thread, %g with 3", name, i, a.Data[i], b.Data[i])
			}
		}
	}
}
