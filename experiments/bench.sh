#!/usr/bin/env bash
# Runs colbert-go's benchmarks next to their peers in one run, so that ratios
# compare like with like on the same machine state. Output goes to stdout and
# to experiments/out/bench-<time>.txt; copy the figures into BENCHMARKS.md.
# Called by `make bench` (which installs the peers first). Single-threaded
# where the comparison is per core: OpenBLAS is pinned to one thread.
set -euo pipefail
cd "$(dirname "$0")/.."
tags="${TAGS:-}"
py=/usr/bin/python3
out=experiments/out
mkdir -p "$out"
log="$out/bench-$(date -u +%Y%m%dT%H%M%SZ).txt"
export OPENBLAS_NUM_THREADS=1
assets=../shared/assets/models/hf-tiny

section() { printf '\n=== %s\n' "$*" | tee -a "$log"; }
gobench() { go test -tags "$tags" -run '^$' "$@" 2>&1 | grep -E '^(Benchmark|ok|FAIL|---|\s+\S+_test.go)' | tee -a "$log"; }
peer() { if [ -x "$py" ] && "$py" -c 'import torch, faiss' 2>/dev/null; then "$py" "$@" 2>&1 | tee -a "$log"; else echo "peer skipped: $py with torch and faiss not found (make setup-bench)" | tee -a "$log"; fi; }

{ echo "colbert-go benchmarks, $(date -u), $(nproc) cores, tags='$tags'"; uname -m; grep -m1 'model name' /proc/cpuinfo || true; uptime; } | tee "$log"

section "MaxSim kernel vs sgemm (single thread) and PyTorch"
gobench -bench . -benchtime 2s ./search/maxsim/...
peer experiments/peers/maxsim_torch.py --threads 1

section "Encoder inference vs PyTorch (single thread)"
gobench -bench 'Encode|CrossEncoder' -benchtime 5x ./model/encode
if [ -d "$assets" ]; then peer experiments/peers/encode_bench.py --threads 1 --seconds 4 --verify "$assets/reference.safetensors" --checkpoint "$assets/colbert"
else peer experiments/peers/encode_bench.py --threads 1 --seconds 4; fi

section "Training step (forward + backward) vs PyTorch (single thread)"
gobench -bench TrainStep -benchtime 3x ./model/graph
peer experiments/peers/train_step_bench.py --threads 1

section "k-means vs faiss (2 threads, 20 iterations, K = 256)"
km=$(mktemp)
trap 'rm -f "$km"' EXIT
KMEANS_K=256 KMEANS_DUMP="$km" gobench -bench BenchmarkTrain -benchtime 1x ./codec/kmeans
peer experiments/peers/kmeans_faiss.py "$km" --k 256 --threads 2

section "Codecs, index build, PLAID vs exhaustive (200k-token default; COLBERT_BENCH_TOKENS=5000000 for the full run)"
gobench -bench BenchmarkCodecs -benchtime 1x ./codec/
gobench -bench BenchmarkBuild -benchtime 1x ./codec/index
gobench -bench 'Exhaustive|PLAID$' -benchtime 3x ./search

section "Tokenisation, BM25, data formats, teacher scoring, server"
gobench -bench . -benchtime 3x ./data/tokenize ./data/bm25 ./data/parquetio
gobench -bench 'TeacherScoring|Forward' -benchtime 2x ./distill
gobench -bench ServerLoad -benchtime 1x ./search/server

echo; echo "written to $log"
