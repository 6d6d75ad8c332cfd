// Package pool reduces the token vectors of one passage by hierarchical
// clustering before they are indexed (token pooling, Clavié et al. 2024,
// "Reducing the Footprint of Multi-Vector Retrieval with Minimal
// Performance Impact via Token Pooling"; PyLate's
// pool_embeddings_hierarchical): the n vectors are clustered
// agglomeratively into max(1, n/factor) clusters and each cluster is
// replaced by the mean of its vectors, re-normalised to unit length (the
// index stores unit vectors and MaxSim is a dot product).
//
// The clustering is exact agglomerative clustering (every step merges the
// closest pair under the linkage, Lance–Williams updates) with ties broken
// by the lowest cluster indexes, so the result depends only on the input.
package pool

import (
	"fmt"
	"math"
)

// Linkage is the inter-cluster distance of the agglomeration.
type Linkage int

const (
	// Ward merges the pair whose union least increases the within-cluster
	// sum of squares. On unit vectors the squared Euclidean distance is
	// 2·(1 − cosine), so this is Ward on cosine distance.
	Ward Linkage = iota
	// Average (UPGMA) merges the pair with the least mean cosine distance
	// (1 − cos) between their members.
	Average
)

func (l Linkage) String() string {
	switch l {
	case Ward:
		return "ward"
	case Average:
		return "average"
	}
	return fmt.Sprintf("linkage(%d)", int(l))
}

// Clusters is the number of clusters a passage of n vectors is pooled
// into: max(1, n/factor) (integer division, as PyLate), n itself when
// factor ≤ 1, 0 for an empty passage.
func Clusters(n, factor int) int {
	if n == 0 {
		return 0
	}
	if factor <= 1 {
		return n
	}
	return max(1, n/factor)
}

// Pool pools vecs (n×dim, row-major, unit rows) by factor with the given
// linkage and returns Clusters(n, factor) unit vectors, ordered by the
// first token of each cluster. factor ≤ 1 returns a copy of vecs. A
// cluster whose mean is the zero vector (opposite vectors) keeps the mean
// unnormalised rather than dividing by zero.
func Pool(vecs []float32, dim, factor int, link Linkage) ([]float32, error) {
	if dim <= 0 || len(vecs)%dim != 0 {
		return nil, fmt.Errorf("pool: %d values is not a whole number of %d-dimensional vectors", len(vecs), dim)
	}
	if link != Ward && link != Average {
		return nil, fmt.Errorf("pool: unknown %v", link)
	}
	n := len(vecs) / dim
	k := Clusters(n, factor)
	if k == n {
		return append([]float32(nil), vecs...), nil
	}
	labels := Cluster(vecs, dim, k, link)
	out := make([]float32, k*dim)
	// Labels are numbered by first token, so clusters come out in token
	// order of their first member.
	acc := make([]float64, k*dim)
	for i, l := range labels {
		row, a := vecs[i*dim:(i+1)*dim], acc[l*dim:(l+1)*dim]
		for d, v := range row {
			a[d] += float64(v)
		}
	}
	for c := 0; c < k; c++ {
		sum := acc[c*dim : (c+1)*dim]
		var norm float64
		for _, v := range sum {
			norm += v * v
		}
		norm = math.Sqrt(norm)
		if norm == 0 {
			norm = 1
		}
		o := out[c*dim : (c+1)*dim]
		for d, v := range sum {
			o[d] = float32(v / norm)
		}
	}
	return out, nil
}

// PoolKeep keeps the first keep vectors of vecs as they are and pools the
// rest by factor (PyLate's protected_tokens: a ColBERT passage's first
// vector is its [CLS] token's, which sums up the passage). It returns
// keep + Clusters(n−keep, factor) vectors; a passage of at most keep
// vectors is returned whole.
func PoolKeep(vecs []float32, dim, factor, keep int, link Linkage) ([]float32, error) {
	if dim <= 0 || len(vecs)%dim != 0 {
		return nil, fmt.Errorf("pool: %d values is not a whole number of %d-dimensional vectors", len(vecs), dim)
	}
	keep = max(0, min(keep, len(vecs)/dim))
	rest, err := Pool(vecs[keep*dim:], dim, factor, link)
	if err != nil {
		return nil, err
	}
	return append(append(make([]float32, 0, keep*dim+len(rest)), vecs[:keep*dim]...), rest...), nil
}

