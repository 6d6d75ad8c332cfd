#!/usr/bin/python3
"""PyTorch lab for the demo teacher: a BERT cross-encoder trained from scratch.

Why it exists: every Go teacher recipe stayed at chance on dev (README.md,
"The teacher"). PyTorch runs the same architecture about twice as fast on one
thread, so this script explores recipes (negatives, learning rate, input
length, MLM pretraining) that would take hours in `colbert train`; what works
here is then worth porting. It is a study tool, not part of the pipeline.

Same model as `colbert train --model-kind cross-encoder` from scratch: post-LN
BERT (hidden/32 heads, 4×hidden FFN, exact GELU, eps 1e-12), HF init (normal
0.02, zero biases) with position and token-type embeddings scaled by
--pos-scale (the Go config's position_init_scale), [CLS] → pooler (tanh) →
one logit; input `[CLS] q [SEP] title text [SEP]`, token types 0/1; listwise
softmax cross-entropy over n-way lists (positive first), AdamW (decay 0.01),
linear warmup then linear decay, gradient norm clipped at 2. Tokenisation
splits on whitespace and punctuation and looks whole words up in the
tokenizer.json vocabulary. That is not quite the Go input: the benchmark's
vocabulary is trained on the corpus, so query-only words such as "where" or
"does" are WordPiece pieces in Go ("whe ##re") and [UNK] here (never masked).

Optional MLM pretraining (--mlm-steps) on (query, candidate) pairs: BERT's
15 % masking (80 % [MASK], 10 % random, 10 % kept), a tied decoder;
--mlm-query-only --mlm-prob 1 --mlm-mask-only trains it to write the query
from the passage, and --qlm ranks by that query likelihood instead of the
[CLS] logit. --qk-tie STD is mimetic attention init (`qk_tie_init` in Go):
key weights start equal to query weights, so a token attends to its copies.

Examples (demo benchmark written by `colbert demo`; run files from `colbert bm25`):
  /usr/bin/python3 teacher_lab.py --bench demo/benchmark --tokenizer demo/vocab/tokenizer.json \
      --dev-run bm25_dev.trec --cands cand_d100.jsonl --steps 1000
  # negatives that carry no passage-prior shortcut: other train queries' positives from BM25's top 1000
  /usr/bin/python3 teacher_lab.py ... --source-negatives bm25_train1000.trec
  # the session-6 recipe: tied init on random negatives, then hard ones (README.md)
  /usr/bin/python3 teacher_lab.py ... --cands random31.jsonl --qk-tie 0.12 --steps 1000 --save easy.pt
  /usr/bin/python3 teacher_lab.py ... --init easy.pt --source-negatives bm25_train1000.trec --lr 2e-4
"""
import argparse
import json
import math
import random
import re
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


