package engine

import (
	"context"
	"fmt"
	"strings"
	"sync"

	"github.com/colbert-go/colbert/codec/metadb"
	"github.com/colbert-go/colbert/search"
)

// ErrBadFilter is wrapped by every error that is a filter's fault: a
// condition that is not one valid expression over the metadata columns, a
// condition on an index without metadata, unknown passage ids. A server
// answers it with 400.
var ErrBadFilter = metadb.ErrBadFilter

// Filter selects the passages a search may return: those whose metadata
// satisfy Where (a SQL condition over the index's metadata columns, e.g.
// "year >= 2020 AND source = 'pubmed'"), and, when IDs is not nil, whose
// id is listed; both given means both must hold. An IDs list that is
// empty (not nil) selects nothing.
type Filter struct {
	Where string
	IDs   []string
	// SkipUnknownIDs leaves out ids the index does not hold (reporting
	// them in Results.UnknownIDs) instead of failing: a shard of a
	// collection holds only its own passages, and the router checks that
	// every id is held by some shard.
	SkipUnknownIDs bool
}

// IsZero reports whether f selects every passage.
func (f Filter) IsZero() bool { return f.Where == "" && f.IDs == nil }

// String renders f for logs and reports.
func (f Filter) String() string {
	var parts []string
	if f.Where != "" {
		parts = append(parts, f.Where)
	}
	if f.IDs != nil {
		parts = append(parts, fmt.Sprintf("%d ids", len(f.IDs)))
	}
	return strings.Join(parts, " AND ")
}

// Filter evaluates f to the set of pids it allows (nil for the zero
// Filter): the condition through the index's metadata database (read-only,
// validated: see codec/metadb), the ids through the id → pid map of the
// live passages. Deleted passages are never allowed. An error wrapping
// ErrBadFilter names what is wrong with f.
func (e *Engine) Filter(ctx context.Context, f Filter) (*search.Filter, error) {
	sf, _, err := e.filter(ctx, f)
	return sf, err
}

// filter is Filter that also returns the ids skipped by SkipUnknownIDs.
func (e *Engine) filter(ctx context.Context, f Filter) (*search.Filter, []string, error) {
	if f.IsZero() {
		return nil, nil, nil
	}
	var pids []int
	var unknown []string
	if f.Where != "" {
		if e.meta == nil {
			return nil, nil, fmt.Errorf("engine: filter %q: %w: the index %s keeps no passage metadata (build it from a collection with fields beyond id, title and text, or with --metadata FILE)", f.Where, ErrBadFilter, e.dir)
		}
		if f.IDs == nil {
			if got, ok := e.filters.get(f.Where); ok {
				return got, nil, nil
			}
		}
		var err error
		if pids, err = e.meta.Select(ctx, f.Where); err != nil {
			return nil, nil, fmt.Errorf("engine: filter %q: %w", f.Where, err)
		}
	}
	if f.IDs != nil {
		byID := make([]int, 0, len(f.IDs))
		for _, id := range f.IDs {
			p, ok := e.pid(id)
			if !ok {
				unknown = append(unknown, id)
				continue
			}
			byID = append(byID, p)
		}
		if len(unknown) > 0 && !f.SkipUnknownIDs {
			shown := unknown[:min(len(unknown), 5)]
			return nil, nil, fmt.Errorf("engine: filter: %w: %d of %d ids name no live passage: %q", ErrBadFilter, len(unknown), len(f.IDs), shown)
		}
		if f.Where != "" {
			pids = intersect(pids, byID)
		} else {
			pids = byID
		}
	}
	live := pids[:0]
	for _, p := range pids {
		if e.deleted == nil || !e.deleted(p) {
			live = append(live, p)
		}
	}
	sf, err := search.NewFilter(e.numPassages(), live)
	if err == nil && f.IDs == nil {
		e.filters.put(f.Where, sf)
	}
	return sf, unknown, err
}

// filterCacheSize bounds the conditions an engine remembers: a server sees
// the same few filters again and again, and an engine's index generation
// never changes, so their pid sets stay valid for its lifetime.
const filterCacheSize = 64

// filterCache maps conditions to their evaluated sets; safe for concurrent
// use. When full, an arbitrary entry makes room.
type filterCache struct {
	mu sync.Mutex
	m  map[string]*search.Filter
}

func (c *filterCache) get(cond string) (*search.Filter, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	f, ok := c.m[cond]
	return f, ok
}

func (c *filterCache) put(cond string, f *search.Filter) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = map[string]*search.Filter{}
	}
	if len(c.m) >= filterCacheSize {
		for k := range c.m {
			delete(c.m, k)
			break
		}
	}
	c.m[cond] = f
}

// intersect keeps the pids of sorted a that b lists.
func intersect(a, b []int) []int {
	in := make(map[int]bool, len(b))
	for _, p := range b {
		in[p] = true
	}
	out := a[:0]
	for _, p := range a {
		if in[p] {
			out = append(out, p)
		}
	}
	return out
}

// MetadataColumns are the columns of the index's metadata table (pid, id,
// then the fields), nil when it keeps none.
func (e *Engine) MetadataColumns() []string {
	if e.meta == nil {
		return nil
	}
	return e.meta.Columns()
}

// numPassages is the number of pids of the engine's index (deleted ones
// included), dense or sparse.
func (e *Engine) numPassages() int {
	if e.sparse != nil {
		return e.sparse.NumPassages()
	}
	return e.store.NumPassages()
}
