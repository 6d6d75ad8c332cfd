#!/usr/bin/python3
"""PyTorch peer of colbert-go's training step: forward+backward of ColBERT's
KL distillation loss with a plain-torch BERT (no transformers), optionally
with ColBERT's in-batch negatives and the optimizer step (gradient clipping
and AdamW).

Defaults are model/graph's BenchmarkTrainStep: small config (vocab 30522,
2 layers, hidden 128, 4 heads, intermediate 512, dim 128), 8 queries x 32
tokens (20 attended, the rest [MASK] padding, not attended but scored),
nway 4 -> 32 documents x 180 tokens, KL loss only, no optimizer step.

The flags give the demo's KL student (experiments/benchtrain, which
`make bench-train` runs next to this script):
  --batch 16 --nway 8 --query-len 32 --doc-len 128 --vocab 8000
  --in-batch-negatives --adamw
(`make bench-train` adds --doc-len-min 48.)

Document lengths: with --doc-len-min below --doc-len, document row i has
doc_lens(...)[i] real tokens (SplitMix64 from --doc-len-seed, uniform on
[--doc-len-min, --doc-len]: the list benchtrain draws for the same flags)
and the batch is padded to its longest document, as a Hugging Face
tokenizer with padding=True pads: padding has attention mask 0 and is
left out of MaxSim (its scores are set to -9999 before the max, as
ColBERT's colbert_score_reduce does with the document mask). The JSON
reports the lengths and their mean.

In-batch negatives are ColBERT's: every query is scored against every
document of the batch (one MaxSim over B x B*nway pairs; the KL scores are
the query's own nway of them) and a cross-entropy picks its positive among
all documents but its own negatives. --adamw adds clip_grad_norm_(2.0) and
torch.optim.AdamW(lr 1e-3, betas (0.9, 0.999), eps 1e-8, weight decay 0.01),
the trainer's defaults.

BLAS: Debian's torch 1.13 is built with BLAS_INFO=generic (see
torch.__config__.show()): float32 matmuls (nn.Linear's addmm, bmm, einsum)
call sgemm from libblas.so.3, which Debian's alternatives point to
OpenBLAS 0.3.21 (openblas-pthread) when libopenblas0 is installed: the same
library and kernels as the Go side. oneDNN (MKL-DNN 2.6.3) is built in but
torch 1.13 uses it for float32 matmuls only with bf16/explicit mkldnn
tensors, not here. --threads sets torch.set_num_threads and, unless already
set, OPENBLAS_NUM_THREADS (it must be set before torch loads OpenBLAS).
The JSON reports the OpenBLAS core and thread count the process actually
has (read with ctypes from the loaded libopenblas).

Run with Debian's torch 1.13:  /usr/bin/python3 experiments/peers/train_step_bench.py --threads 2
Prints one JSON line: seconds per step (mean and median wall, process CPU), tokens/s.
"""
import argparse
import ctypes
import json
import math
import os
import statistics
import time

ap = argparse.ArgumentParser()
ap.add_argument("--threads", type=int, default=2)
ap.add_argument("--steps", type=int, default=5, help="timed steps")
ap.add_argument("--warmup", type=int, default=1, help="untimed steps first")
ap.add_argument("--batch", type=int, default=8, help="queries per step")
ap.add_argument("--nway", type=int, default=4, help="documents per query")
ap.add_argument("--query-len", type=int, default=32, help="query tokens ([MASK]-padded)")
ap.add_argument("--query-attended", type=int, default=20, help="attended query tokens; the rest is [MASK] padding")
ap.add_argument("--doc-len", type=int, default=180, help="document tokens (the longest document's)")
ap.add_argument("--doc-len-min", type=int, default=None,
                help="shortest document's tokens (default: --doc-len, every document full); see doc_lens()")
ap.add_argument("--doc-len-seed", type=int, default=1, help="seed of the document lengths (benchtrain -doc-len-seed)")
ap.add_argument("--vocab", type=int, default=30522)
ap.add_argument("--in-batch-negatives", action="store_true", help="add ColBERT's in-batch CE loss")
ap.add_argument("--adamw", action="store_true", help="clip gradients and take an AdamW step")
ap.add_argument("--seed", type=int, default=1)
a = ap.parse_args()
if a.doc_len_min is None:
    a.doc_len_min = a.doc_len
