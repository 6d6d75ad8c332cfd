#!/usr/bin/python3
"""Writes the committed PyTorch parity fixture under model/testdata/.

A tiny random BERT + ColBERT head (vocab 120, hidden 32, 2 layers, 2 heads,
intermediate 64, 64 positions, dim 16, exact erf GELU, LayerNorm eps 1e-12)
with a fixed seed, saved in HF layout (config.json, model.safetensors with
"bert." names + linear.weight, artifact.metadata) in model/testdata/tiny-colbert/,
and its outputs in model/testdata/tiny-reference.safetensors: ColBERT-layout
query/doc token ids and masks, hidden states, normalised vectors, the MaxSim
matrix, and a KL distillation loss (ColBERT's KLDiv batchmean, log_target,
log_softmax of student and teacher) with its gradients w.r.t. linear.weight,
layer 0's query weight and the embeddings LayerNorm weight (eval mode).

Biases and LayerNorm parameters are random (not 0/1) so a swapped or ignored
parameter changes the outputs. The reference is computed in float64 from the
float32 weights, so only the Go side's rounding is measured.

The Go tests model/encode/fixture_test.go and model/graph/fixture_test.go
read it; they need no ../shared assets. Re-run by hand (not by make test):
  /usr/bin/python3 experiments/peers/make_parity_fixture.py [--out model/testdata]
"""
import argparse
import json
import os
import struct
import sys

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from encode_bench import ColBERT  # noqa: E402  plain-torch HF BERT + ColBERT head

SEED = 20261123
VOCAB, HIDDEN, LAYERS, HEADS, INTER, MAXPOS, DIM = 120, 32, 2, 2, 64, 64, 16
QLEN, DLEN = 8, 12
PAD, QMARK, DMARK, CLS, SEP, MASK = 0, 1, 2, 101, 102, 103  # BERT uncased ids
PUNCT = (5, 6)  # stand-ins for the punctuation skiplist in doc vector masks

# Our module's parameter names -> HF BertModel names.
HF_LAYER = {"q": "attention.self.query", "k": "attention.self.key", "v": "attention.self.value",
            "o": "attention.output.dense", "ln1": "attention.output.LayerNorm",
            "i": "intermediate.dense", "out": "output.dense", "ln2": "output.LayerNorm"}


def hf_names(model):
    out = {"word.weight": "bert.embeddings.word_embeddings.weight",
           "pos.weight": "bert.embeddings.position_embeddings.weight",
           "typ.weight": "bert.embeddings.token_type_embeddings.weight",
           "ln.weight": "bert.embeddings.LayerNorm.weight",
           "ln.bias": "bert.embeddings.LayerNorm.bias",
           "linear.weight": "linear.weight"}
    for l in range(len(model.layers)):
        for ours, hf in HF_LAYER.items():
            for w in ("weight", "bias"):
                out[f"layers.{l}.{ours}.{w}"] = f"bert.encoder.layer.{l}.{hf}.{w}"
    return out


