// Package encode is the fast inference path: a pure-Go float32 BERT forward
// pass on BLAS sgemm (gonum, or OpenBLAS with -tags openblas) with the
// ColBERT, cross-encoder and bi-encoder heads. Weights are prepared once;
// inputs are packed without padding, grouped by length into batches and
// encoded by several goroutines. Numerics follow Hugging Face's BertModel in
// eval mode: embeddings + LayerNorm, post-LN layers, attention with the key
// mask, exact erf GELU, LayerNorm eps from the config.
package encode

import (
	"context"
	"fmt"
	"math"
	"runtime"
	"slices"
	"sort"
	"sync"

	"gonum.org/v1/gonum/blas"

	"github.com/colbert-go/colbert/data/progress"
	"github.com/colbert-go/colbert/model"
)

// Options tune the scheduling; the zero value is sensible.
type Options struct {
	// Threads is the number of encoding goroutines (0 = GOMAXPROCS). In
	// the openblas build, call SetBLASThreads(1) when Threads > 1 so that
	// OpenBLAS's own threads do not oversubscribe the cores.
	Threads int
	// BatchTokens bounds the tokens packed into one forward batch (0 = 4096).
	BatchTokens int
	// Bar, if set, advances by one per encoded sequence.
	Bar *progress.Bar
}

func (o Options) threads() int {
	if o.Threads > 0 {
		return o.Threads
	}
	return runtime.GOMAXPROCS(0)
}

func (o Options) batchTokens() int {
	if o.BatchTokens > 0 {
		return o.BatchTokens
	}
	return 4096
}

type layer struct {
	wqkv, bqkv []float32 // [3H, H], [3H]: query, key, value stacked
	wo, bo     []float32 // [H, H], [H]
	ln1w, ln1b []float32
	wi, bi     []float32 // [I, H], [I]
	wout, bout []float32 // [H, I], [H]
	ln2w, ln2b []float32
}

// Bert is a BERT encoder with its weights laid out for sgemm. It is safe for
// concurrent use.
type Bert struct {
	cfg               model.BertConfig
	word, pos, typ    []float32
	lnw, lnb          []float32
	layers            []layer
	eps               float32
	blas              blas.Float32Level3
	hidden, heads     int
	headDim, inter    int
	maxPos, typeVocab int
	pool              sync.Pool // *scratch, reused across calls
}

// NewBert prepares the encoder weights from canonical parameters.
func NewBert(cfg model.BertConfig, p model.Params) (*Bert, error) {
	if err := model.ValidateConfig(cfg); err != nil {
		return nil, fmt.Errorf("encode: %w", err)
	}
	exp := model.ExpectedShapes(cfg, model.KindBert, 0, 0, false)
	for n, shape := range exp {
		t, ok := p[n]
		if !ok {
			return nil, fmt.Errorf("encode: missing tensor %q (expected shape %v)", n, shape)
		}
		if t.Len() != len(t.Data) || !slices.Equal(t.Shape, shape) {
			return nil, fmt.Errorf("encode: tensor %q has shape %v (%d values), config expects %v", n, t.Shape, len(t.Data), shape)
		}
	}
	h := cfg.HiddenSize
	b := &Bert{
		cfg: cfg, blas: newBLAS(), eps: float32(cfg.LayerNormEps),
		word: p["embeddings.word_embeddings.weight"].Data, pos: p["embeddings.position_embeddings.weight"].Data,
		typ: p["embeddings.token_type_embeddings.weight"].Data,
		lnw: p["embeddings.LayerNorm.weight"].Data, lnb: p["embeddings.LayerNorm.bias"].Data,
		hidden: h, heads: cfg.NumAttentionHeads, headDim: h / cfg.NumAttentionHeads, inter: cfg.IntermediateSize,
		maxPos: cfg.MaxPositionEmbeddings, typeVocab: cfg.TypeVocabSize,
	}
	for l := 0; l < cfg.NumHiddenLayers; l++ {
		g := func(s string) []float32 { return p[fmt.Sprintf("encoder.layer.%d.%s", l, s)].Data }
		ly := layer{
			wqkv: make([]float32, 0, 3*h*h), bqkv: make([]float32, 0, 3*h),
			wo: g("attention.output.dense.weight"), bo: g("attention.output.dense.bias"),
			ln1w: g("attention.output.LayerNorm.weight"), ln1b: g("attention.output.LayerNorm.bias"),
			wi: g("intermediate.dense.weight"), bi: g("intermediate.dense.bias"),
			wout: g("output.dense.weight"), bout: g("output.dense.bias"),
			ln2w: g("output.LayerNorm.weight"), ln2b: g("output.LayerNorm.bias"),
		}
		for _, s := range []string{"query", "key", "value"} {
			ly.wqkv = append(ly.wqkv, g("attention.self."+s+".weight")...)
			ly.bqkv = append(ly.bqkv, g("attention.self."+s+".bias")...)
		}
		b.layers = append(b.layers, ly)
	}
	return b, nil
}

