#!/usr/bin/python3
"""faiss IVFPQ peer for PLAID (seed 000's approximate token search).

Token-level candidate generation with faiss IndexIVFPQ (inner product) over
the same token embeddings the Go benchmark indexes, then exact MaxSim rerank
of the candidate passages with the float32 vectors (ColBERTv1 style), for a
sweep of nprobe. Single thread, one query at a time, like the Go latency.

Input: the directory written by the Go benchmark with COLBERT_BENCH_DUMP=DIR
  (search/bench_test.go): vectors.f32 (tokens x 128 float32 LE), doclens.i32,
  queries.f32 (n x 32 x 128), exhaustive_top10.tsv (qid rank pid score).

  COLBERT_BENCH_DUMP=/tmp/plaid go test -tags openblas -run '^$' -bench PLAID -benchtime 1x ./search
  /usr/bin/python3 experiments/peers/ivfpq_faiss.py --dump /tmp/plaid

Recall@10 is reported against the Go exhaustive search over the compressed
index (the reference PLAID is measured against) and against exact float32
exhaustive MaxSim computed here.
"""
import argparse
import os
import time

import faiss
import numpy as np


def load(dump, dim):
    vecs = np.fromfile(os.path.join(dump, "vectors.f32"), dtype="<f4").reshape(-1, dim)
    doclens = np.fromfile(os.path.join(dump, "doclens.i32"), dtype="<i4").astype(np.int64)
    queries = np.fromfile(os.path.join(dump, "queries.f32"), dtype="<f4").reshape(-1, 32, dim)
    if doclens.sum() != len(vecs):
        raise SystemExit(f"ivfpq_faiss: doclens sum {doclens.sum()} != {len(vecs)} vectors in {dump}")
    return vecs, doclens, queries


def load_truth(dump, wait):
    """The Go exhaustive top-10; waits up to `wait` seconds for the Go
    benchmark to write it (the faiss build can overlap the Go run)."""
    path = os.path.join(dump, "exhaustive_top10.tsv")
    deadline = time.time() + wait
    while not os.path.exists(path):
        if time.time() > deadline:
            raise SystemExit(f"ivfpq_faiss: {path} missing")
        time.sleep(10)
    truth = {}
    with open(path) as f:
        for line in f:
            qid, _rank, pid, _score = line.split("\t")
            truth.setdefault(int(qid), []).append(int(pid))
    return truth


def maxsim_rerank(q, vecs, offsets, pids, k):
    """Exact MaxSim of query q (32 x dim) against passages pids; top k pids."""
    starts, ends = offsets[pids], offsets[pids + 1]
    nonempty = ends > starts
    pids, starts, ends = pids[nonempty], starts[nonempty], ends[nonempty]
    if len(pids) == 0:
        return np.array([], dtype=np.int64)
    lens = ends - starts
    idx = np.repeat(starts - np.cumsum(np.concatenate(([0], lens[:-1]))), lens) + np.arange(lens.sum())
    sims = vecs[idx] @ q.T                      # tokens x 32
    seg = np.concatenate(([0], np.cumsum(lens)[:-1]))
    scores = np.maximum.reduceat(sims, seg, axis=0).sum(axis=1)
    order = np.lexsort((pids, -scores))[:k]
    return pids[order]


