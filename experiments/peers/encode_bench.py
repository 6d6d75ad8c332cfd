#!/usr/bin/python3
"""PyTorch peer for the encoder benchmark (model/encode BenchmarkEncodeDocs /
BenchmarkEncodeQueries).

Builds the same BERT + ColBERT head in plain torch (HF BertModel's eval-mode
computation: embeddings + LayerNorm, post-LN layers, additive finfo.min
attention mask, exact erf GELU; transformers is not installed here), with
random weights of model.SmallConfig's shapes (2 layers, hidden 128, 4 heads,
intermediate 512, vocab 30522, dim 128) or the weights of an HF checkpoint
directory (--checkpoint, F32 safetensors). Encodes 64 documents x 180 tokens
and 64 queries x 32 tokens in padded batches, as PyTorch ColBERT does, and
256 documents of mixed lengths (20-180) sorted and padded per batch of 32, and
prints tokens/s (wall clock) and cpu_tokens_per_s (per second of process CPU
time, the Go benchmark's cpu-tokens/s) as JSON lines.

--splitmix (experiments/bench_encode.sh, `make bench-encode`) instead draws
the inputs of experiments/benchencode (Inputs.Draw: SplitMix64 from
--input-seed; documents of --doc-min..--doc-max tokens, queries of
--query-len positions with --query-min..--query-len attended and [MASK]
after), encodes --what (docs or queries) sorted by length in padded batches
of --batch, --reps times after --warmup, and prints one JSON line with the
median wall seconds per pass, tokens/s over real tokens (queries: every
position), the OpenBLAS core and the inputs' digests (benchencode prints the
same digests). With --checkpoint the model's shapes come from its
config.json (e.g. bert-base: 12 layers, hidden 768).

--verify REF checks the torch model against reference.safetensors (the
hf-tiny parity targets) before timing, so the peer is known to compute the
same function as the Go encoder.

Debian's torch does its matrix products through the system BLAS (OpenBLAS
here), like the Go openblas build. OpenBLAS 0.3.21 does not recognise every
AVX-512 CPU (it picks Haswell kernels on this Zen 5 machine); compare both
sides with the same OPENBLAS_CORETYPE (e.g. SkylakeX where AVX-512 exists).

Run with Debian's python3 (torch 1.13):
  /usr/bin/python3 experiments/peers/encode_bench.py --threads 1
  /usr/bin/python3 experiments/peers/encode_bench.py --threads 2 \
      --checkpoint ../shared/assets/models/hf-tiny/colbert \
      --verify ../shared/assets/models/hf-tiny/reference.safetensors
"""
import argparse
import ctypes
import hashlib
import json
import math
import os
import struct
import time

import numpy as np
import torch
import torch.nn.functional as F


def read_safetensors(path):
    """A minimal safetensors reader (F32/I32/I64 only)."""
    with open(path, "rb") as f:
        raw = f.read()
    n = struct.unpack("<Q", raw[:8])[0]
    hdr = json.loads(raw[8:8 + n])
    body = raw[8 + n:]
    dt = {"F32": np.float32, "I32": np.int32, "I64": np.int64}
    out = {}
    for k, v in hdr.items():
        if k == "__metadata__":
            continue
        if v["dtype"] not in dt:
            raise SystemExit(f"{path}: tensor {k} has dtype {v['dtype']}; this reader takes F32/I32/I64")
        a, b = v["data_offsets"]
        out[k] = torch.from_numpy(np.frombuffer(body[a:b], dtype=dt[v["dtype"]]).reshape(v["shape"]).copy())
    return out


