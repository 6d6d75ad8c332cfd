#!/usr/bin/env bash
# One training step of the demo's KL student timed three ways in one run, on
# the same model, batch and 2 threads: our step (experiments/benchtrain:
# graph.New → Encode/EncodeBucketed → ColBERT → MaxSim → KL + in-batch CE → Backward →
# clip → AdamW, OpenBLAS at 1 thread and GOMAXPROCS 2 as `colbert train`
# runs), PyTorch 1.13's (experiments/peers/train_step_bench.py, 2 threads)
# and OpenBLAS sgemm at the step's largest GEMM (2 threads). Called by
# `make bench-train` (which installs the peers first); see BENCHMARKS.md.
#
# Both sides use the same OpenBLAS core: the one `bin/colbert version`
# reports on its `blas:` line (its own selection), or, for binaries without
# that line, what openblas_get_corename() says in a cgo program; it is
# exported as OPENBLAS_CORETYPE for every process of the run unless
# OPENBLAS_CORETYPE is already set, which is respected.
#
# Documents have mixed lengths, as the demo's do: document i has
# len_i = DOC_LEN_MIN + splitmix64_i(DOC_LEN_SEED) mod (128 − DOC_LEN_MIN + 1)
# real tokens (uniform on [DOC_LEN_MIN, 128]; benchtrain's Shape.DocLens and
# the peer's doc_lens draw the same list, and the script stops if the two
# sides' lists differ). Both sides pad to the batch's longest document with
# attention mask 0 and leave padding out of MaxSim; our step encodes the
# documents in length buckets (EncodeBucketed, as `colbert train` does),
# PyTorch's over the padded batch, as a plain HF step would.
#
# FLOPs (experiments/benchtrain/flops.go, one formula for both sides): every
# GEMM's 2·M·N·K over the real tokens in the batch for the forward pass
# (Q/K/V/O, FFN in/out, attention QKᵀ and PV per sequence at its own
# length, the ColBERT projection, MaxSim's Q·Dᵀ over the query–document
# pairs scored, at each document's length), × 3 for forward + backward;
# padding is not counted.
#
# Informative lines first; the last line is
#   train-step go_s=… torch_s=… speedup=… go_gflops=… sgemm_gflops=… efficiency=… blas_core=…
# go_s/torch_s: median wall seconds per step after warm-up; speedup =
# torch_s/go_s; efficiency = go_gflops/sgemm_gflops.
# Environment: STEPS (timed steps per side, default 5), WARMUP (default 2),
# THREADS (default 2), DOC_LEN_MIN (shortest document, default 48; 128 gives
# every document 128 tokens, the benchmark before mixed lengths),
# DOC_LEN_SEED (default 1), TAGS (go build tags; must include openblas).
set -euo pipefail
cd "$(dirname "$0")/.."
py=/usr/bin/python3
threads=${THREADS:-2}
steps=${STEPS:-5}
warmup=${WARMUP:-2}
tags=${TAGS-$(test -e /usr/lib/x86_64-linux-gnu/libopenblas.so && echo openblas)}
# The demo's KL student (experiments/quality.StudentConfig); benchtrain's
# defaults are the same, passed explicitly so that both sides get one list.
doc_len_min=${DOC_LEN_MIN:-48}
doc_len_seed=${DOC_LEN_SEED:-1}
shape=(--batch 16 --nway 8 --query-len 32 --query-attended 20 --doc-len 128 --doc-len-min "$doc_len_min"
  --doc-len-seed "$doc_len_seed" --vocab 8000)

die() { echo "bench-train: $*" >&2; exit 1; }
case " $tags " in *" openblas "*) ;; *) die "needs OpenBLAS (TAGS='$tags'; install libopenblas-dev, make setup)";; esac
"$py" -c 'import torch' 2>/dev/null || die "$py cannot import torch (make setup-bench)"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
${MAKE:-make} --no-print-directory build >&2
${GO:-go} build -tags "$tags" -o "$tmp/benchtrain" ./experiments/benchtrain >&2
bt="$tmp/benchtrain"

# The OpenBLAS core: the user's OPENBLAS_CORETYPE, else the binary's choice.
colbert_core=$(env -u OPENBLAS_CORETYPE bin/colbert version 2>/dev/null | sed -n 's/^blas: *//p' | head -1)
own_src="bin/colbert version"
if [ -z "$colbert_core" ]; then
  colbert_core=$(env -u OPENBLAS_CORETYPE "$bt" -mode core)
  own_src="openblas_get_corename(); bin/colbert version has no blas: line"
fi
if [ -n "${OPENBLAS_CORETYPE:-}" ]; then
  core_src="OPENBLAS_CORETYPE set by the caller, respected (without it: $colbert_core, per $own_src)"
else
  export OPENBLAS_CORETYPE="$colbert_core"
  core_src="from $own_src"
fi