def args():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--bench", required=True, help="benchmark directory (corpus.jsonl, queries.jsonl, qrels/)")
    p.add_argument("--tokenizer", required=True, help="tokenizer.json of `colbert data vocab`")
    p.add_argument("--dev-run", required=True, help="BM25 run over the dev queries (TREC), reranked at depth 100")
    p.add_argument("--cands", help="n-way lists, JSON lines [qid, positive, negatives...]")
    p.add_argument("--source-negatives", metavar="TRAIN_RUN",
                   help="instead of --cands: negatives are other train queries' positives found in this BM25 train run")
    p.add_argument("--steps", type=int, default=1000)
    p.add_argument("--lr", type=float, default=5e-4)
    p.add_argument("--warmup", type=int, default=40)
    p.add_argument("--nway", type=int, default=4)
    p.add_argument("--batch", type=int, default=16)
    p.add_argument("--layers", type=int, default=2)
    p.add_argument("--hidden", type=int, default=128)
    p.add_argument("--maxlen", type=int, default=128, help="pair length in tokens")
    p.add_argument("--pos-scale", type=float, default=0.1)
    p.add_argument("--type-scale", type=float, default=None, help="token-type embeddings' init scale (default: --pos-scale)")
    p.add_argument("--qk-tie", type=float, default=0.0, metavar="STD",
                   help="mimetic init: key weights = query weights, normal(0, STD), so a token attends to copies of itself")
    p.add_argument("--mlm-steps", type=int, default=0)
    p.add_argument("--mlm-lr", type=float, default=1e-3)
    p.add_argument("--mlm-maxlen", type=int, default=0, help="MLM pair length (0: --maxlen)")
    p.add_argument("--mlm-batch", type=int, default=0, help="MLM pairs per step (0: batch × nway)")
    p.add_argument("--mlm-positives", action="store_true", help="MLM on (query, positive) pairs only")
    p.add_argument("--mlm-prob", type=float, default=0.15, help="masking probability")
    p.add_argument("--mlm-query-only", action="store_true", help="mask query tokens only (the passage stays whole)")
    p.add_argument("--mlm-mask-only", action="store_true", help="every chosen token becomes [MASK] (no 10 %% random / 10 %% kept)")
    p.add_argument("--init", help="state dict saved by an earlier run (--save)")
    p.add_argument("--init-colbert", metavar="CHECKPOINT",
                   help="start from a `colbert train` cross-encoder checkpoint directory (model.safetensors)")
    p.add_argument("--eval-only", action="store_true", help="print the dev nDCG@10 of the initial model and stop")
    p.add_argument("--probe", action="store_true",
                   help="with --eval-only: also the MLM loss on masked query tokens next to the positive vs a negative")
    p.add_argument("--qlm", action="store_true",
                   help="score by query likelihood: mask every query word, sum log P(word | passage) from the MLM head")
    p.add_argument("--save", help="write the state dict here after MLM and after training")
    p.add_argument("--eval-every", type=int, default=250)
    p.add_argument("--eval-queries", type=int, default=150)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--threads", type=int, default=1)
    return p.parse_args()


def read_qrels(path):
    out = {}
    with open(path) as f:
        next(f)  # BEIR header
        for n, line in enumerate(f, 2):
            parts = line.rstrip("\n").split("\t")
            if len(parts) != 3:
                raise SystemExit(f"{path}:{n}: want query-id, corpus-id, score")
            out.setdefault(parts[0], {})[parts[1]] = int(parts[2])
    return out


def read_run(path):
    out = {}
    with open(path) as f:
        for n, line in enumerate(f, 1):
            parts = line.split()
            if len(parts) != 6:
                raise SystemExit(f"{path}:{n}: want 6 TREC run columns")
            out.setdefault(parts[0], []).append(parts[2])
    return out


def read_safetensors(path):
    """Tensors of a safetensors file (F32 only, as `colbert train` writes them)."""
    import struct
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        blob = f.read()
    out = {}
    for name, t in header.items():
        if name == "__metadata__":
            continue
        if t["dtype"] != "F32":
            raise SystemExit(f"{path}: {name}: dtype {t['dtype']}, want F32")
        lo, hi = t["data_offsets"]
        out[name] = torch.frombuffer(bytearray(blob[lo:hi]), dtype=torch.float32).reshape(t["shape"])
    return out


def state_from_colbert(tensors, layers):
    """Maps HF BERT names (a `colbert train` cross-encoder) onto CrossEncoder's."""
    m = {"words.weight": "bert.embeddings.word_embeddings.weight",
         "positions.weight": "bert.embeddings.position_embeddings.weight",
         "types.weight": "bert.embeddings.token_type_embeddings.weight",
         "ln.weight": "bert.embeddings.LayerNorm.weight", "ln.bias": "bert.embeddings.LayerNorm.bias",
         "pooler.weight": "bert.pooler.dense.weight", "pooler.bias": "bert.pooler.dense.bias",
         "classifier.weight": "classifier.weight", "classifier.bias": "classifier.bias",
         "mlm_dense.weight": "cls.predictions.transform.dense.weight",
         "mlm_dense.bias": "cls.predictions.transform.dense.bias",
         "mlm_ln.weight": "cls.predictions.transform.LayerNorm.weight",
         "mlm_ln.bias": "cls.predictions.transform.LayerNorm.bias", "mlm_bias": "cls.predictions.bias"}
    sd = {k: tensors[v] for k, v in m.items() if v in tensors}
    for i in range(layers):
        hf = f"bert.encoder.layer.{i}."
        att = hf + "attention.self."
        for kind in ("weight", "bias"):
            sd[f"layers.{i}.qkv.{kind}"] = torch.cat([tensors[att + f"{x}.{kind}"] for x in ("query", "key", "value")])
            for ours, theirs in (("out", "attention.output.dense"), ("ln1", "attention.output.LayerNorm"),
                                 ("ff1", "intermediate.dense"), ("ff2", "output.dense"), ("ln2", "output.LayerNorm")):
                sd[f"layers.{i}.{ours}.{kind}"] = tensors[hf + f"{theirs}.{kind}"]
    return sd


