package ort

import (
	"fmt"
	"slices"

	ortgo "github.com/yalue/onnxruntime_go"
)

// Encoder runs a ColBERT encoder exported to ONNX (model/onnx, kind
// colbert): inputs input_ids, attention_mask[, token_type_ids]; output
// vectors [batch, sequence, dim], normalised per token. It lets indexing
// use ORT instead of the Go forward pass.
type Encoder struct {
	sess      *Session
	withTypes bool
	dim       int
}

// NewEncoder opens and checks an encoder model.
func (r *Runtime) NewEncoder(modelPath string, opts Options) (*Encoder, error) {
	in, out, err := r.Inspect(modelPath)
	if err != nil {
		return nil, err
	}
	i := slices.IndexFunc(out, func(x ortgo.InputOutputInfo) bool { return x.Name == "vectors" })
	if i < 0 {
		return nil, fmt.Errorf("ort: %s has no output \"vectors\" (outputs: %s); export a ColBERT checkpoint with `colbert export onnx --kind colbert`", modelPath, describe(out))
	}
	d := out[i].Dimensions
	if len(d) != 3 || d[2] <= 0 {
		return nil, fmt.Errorf("ort: %s output \"vectors\" has shape %v, want [batch, sequence, dim]", modelPath, d)
	}
	names := []string{"input_ids", "attention_mask"}
	withTypes := slices.ContainsFunc(in, func(x ortgo.InputOutputInfo) bool { return x.Name == "token_type_ids" })
	if withTypes {
		names = append(names, "token_type_ids")
	}
	s, err := r.NewSession(modelPath, names, []string{"vectors"}, opts)
	if err != nil {
		return nil, err
	}
	return &Encoder{sess: s, withTypes: withTypes, dim: int(d[2])}, nil
}

// Dim is the vector size.
func (e *Encoder) Dim() int { return e.dim }

// Encode returns every position's vector, [N, Len, Dim] row-major; the
// caller drops padding and skiplisted positions as ColBERT does.
func (e *Encoder) Encode(b Batch) ([]float32, error) {
	n := b.N * b.Len
	if len(b.IDs) != n || len(b.AttentionMask) != n || (b.TokenTypeIDs != nil && len(b.TokenTypeIDs) != n) {
		return nil, fmt.Errorf("ort: batch %d×%d has %d ids, %d mask, %d token types", b.N, b.Len, len(b.IDs), len(b.AttentionMask), len(b.TokenTypeIDs))
	}
	feeds := [][]int64{widen(b.IDs), widen(b.AttentionMask)}
	if e.withTypes {
		if b.TokenTypeIDs == nil {
			feeds = append(feeds, make([]int64, n))
		} else {
			feeds = append(feeds, widen(b.TokenTypeIDs))
		}
	}
	out, err := e.sess.Run(b.N, b.Len, feeds)
	if err != nil {
		return nil, err
	}
	if len(out[0].Data) != n*e.dim {
		return nil, fmt.Errorf("ort: %s returned vectors of shape %v for a %d×%d batch", e.sess.Path(), out[0].Shape, b.N, b.Len)
	}
	return out[0].Data, nil
}

// Close frees the session.
func (e *Encoder) Close() error { return e.sess.Destroy() }
