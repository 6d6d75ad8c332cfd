// Package model defines the configuration and parameter types shared by the
// BERT encoder, the ColBERT student, the cross-encoder teacher and the
// single-vector baseline, and loads and saves them in Hugging Face layout.
//
// Parameter names are the HF BertModel names without the "bert." prefix
// ("embeddings.word_embeddings.weight", "encoder.layer.0.attention.self.query.weight", …);
// heads keep their own names: "linear.weight" (ColBERT projection, [dim, hidden]),
// "classifier.weight"/"classifier.bias" (cross-encoder), "pooler.dense.weight"/"pooler.dense.bias".
package model

// BertConfig mirrors the fields of an HF BERT config.json that the
// architecture needs. Unknown fields in config.json are ignored on load.
type BertConfig struct {
	Architectures         []string `json:"architectures,omitempty"`
	ModelType             string   `json:"model_type,omitempty"`
	VocabSize             int      `json:"vocab_size"`
	HiddenSize            int      `json:"hidden_size"`
	NumHiddenLayers       int      `json:"num_hidden_layers"`
	NumAttentionHeads     int      `json:"num_attention_heads"`
	IntermediateSize      int      `json:"intermediate_size"`
	HiddenAct             string   `json:"hidden_act"`
	MaxPositionEmbeddings int      `json:"max_position_embeddings"`
	TypeVocabSize         int      `json:"type_vocab_size"`
	LayerNormEps          float64  `json:"layer_norm_eps"`
	InitializerRange      float64  `json:"initializer_range"`
	PadTokenID            int      `json:"pad_token_id"`
	HiddenDropoutProb     float64  `json:"hidden_dropout_prob"`
	AttentionDropoutProb  float64  `json:"attention_probs_dropout_prob"`
}

// ColBERTConfig holds the late-interaction settings saved next to a student
// checkpoint (colbert_config.json, and read from ColBERT's artifact.metadata).
type ColBERTConfig struct {
	Dim                int    `json:"dim"`
	QueryMaxLen        int    `json:"query_maxlen"`
	DocMaxLen          int    `json:"doc_maxlen"`
	QueryToken         string `json:"query_token_id"` // "[unused0]" in colbertv2.0
	DocToken           string `json:"doc_token_id"`   // "[unused1]"
	AttendToMaskTokens bool   `json:"attend_to_mask_tokens"`
	MaskPunctuation    bool   `json:"mask_punctuation"`
	Similarity         string `json:"similarity"` // "cosine" (dot of normalised vectors)
	// PolyM is a poly-encoder's number of context codes (poly.codes rows).
	PolyM int `json:"poly_m,omitempty"`
	// MVK is a multi-vector DPR model's number of vectors per text
	// (mv_dpr.projection.weight stacks MVK projections of Dim rows).
	MVK int `json:"mv_k,omitempty"`
}

// DefaultColBERTConfig is colbertv2.0's configuration.
func DefaultColBERTConfig() ColBERTConfig {
	return ColBERTConfig{
		Dim: 128, QueryMaxLen: 32, DocMaxLen: 180,
		QueryToken: "[unused0]", DocToken: "[unused1]",
		AttendToMaskTokens: false, MaskPunctuation: true, Similarity: "cosine",
	}
}

// Tensor is a dense row-major float32 array. Checkpoints stored as F16 or
// BF16 are widened to float32 on load.
type Tensor struct {
	Shape []int
	Data  []float32
}

// Len is the number of elements implied by Shape.
func (t *Tensor) Len() int {
	n := 1
	for _, d := range t.Shape {
		n *= d
	}
	return n
}

// Params maps canonical parameter names (see package doc) to tensors.
type Params map[string]*Tensor
