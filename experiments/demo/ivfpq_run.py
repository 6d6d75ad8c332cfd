#!/usr/bin/python3
"""faiss IVFPQ peer row of the demo table (seed 000's token-search baseline).

Token-level candidate generation with faiss IndexIVFPQ (inner product) over
the demo's KL-student token embeddings, then exact MaxSim rerank of the
candidate passages (ColBERTv1 style). One thread, one query at a time.

Input (written by experiments/demo's "uncompressed" stage): DIR/vectors.f16
(tokens x dim float16 LE), doclens.i32, queries.f32 (n x qlen x dim),
passage_ids.txt, query_ids.txt. Output: a TREC run and a JSON summary.

  /usr/bin/python3 experiments/demo/ivfpq_run.py --dump demo/vectors --run out.trec --summary out.json
"""
import argparse
import json
import os
import time

import faiss
import numpy as np


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dump", required=True)
    ap.add_argument("--run", required=True)
    ap.add_argument("--summary", required=True)
    ap.add_argument("--dim", type=int, default=128)
    ap.add_argument("--qlen", type=int, default=32)
    ap.add_argument("--k", type=int, default=1000)
    ap.add_argument("--m", type=int, default=16, help="PQ sub-quantizers (bytes per token)")
    ap.add_argument("--nprobe", type=int, default=16)
    ap.add_argument("--ktok", type=int, default=128, help="tokens retrieved per query vector")
    args = ap.parse_args()
    faiss.omp_set_num_threads(1)

    d = args.dump
    vecs = np.fromfile(os.path.join(d, "vectors.f16"), dtype="<f2").astype(np.float32).reshape(-1, args.dim)
    doclens = np.fromfile(os.path.join(d, "doclens.i32"), dtype="<i4").astype(np.int64)
    queries = np.fromfile(os.path.join(d, "queries.f32"), dtype="<f4").reshape(-1, args.qlen, args.dim)
    pids = open(os.path.join(d, "passage_ids.txt")).read().split("\n")[: len(doclens)]
    qids = open(os.path.join(d, "query_ids.txt")).read().split("\n")[: len(queries)]
    if doclens.sum() != len(vecs):
        raise SystemExit(f"ivfpq_run: doclens sum {doclens.sum()} != {len(vecs)} vectors")
    offsets = np.concatenate([[0], np.cumsum(doclens)])
    tok2pid = np.repeat(np.arange(len(doclens)), doclens)

    nlist = int(2 ** np.floor(np.log2(2 * np.sqrt(len(vecs)))))
    t0 = time.perf_counter()
    quant = faiss.IndexFlatIP(args.dim)
    index = faiss.IndexIVFPQ(quant, args.dim, nlist, args.m, 8, faiss.METRIC_INNER_PRODUCT)
    rng = np.random.default_rng(123)
    sample = vecs[rng.choice(len(vecs), min(len(vecs), 256 * nlist), replace=False)]
    index.train(sample)
    index.add(vecs)
    index.nprobe = args.nprobe
    build = time.perf_counter() - t0
    size = len(faiss.serialize_index(index))

    lat = []
    with open(args.run + ".tmp", "w") as out:
        for qi, q in enumerate(queries):
            t = time.perf_counter()
            _, I = index.search(q, args.ktok)
            cand = np.unique(tok2pid[I[I >= 0]])
            # Exact MaxSim of every candidate at once: the candidates' tokens
            # are contiguous per passage, so a segmented max gives each
            # passage's best score per query vector.
            toks = np.nonzero(np.isin(tok2pid, cand))[0]
            sim = q @ vecs[toks].T
            seg = np.flatnonzero(np.r_[True, np.diff(tok2pid[toks]) != 0])
            scores = np.maximum.reduceat(sim, seg, axis=1).sum(axis=0)
            order = np.argsort(-scores, kind="stable")[: args.k]
            lat.append(time.perf_counter() - t)
            for r, j in enumerate(order):
                out.write(f"{qids[qi]} Q0 {pids[cand[j]]} {r + 1} {scores[j]:.6f} faiss-ivfpq\n")
    os.replace(args.run + ".tmp", args.run)
    lat = np.array(lat) * 1000
    with open(args.summary, "w") as f:
        json.dump({"faiss": faiss.__version__, "nlist": nlist, "m": args.m, "nprobe": args.nprobe, "ktok": args.ktok,
                   "index_bytes": size, "build_s": build, "ms_per_query": float(lat.mean()),
                   "p50_ms": float(np.percentile(lat, 50)), "p95_ms": float(np.percentile(lat, 95))}, f)


if __name__ == "__main__":
    main()
