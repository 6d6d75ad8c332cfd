package search

import "fmt"

// Params are PLAID's knobs. The zero value of every field but K means
// "ColBERT's default for this K" (see DefaultParams).
type Params struct {
	K int // passages returned
	// NCells is the number of centroids probed per query token.
	NCells int
	// Threshold prunes, in stage 2, centroids whose best score against any
	// query token is below it (centroid_score_threshold); 0 means the
	// default, NoPrune disables pruning.
	Threshold float32
	// NDocs is the number of candidates kept after stage 2; stage 3 keeps
	// NDocs/4 (at least K) for exact scoring.
	NDocs int
	// NoPrune disables stage 2's threshold (fast-plaid's behaviour).
	NoPrune bool
}

// DefaultParams returns the ColBERT searcher's defaults for k:
// k ≤ 10: ncells 1, threshold 0.5, ndocs 256; k ≤ 100: 2, 0.45, 1024;
// otherwise 4, 0.4, max(4k, 4096).
func DefaultParams(k int) Params {
	switch {
	case k <= 10:
		return Params{K: k, NCells: 1, Threshold: 0.5, NDocs: 256}
	case k <= 100:
		return Params{K: k, NCells: 2, Threshold: 0.45, NDocs: 1024}
	}
	return Params{K: k, NCells: 4, Threshold: 0.4, NDocs: max(4*k, 4096)}
}

// resolve fills unset fields with the defaults for K and validates.
func (p Params) resolve() (Params, error) {
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
	if p.Threshold == 0 {
		p.Threshold = d.Threshold
	}
	if p.NCells < 0 {
		return p, fmt.Errorf("search: ncells must be positive, got %d", p.NCells)
	}
	if p.NDocs < 0 {
		return p, fmt.Errorf("search: ndocs must be positive, got %d", p.NDocs)
	}
	return p, nil
}

// exactCount is the number of stage-3 survivors that are decompressed.
func (p Params) exactCount() int { return max(p.NDocs/4, p.K) }