def write_safetensors(path, tensors, metadata):
    """8-byte little-endian header length, JSON header, raw little-endian data."""
    hdr, blobs, off = {"__metadata__": metadata}, [], 0
    for name in sorted(tensors):
        t = tensors[name].contiguous()
        if t.dtype == torch.float32:
            dt = "F32"
        elif t.dtype == torch.int32:
            dt = "I32"
        else:
            raise SystemExit(f"{name}: unsupported dtype {t.dtype}")
        b = t.numpy().astype(t.numpy().dtype.newbyteorder("<")).tobytes()
        hdr[name] = {"dtype": dt, "shape": list(t.shape), "data_offsets": [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    h = json.dumps(hdr, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)
    os.replace(tmp, path)


def build(gen):
    m = ColBERT(vocab=VOCAB, hidden=HIDDEN, layers=LAYERS, heads=HEADS, inter=INTER,
                maxpos=MAXPOS, dim=DIM, eps=1e-12)
    with torch.no_grad():
        for name, p in m.named_parameters():
            if name.endswith("ln.weight") or ".ln1.weight" in name or ".ln2.weight" in name:
                p.copy_(1 + 0.2 * torch.randn(p.shape, generator=gen))
            elif p.dim() == 1:  # biases, LayerNorm shifts
                p.copy_(0.2 * torch.randn(p.shape, generator=gen))
            elif name in ("word.weight", "pos.weight", "typ.weight"):
                p.copy_(0.5 * torch.randn(p.shape, generator=gen))
            else:
                p.copy_(torch.randn(p.shape, generator=gen) / p.shape[1] ** 0.5)
    return m.eval()


def token(gen):
    """A random ordinary token id (no special ids, no punctuation stand-ins)."""
    while True:
        t = int(torch.randint(3, VOCAB, (1,), generator=gen))
        if t not in (CLS, SEP, MASK) and t not in PUNCT:
            return t


def queries(gen, lens):
    ids = torch.full((len(lens), QLEN), MASK, dtype=torch.int32)
    mask = torch.zeros((len(lens), QLEN), dtype=torch.int32)
    for i, n in enumerate(lens):  # [CLS] [Q] n tokens [SEP] then [MASK] with mask 0
        row = [CLS, QMARK] + [token(gen) for _ in range(n)] + [SEP]
        ids[i, :len(row)] = torch.tensor(row)
        mask[i, :len(row)] = 1
    return ids, mask


def docs(gen, lens):
    ids = torch.full((len(lens), DLEN), PAD, dtype=torch.int32)
    mask = torch.zeros((len(lens), DLEN), dtype=torch.int32)
    for i, n in enumerate(lens):  # [CLS] [D] n tokens (some punctuation) [SEP] then [PAD]
        toks = [token(gen) for _ in range(n)]
        if i % 2 == 0 and n > 1:
            toks[1] = PUNCT[i // 2 % 2]
        row = [CLS, DMARK] + toks + [SEP]
        ids[i, :len(row)] = torch.tensor(row)
        mask[i, :len(row)] = 1
    vmask = mask.clone()
    for p in PUNCT:
        vmask[ids == p] = 0
    return ids, mask, vmask


def maxsim(q, d, dvmask):
    """q [Q,Lq,dim], d [D,Ld,dim] -> [Q,D]: sum over all query vectors of the
    best kept doc vector (ColBERT's colbert_score with masked doc positions)."""
    s = torch.einsum("qik,djk->qdij", q, d)
    s = s.masked_fill(dvmask[None, :, None, :] == 0, float("-inf"))
    return s.max(-1).values.sum(-1)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                                  "..", "..", "model", "testdata"))
    a = ap.parse_args()
    torch.manual_seed(SEED)
    gen = torch.Generator().manual_seed(SEED)
    m = build(gen)
    names = hf_names(m)
    weights = {names[k]: v.detach().clone() for k, v in m.named_parameters()}

    qids, qmask = queries(gen, [1, 2, 3, 5])  # the last query has no [MASK]
    dids, dmask, dvmask = docs(gen, [1, 3, 4, 6, 7, 9])  # the last doc fills all 12
    cand = torch.tensor([[0, 3, 5], [1, 0, 2], [4, 5, 1], [2, 4, 3]], dtype=torch.int32)
    teacher = (3 * torch.randn(4, 3, generator=gen)).float()

    md = m.double()
    qh = md.hidden(qids.long(), qmask)
    dh = md.hidden(dids.long(), dmask)
    qv = F.normalize(md.linear(qh), p=2, dim=2)
    dv = F.normalize(md.linear(dh), p=2, dim=2) * dvmask[..., None]  # ColBERT zeroes skipped vectors
    ms = maxsim(qv, dv, dvmask)
    student = torch.stack([ms[i, cand[i].long()] for i in range(cand.shape[0])])
    loss = torch.nn.KLDivLoss(reduction="batchmean", log_target=True)(
        F.log_softmax(student, dim=-1), F.log_softmax(teacher.double(), dim=-1))
    loss.backward()

    ref = {
        "query_input_ids": qids, "query_attention_mask": qmask,
        "doc_input_ids": dids, "doc_attention_mask": dmask, "doc_vector_mask": dvmask,
        "query_hidden": qh, "doc_hidden": dh, "query_vectors": qv, "doc_vectors": dv,
        "maxsim_scores": ms, "kl_candidates": cand, "kl_teacher_scores": teacher,
        "kl_student_scores": student, "kl_loss": loss.reshape(1),
        "kl_grad_linear_weight": md.linear.weight.grad,
        "kl_grad_layer0_query_weight": md.layers[0].q.weight.grad,
        "kl_grad_embeddings_layernorm_weight": md.ln.weight.grad,
    }
    ref = {k: (v.detach().float() if v.is_floating_point() else v) for k, v in ref.items()}

    ck = os.path.join(a.out, "tiny-colbert")
    os.makedirs(ck, exist_ok=True)
    meta = {"torch": torch.__version__, "seed": str(SEED), "made_with": "experiments/peers/make_parity_fixture.py"}
    write_safetensors(os.path.join(ck, "model.safetensors"), weights, {"format": "pt", **meta})
    write_safetensors(os.path.join(a.out, "tiny-reference.safetensors"), ref, meta)
    cfg = {"architectures": ["HF_ColBERT"], "model_type": "bert", "vocab_size": VOCAB,
           "hidden_size": HIDDEN, "num_hidden_layers": LAYERS, "num_attention_heads": HEADS,
           "intermediate_size": INTER, "hidden_act": "gelu", "hidden_dropout_prob": 0.1,
           "attention_probs_dropout_prob": 0.1, "max_position_embeddings": MAXPOS,
           "type_vocab_size": 2, "initializer_range": 0.02, "layer_norm_eps": 1e-12,
           "pad_token_id": PAD, "torch_dtype": "float32"}
    art = {"query_token_id": "[unused0]", "doc_token_id": "[unused1]", "query_token": "[Q]",
           "doc_token": "[D]", "query_maxlen": QLEN, "doc_maxlen": DLEN, "dim": DIM,
           "similarity": "cosine", "mask_punctuation": True, "attend_to_mask_tokens": False,
           "interaction": "colbert", "checkpoint": "tiny-colbert (random, seed %d)" % SEED}
    for name, obj in (("config.json", cfg), ("artifact.metadata", art)):
        with open(os.path.join(ck, name), "w") as f:
            json.dump(obj, f, indent=2)
            f.write("\n")
    print(json.dumps({"loss": float(loss), "torch": torch.__version__, "seed": SEED}))


if __name__ == "__main__":
    main()