// Config is the encoder's configuration.
func (b *Bert) Config() model.BertConfig { return b.cfg }

// Seq is one input sequence. Every position is encoded (a row of the
// output); Mask marks the positions other tokens may attend to (nil = all).
// TypeIDs nil means all 0.
type Seq struct {
	IDs, TypeIDs, Mask []int32
}

func (b *Bert) check(i int, s Seq) error {
	n := len(s.IDs)
	if n == 0 {
		return fmt.Errorf("encode: sequence %d is empty", i)
	}
	if n > b.maxPos {
		return fmt.Errorf("encode: sequence %d has %d tokens, more than max_position_embeddings %d", i, n, b.maxPos)
	}
	if s.TypeIDs != nil && len(s.TypeIDs) != n || s.Mask != nil && len(s.Mask) != n {
		return fmt.Errorf("encode: sequence %d: ids, type ids and mask lengths differ (%d, %d, %d)", i, n, len(s.TypeIDs), len(s.Mask))
	}
	for j, id := range s.IDs {
		if id < 0 || int(id) >= b.cfg.VocabSize {
			return fmt.Errorf("encode: sequence %d position %d: token id %d outside vocab of %d", i, j, id, b.cfg.VocabSize)
		}
	}
	for j, t := range s.TypeIDs {
		if t < 0 || int(t) >= b.typeVocab {
			return fmt.Errorf("encode: sequence %d position %d: token type %d outside type_vocab_size %d", i, j, t, b.typeVocab)
		}
	}
	return nil
}

// scratch is one worker's buffers, grown as needed.
type scratch struct {
	x, qkv, ctx, tmp, inter, scores, out []float32
}

func grow(s []float32, n int) []float32 {
	if cap(s) < n {
		return make([]float32, n)
	}
	return s[:n]
}

// batchFn receives one packed batch: the sequences' indices, their row
// offsets (len(idx)+1) and the hidden states x [rows, hidden]. It runs on a
// worker goroutine; x is only valid during the call.
type batchFn func(sc *scratch, idx []int, offs []int, x []float32) error

// run checks the inputs, groups them by length into batches of at most
// opt.BatchTokens tokens, and encodes the batches on opt.Threads goroutines.
func (b *Bert) run(ctx context.Context, seqs []Seq, opt Options, fn batchFn) error {
	for i, s := range seqs {
		if err := b.check(i, s); err != nil {
			return err
		}
	}
	order := make([]int, len(seqs))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, c int) bool { return len(seqs[order[a]].IDs) > len(seqs[order[c]].IDs) })
	threads := opt.threads()
	budget := opt.batchTokens()
	total := 0
	for _, s := range seqs {
		total += len(s.IDs)
	}
	// Keep every worker busy on small inputs.
	if per := (total + threads - 1) / threads; per < budget {
		budget = max(per, 1)
	}
	var batches [][]int
	for i := 0; i < len(order); {
		j, tok := i, 0
		for j < len(order) && (j == i || tok+len(seqs[order[j]].IDs) <= budget) {
			tok += len(seqs[order[j]].IDs)
			j++
		}
		batches = append(batches, order[i:j])
		i = j
	}
	if threads > len(batches) {
		threads = len(batches)
	}
	work := make(chan []int)
	errs := make(chan error, threads)
	var wg sync.WaitGroup
	cctx, cancel := context.WithCancel(ctx)
	defer cancel()
	for w := 0; w < threads; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sc, _ := b.pool.Get().(*scratch)
			if sc == nil {
				sc = &scratch{}
			}
			defer b.pool.Put(sc)
			for idx := range work {
				if err := b.forward(sc, seqs, idx, fn); err != nil {
					errs <- err
					cancel()
					for range work {
					}
					return
				}
				opt.Bar.Add(int64(len(idx)))
			}
		}()
	}
