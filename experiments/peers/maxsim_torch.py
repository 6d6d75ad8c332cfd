#!/usr/bin/python3
"""PyTorch peer for the MaxSim kernel benchmark (search/maxsim/blasbench).

Scores a 32x128 query against a 180x128 document the way PyTorch ColBERT
code does (einsum + max + sum), on one thread, and prints GFLOP/s counted as
the GEMM's 2*32*180*128 flops, the same count the Go benchmark reports.
Also times the padded batch form (1000 documents, masked) used by rerankers.

Run with Debian's python3 (torch 1.13):  /usr/bin/python3 experiments/peers/maxsim_torch.py
"""
import argparse
import time

import torch


def bench(fn, min_time):
    fn()
    n, t0 = 0, time.perf_counter()
    while True:
        fn()
        n += 1
        el = time.perf_counter() - t0
        if el >= min_time:
            return el / n


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--nq", type=int, default=32)
    ap.add_argument("--n", type=int, default=180)
    ap.add_argument("--dim", type=int, default=128)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--seconds", type=float, default=2.0)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    g = torch.Generator().manual_seed(7)
    q = torch.randn(args.nq, args.dim, generator=g)
    d = torch.randn(args.n, args.dim, generator=g)
    flops = 2 * args.nq * args.n * args.dim

    with torch.inference_mode():
        def single():
            return torch.einsum("qd,nd->qn", q, d).max(dim=1).values.sum()

        def single_mm():
            return (q @ d.T).max(dim=1).values.sum()

        def gemm_only():
            return q @ d.T

        for name, fn in [("einsum+max+sum", single), ("matmul+max+sum", single_mm), ("matmul only", gemm_only)]:
            t = bench(fn, args.seconds)
            print(f"torch {torch.__version__} threads={args.threads} {name:16s} {args.nq}x{args.dim} vs {args.n}x{args.dim}: "
                  f"{t * 1e9:10.0f} ns/op  {flops / t / 1e9:7.2f} GFLOP/s")

        # Batched, padded to the longest document with a token mask.
        nd = 1000
        lens = torch.randint(20, 181, (nd,), generator=g)
        D = torch.randn(nd, 180, args.dim, generator=g)
        mask = torch.arange(180)[None, :] < lens[:, None]

        def batch():
            s = torch.einsum("qd,bnd->bqn", q, D)
            s = s.masked_fill(~mask[:, None, :], float("-inf"))
            return s.max(dim=2).values.sum(dim=1)

        t = bench(batch, args.seconds)
        useful = 2 * args.nq * args.dim * int(lens.sum())
        print(f"torch batch of {nd} padded docs: {t * 1e3:8.2f} ms/batch  {useful / t / 1e9:7.2f} GFLOP/s (useful flops)")


if __name__ == "__main__":
    main()
