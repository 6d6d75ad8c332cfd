#!/usr/bin/python3
"""PyTorch peer of model/graph's BenchmarkTrainStep: one forward+backward of
ColBERT's KL distillation loss with a plain-torch BERT (no transformers),
same shapes as the Go benchmark: small config (vocab 30522, 2 layers, hidden
128, 4 heads, intermediate 512, dim 128), 8 queries x 32 tokens (20 attended,
the rest [MASK] padding), nway 4 -> 32 documents x 180 tokens.

Run with Debian's torch 1.13:  /usr/bin/python3 experiments/peers/train_step_bench.py --threads 2
Prints one JSON line: seconds per step (wall and process CPU), tokens/s.
"""
import argparse
import json
import math
import time

import torch
import torch.nn.functional as F


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


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--steps", type=int, default=5)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(1)
    B, nway, lq, ld = 8, 4, 32, 180
    m = ColBERT()
    qids = torch.randint(1000, 30000, (B, lq))
    qmask = torch.ones(B, lq, dtype=torch.long)
    qmask[:, 20:] = 0
    dids = torch.randint(1000, 30000, (B * nway, ld))
    dmask = torch.ones(B * nway, ld, dtype=torch.long)
    teacher = torch.randn(B, nway)

    def step():
        m.zero_grad(set_to_none=True)
        Q = m(qids, qmask)                       # [B, lq, dim]
        D = m(dids, dmask).view(B, nway, ld, -1)  # [B, nway, ld, dim]
        scores = torch.einsum("bqd,bntd->bnqt", Q, D).max(-1).values.sum(-1)
        loss = torch.nn.KLDivLoss(reduction="batchmean", log_target=True)(
            F.log_softmax(scores, -1), F.log_softmax(teacher, -1))
        loss.backward()

    step()  # warm-up
    t0, c0 = time.perf_counter(), time.process_time()
    for _ in range(a.steps):
        step()
    wall = (time.perf_counter() - t0) / a.steps
    cpu = (time.process_time() - c0) / a.steps
    print(json.dumps({"peer": "torch " + torch.__version__, "threads": a.threads, "s_per_step": round(wall, 4),
                      "cpu_s_per_step": round(cpu, 4), "tokens_per_s": round((B * nway * ld + B * lq) / wall, 1)}))


if __name__ == "__main__":
    main()