feed:
	for _, bt := range batches {
		select {
		case work <- bt:
		case <-cctx.Done():
			break feed
		}
	}
	close(work)
	wg.Wait()
	select {
	case err := <-errs:
		return err
	default:
	}
	return ctx.Err()
}

// forward encodes the packed batch idx and hands the hidden states to fn.
func (b *Bert) forward(sc *scratch, seqs []Seq, idx []int, fn batchFn) error {
	h, hd, nh := b.hidden, b.headDim, b.heads
	offs := make([]int, len(idx)+1)
	maxLen := 0
	for k, i := range idx {
		n := len(seqs[i].IDs)
		offs[k+1] = offs[k] + n
		maxLen = max(maxLen, n)
	}
	rows := offs[len(idx)]
	sc.x = grow(sc.x, rows*h)
	sc.qkv = grow(sc.qkv, rows*3*h)
	sc.ctx = grow(sc.ctx, rows*h)
	sc.tmp = grow(sc.tmp, rows*h)
	sc.inter = grow(sc.inter, rows*b.inter)
	sc.scores = grow(sc.scores, maxLen*maxLen)
	x := sc.x

	// Embeddings.
	for k, i := range idx {
		s := seqs[i]
		for j, id := range s.IDs {
			row := x[(offs[k]+j)*h : (offs[k]+j+1)*h]
			w := b.word[int(id)*h : int(id+1)*h]
			p := b.pos[j*h : (j+1)*h]
			t := 0
			if s.TypeIDs != nil {
				t = int(s.TypeIDs[j])
			}
			ty := b.typ[t*h : (t+1)*h]
			for d := range row {
				row[d] = w[d] + p[d] + ty[d]
			}
		}
	}
	layerNorm(x, h, b.lnw, b.lnb, b.eps)

	scale := float32(1 / math.Sqrt(float64(hd)))
	for li := range b.layers {
		ly := &b.layers[li]
		// Q, K, V in one product: qkv [rows, 3H].
		fillBias(sc.qkv, ly.bqkv)
		b.blas.Sgemm(blas.NoTrans, blas.Trans, rows, 3*h, h, 1, x, h, ly.wqkv, h, 1, sc.qkv, 3*h)
		for k, i := range idx {
			b.attend(sc, seqs[i].Mask, offs[k], offs[k+1]-offs[k], scale, h, hd, nh)
		}
		// Output projection; bias, residual and LayerNorm in one pass.
		b.blas.Sgemm(blas.NoTrans, blas.Trans, rows, h, h, 1, sc.ctx, h, ly.wo, h, 0, sc.tmp, h)
		biasResidualNorm(sc.tmp, ly.bo, x, ly.ln1w, ly.ln1b, b.eps)
		x, sc.tmp = sc.tmp, x
		// Feed-forward: bias fused into GELU, then as above.
		b.blas.Sgemm(blas.NoTrans, blas.Trans, rows, b.inter, h, 1, x, h, ly.wi, h, 0, sc.inter, b.inter)
		biasGelu(sc.inter, ly.bi)
		b.blas.Sgemm(blas.NoTrans, blas.Trans, rows, h, b.inter, 1, sc.inter, b.inter, ly.wout, b.inter, 0, sc.tmp, h)
		biasResidualNorm(sc.tmp, ly.bout, x, ly.ln2w, ly.ln2b, b.eps)
		x, sc.tmp = sc.tmp, x
	}
	sc.x = x
	return fn(sc, idx, offs, x)
}