class ColBERT(torch.nn.Module):
    def __init__(self, vocab=30522, hidden=128, layers=2, heads=4, inter=512, maxpos=512, types=2, dim=128, eps=1e-12):
        super().__init__()
        self.heads, self.eps = heads, eps
        self.word = torch.nn.Embedding(vocab, hidden)
        self.pos = torch.nn.Embedding(maxpos, hidden)
        self.typ = torch.nn.Embedding(types, hidden)
        self.ln = torch.nn.LayerNorm(hidden, eps=eps)
        self.layers = torch.nn.ModuleList()
        for _ in range(layers):
            m = torch.nn.Module()
            m.q, m.k, m.v = (torch.nn.Linear(hidden, hidden) for _ in range(3))
            m.o = torch.nn.Linear(hidden, hidden)
            m.ln1 = torch.nn.LayerNorm(hidden, eps=eps)
            m.i = torch.nn.Linear(hidden, inter)
            m.out = torch.nn.Linear(inter, hidden)
            m.ln2 = torch.nn.LayerNorm(hidden, eps=eps)
            self.layers.append(m)
        self.linear = torch.nn.Linear(hidden, dim, bias=False)
        for p in self.parameters():
            torch.nn.init.trunc_normal_(p, std=0.02, a=-0.04, b=0.04) if p.dim() > 1 else None

    def load_hf(self, tensors):
        t = {k[len("bert."):] if k.startswith("bert.") else k: v for k, v in tensors.items()}
        sd = {
            "word.weight": t["embeddings.word_embeddings.weight"],
            "pos.weight": t["embeddings.position_embeddings.weight"],
            "typ.weight": t["embeddings.token_type_embeddings.weight"],
            "ln.weight": t["embeddings.LayerNorm.weight"], "ln.bias": t["embeddings.LayerNorm.bias"],
            "linear.weight": t["linear.weight"],
        }
        names = {"q": "attention.self.query", "k": "attention.self.key", "v": "attention.self.value",
                 "o": "attention.output.dense", "ln1": "attention.output.LayerNorm",
                 "i": "intermediate.dense", "out": "output.dense", "ln2": "output.LayerNorm"}
        for l in range(len(self.layers)):
            for ours, hf in names.items():
                for w in ("weight", "bias"):
                    sd[f"layers.{l}.{ours}.{w}"] = t[f"encoder.layer.{l}.{hf}.{w}"]
        self.load_state_dict(sd)

    def hidden(self, ids, mask):
        B, L = ids.shape
        pos = torch.arange(L).unsqueeze(0)
        x = self.ln(self.word(ids) + self.pos(pos) + self.typ(torch.zeros_like(ids)))
        ext = (1.0 - mask[:, None, None, :].float()) * torch.finfo(torch.float32).min
        nh = self.heads
        dh = x.shape[-1] // nh
        for m in self.layers:
            def split(t):
                return t.view(B, L, nh, dh).transpose(1, 2)
            q, k, v = split(m.q(x)), split(m.k(x)), split(m.v(x))
            s = q @ k.transpose(-1, -2) / math.sqrt(dh) + ext
            ctx = (s.softmax(-1) @ v).transpose(1, 2).reshape(B, L, -1)
            x = m.ln1(m.o(ctx) + x)
            x = m.ln2(m.out(F.gelu(m.i(x))) + x)
        return x

    def vectors(self, ids, mask):
        return F.normalize(self.linear(self.hidden(ids, mask)), p=2, dim=2)


MASK64 = (1 << 64) - 1


def splitmix64(state):
    """One SplitMix64 step: (new state, output); benchencode's splitmix64."""
    state = (state + 0x9E3779B97F4A7C15) & MASK64
    z = state
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK64
    return state, z ^ (z >> 31)


def draw_inputs(a):
    """experiments/benchencode Inputs.Draw: documents, then queries' attended ids."""
    st = a.input_seed
    out = []
    for n, lo, hi in ((a.docs, a.doc_min, a.doc_max), (a.queries, a.query_min, a.query_len)):
        seqs = []
        for _ in range(n):
            st, r = splitmix64(st)
            ln = lo + r % (hi - lo + 1)
            ids = []
            for _ in range(ln):
                st, r = splitmix64(st)
                ids.append(1000 + r % 28000)
            seqs.append(ids)
        out.append(seqs)
    return out


def digest(seqs):
    """benchencode's Digest: SHA-256 of each sequence's length then ids, int32 LE."""
    h = hashlib.sha256()
    for s in seqs:
        h.update(struct.pack("<I", len(s)))
        h.update(struct.pack(f"<{len(s)}i", *s))
    return h.hexdigest()


def blas_core():
    """The core of the OpenBLAS this process (torch) has loaded (Debian's torch
    links the system BLAS, OpenBLAS), as train_step_bench.py reads it."""
    with open("/proc/self/maps") as f:
        libs = sorted({ln.split()[-1] for ln in f if "openblas" in ln and ".so" in ln})
    for path in libs:
        try:
            lib = ctypes.CDLL(path)
            lib.openblas_get_corename.restype = ctypes.c_char_p
            return lib.openblas_get_corename().decode()
        except (OSError, AttributeError):
            continue
    return "none"


