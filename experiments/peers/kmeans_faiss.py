#!/usr/bin/python3
"""faiss k-means on the points written by the Go benchmark (peer for codec/kmeans).

    KMEANS_DUMP=/tmp/km.f32 go test -tags openblas -run '^$' -bench BenchmarkTrain -benchtime 1x ./codec/kmeans
    /usr/bin/python3 experiments/peers/kmeans_faiss.py /tmp/km.f32 --k 1024 --iters 20 --threads 2

Prints training time and the inertia of the final centroids (sum of squared L2
distances of every point to its nearest centroid, as BenchmarkTrain's
"inertia" metric), for the same data, K, iterations and threads.
"""
import argparse
import json
import time

import faiss
import numpy as np


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("data", help="raw little-endian float32 file, n x dim")
    ap.add_argument("--dim", type=int, default=128)
    ap.add_argument("--k", type=int, default=1024)
    ap.add_argument("--iters", type=int, default=20)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=123)
    ap.add_argument("--repeat", type=int, default=3)
    a = ap.parse_args()
    x = np.fromfile(a.data, dtype="<f4").reshape(-1, a.dim)
    faiss.omp_set_num_threads(a.threads)
    times, cpu = [], []
    for _ in range(a.repeat):
        km = faiss.Kmeans(a.dim, a.k, niter=a.iters, seed=a.seed, verbose=False,
                          max_points_per_centroid=256)
        t0, c0 = time.perf_counter(), time.process_time()
        km.train(x)
        times.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    index = faiss.IndexFlatL2(a.dim)
    index.add(km.centroids)
    d, _ = index.search(x, 1)
    print(json.dumps({
        "peer": "faiss " + faiss.__version__, "points": int(x.shape[0]), "k": a.k,
        "iters": a.iters, "threads": a.threads, "seconds_min": min(times),
        "seconds_all": times, "cpu_seconds_min": min(cpu), "inertia": float(d.astype(np.float64).sum()),
        "last_objective": float(km.obj[-1]),
    }))


if __name__ == "__main__":
    main()
