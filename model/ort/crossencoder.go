package ort

import (
	"fmt"
	"slices"

	ortgo "github.com/yalue/onnxruntime_go"
)

// Batch is a padded batch of tokenised (query, passage) pairs, row-major
// [N, Len]; the field names follow data/tokenize.Batch.
type Batch struct {
	N, Len        int
	IDs           []int32
	AttentionMask []int32
	TokenTypeIDs  []int32
}

// CrossEncoder scores pairs with an HF cross-encoder exported to ONNX:
// inputs input_ids, attention_mask and optionally token_type_ids (int64
// [batch, sequence]); output logits [batch, 1] or [batch].
type CrossEncoder struct {
	sess      *Session
	withTypes bool
}

// NewCrossEncoder opens and checks a cross-encoder model.
func (r *Runtime) NewCrossEncoder(modelPath string, opts Options) (*CrossEncoder, error) {
	in, out, err := r.Inspect(modelPath)
	if err != nil {
		return nil, err
	}
	if err := CheckCrossEncoder(in, out); err != nil {
		return nil, fmt.Errorf("ort: %s cannot be used as a cross-encoder: %w", modelPath, err)
	}
	names := []string{"input_ids", "attention_mask"}
	withTypes := slices.ContainsFunc(in, func(x ortgo.InputOutputInfo) bool { return x.Name == "token_type_ids" })
	if withTypes {
		names = append(names, "token_type_ids")
	}
	s, err := r.NewSession(modelPath, names, []string{"logits"}, opts)
	if err != nil {
		return nil, err
	}
	return &CrossEncoder{sess: s, withTypes: withTypes}, nil
}

// CheckCrossEncoder says why a model with these inputs and outputs cannot be
// driven as a cross-encoder, or returns nil.
func CheckCrossEncoder(in, out []ortgo.InputOutputInfo) error {
	need := map[string]bool{"input_ids": true, "attention_mask": true, "token_type_ids": false}
	for _, x := range in {
		if _, known := need[x.Name]; !known {
			return fmt.Errorf("unexpected input %q (want input_ids, attention_mask, optional token_type_ids; model has %s)", x.Name, describe(in))
		}
		if err := checkTensor(x, ortgo.TensorElementDataTypeInt64, 2); err != nil {
			return fmt.Errorf("input %q: %w", x.Name, err)
		}
	}
	for name, required := range need {
		if required && !slices.ContainsFunc(in, func(x ortgo.InputOutputInfo) bool { return x.Name == name }) {
			return fmt.Errorf("missing input %q (model has %s)", name, describe(in))
		}
	}
	i := slices.IndexFunc(out, func(x ortgo.InputOutputInfo) bool { return x.Name == "logits" })
	if i < 0 {
		return fmt.Errorf("no output \"logits\" (model has %s)", describe(out))
	}
	if err := checkTensor(out[i], ortgo.TensorElementDataTypeFloat, -1); err != nil {
		return fmt.Errorf("output \"logits\": %w", err)
	}
	d := out[i].Dimensions
	switch {
	case len(d) == 1:
	case len(d) == 2 && (d[1] == 1 || d[1] < 0):
	default:
		return fmt.Errorf("output \"logits\" has shape %v, want [batch, 1] or [batch] (one relevance logit per pair)", d)
	}
	return nil
}

// Score returns one logit per row of b.
func (c *CrossEncoder) Score(b Batch) ([]float32, error) {
	n := b.N * b.Len
	if len(b.IDs) != n || len(b.AttentionMask) != n || (c.withTypes && b.TokenTypeIDs != nil && len(b.TokenTypeIDs) != n) {
		return nil, fmt.Errorf("ort: batch %d×%d has %d ids, %d mask, %d token types", b.N, b.Len, len(b.IDs), len(b.AttentionMask), len(b.TokenTypeIDs))
	}
	feeds := [][]int64{widen(b.IDs), widen(b.AttentionMask)}
	if c.withTypes {
		if b.TokenTypeIDs == nil {
			feeds = append(feeds, make([]int64, n))
		} else {
			feeds = append(feeds, widen(b.TokenTypeIDs))
		}
	}
	out, err := c.sess.Run(b.N, b.Len, feeds)
	if err != nil {
		return nil, err
	}
	logits := out[0]
	if len(logits.Data) != b.N {
		return nil, fmt.Errorf("ort: %s returned logits of shape %v for a batch of %d; want one logit per pair", c.sess.Path(), logits.Shape, b.N)
	}
	return logits.Data, nil
}

// UsesTokenTypes reports whether the model takes token_type_ids.
func (c *CrossEncoder) UsesTokenTypes() bool { return c.withTypes }

// Close frees the session.
func (c *CrossEncoder) Close() error { return c.sess.Destroy() }

func widen(x []int32) []int64 {
	y := make([]int64, len(x))
	for i, v := range x {
		y[i] = int64(v)
	}
	return y
}
