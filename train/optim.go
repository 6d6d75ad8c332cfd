package train

import (
	"math"
	"sort"

	"github.com/colbert-go/colbert/model"
)

// AdamW is torch.optim.AdamW: decoupled weight decay (p ← p − lr·wd·p), then
// the bias-corrected Adam update. Moments are kept per parameter name.
type AdamW struct {
	Beta1, Beta2, Eps, WeightDecay float64
	Step                           int // updates done
	M, V                           model.Params
}

// NewAdamW returns an optimiser with empty moments.
func NewAdamW(beta1, beta2, eps, wd float64) *AdamW {
	return &AdamW{Beta1: beta1, Beta2: beta2, Eps: eps, WeightDecay: wd, M: model.Params{}, V: model.Params{}}
}

// Update applies one step with learning rate lr to every parameter that has a
// gradient; parameters are updated in place.
func (o *AdamW) Update(params, grads model.Params, lr float64) {
	o.Step++
	bc1 := 1 - math.Pow(o.Beta1, float64(o.Step))
	bc2 := 1 - math.Pow(o.Beta2, float64(o.Step))
	for _, name := range sortedNames(grads) {
		p, g := params[name], grads[name]
		m, ok := o.M[name]
		if !ok {
			m = &model.Tensor{Shape: append([]int(nil), p.Shape...), Data: make([]float32, len(p.Data))}
			o.M[name] = m
			o.V[name] = &model.Tensor{Shape: append([]int(nil), p.Shape...), Data: make([]float32, len(p.Data))}
		}
		v := o.V[name]
		b1, b2 := float32(o.Beta1), float32(o.Beta2)
		decay := float32(1 - lr*o.WeightDecay)
		stepSize := lr / bc1
		sqrtBC2 := math.Sqrt(bc2)
		for i, gi := range g.Data {
			m.Data[i] = b1*m.Data[i] + (1-b1)*gi
			v.Data[i] = b2*v.Data[i] + (1-b2)*gi*gi
			denom := math.Sqrt(float64(v.Data[i]))/sqrtBC2 + o.Eps
			p.Data[i] = p.Data[i]*decay - float32(stepSize*float64(m.Data[i])/denom)
		}
	}
}

// LinearSchedule is transformers' get_linear_schedule_with_warmup: the
// multiplier of the peak learning rate at optimizer step s (0-based).
func LinearSchedule(s, warmup, total int) float64 {
	if s < warmup {
		return float64(s) / float64(max(1, warmup))
	}
	return math.Max(0, float64(total-s)/float64(max(1, total-warmup)))
}

// ClipGradNorm scales grads in place so that their global L2 norm is at most
// maxNorm (torch.nn.utils.clip_grad_norm_: factor maxNorm/(norm+1e-6), only
// when < 1) and returns the norm before clipping.
func ClipGradNorm(grads model.Params, maxNorm float64) float64 {
	var s float64
	for _, name := range sortedNames(grads) {
		for _, v := range grads[name].Data {
			s += float64(v) * float64(v)
		}
	}
	norm := math.Sqrt(s)
	if maxNorm > 0 {
		if c := maxNorm / (norm + 1e-6); c < 1 {
			cf := float32(c)
			for _, g := range grads {
				for i := range g.Data {
					g.Data[i] *= cf
				}
			}
		}
	}
	return norm
}

func sortedNames(p model.Params) []string {
	names := make([]string, 0, len(p))
	for k := range p {
		names = append(names, k)
	}
	sort.Strings(names)
	return names
}