def exact_top10(q, vecs, offsets, tok2pid, npass):
    sims = vecs @ q.T
    seg = offsets[:-1]
    nonempty = offsets[1:] > offsets[:-1]
    best = np.full((npass, q.shape[0]), -np.inf, dtype=np.float32)
    best[nonempty] = np.maximum.reduceat(sims, seg[nonempty], axis=0)
    scores = best.sum(axis=1)
    scores[~nonempty] = 0
    return np.lexsort((np.arange(npass), -scores))[:10]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dump", required=True)
    ap.add_argument("--dim", type=int, default=128)
    ap.add_argument("--nlist", type=int, default=0, help="IVF lists (0: 4*sqrt(tokens) rounded to a power of 2)")
    ap.add_argument("--m", type=int, default=32, help="PQ sub-quantizers (32 x 8 bits = 32 B/token)")
    ap.add_argument("--train", type=int, default=200000, help="training vectors")
    ap.add_argument("--ktok", type=int, default=256, help="tokens retrieved per query vector")
    ap.add_argument("--nprobe", default="1,2,4,8,16,32,64")
    ap.add_argument("--threads", type=int, default=1, help="threads for searching")
    ap.add_argument("--build-threads", type=int, default=1)
    ap.add_argument("--wait", type=float, default=0, help="seconds to wait for exhaustive_top10.tsv")
    ap.add_argument("--out", default="", help="CSV of the sweep (default DUMP/ivfpq_sweep.csv)")
    args = ap.parse_args()
    faiss.omp_set_num_threads(args.threads)

    vecs, doclens, queries = load(args.dump, args.dim)
    offsets = np.concatenate(([0], np.cumsum(doclens)))
    tok2pid = np.repeat(np.arange(len(doclens)), doclens)
    ntok, npass = len(vecs), len(doclens)
    nlist = args.nlist or 1 << int(np.log2(4 * np.sqrt(ntok)))
    print(f"faiss {faiss.__version__}: {ntok} tokens, {npass} passages, {len(queries)} queries, "
          f"IVF{nlist},PQ{args.m}x8 inner product, ktok={args.ktok}, threads={args.threads}")

    t0 = time.perf_counter()
    quant = faiss.IndexFlatIP(args.dim)
    index = faiss.IndexIVFPQ(quant, args.dim, nlist, args.m, 8, faiss.METRIC_INNER_PRODUCT)
    rng = np.random.default_rng(0)
    sample = vecs[rng.choice(ntok, size=min(args.train, ntok), replace=False)]
    # Building uses --build-threads (OpenMP spinning on a busy shared machine
    # is pathologically slow, so the default is 1).
    faiss.omp_set_num_threads(args.build_threads)
    index.train(sample)
    for lo in range(0, ntok, 1 << 20):
        index.add(vecs[lo:lo + (1 << 20)])
    faiss.omp_set_num_threads(args.threads)
    print(f"built in {time.perf_counter() - t0:.1f} s")

    truth = load_truth(args.dump, args.wait)
    exact = [exact_top10(q, vecs, offsets, tok2pid, npass) for q in queries]
    agree = np.mean([len(set(exact[i]) & set(truth[i])) / 10 for i in range(len(queries))])
    print(f"float32 exhaustive vs Go exhaustive (2-bit index) top-10 overlap: {agree:.3f}")

    rows = []
    for nprobe in [int(x) for x in args.nprobe.split(",")]:
        index.nprobe = nprobe
        lat, rec_go, rec_exact, ncand = [], [], [], []
        for i, q in enumerate(queries):
            t = time.perf_counter()
            _, I = index.search(q, args.ktok)
            I = I[I >= 0]
            cands = np.unique(tok2pid[I])
            top = maxsim_rerank(q, vecs, offsets, cands, 10)
            lat.append(time.perf_counter() - t)
            rec_go.append(len(set(top.tolist()) & set(truth[i])) / 10)
            rec_exact.append(len(set(top.tolist()) & set(exact[i].tolist())) / 10)
            ncand.append(len(cands))
        ms = 1000 * np.mean(lat)
        rows.append((nprobe, ms, np.mean(rec_go), np.mean(rec_exact), np.mean(ncand)))
        print(f"nprobe={nprobe:3d}: {ms:8.2f} ms/query  recall@10 vs Go exhaustive {np.mean(rec_go):.3f}  "
              f"vs float32 exhaustive {np.mean(rec_exact):.3f}  {np.mean(ncand):.0f} candidates")
    out = args.out or os.path.join(args.dump, "ivfpq_sweep.csv")
    with open(out, "w") as f:
        f.write("nprobe,ms_per_query,recall_at_10_vs_go_exhaustive,recall_at_10_vs_fp32_exhaustive,candidates\n")
        for r in rows:
            f.write("%d,%.4f,%.4f,%.4f,%.1f\n" % r)


if __name__ == "__main__":
    main()
