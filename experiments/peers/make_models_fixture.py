#!/usr/bin/python3
"""Writes the committed PyTorch parity fixture of the seed's other models.

SPLADE, the poly-encoder and multi-vector DPR, written here from the papers'
definitions in plain PyTorch on the tiny random BERT of
model/testdata/tiny-colbert (make_parity_fixture.py), each with random head
tensors drawn from a fixed seed:

- SPLADE (Formal et al.): HF BertForMaskedLM's head (dense → erf GELU →
  LayerNorm → decoder tied to the word embeddings + bias) on every token;
  w = max over the text's attended tokens of log(1 + ReLU(logits)), a vector
  over the vocabulary; score = dot product. FLOPS regulariser (Paria et al.,
  SPLADE v2): sum over the vocabulary of the squared mean weight over the
  batch, for queries and documents separately.
- Poly-encoder (Humeau et al.): m codes attend (softmax over the query's
  attended positions) over the query's token states → m context vectors; a
  passage is its [CLS] state c; score = (Σ_i softmax_i(y_i·c) y_i)·c.
- Multi-vector DPR: k projections (no bias) of the [CLS] state, each
  L2-normalised, for queries and passages alike; score = MaxSim over them.

Each model's scores on the tiny fixture's queries, documents and n-way
candidates, its KL distillation loss (ColBERT's KLDiv batchmean on
log-softmaxes; SPLADE adds λq·FLOPS(q) + λd·FLOPS(d)) and gradients are
computed in float64 from the float32 weights. Outputs:
model/testdata/tiny-{splade,poly,mvdpr}/ (checkpoints in the documented
layouts) and model/testdata/tiny-models-reference.safetensors.

Read by model/graph/models_fixture_test.go and model/encode's parity tests.
Re-run by hand (not by make test):
  /usr/bin/python3 experiments/peers/make_models_fixture.py
"""
import json
import os
import shutil
import sys

import torch
import torch.nn.functional as F

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, here)
from encode_bench import ColBERT, read_safetensors  # noqa: E402
from make_parity_fixture import (VOCAB, HIDDEN, LAYERS, HEADS, INTER, MAXPOS, DIM,  # noqa: E402
                                 hf_names, write_safetensors)

SEED = 20261203
POLY_M, MV_K = 3, 3
LAMBDA_Q, LAMBDA_D = 0.3, 0.1


def mlm_transform(p, h):
    x = F.gelu(h @ p["dense_w"].T + p["dense_b"])
    x = F.layer_norm(x, (x.shape[-1],), p["ln_w"], p["ln_b"], eps=1e-12)
    return x


def splade(m, p, ids, mask):
    h = m.hidden(ids, mask)
    logits = mlm_transform(p, h) @ m.word.weight.T + p["bias"]
    w = torch.log1p(torch.relu(logits)) * mask[..., None]
    return w.max(1).values  # [B, V]


def flops(w):
    return (w.mean(0) ** 2).sum()


def poly_context(m, codes, ids, mask):
    h = m.hidden(ids, mask)  # [B, L, H]
    att = torch.einsum("mh,blh->bml", codes, h)
    att = att.masked_fill(mask[:, None, :] == 0, float("-inf")).softmax(-1)
    return att @ h  # [B, m, H]


def poly_score(y, c):
    """y [B, m, H], c [N, H] -> [B, N]."""
    a = torch.einsum("bmh,nh->bnm", y, c).softmax(-1)
    ctx = torch.einsum("bnm,bmh->bnh", a, y)
    return torch.einsum("bnh,nh->bn", ctx, c)


def mvdpr(m, proj, ids, mask):
    cls = m.hidden(ids, mask)[:, 0, :]
    v = (cls @ proj.T).view(cls.shape[0], MV_K, -1)
    return F.normalize(v, p=2, dim=2)


def maxsim(q, d):
    return torch.einsum("qik,djk->qdij", q, d).max(-1).values.sum(-1)


def kl(student, cand, teacher):
    s = torch.stack([student[i, cand[i].long()] for i in range(cand.shape[0])])
    loss = torch.nn.KLDivLoss(reduction="batchmean", log_target=True)(
        F.log_softmax(s, dim=-1), F.log_softmax(teacher.double(), dim=-1))
    return s, loss


def write_ckpt(out, name, weights, cfg, ours=None):
    d = os.path.join(out, name)
    os.makedirs(d, exist_ok=True)
    write_safetensors(os.path.join(d, "model.safetensors"), weights,
                      {"format": "pt", "made_with": "experiments/peers/make_models_fixture.py"})
    with open(os.path.join(d, "config.json"), "w") as f:
        json.dump(cfg, f, indent=2)
        f.write("\n")
    if ours is not None:
        with open(os.path.join(d, "colbert_config.json"), "w") as f:
            json.dump(ours, f, indent=2)
            f.write("\n")