if not 3 <= a.doc_len_min <= a.doc_len:
    ap.error(f"need 3 <= --doc-len-min <= --doc-len ({a.doc_len_min}, {a.doc_len})")

M64 = (1 << 64) - 1


def doc_lens(n, lo, hi, seed):
    """Real tokens of each of n document rows: experiments/benchtrain's
    Shape.DocLens, len_i = lo + splitmix64_i(seed) mod (hi - lo + 1)
    (SplitMix64 from state seed; uniform on [lo, hi]), the same list as the
    Go side for the same arguments."""
    state, out = seed & M64, []
    for _ in range(n):
        state = (state + 0x9E3779B97F4A7C15) & M64
        z = state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & M64
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & M64
        out.append(lo + (z ^ (z >> 31)) % (hi - lo + 1))
    return out


os.environ.setdefault("OPENBLAS_NUM_THREADS", str(a.threads))

import torch  # noqa: E402  (after OPENBLAS_NUM_THREADS)
import torch.nn.functional as F  # noqa: E402


class Layer(torch.nn.Module):
    def __init__(self, h, heads, inter, eps):
        super().__init__()
        self.heads = heads
        self.q = torch.nn.Linear(h, h)
        self.k = torch.nn.Linear(h, h)
        self.v = torch.nn.Linear(h, h)
        self.o = torch.nn.Linear(h, h)
        self.ln1 = torch.nn.LayerNorm(h, eps=eps)
        self.i = torch.nn.Linear(h, inter)
        self.out = torch.nn.Linear(inter, h)
        self.ln2 = torch.nn.LayerNorm(h, eps=eps)

    def forward(self, x, add_mask):
        b, l, h = x.shape
        dh = h // self.heads

        def split(t):
            return t.view(b, l, self.heads, dh).transpose(1, 2)

        q, k, v = split(self.q(x)), split(self.k(x)), split(self.v(x))
        s = q @ k.transpose(-1, -2) / math.sqrt(dh) + add_mask
        ctx = (s.softmax(-1) @ v).transpose(1, 2).reshape(b, l, h)
        x = self.ln1(self.o(ctx) + x)
        return self.ln2(self.out(F.gelu(self.i(x))) + x)


class ColBERT(torch.nn.Module):
    def __init__(self, vocab=30522, h=128, layers=2, heads=4, inter=512, dim=128, eps=1e-12):
        super().__init__()
        self.word = torch.nn.Embedding(vocab, h)
        self.pos = torch.nn.Embedding(512, h)
        self.typ = torch.nn.Embedding(2, h)
        self.ln = torch.nn.LayerNorm(h, eps=eps)
        self.layers = torch.nn.ModuleList([Layer(h, heads, inter, eps) for _ in range(layers)])
        self.linear = torch.nn.Linear(h, dim, bias=False)

    def forward(self, ids, mask):
        l = ids.shape[1]
        x = self.ln(self.word(ids) + self.pos(torch.arange(l))[None] + self.typ(torch.zeros_like(ids)))
        add = (1.0 - mask[:, None, None, :].float()) * torch.finfo(torch.float32).min
        for layer in self.layers:
            x = layer(x, add)
        return F.normalize(self.linear(x), p=2, dim=2)


def openblas_info():
    """Core and thread count of the OpenBLAS this process has loaded, or None."""
    with open("/proc/self/maps") as f:
        libs = sorted({ln.split()[-1] for ln in f if "openblas" in ln and ".so" in ln})
    for path in libs:
        try:
            lib = ctypes.CDLL(path)
            lib.openblas_get_corename.restype = ctypes.c_char_p
            return {"blas_lib": path, "blas_core": lib.openblas_get_corename().decode(),
                    "blas_threads": lib.openblas_get_num_threads()}
        except (OSError, AttributeError):
            continue
    return {"blas_lib": None, "blas_core": None, "blas_threads": None}


