package search

import (
	"fmt"
	"math"
)

// Params are PLAID's knobs. The zero value of NCells and NDocs and a nil
// Threshold mean "the default for this K" (see DefaultParams).
type Params struct {
	K int // passages returned
	// NCells is the number of centroids probed per query token.
	NCells int
	// Threshold prunes, in stage 2, centroids whose best score against any
	// query token is below it (centroid_score_threshold). nil means the
	// default for K; every value, 0 included, is a threshold of its own
	// (new(float32(0)) keeps the centroids whose best score is ≥ 0). It is
	// a pointer so that 0 can be asked for; assign a new pointer rather
	// than writing through one a copy of these Params may share.
	Threshold *float32
	// NDocs is the number of candidates kept after stage 2; stage 3 keeps
	// NDocs/4 (at least K) for exact scoring.
	NDocs int
	// NoPrune disables stage 2's threshold (fast-plaid's behaviour).
	NoPrune bool
	// Filter restricts the search to its passages (nil: every passage).
	// A filter of at most FilterExact passages is searched exhaustively,
	// every allowed passage scored exactly, so its top K is exact. A
	// larger one runs PLAID with only allowed pids entering stage 1, and
	// NCells multiplied by the inverse of the filter's selectivity (at
	// most 16 times) so that about as many candidates survive the filter as
	// an unfiltered query has; its top K is then approximate, as PLAID's.
	Filter *Filter
	// FilterExact is the largest filter searched exhaustively; 0 means
	// DefaultFilterExact(K, NDocs), negative never.
	FilterExact int
}

// DefaultFilterExact is the default Params.FilterExact for k and ndocs:
// twice the passages stage 4 scores exactly, at least 1024. Scoring that
// many passages exactly costs about what an unfiltered PLAID query costs
// on the collections of BENCHMARKS.md ("Filtered search"), whose stage 4
// alone scores max(ndocs/4, k).
func DefaultFilterExact(k, ndocs int) int { return max(2*max(ndocs/4, k), 1024) }

// DefaultParams returns PLAID's defaults for k:
// k ≤ 10: ncells 1, threshold 0.5, ndocs 768; k ≤ 100: 2, 0.45, 1024;
// otherwise 4, 0.4, max(4k, 4096). Those for k > 10 are the ColBERT
// searcher's. For k ≤ 10 ColBERT's ndocs 256 lets stage 3 keep only 64
// passages, ranked by centroid scores alone, too few to hold the exact top
// 10 on the clustered synthetic collection of BENCHMARKS.md, so ndocs is
// 768 (192 kept), chosen by BenchmarkPLAIDDefaults: on that collection
// (5.1M tokens, K = 16,384, 100 queries) recall@10 against exhaustive
// search rose from 0.850 to 0.990 at 1.23–1.26× ColBERT's latency (ndocs
// 512: 0.961, too close to the 0.95 target; ncells and threshold changed
// neither recall nor latency there).
func DefaultParams(k int) Params {
	switch {
	case k <= 10:
		return Params{K: k, NCells: 1, Threshold: new(float32(0.5)), NDocs: 768}
	case k <= 100:
		return Params{K: k, NCells: 2, Threshold: new(float32(0.45)), NDocs: 1024}
	}
	return Params{K: k, NCells: 4, Threshold: new(float32(0.4)), NDocs: max(4*k, 4096)}
}

// DefaultQueryVectors is the query length PLAID's defaults were chosen for:
// ColBERT's query_maxlen, 32 vectors with the [MASK] padding.
const DefaultQueryVectors = 32

// ForQueryVectors returns p with NCells, when unset, scaled for queries of
// n vectors, so that a query probes about as many centroids as a ColBERT
// query does with the default for K: ⌈ncells·32/n⌉. PLAID probes ncells
// centroids per query vector, and a model with few query vectors (MV-DPR's
// k = 5, a bi-encoder's one) would otherwise reach too few passages for a
// large K: on the demo's MV-DPR at k = 1000, recall@1000 0.22 with ncells
// 4, 0.62 with 26, against 0.64 searching exhaustively (BENCHMARKS.md).
// n ≥ 32 changes nothing.
func (p Params) ForQueryVectors(n int) Params {
	if p.NCells != 0 || n <= 0 || n >= DefaultQueryVectors || p.K <= 0 {
		return p
	}
	d := DefaultParams(p.K).NCells
	p.NCells = (d*DefaultQueryVectors + n - 1) / n
	return p
}

// EffectiveThreshold is the threshold stage 2 applies: Threshold, or the
// default for K when it is unset.
func (p Params) EffectiveThreshold() float32 {
	if p.Threshold != nil {
		return *p.Threshold
	}
	return *DefaultParams(p.K).Threshold
}

// Resolve returns p with every unset field filled with the default for K
// (Threshold then never nil), or an error naming the invalid field.
func (p Params) Resolve() (Params, error) {
	if p.K <= 0 {
		return p, fmt.Errorf("search: k must be positive, got %d", p.K)
	}
	d := DefaultParams(p.K)
	if p.NCells == 0 {
		p.NCells = d.NCells
	}
	if p.NDocs == 0 {
		p.NDocs = d.NDocs
	}
	if p.Threshold == nil {
		p.Threshold = d.Threshold
	}
	if p.FilterExact == 0 {
		p.FilterExact = DefaultFilterExact(p.K, p.NDocs)
	}
	if p.NCells < 0 {
		return p, fmt.Errorf("search: ncells must be positive, got %d", p.NCells)
	}
	if p.NDocs < 0 {
		return p, fmt.Errorf("search: ndocs must be positive, got %d", p.NDocs)
	}
	if math.IsNaN(float64(*p.Threshold)) {
		// NaN compares false with every score, pruning all centroids.
		return p, fmt.Errorf("search: centroid score threshold is NaN")
	}
	return p, nil
}

// filterExhaustive reports whether a resolved p's filter is small enough
// to be searched exhaustively.
func (p Params) filterExhaustive() bool {
	return p.Filter != nil && p.FilterExact >= 0 && p.Filter.Len() <= p.FilterExact
}

// filterCells is the number of cells a resolved p probes per query token
// in an index of npass passages: NCells, times the inverse selectivity of
// a filter (at most 16×) so that the allowed candidates stay about as many
// as an unfiltered query's candidates.
func (p Params) filterCells(npass int) int {
	n := p.Filter.Len()
	if n <= 0 || n >= npass {
		return p.NCells
	}
	return p.NCells * min(16, (npass+n-1)/n)
}

// exactCount is the number of stage-3 survivors that are decompressed.
func (p Params) exactCount() int { return max(p.NDocs/4, p.K) }