// attend computes multi-head self-attention for one sequence of n rows at
// row offset o, writing the context into sc.ctx. Keys beyond the last
// attended position are skipped; masked keys inside get probability 0, as
// HF's additive finfo.min mask gives.
func (b *Bert) attend(sc *scratch, mask []int32, o, n int, scale float32, h, hd, nh int) {
	nk := n
	if mask != nil {
		nk = 0
		for j, m := range mask {
			if m != 0 {
				nk = j + 1
			}
		}
		if nk == 0 { // nothing attended: HF's softmax is uniform over all keys
			nk = n
			mask = nil
		} else if allSet(mask[:nk]) {
			mask = nil // the usual case: the attended keys are a prefix
		}
	}
	ld := 3 * h
	s := sc.scores[:n*nk]
	for hh := 0; hh < nh; hh++ {
		q := sc.qkv[o*ld+hh*hd:]
		k := sc.qkv[o*ld+h+hh*hd:]
		v := sc.qkv[o*ld+2*h+hh*hd:]
		b.blas.Sgemm(blas.NoTrans, blas.Trans, n, nk, hd, scale, q, ld, k, ld, 0, s, nk)
		for r := 0; r < n; r++ {
			softmaxMasked(s[r*nk:(r+1)*nk], mask)
		}
		b.blas.Sgemm(blas.NoTrans, blas.NoTrans, n, hd, nk, 1, s, nk, v, ld, 0, sc.ctx[o*h+hh*hd:], h)
	}
}

func allSet(m []int32) bool {
	for _, v := range m {
		if v == 0 {
			return false
		}
	}
	return true
}

// softmaxMasked is softmax over row, with the keys where mask is 0 (mask
// nil = none) given probability 0.
func softmaxMasked(row []float32, mask []int32) {
	if mask == nil {
		softmax(row)
		return
	}
	mx := float32(math.Inf(-1))
	for j, v := range row {
		if (mask == nil || mask[j] != 0) && v > mx {
			mx = v
		}
	}
	var sum float32
	for j, v := range row {
		if mask != nil && mask[j] == 0 {
			row[j] = 0
			continue
		}
		e := expNeg(v - mx)
		row[j] = e
		sum += e
	}
	inv := 1 / sum
	for j := range row {
		row[j] *= inv
	}
}

func softmax(row []float32) {
	mx := row[0]
	for _, v := range row[1:] {
		mx = max(mx, v)
	}
	var sum float32
	for j, v := range row {
		e := expNeg(v - mx)
		row[j] = e
		sum += e
	}
	inv := 1 / sum
	for j := range row {
		row[j] *= inv
	}
}

func fillBias(dst, bias []float32) {
	n := len(bias)
	for i := 0; i < len(dst); i += n {
		copy(dst[i:i+n], bias)
	}
}

// biasResidualNorm sets each row of x [rows, h] to
// LayerNorm(x + bias + res) in place (h = len(bias)).
func biasResidualNorm(x, bias, res, w, lb []float32, eps float32) {
	h := len(bias)
	for r := 0; r+h <= len(x); r += h {
		row := x[r : r+h]
		rr := res[r : r+h]
		for i := range row {
			row[i] += bias[i] + rr[i]
		}
	}
	layerNorm(x, h, w, lb, eps)
}

// layerNorm normalises each row of x [rows, h] in place.
func layerNorm(x []float32, h int, w, bias []float32, eps float32) {
	for r := 0; r+h <= len(x); r += h {
		row := x[r : r+h]
		var sum float64
		for _, v := range row {
			sum += float64(v)
		}
		mean := float32(sum / float64(h))
		var vs float64
		for _, v := range row {
			d := float64(v - mean)
			vs += d * d
		}
		inv := float32(1 / math.Sqrt(vs/float64(h)+float64(eps)))
		for i, v := range row {
			row[i] = (v-mean)*inv*w[i] + bias[i]
		}
	}
}

// Hidden returns the last hidden state of every sequence ([len(ids), hidden]
// each), as HF BertModel's last_hidden_state.
func (b *Bert) Hidden(ctx context.Context, seqs []Seq, opt Options) ([][]float32, error) {
	out := make([][]float32, len(seqs))
	h := b.hidden
	err := b.run(ctx, seqs, opt, func(_ *scratch, idx, offs []int, x []float32) error {
		for k, i := range idx {
			out[i] = append([]float32(nil), x[offs[k]*h:offs[k+1]*h]...)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}
