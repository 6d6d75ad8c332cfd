package indexer

import (
	"fmt"

	"github.com/colbert-go/colbert/codec/index"
	"github.com/colbert-go/colbert/search"
)

// OpenSearcher maps the index in dir and checks that it was built by this
// model: a different vector dimension (search.ErrDimMismatch) or encoder
// (search.ErrCheckpointMismatch: see Model.Matches) is refused with an error
// naming both sides. An index without a recorded checkpoint is accepted when the
// dimension matches. The caller closes the index after the searcher's last use.
func (m *Model) OpenSearcher(dir string, opt index.OpenOptions) (*search.Searcher, *index.Index, error) {
	ix, err := index.Open(dir, opt)
	if err != nil {
		return nil, nil, err
	}
	mf := ix.Manifest()
	switch {
	case ix.Dim() != m.Dim():
		err = fmt.Errorf("%w: index %s holds %d-dimensional vectors (checkpoint %s), the checkpoint %s encodes %d dimensions",
			search.ErrDimMismatch, dir, ix.Dim(), short(mf.Checkpoint), m.Dir, m.Dim())
	case mf.Checkpoint != "" && !m.Matches(mf.Checkpoint):
		err = fmt.Errorf("%w: index %s was built with encoder %s, but %s with tokenizer %s is %s (weights %s): the weights, config or tokenizer differ",
			search.ErrCheckpointMismatch, dir, short(mf.Checkpoint), m.Dir, m.Tok.Tokenizer().Source(), short(m.Key), short(m.Hash))
	}
	if err != nil {
		ix.Close()
		return nil, nil, err
	}
	s, err := search.NewSearcher(ix)
	if err != nil {
		ix.Close()
		return nil, nil, err
	}
	return s, ix, nil
}

// short abbreviates a hash for messages.
func short(h string) string {
	if h == "" {
		return "(none recorded)"
	}
	if len(h) > 16 {
		return h[:16] + "…"
	}
	return h
}
