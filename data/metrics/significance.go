package metrics

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
)

// Paired is the outcome of a paired significance test between two systems
// evaluated on the same queries.
type Paired struct {
	Queries int     // queries both systems were evaluated on
	MeanA   float64 // mean of system A over those queries
	MeanB   float64
	// P is the two-sided p-value of the difference in means.
	P float64
}

// PairedRandomization is the two-sided paired randomization (permutation)
// test IR evaluations use (Smucker, Allan & Carterette, CIKM 2007): under
// the null hypothesis the two systems' scores for a query are exchangeable,
// so each query's difference flips sign at random; P is the fraction of
// trials whose |mean difference| reaches the observed one (the observed
// assignment counted, so P > 0). a and b map query id → per-query value
// (Result.PerQuery[q][measure]); only queries present in both count.
func PairedRandomization(a, b map[string]float64, trials int, seed uint64) (Paired, error) {
	var qs []string
	for q := range a {
		if _, ok := b[q]; ok {
			qs = append(qs, q)
		}
	}
	if len(qs) == 0 {
		return Paired{}, fmt.Errorf("metrics: paired test: no query evaluated in both systems")
	}
	if trials < 1 {
		return Paired{}, fmt.Errorf("metrics: paired test: trials = %d, must be ≥ 1", trials)
	}
	sort.Strings(qs) // the same inputs and seed always give the same P
	d := make([]float64, len(qs))
	var res Paired
	res.Queries = len(qs)
	var obs float64
	for i, q := range qs {
		d[i] = a[q] - b[q]
		obs += d[i]
		res.MeanA += a[q]
		res.MeanB += b[q]
	}
	n := float64(len(qs))
	res.MeanA /= n
	res.MeanB /= n
	obs = math.Abs(obs)
	// A flipped sum within rounding of the observed one counts as reaching it.
	tol := 1e-9 * (1 + obs)
	r := rand.New(rand.NewPCG(seed, 0x7065726d)) // "perm"
	hits := 1
	for t := 0; t < trials; t++ {
		var s float64
		for _, x := range d {
			if r.Uint64()&1 == 0 {
				s += x
			} else {
				s -= x
			}
		}
		if math.Abs(s) >= obs-tol {
			hits++
		}
	}
	res.P = float64(hits) / float64(trials+1)
	return res, nil
}
