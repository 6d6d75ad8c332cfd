package pool

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// unitRows draws n random unit vectors of dim.
func unitRows(rng *rand.Rand, n, dim int) []float32 {
	v := make([]float32, n*dim)
	for i := 0; i < n; i++ {
		row := v[i*dim : (i+1)*dim]
		var s float64
		for d := range row {
			row[d] = float32(rng.NormFloat64())
			s += float64(row[d]) * float64(row[d])
		}
		for d := range row {
			row[d] /= float32(math.Sqrt(s))
		}
	}
	return v
}

func TestClusters(t *testing.T) {
	for _, c := range []struct{ n, f, want int }{{0, 2, 0}, {1, 2, 1}, {2, 2, 1}, {3, 2, 1}, {5, 2, 2}, {10, 2, 5}, {11, 3, 3}, {7, 1, 7}, {7, 0, 7}, {4, 10, 1}} {
		if got := Clusters(c.n, c.f); got != c.want {
			t.Errorf("Clusters(%d, %d) = %d, want %d", c.n, c.f, got, c.want)
		}
	}
}

// TestPoolCountsAndNorms: a passage of n vectors becomes max(1, n/factor)
// unit vectors, for both linkages and several factors.
func TestPoolCountsAndNorms(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	const dim = 16
	for _, link := range []Linkage{Ward, Average} {
		for _, n := range []int{1, 2, 3, 7, 32, 61} {
			for _, f := range []int{2, 3, 4} {
				v := unitRows(rng, n, dim)
				got, err := Pool(v, dim, f, link)
				if err != nil {
					t.Fatal(err)
				}
				if len(got) != Clusters(n, f)*dim {
					t.Fatalf("%v n=%d factor %d: %d vectors, want %d", link, n, f, len(got)/dim, Clusters(n, f))
				}
				for i := 0; i < len(got)/dim; i++ {
					var s float64
					for _, x := range got[i*dim : (i+1)*dim] {
						s += float64(x) * float64(x)
					}
					if math.Abs(s-1) > 1e-5 {
						t.Errorf("%v n=%d factor %d: vector %d has norm² %v", link, n, f, i, s)
					}
				}
			}
		}
	}
}

// TestPoolIdentity: factor 1 (and 0) returns the vectors unchanged.
func TestPoolIdentity(t *testing.T) {
	v := unitRows(rand.New(rand.NewPCG(3, 4)), 9, 8)
	for _, f := range []int{0, 1} {
		got, err := Pool(v, 8, f, Ward)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(got, v) {
			t.Errorf("factor %d changed the vectors", f)
		}
	}
}

// TestIdenticalMergeFirst: duplicated vectors are merged before any two
// distinct ones; with exactly as many duplicates as merges, the pooled
// set is the distinct vectors.
func TestIdenticalMergeFirst(t *testing.T) {
	const dim = 8
	base := unitRows(rand.New(rand.NewPCG(5, 6)), 4, dim)
	// Rows: b0 b1 b0 b2 b3 b1 b2 b3 (8 rows, 4 distinct): factor 2 → 4 clusters.
	order := []int{0, 1, 0, 2, 3, 1, 2, 3}
	var v []float32
	for _, o := range order {
		v = append(v, base[o*dim:(o+1)*dim]...)
	}
	for _, link := range []Linkage{Ward, Average} {
		labels := Cluster(v, dim, 4, link)
		if want := []int{0, 1, 0, 2, 3, 1, 2, 3}; !slices.Equal(labels, want) {
			t.Errorf("%v: labels %v, want %v", link, labels, want)
		}
		got, err := Pool(v, dim, 2, link)
		if err != nil {
			t.Fatal(err)
		}
		for c := 0; c < 4; c++ {
			for d := 0; d < dim; d++ {
				if math.Abs(float64(got[c*dim+d]-base[c*dim+d])) > 1e-6 {
					t.Fatalf("%v: cluster %d is not the duplicated vector %d", link, c, c)
				}
			}
		}
	}
}

// TestNearPairsMerge: two tight groups far apart pool to their directions.
func TestNearPairsMerge(t *testing.T) {
	const dim = 4
	e := func(a, b float32) []float32 {
		n := float32(math.Sqrt(float64(a*a + b*b)))
		return []float32{a / n, b / n, 0, 0}
	}
	var v []float32
	for _, r := range [][]float32{e(1, 0.01), e(0.01, 1), e(1, -0.01), e(-0.01, 1)} {
		v = append(v, r...)
	}
	labels := Cluster(v, dim, 2, Ward)
	if !slices.Equal(labels, []int{0, 1, 0, 1}) {
		t.Fatalf("labels %v, want [0 1 0 1]", labels)
	}
	got, err := Pool(v, dim, 2, Ward)
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(float64(got[0])-1) > 1e-6 || math.Abs(float64(got[dim+1])-1) > 1e-6 {
		t.Errorf("pooled %v, want e0 and e1", got)
	}
}