echo "cpu: $(lscpu | sed -n 's/^Model name: *//p' | head -1), $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "blas: OpenBLAS core $OPENBLAS_CORETYPE, $core_src"
"$bt" "${shape[@]}" -in-batch-negatives -mode flops >"$tmp/flops.json"
"$py" - "$tmp/flops.json" <<'EOF'
import json, sys
f = json.load(open(sys.argv[1]))
s, g = f["shape"], f["largest"]
print(f"step: {s['Batch']} queries x {s['QueryLen']} tokens ({s['QueryAttended']} attended), nway {s['NWay']} -> "
      f"{s['Batch'] * s['NWay']} documents x {s['DocLenMin']}-{s['DocLen']} tokens; BERT {s['Layers']} layers, hidden {s['Hidden']}, "
      f"{s['Heads']} heads, intermediate {s['Intermediate']}, vocab {s['Vocab']}, dim {s['Dim']}; KL + in-batch CE, AdamW")
print(f"docs: lengths uniform on [{s['DocLenMin']}, {s['DocLen']}] (splitmix64, seed {s['DocLenSeed']}), "
      f"mean {f['doc_len_mean']:.2f} tokens, longest {max(f['doc_lens'])}; padding not counted in FLOPs")
print(f"tokens per step: {f['tokens']} real; flops per step: {f['flops'] / 1e9:.2f} GFLOP "
      f"(3 x forward GEMMs 2*M*N*K); largest GEMM: {g['name']} {g['m']}x{g['k']} . {g['k']}x{g['n']}")
EOF

"$bt" "${shape[@]}" -in-batch-negatives -threads "$threads" -warmup "$warmup" -steps "$steps" -mode step >"$tmp/go.json"
OPENBLAS_NUM_THREADS=$threads "$py" experiments/peers/train_step_bench.py "${shape[@]}" --in-batch-negatives --adamw \
  --threads "$threads" --warmup "$warmup" --steps "$steps" >"$tmp/torch.json"
"$bt" "${shape[@]}" -in-batch-negatives -threads "$threads" -mode sgemm >"$tmp/sgemm.json"

"$py" - "$tmp" <<'EOF'
import json, os, sys
d = sys.argv[1]
go, th, sg, f = (json.load(open(os.path.join(d, n + ".json"))) for n in ("go", "torch", "sgemm", "flops"))
flops = f["flops"]
if go["doc_lens"] != th["doc_lens"] or go["doc_len_mean"] != th["doc_len_mean"] or go["doc_lens"] != f["doc_lens"]:
    sys.exit(f"bench-train: document lengths differ: go mean {go['doc_len_mean']}, torch mean {th['doc_len_mean']}, "
             f"flops mean {f['doc_len_mean']}")
print(f"docs: mean length {go['doc_len_mean']:.2f} tokens on both sides (same {len(go['doc_lens'])} lengths); "
      f"torch pads to {th['shape']['padded_doc_len']}, go encodes in length buckets of 16")
times = lambda r: " ".join(f"{t:.3f}" for t in r["times_s"])
print(f"go:    {go['median_s']:.3f} s/step median (min {go['min_s']:.3f}, cpu {go['cpu_s_per_step']:.2f} s/step; "
      f"steps {times(go)}), GOMAXPROCS {go['gomaxprocs']}, OpenBLAS {go['blas_threads']} thread, core {go['blas_core']}")
print(f"torch: {th['median_s']:.3f} s/step median (min {th['min_s']:.3f}, cpu {th['cpu_s_per_step']:.2f} s/step; "
      f"steps {times(th)}), {th['peer']}, {th['threads']} threads, OpenBLAS {th['blas_threads']} threads, "
      f"core {th['blas_core']} ({th['blas_lib']}), {flops / th['median_s'] / 1e9:.1f} GFLOP/s")
g = sg["gemm"]
print(f"sgemm: {g['m']}x{g['k']} . ({g['n']}x{g['k']})T, OpenBLAS {sg['blas_threads']} threads, core {sg['blas_core']}: "
      f"{sg['median_s'] * 1e3:.2f} ms median of {sg['calls']} calls")
cores = {go["blas_core"], th["blas_core"], sg["blas_core"]}
core = go["blas_core"]
if len(cores) != 1:
    print(f"bench-train: WARNING: OpenBLAS cores differ: go {go['blas_core']}, torch {th['blas_core']}, sgemm {sg['blas_core']}", file=sys.stderr)
    core = f"mismatch(go={go['blas_core']},torch={th['blas_core']},sgemm={sg['blas_core']})"
go_s, torch_s = go["median_s"], th["median_s"]
go_gf = flops / go_s / 1e9
sys.stdout.flush()
print(f"train-step go_s={go_s:.3f} torch_s={torch_s:.3f} speedup={torch_s / go_s:.2f} go_gflops={go_gf:.1f} "
      f"sgemm_gflops={sg['gflops']:.1f} efficiency={go_gf / sg['gflops']:.3f} blas_core={core}")
EOF