// Cluster assigns each of the n rows of vecs to one of k clusters by
// agglomerative clustering under link, stopping when k clusters remain,
// and returns the labels 0…k−1 numbered in order of each cluster's first
// row. k is clamped to [1, n].
func Cluster(vecs []float32, dim, k int, link Linkage) []int {
	n := len(vecs) / dim
	if n == 0 {
		return nil
	}
	k = min(max(k, 1), n)
	// d is the full symmetric n×n distance matrix between live clusters
	// (only rows and columns of live clusters are read).
	d := make([]float64, n*n)
	for i := 0; i < n; i++ {
		a := vecs[i*dim : (i+1)*dim]
		for j := i + 1; j < n; j++ {
			b := vecs[j*dim : (j+1)*dim]
			var dot float64
			for x := range a {
				dot += float64(a[x]) * float64(b[x])
			}
			v := 1 - dot // cosine distance on unit vectors
			if link == Ward {
				v *= 2 // squared Euclidean distance
			}
			if v < 0 {
				v = 0
			}
			d[i*n+j], d[j*n+i] = v, v
		}
	}
	size := make([]int, n)
	parent := make([]int, n) // the cluster a row was merged into (itself while live)
	live := make([]bool, n)
	for i := range size {
		size[i], parent[i], live[i] = 1, i, true
	}
	// nn[i] is the nearest live cluster j > i and nd[i] its distance, so a
	// row scan finds the closest pair with the lowest (i, j) on ties.
	nn, nd := make([]int, n), make([]float64, n)
	scan := func(i int) {
		nn[i], nd[i] = -1, math.Inf(1)
		for j := i + 1; j < n; j++ {
			if live[j] && d[i*n+j] < nd[i] {
				nn[i], nd[i] = j, d[i*n+j]
			}
		}
	}
	for i := 0; i < n; i++ {
		scan(i)
	}
	for clusters := n; clusters > k; clusters-- {
		a := -1
		for i := 0; i < n; i++ {
			if live[i] && nn[i] >= 0 && (a < 0 || nd[i] < nd[a]) {
				a = i
			}
		}
		b := nn[a] // a < b; the union keeps index a
		na, nb := float64(size[a]), float64(size[b])
		for x := 0; x < n; x++ {
			if !live[x] || x == a || x == b {
				continue
			}
			dxa, dxb := d[x*n+a], d[x*n+b]
			var v float64
			switch link {
			case Ward:
				nx := float64(size[x])
				v = ((nx+na)*dxa + (nx+nb)*dxb - nx*d[a*n+b]) / (nx + na + nb)
			case Average:
				v = (na*dxa + nb*dxb) / (na + nb)
			}
			d[x*n+a], d[a*n+x] = v, v
		}
		live[b], parent[b] = false, a
		size[a] += size[b]
		// Rows whose nearest neighbour was a or b, and a itself, rescan;
		// rows before a may now find a closer (a's distances changed).
		for i := 0; i < n; i++ {
			if !live[i] {
				continue
			}
			switch {
			case i == a || nn[i] == a || nn[i] == b:
				scan(i)
			case i < a && (d[i*n+a] < nd[i] || d[i*n+a] == nd[i] && a < nn[i]):
				nn[i], nd[i] = a, d[i*n+a]
			}
		}
	}
	root := func(i int) int {
		for parent[i] != i {
			i = parent[i]
		}
		return i
	}
	labels := make([]int, n)
	id := map[int]int{}
	for i := 0; i < n; i++ {
		r := root(i)
		l, ok := id[r]
		if !ok {
			l = len(id)
			id[r] = l
		}
		labels[i] = l
	}
	return labels
}