// TestDeterministic: the same input gives the same bytes; a bad shape is
// an error.
func TestDeterministic(t *testing.T) {
	v := unitRows(rand.New(rand.NewPCG(7, 8)), 40, 16)
	a, _ := Pool(v, 16, 2, Ward)
	b, _ := Pool(slices.Clone(v), 16, 2, Ward)
	if !slices.Equal(a, b) {
		t.Error("two runs differ")
	}
	if _, err := Pool(v[:15], 16, 2, Ward); err == nil {
		t.Error("15 values of dim 16 accepted")
	}
}

// TestWardMatchesBruteForce compares the incremental nearest-neighbour
// bookkeeping with a direct O(n³) agglomeration on random data.
func TestWardMatchesBruteForce(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	const dim = 6
	for trial := 0; trial < 20; trial++ {
		n := 3 + rng.IntN(25)
		v := unitRows(rng, n, dim)
		for _, link := range []Linkage{Ward, Average} {
			k := 1 + rng.IntN(n)
			if got, want := Cluster(v, dim, k, link), bruteCluster(v, dim, k, link); !slices.Equal(got, want) {
				t.Fatalf("%v n=%d k=%d: %v, brute force %v", link, n, k, got, want)
			}
		}
	}
}

// bruteCluster agglomerates by recomputing every cluster distance from
// the members at each step (Ward: increase of the sum of squares).
func bruteCluster(v []float32, dim, k int, link Linkage) []int {
	n := len(v) / dim
	groups := make([][]int, n)
	for i := range groups {
		groups[i] = []int{i}
	}
	dist := func(a, b []int) float64 {
		switch link {
		case Ward:
			ca, cb := make([]float64, dim), make([]float64, dim)
			for _, i := range a {
				for d := 0; d < dim; d++ {
					ca[d] += float64(v[i*dim+d]) / float64(len(a))
				}
			}
			for _, i := range b {
				for d := 0; d < dim; d++ {
					cb[d] += float64(v[i*dim+d]) / float64(len(b))
				}
			}
			var s float64
			for d := range ca {
				s += (ca[d] - cb[d]) * (ca[d] - cb[d])
			}
			return 2 * float64(len(a)*len(b)) / float64(len(a)+len(b)) * s
		default:
			var s float64
			for _, i := range a {
				for _, j := range b {
					var dot float64
					for d := 0; d < dim; d++ {
						dot += float64(v[i*dim+d]) * float64(v[j*dim+d])
					}
					s += 1 - dot
				}
			}
			return s / float64(len(a)*len(b))
		}
	}
	for len(groups) > k {
		bi, bj, bd := 0, 1, math.Inf(1)
		for i := range groups {
			for j := i + 1; j < len(groups); j++ {
				if d := dist(groups[i], groups[j]); d < bd-1e-12 {
					bi, bj, bd = i, j, d
				}
			}
		}
		groups[bi] = append(groups[bi], groups[bj]...)
		groups = slices.Delete(groups, bj, bj+1)
	}
	labels := make([]int, n)
	slices.SortFunc(groups, func(a, b []int) int { return slices.Min(a) - slices.Min(b) })
	for g, m := range groups {
		for _, i := range m {
			labels[i] = g
		}
	}
	return labels
}

// TestPoolKeep: the first keep vectors come out unchanged, the rest pooled.
func TestPoolKeep(t *testing.T) {
	const dim = 8
	v := unitRows(rand.New(rand.NewPCG(11, 12)), 9, dim)
	got, err := PoolKeep(v, dim, 2, 1, Ward)
	if err != nil {
		t.Fatal(err)
	}
	rest, _ := Pool(v[dim:], dim, 2, Ward)
	if len(got) != (1+4)*dim || !slices.Equal(got[:dim], v[:dim]) || !slices.Equal(got[dim:], rest) {
		t.Fatalf("PoolKeep(9 vectors, factor 2, keep 1): %d vectors, want the first and 4 pooled", len(got)/dim)
	}
	if one, _ := PoolKeep(v[:dim], dim, 2, 1, Ward); !slices.Equal(one, v[:dim]) {
		t.Error("a passage of one vector changed")
	}
	if _, err := PoolKeep(v[:3], dim, 2, 1, Ward); err == nil {
		t.Error("3 values of dim 8 accepted")
	}
}