class Layer(nn.Module):
    def __init__(self, hidden):
        super().__init__()
        self.heads = hidden // 32
        self.qkv = nn.Linear(hidden, 3 * hidden)
        self.out = nn.Linear(hidden, hidden)
        self.ln1 = nn.LayerNorm(hidden, eps=1e-12)
        self.ff1 = nn.Linear(hidden, 4 * hidden)
        self.ff2 = nn.Linear(4 * hidden, hidden)
        self.ln2 = nn.LayerNorm(hidden, eps=1e-12)

    def forward(self, x, mask):
        b, n, h = x.shape
        q, k, v = self.qkv(x).view(b, n, 3, self.heads, h // self.heads).permute(2, 0, 3, 1, 4)
        att = q @ k.transpose(-1, -2) / math.sqrt(h // self.heads) + (1 - mask)[:, None, None, :] * -1e4
        y = (att.softmax(-1) @ v).transpose(1, 2).reshape(b, n, h)
        x = self.ln1(x + self.out(y))
        return self.ln2(x + self.ff2(F.gelu(self.ff1(x))))


class CrossEncoder(nn.Module):
    def __init__(self, vocab, hidden, layers, pos_scale, qk_tie=0.0, type_scale=None):
        super().__init__()
        self.words = nn.Embedding(vocab, hidden)
        self.positions = nn.Embedding(512, hidden)
        self.types = nn.Embedding(2, hidden)
        self.ln = nn.LayerNorm(hidden, eps=1e-12)
        self.layers = nn.ModuleList([Layer(hidden) for _ in range(layers)])
        self.pooler = nn.Linear(hidden, hidden)
        self.classifier = nn.Linear(hidden, 1)
        self.mlm_dense = nn.Linear(hidden, hidden)
        self.mlm_ln = nn.LayerNorm(hidden, eps=1e-12)
        self.mlm_bias = nn.Parameter(torch.zeros(vocab))
        for m in self.modules():
            if isinstance(m, (nn.Linear, nn.Embedding)):
                nn.init.normal_(m.weight, std=0.02)
            if isinstance(m, nn.Linear):
                nn.init.zeros_(m.bias)
        with torch.no_grad():
            self.positions.weight.mul_(pos_scale)
            self.types.weight.mul_(pos_scale if type_scale is None else type_scale)
            if qk_tie:
                for layer in self.layers:
                    w = layer.qkv.weight
                    w[:hidden].normal_(0, qk_tie)
                    w[hidden:2 * hidden].copy_(w[:hidden])

    def hidden(self, ids, types, mask):
        x = self.ln(self.words(ids) + self.positions(torch.arange(ids.shape[1]))[None] + self.types(types))
        for layer in self.layers:
            x = layer(x, mask)
        return x

    def forward(self, ids, types, mask):
        return self.classifier(torch.tanh(self.pooler(self.hidden(ids, types, mask)[:, 0]))).squeeze(-1)

    def mlm_logits(self, h):
        return self.mlm_ln(F.gelu(self.mlm_dense(h))) @ self.words.weight.T + self.mlm_bias


def main():
    a = args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    rng = random.Random(a.seed)
    vocab = json.load(open(a.tokenizer))["model"]["vocab"]
    CLS, SEP, PAD, MASK, UNK = (vocab[t] for t in ("[CLS]", "[SEP]", "[PAD]", "[MASK]", "[UNK]"))

    def tok(s):
        return [vocab.get(w, UNK) for w in re.findall(r"\w+|[^\w\s]", s.lower())]

    docs, queries = {}, {}
    for line in open(f"{a.bench}/corpus.jsonl"):
        d = json.loads(line)
        docs[d["_id"]] = tok((d.get("title", "") + " " + d["text"]).strip())
    for line in open(f"{a.bench}/queries.jsonl"):
        q = json.loads(line)
        queries[q["_id"]] = tok(q["text"])
    train = read_qrels(f"{a.bench}/qrels/train.tsv")
    dev = read_qrels(f"{a.bench}/qrels/dev.tsv")
    dev_run = read_run(a.dev_run)
    eval_q = sorted(q for q in dev_run if q in dev)[: a.eval_queries]

    if a.source_negatives:
        # Every negative is the positive of another train query, so "this
        # passage is some query's positive" cannot tell the lists apart.
        sources = {d for q in train for d, g in train[q].items() if g == 2}
        train_run = read_run(a.source_negatives)
        lists = []
        for q in sorted(train):
            pos = sorted(d for d, g in train[q].items() if g == 2)
            negs = [d for d in train_run.get(q, []) if d in sources and d not in train[q]][:30]
            if pos and len(negs) >= a.nway - 1:
                lists.append([q, pos[0]] + negs)
    elif a.cands:
        lists = [json.loads(line) for line in open(a.cands)]
    else:
        raise SystemExit("give --cands or --source-negatives")

    def pair(q, d, maxlen=None):
        maxlen = maxlen or a.maxlen
        qi = queries[q][: maxlen - 3]
        ids = [CLS] + qi + [SEP] + docs[d][: maxlen - len(qi) - 3] + [SEP]
        return ids, [0] * (len(qi) + 2) + [1] * (len(ids) - len(qi) - 2)

    def collate(pairs):
        n = max(len(i) for i, _ in pairs)
        ids = torch.full((len(pairs), n), PAD)
        types = torch.zeros((len(pairs), n), dtype=torch.long)
        mask = torch.zeros((len(pairs), n))
        for k, (i, t) in enumerate(pairs):
            ids[k, : len(i)], types[k, : len(t)], mask[k, : len(i)] = torch.tensor(i), torch.tensor(t), 1
        return ids, types, mask

    def ndcg10(ranked, q):
        rel = dev[q]
        dcg = sum((2 ** rel.get(d, 0) - 1) / math.log2(i + 2) for i, d in enumerate(ranked[:10]))
        ideal = sorted(rel.values(), reverse=True)[:10]
        idcg = sum((2 ** g - 1) / math.log2(i + 2) for i, g in enumerate(ideal))
        return dcg / idcg if idcg else 0.0

    model = CrossEncoder(len(vocab), a.hidden, a.layers, a.pos_scale, a.qk_tie, a.type_scale)
    if a.init:
        model.load_state_dict(torch.load(a.init))
    if a.init_colbert:
        sd = state_from_colbert(read_safetensors(f"{a.init_colbert}/model.safetensors"), a.layers)
        missing = model.load_state_dict(sd, strict=False).missing_keys
        print(f"loaded {a.init_colbert} (fresh: {', '.join(missing) or 'nothing'})", flush=True)

    def qlm_scores(ids, types, mask):
        # Query likelihood: how well the passage lets the MLM head fill in
        # the query when every query word is masked at once.
        words = (types == 0) & (ids > MASK)
        inp = ids.masked_fill(words, MASK)
        logp = model.mlm_logits(model.hidden(inp, types, mask)).log_softmax(-1)
        tok = logp.gather(-1, ids[..., None]).squeeze(-1)
        return (tok * words).sum(-1)

    @torch.no_grad()
    def evaluate():
        model.eval()
        total = 0.0
        for q in eval_q:
            cands = dev_run[q][:100]
            s = (qlm_scores if a.qlm else model)(*collate([pair(q, d) for d in cands])).tolist()
            total += ndcg10([d for _, d in sorted(zip(s, cands), key=lambda x: -x[0])], q)
        model.train()
        return total / len(eval_q)

    @torch.no_grad()
    def probe(negative=False, n=512):
        # How much the pretrained encoder reads the passage to fill in the
        # query: a model that matches query and passage predicts masked query
        # words better next to the passage the query was written from.
        model.eval()
        g = torch.Generator().manual_seed(5)
        pr = random.Random(5)
        ex = lists[:n]
        ids, types, mask = collate([pair(e[0], pr.choice(e[2:]) if negative else e[1]) for e in ex])
        chosen = (torch.rand(ids.shape, generator=g) < 0.15) & (ids > MASK) & (types == 0)
        inp = ids.clone()
        inp[chosen] = MASK
        loss = F.cross_entropy(model.mlm_logits(model.hidden(inp, types, mask)[chosen]), ids[chosen])
        model.train()
        return loss.item()

    bm25 = sum(ndcg10(dev_run[q][:100], q) for q in eval_q) / len(eval_q)
    print(f"{len(lists)} training lists; dev nDCG@10 on {len(eval_q)} queries: BM25 {bm25:.4f}", flush=True)
    if a.eval_only:
        if a.probe:
            print(f"query-token MLM loss next to the positive / a negative: {probe():.3f} / {probe(True):.3f}", flush=True)
        print(f"initial model: dev nDCG@10 {evaluate():.4f}", flush=True)
        return

    def schedule(opt, step, total, lr, warmup):
        f = step / warmup if step <= warmup else max(0.0, (total - step) / max(1, total - warmup))
        for g in opt.param_groups:
            g["lr"] = lr * f

    if a.mlm_steps:
        opt = torch.optim.AdamW(model.parameters(), lr=a.mlm_lr, weight_decay=0.01)
        t0 = time.time()
        for step in range(1, a.mlm_steps + 1):
            schedule(opt, step, a.mlm_steps, a.mlm_lr, 100)
            ex = rng.sample(lists, a.mlm_batch or a.batch * a.nway)
            pick = lambda e: e[1] if a.mlm_positives or rng.random() < 0.5 else rng.choice(e[2:])
            ids, types, mask = collate([pair(e[0], pick(e), a.mlm_maxlen) for e in ex])
            chosen = (torch.rand(ids.shape) < a.mlm_prob) & (ids > MASK)
            if a.mlm_query_only:
                chosen &= types == 0
            r = torch.rand(ids.shape)
            inp = ids.clone()
            if a.mlm_mask_only:
                r.zero_()
            inp[chosen & (r < 0.8)] = MASK
            rnd = chosen & (r >= 0.8) & (r < 0.9)
            inp[rnd] = torch.randint(MASK + 1, len(vocab), (int(rnd.sum()),))
            loss = F.cross_entropy(model.mlm_logits(model.hidden(inp, types, mask)[chosen]), ids[chosen])
            opt.zero_grad()
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), 2.0)
            opt.step()
            if step % 100 == 0:
                print(f"mlm step {step} loss {loss.item():.3f} {time.time() - t0:.0f}s", flush=True)
            if a.qlm and step % a.eval_every == 0:
                print(f"mlm step {step} query-likelihood dev nDCG@10 {evaluate():.4f}", flush=True)
        if a.save:
            torch.save(model.state_dict(), a.save)
        print(f"after MLM: dev nDCG@10 {evaluate():.4f}", flush=True)
        if a.steps == 0:
            return

    opt = torch.optim.AdamW(model.parameters(), lr=a.lr, weight_decay=0.01)
    t0, avg = time.time(), None
    for step in range(1, a.steps + 1):
        schedule(opt, step, a.steps, a.lr, a.warmup)
        ex = rng.sample(lists, a.batch)
        pairs = [pair(e[0], d) for e in ex for d in [e[1]] + rng.sample(e[2:], a.nway - 1)]
        scores = model(*collate(pairs)).view(a.batch, a.nway)
        loss = F.cross_entropy(scores, torch.zeros(a.batch, dtype=torch.long))
        opt.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 2.0)
        opt.step()
        avg = loss.item() if avg is None else 0.95 * avg + 0.05 * loss.item()
        if step % 50 == 0:
            print(f"step {step} loss {avg:.3f} (ln {a.nway} = {math.log(a.nway):.3f}) {time.time() - t0:.0f}s", flush=True)
        if step % a.eval_every == 0:
            print(f"step {step} dev nDCG@10 {evaluate():.4f}", flush=True)
    if a.save:
        torch.save(model.state_dict(), a.save)


if __name__ == "__main__":
    main()