def main():
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    B, nway, lq = a.batch, a.nway, a.query_len
    lens = doc_lens(B * nway, a.doc_len_min, a.doc_len, a.doc_len_seed)
    ld = max(lens)  # padded to the batch's longest document (padding=True)
    m = ColBERT(vocab=a.vocab)
    lo = min(1000, a.vocab - 1)
    qids = torch.randint(lo, a.vocab, (B, lq))
    qmask = torch.ones(B, lq, dtype=torch.long)
    qmask[:, a.query_attended:] = 0
    dids = torch.randint(lo, a.vocab, (B * nway, ld))
    dmask = (torch.arange(ld)[None, :] < torch.tensor(lens)[:, None]).long()  # 1 on real tokens
    dids = dids * dmask  # [PAD] (id 0) after each document's tokens
    # Padding is left out of MaxSim (None: no padding, nothing to mask).
    dpad = (dmask == 0) if ld * B * nway > sum(lens) else None
    teacher = torch.randn(B, nway)
    kl = torch.nn.KLDivLoss(reduction="batchmean", log_target=True)
    opt = torch.optim.AdamW(m.parameters(), lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.01) if a.adamw else None
    if a.in_batch_negatives:
        # Query i's candidates: all documents but its own negatives; its
        # positive (document nway*i) is the label.
        own = torch.zeros(B, B * nway, dtype=torch.bool)
        for i in range(B):
            own[i, nway * i + 1:nway * (i + 1)] = True
        ib_labels = torch.arange(B) * nway

    def step():
        m.zero_grad(set_to_none=True)
        Q = m(qids, qmask)  # [B, lq, dim]
        D = m(dids, dmask)  # [B*nway, ld, dim]
        if a.in_batch_negatives:
            # One MaxSim over every (query, document) pair of the batch.
            sim = torch.einsum("bqd,ntd->bnqt", Q, D)  # [B, B*nway, lq, ld]
            if dpad is not None:
                sim = sim.masked_fill(dpad[None, :, None, :], -9999)
            allsc = sim.max(-1).values.sum(-1)  # [B, B*nway]
            scores = allsc.view(B, B, nway)[torch.arange(B), torch.arange(B)]  # [B, nway]
        else:
            sim = torch.einsum("bqd,bntd->bnqt", Q, D.view(B, nway, ld, -1))  # [B, nway, lq, ld]
            if dpad is not None:
                sim = sim.masked_fill(dpad.view(B, nway, 1, ld), -9999)
            scores = sim.max(-1).values.sum(-1)
        loss = kl(F.log_softmax(scores, -1), F.log_softmax(teacher, -1))
        if a.in_batch_negatives:
            loss = loss + F.cross_entropy(allsc.masked_fill(own, float("-inf")), ib_labels)
        loss.backward()
        if opt is not None:
            torch.nn.utils.clip_grad_norm_(m.parameters(), 2.0)
            opt.step()
        return loss.item()

    for _ in range(a.warmup):
        step()
    times = []
    c0 = time.process_time()
    for _ in range(a.steps):
        t0 = time.perf_counter()
        loss = step()
        times.append(time.perf_counter() - t0)
    wall = sum(times) / a.steps
    cpu = (time.process_time() - c0) / a.steps
    res = {"peer": "torch " + torch.__version__, "threads": a.threads, "s_per_step": round(wall, 4),
           "median_s": round(statistics.median(times), 4), "min_s": round(min(times), 4),
           "times_s": [round(t, 4) for t in times], "cpu_s_per_step": round(cpu, 4),
           "tokens_per_s": round((sum(lens) + B * lq) / wall, 1), "loss": round(loss, 4),
           "doc_len_mean": sum(lens) / len(lens), "doc_lens": lens,
           "shape": {"batch": B, "nway": nway, "query_len": lq, "query_attended": a.query_attended, "doc_len": a.doc_len,
                     "doc_len_min": a.doc_len_min, "doc_len_seed": a.doc_len_seed, "padded_doc_len": ld,
                     "vocab": a.vocab, "in_batch_negatives": a.in_batch_negatives, "adamw": a.adamw}}
    res.update(openblas_info())
    print(json.dumps(res))


if __name__ == "__main__":
    main()