def main():
    out = os.path.join(here, "..", "..", "model", "testdata")
    torch.manual_seed(SEED)
    gen = torch.Generator().manual_seed(SEED)
    base = read_safetensors(os.path.join(out, "tiny-colbert", "model.safetensors"))
    ref_in = read_safetensors(os.path.join(out, "tiny-reference.safetensors"))
    m = ColBERT(vocab=VOCAB, hidden=HIDDEN, layers=LAYERS, heads=HEADS, inter=INTER, maxpos=MAXPOS, dim=DIM, eps=1e-12)
    m.load_hf(base)
    m = m.double().eval()
    bert_w = {k: v for k, v in base.items() if k != "linear.weight"}

    def rnd(*shape, scale):
        return (scale * torch.randn(*shape, generator=gen)).double().requires_grad_()

    head = {"dense_w": rnd(HIDDEN, HIDDEN, scale=HIDDEN ** -0.5), "dense_b": rnd(HIDDEN, scale=0.2),
            "ln_w": (1 + 0.2 * torch.randn(HIDDEN, generator=gen)).double().requires_grad_(),
            "ln_b": rnd(HIDDEN, scale=0.2), "bias": rnd(VOCAB, scale=0.5)}
    codes = rnd(POLY_M, HIDDEN, scale=1.0)
    proj = rnd(MV_K * DIM, HIDDEN, scale=HIDDEN ** -0.5)

    qids, qmask = ref_in["query_input_ids"].long(), ref_in["query_attention_mask"]
    dids, dmask = ref_in["doc_input_ids"].long(), ref_in["doc_attention_mask"]
    cand, teacher = ref_in["kl_candidates"], ref_in["kl_teacher_scores"]
    ref = {}

    def grads(prefix, named):
        for k, t in named.items():
            ref[prefix + "_grad_" + k] = t.grad.detach().clone()
        m.zero_grad()
        for t in list(head.values()) + [codes, proj]:
            t.grad = None

    # SPLADE
    qs, ds = splade(m, head, qids, qmask), splade(m, head, dids, dmask)
    s, loss = kl(qs @ ds.T, cand, teacher)
    fq, fd = flops(qs), flops(ds)
    total = loss + LAMBDA_Q * fq + LAMBDA_D * fd
    total.backward()
    ref.update({"splade_query": qs, "splade_doc": ds, "splade_scores": s, "splade_kl": loss.reshape(1),
                "splade_flops_q": fq.reshape(1), "splade_flops_d": fd.reshape(1), "splade_loss": total.reshape(1),
                "splade_lambda": torch.tensor([LAMBDA_Q, LAMBDA_D])})
    grads("splade", {"dense_weight": head["dense_w"], "word_embeddings": m.word.weight,
                     "layer0_query_weight": m.layers[0].q.weight, "mlm_bias": head["bias"]})

    # Poly-encoder
    y = poly_context(m, codes, qids, qmask)
    c = m.hidden(dids, dmask)[:, 0, :]
    s, loss = kl(poly_score(y, c), cand, teacher)
    loss.backward()
    ref.update({"poly_query": y, "poly_doc": c, "poly_scores": s, "poly_loss": loss.reshape(1)})
    grads("poly", {"codes": codes, "layer0_query_weight": m.layers[0].q.weight})

    # Multi-vector DPR
    qv, dv = mvdpr(m, proj, qids, qmask), mvdpr(m, proj, dids, dmask)
    s, loss = kl(maxsim(qv, dv), cand, teacher)
    loss.backward()
    ref.update({"mvdpr_query": qv, "mvdpr_doc": dv, "mvdpr_scores": s, "mvdpr_loss": loss.reshape(1)})
    grads("mvdpr", {"projection": proj, "layer0_query_weight": m.layers[0].q.weight})

    ref = {k: v.detach().float().contiguous() for k, v in ref.items()}
    meta = {"torch": torch.__version__, "seed": str(SEED), "made_with": "experiments/peers/make_models_fixture.py"}
    write_safetensors(os.path.join(out, "tiny-models-reference.safetensors"), ref, meta)

    with open(os.path.join(out, "tiny-colbert", "config.json")) as f:
        cfg = json.load(f)
    f32 = lambda t: t.detach().float().contiguous()  # noqa: E731
    spl = dict(bert_w)
    spl.update({"cls.predictions.transform.dense.weight": f32(head["dense_w"]),
                "cls.predictions.transform.dense.bias": f32(head["dense_b"]),
                "cls.predictions.transform.LayerNorm.weight": f32(head["ln_w"]),
                "cls.predictions.transform.LayerNorm.bias": f32(head["ln_b"]),
                "cls.predictions.bias": f32(head["bias"]),
                # the tied copy HF's older files carry; the loader must ignore it
                "cls.predictions.decoder.weight": base["bert.embeddings.word_embeddings.weight"]})
    write_ckpt(out, "tiny-splade", spl, dict(cfg, architectures=["BertForMaskedLM"]))
    ours = {"query_maxlen": 8, "doc_maxlen": 12, "query_token_id": "[unused0]", "doc_token_id": "[unused1]",
            "attend_to_mask_tokens": False, "mask_punctuation": True, "similarity": "cosine"}
    write_ckpt(out, "tiny-poly", dict(bert_w, **{"poly.codes": f32(codes)}), dict(cfg, architectures=["BertModel"]),
               dict(ours, kind="poly-encoder", dim=HIDDEN, poly_m=POLY_M))
    write_ckpt(out, "tiny-mvdpr", dict(bert_w, **{"mv_dpr.projection.weight": f32(proj)}),
               dict(cfg, architectures=["BertModel"]), dict(ours, kind="mv-dpr", dim=DIM, mv_k=MV_K))
    print(json.dumps({"splade_loss": float(total), "poly_loss": float(ref["poly_loss"]),
                      "mvdpr_loss": float(ref["mvdpr_loss"]), "torch": torch.__version__}))


if __name__ == "__main__":
    main()
