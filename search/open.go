package search

import (
	"errors"
	"fmt"

	"github.com/colbert-go/colbert/codec/index"
)

// ErrCheckpointMismatch is returned when an index was built with another
// model than the one encoding the queries.
var ErrCheckpointMismatch = errors.New("search: index was built with a different checkpoint")

// OpenOptions configures Open.
type OpenOptions struct {
	// Checkpoint is the hash of the query encoder's checkpoint; when both it
	// and the index's are set they must be equal.
	Checkpoint string
	// Dim is the query encoder's output dimension; 0 skips the check.
	Dim int
	// SkipVerify skips the checksum pass over the index files.
	SkipVerify bool
}

// Open maps the on-disk index in dir (codec/index) and returns a searcher
// over it. The caller closes the index when done with the searcher.
func Open(dir string, opt OpenOptions) (*Searcher, *index.Index, error) {
	ix, err := index.Open(dir, index.OpenOptions{SkipVerify: opt.SkipVerify})
	if err != nil {
		return nil, nil, fmt.Errorf("search: %w", err)
	}
	m := ix.Manifest()
	if opt.Checkpoint != "" && m.Checkpoint != "" && opt.Checkpoint != m.Checkpoint {
		ix.Close()
		return nil, nil, fmt.Errorf("%w: %s has %q, the encoder is %q", ErrCheckpointMismatch, dir, m.Checkpoint, opt.Checkpoint)
	}
	if opt.Dim != 0 && opt.Dim != ix.Dim() {
		ix.Close()
		return nil, nil, fmt.Errorf("%w: %s has dim %d, the encoder %d", ErrDimMismatch, dir, ix.Dim(), opt.Dim)
	}
	s, err := NewSearcher(ix)
	if err != nil {
		ix.Close()
		return nil, nil, err
	}
	return s, ix, nil
}
