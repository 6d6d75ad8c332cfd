package demo

import (
	"context"
	"fmt"

	"github.com/colbert-go/colbert/experiments/evaluate"
	"github.com/colbert-go/colbert/experiments/stage"
)

// otherSlugs are the rows of the seed's other models (Config.OtherModels).
var otherSlugs = []string{"splade", "mv-dpr", "poly-encoder", "poly-rerank", "splade-colbert"}

// otherModelStages evaluate the seed's other models, trained as students
// (studentConfigs), through experiments/evaluate as `colbert evaluate`
// does: SPLADE on its inverted index (exact top k by dynamic pruning),
// MV-DPR's k vectors per passage in the 2-bit residual index with PLAID,
// the poly-encoder exhaustively over its stored fp32 candidate vectors and
// as the seed uses it, reranking BM25's top RerankDepth from them; and
// SPLADE fused with the ColBERTv2 student.
func otherModelStages(p paths, opt Options, cfg Config, students []student, kStudent map[string]string, kBM25, kIndex string) []stage.Stage {
	ck := map[string]string{}
	for _, s := range students {
		ck[s.slug] = finalCheckpoint(s.cfg)
	}
	row := func(slug, system string, o evaluate.Options) func(context.Context) error {
		return func(ctx context.Context) error {
			o.Name = system
			return evaluatedRow(ctx, p, opt, o, slug, "")
		}
	}
	polyIndex := p.j("index-poly")
	return []stage.Stage{
		{Name: "splade", Key: keyOf(kStudent["splade"], cfg.K), Outputs: []string{p.row("splade")},
			Run: row("splade", "SPLADE (MLM head on the KL student's encoder, KL + FLOPS), inverted index, exact pruned top k",
				evaluate.Options{Checkpoint: ck["splade"], IndexDir: p.j("index-splade")})},
		{Name: "mv-dpr", Key: keyOf(kStudent["mv-dpr"], cfg.NBits, cfg.IndexSeed, cfg.K), Outputs: []string{p.row("mv-dpr")},
			Run: func(ctx context.Context) error {
				return plaidRow(ctx, p, opt, "mv-dpr", fmt.Sprintf("multi-vector DPR (%d vectors per text), 2-bit residual, PLAID", cfg.MVDPR.MVK), ck["mv-dpr"], "index-mv-dpr")
			}},
		{Name: "poly-encoder", Key: keyOf(kStudent["poly-encoder"], cfg.K), Outputs: []string{p.row("poly-encoder")},
			Run: row("poly-encoder", fmt.Sprintf("poly-encoder (%d codes), exhaustive over stored fp32 passage vectors", cfg.PolyEncoder.PolyM),
				evaluate.Options{Checkpoint: ck["poly-encoder"], Codec: evaluate.CodecFP32, Search: evaluate.SearchExhaustive, IndexDir: polyIndex})},
		{Name: "poly-rerank", Key: keyOf(kStudent["poly-encoder"], kBM25, cfg.RerankDepth), Outputs: []string{p.row("poly-rerank")},
			Run: row("poly-rerank", fmt.Sprintf("poly-encoder reranking BM25 top %d (stored vectors)", cfg.RerankDepth),
				evaluate.Options{Checkpoint: ck["poly-encoder"], Codec: evaluate.CodecFP32, Search: evaluate.SearchRerankBM25, RerankDepth: cfg.RerankDepth, IndexDir: polyIndex})},
		{Name: "splade-colbert", Key: keyOf(kStudent["splade"], kIndex, cfg.K), Outputs: []string{p.row("splade-colbert")},
			Run: func(context.Context) error {
				return fusionRow(p, "splade", "colbertv2", 0.5, "splade-colbert", "fusion 0.5 SPLADE + 0.5 ColBERTv2 (min-max)", "SPLADE and PLAID runs fused per query")
			}},
	}
}