def splitmix_bench(model, a):
    docs, queries = draw_inputs(a)
    if a.what == "docs":
        seqs, fixed, pad = docs, 0, 0
        tokens = sum(len(d) for d in docs)
    else:
        seqs, fixed, pad = queries, a.query_len, 103
        tokens = len(queries) * a.query_len
    order = sorted(range(len(seqs)), key=lambda i: len(seqs[i]))
    batches = []
    for s in range(0, len(order), a.batch):
        chunk = [seqs[i] for i in order[s:s + a.batch]]
        L = fixed or max(len(c) for c in chunk)
        ids = torch.full((len(chunk), L), pad, dtype=torch.long)
        mask = torch.zeros((len(chunk), L), dtype=torch.long)
        for k, c in enumerate(chunk):
            ids[k, :len(c)] = torch.tensor(c)
            mask[k, :len(c)] = 1
        batches.append((ids, mask))

    def one_pass():
        for ids, mask in batches:
            v = model.vectors(ids, mask)
            if a.what == "docs":
                v[mask.bool()]  # the kept vectors, as ColBERT's doc encoder returns them

    for _ in range(a.warmup):
        one_pass()
    times = []
    c0 = time.process_time()
    for _ in range(a.reps):
        t0 = time.perf_counter()
        one_pass()
        times.append(time.perf_counter() - t0)
    cpu = (time.process_time() - c0) / a.reps
    med = sorted(times)[len(times) // 2]
    print(json.dumps({"side": "pytorch", "torch": torch.__version__, "what": a.what, "threads": a.threads,
                      "blas_core": blas_core(), "batch": a.batch, "tokens": tokens, "median_s": med, "times_s": times,
                      "tokens_per_s": tokens / med, "cpu_tokens_per_s": tokens / cpu,
                      "docs_digest": digest(docs), "queries_digest": digest(queries)}))


def bench(fn, seconds):
    """Seconds per call, wall clock and process CPU time (all threads): the
    CPU figure gives the single-core speed on a machine shared with others."""
    fn()
    n, t0, c0 = 0, time.perf_counter(), time.process_time()
    while True:
        fn()
        n += 1
        el = time.perf_counter() - t0
        if el >= seconds:
            return el / n, (time.process_time() - c0) / n


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--docs", type=int, default=64)
    ap.add_argument("--doc-len", type=int, default=180)
    ap.add_argument("--queries", type=int, default=64)
    ap.add_argument("--query-len", type=int, default=32)
    ap.add_argument("--seconds", type=float, default=3.0)
    ap.add_argument("--checkpoint", help="HF ColBERT checkpoint dir (F32 model.safetensors)")
    ap.add_argument("--verify", help="reference.safetensors to check the torch model against first")
    ap.add_argument("--splitmix", action="store_true", help="benchencode's inputs and protocol (make bench-encode)")
    ap.add_argument("--what", choices=("docs", "queries"), default="docs")
    ap.add_argument("--doc-min", type=int, default=20)
    ap.add_argument("--doc-max", type=int, default=180)
    ap.add_argument("--query-min", type=int, default=6)
    ap.add_argument("--input-seed", type=int, default=1)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--reps", type=int, default=3)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(1)
    if args.checkpoint:
        with open(os.path.join(args.checkpoint, "config.json")) as f:
            c = json.load(f)
        tensors = read_safetensors(os.path.join(args.checkpoint, "model.safetensors"))
        model = ColBERT(vocab=c["vocab_size"], hidden=c["hidden_size"], layers=c["num_hidden_layers"],
                        heads=c["num_attention_heads"], inter=c["intermediate_size"],
                        maxpos=c["max_position_embeddings"], types=c["type_vocab_size"],
                        dim=tensors["linear.weight"].shape[0], eps=c.get("layer_norm_eps", 1e-12)).eval()
        model.load_hf(tensors)
        del tensors
    else:
        model = ColBERT().eval()
    with torch.inference_mode():
        if args.splitmix:
            splitmix_bench(model, args)
            return
        if args.verify:
            ref = read_safetensors(args.verify)
            for pre in ("query", "doc"):
                ids, mask = ref[pre + "_input_ids"].long(), ref[pre + "_attention_mask"].long()
                h = model.hidden(ids, mask)
                v = F.normalize(model.linear(h), p=2, dim=2)
                keep = mask.bool() if pre == "doc" else torch.ones_like(mask, dtype=torch.bool)
                dh = (h - ref[pre + "_hidden"])[keep].abs().max().item()
                dv = (v - ref[pre + "_vectors"])[keep].abs().max().item()
                print(json.dumps({"verify": pre, "hidden_max_abs_diff": dh, "vectors_max_abs_diff": dv}))
                if max(dh, dv) > 1e-4:
                    raise SystemExit("torch peer does not match the reference")
        g = torch.Generator().manual_seed(2)
        # Mixed lengths (BenchmarkEncodeMixedDocs): 256 documents of
        # 20 + (37 i mod 161) tokens, sorted by length and padded per batch
        # of 32 as Stanford ColBERT's DocTokenizer does; real tokens counted.
        lens = sorted(20 + (i * 37) % 161 for i in range(256))
        batches = []
        for s in range(0, len(lens), 32):
            chunk = lens[s:s + 32]
            L = max(chunk)
            ids = torch.randint(1000, 29000, (len(chunk), L), generator=g)
            mask = (torch.arange(L)[None, :] < torch.tensor(chunk)[:, None]).long()
            batches.append((ids * mask, mask))

        def mixed():
            for ids, mask in batches:
                model.vectors(ids, mask)
        sec, cpu = bench(mixed, args.seconds)
        print(json.dumps({"peer": "pytorch", "torch": torch.__version__, "what": "mixed_docs", "docs": len(lens), "batch": 32,
                          "threads": args.threads, "sec_per_set": sec, "tokens_per_s": sum(lens) / sec,
                          "cpu_tokens_per_s": sum(lens) / cpu}))
        for what, n, L in (("docs", args.docs, args.doc_len), ("queries", args.queries, args.query_len)):
            ids = torch.randint(1000, 29000, (n, L), generator=g)
            mask = torch.ones_like(ids)
            sec, cpu = bench(lambda: model.vectors(ids, mask), args.seconds)
            print(json.dumps({"peer": "pytorch", "torch": torch.__version__, "what": what, "batch": n, "len": L,
                              "threads": args.threads, "sec_per_batch": sec, "tokens_per_s": n * L / sec,
                              "cpu_tokens_per_s": n * L / cpu}))


if __name__ == "__main__":
    main()
