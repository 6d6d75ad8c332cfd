#!/usr/bin/env bash
# ColBERT encoding of a bert-base-shaped checkpoint timed two ways in one
# run, on the same weights, inputs and 2 threads: ours (experiments/
# benchencode, the encoder `colbert index` and `colbert search` use) and
# PyTorch 1.13's (experiments/peers/encode_bench.py --splitmix: plain-torch
# BERT + ColBERT head, as HF's BertModel in eval mode). Called by
# `make bench-encode` (which installs the peer first); see BENCHMARKS.md.
#
# The checkpoint is generated here, into a temporary directory removed on
# exit: colbert-ir/colbertv2.0's layout and shapes (bert-base: 12 layers,
# hidden 768, 12 heads, intermediate 3072, vocab 30522, dim 128), random
# weights from seed CK_SEED; nothing is downloaded.
#
# Inputs (benchencode's Inputs.Draw; the peer draws the same with the same
# SplitMix64 and both print a digest, which must agree): DOCS documents of
# DOC_MIN..180 tokens (uniform), every token attended and kept; QUERIES
# queries of 32 positions with 6..32 attended and [MASK] padding after, every
# position encoded, as ColBERT's query augmentation does. PyTorch encodes
# them sorted by length in padded batches of 32 (as ColBERT's tokenizer
# batches do); ours packs them without padding in length buckets. tokens/s
# counts real tokens (queries: all 32 positions) per second of wall time,
# the median of REPS passes after one untimed pass.
#
# Both sides use the same OpenBLAS core: the caller's OPENBLAS_CORETYPE if
# set (respected), else the one `bin/colbert version` reports; exported for
# every process of the run. ENCODER picks our backend (default: what
# `colbert index` uses by default for this checkpoint, see model/colbert).
#
# Informative lines go to stderr; stdout carries exactly
#   encode model=bert-base go_tps=… torch_tps=… speedup=… blas_core=…
#   encode-queries model=bert-base go_tps=… torch_tps=… speedup=… blas_core=…
# speedup = go_tps / torch_tps.
# Environment: THREADS (default 2), DOCS (default 256), DOC_MIN (default 20),
# QUERIES (default 128), REPS (default 3), CK_SEED (default 1),
# INPUT_SEED (default 1), ENCODER (go, ort or auto; default auto),
# TAGS (go build tags; must include openblas).
set -euo pipefail
cd "$(dirname "$0")/.."
py=/usr/bin/python3
threads=${THREADS:-2}
reps=${REPS:-3}
encoder=${ENCODER:-auto}
tags=${TAGS-$(test -e /usr/lib/x86_64-linux-gnu/libopenblas.so && echo openblas)}
inputs=(--docs "${DOCS:-256}" --doc-min "${DOC_MIN:-20}" --doc-max 180 --queries "${QUERIES:-128}" --query-min 6
  --query-len 32 --input-seed "${INPUT_SEED:-1}")

die() { echo "bench-encode: $*" >&2; exit 1; }
case " $tags " in *" openblas "*) ;; *) die "needs OpenBLAS (TAGS='$tags'; install libopenblas-dev, make setup)";; esac
"$py" -c 'import torch' 2>/dev/null || die "$py cannot import torch (make setup-bench)"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
${MAKE:-make} --no-print-directory build >&2 || echo "bench-encode: make build failed; the OpenBLAS core comes from benchencode" >&2
${GO:-go} build -tags "$tags" -o "$tmp/benchencode" ./experiments/benchencode >&2
be="$tmp/benchencode"

colbert_core=$(env -u OPENBLAS_CORETYPE bin/colbert version 2>/dev/null | sed -n 's/^blas: *//p' | head -1 || true)
own_src="bin/colbert version"
if [ -z "$colbert_core" ]; then
  colbert_core=$(env -u OPENBLAS_CORETYPE "$be" -mode core)
  own_src="openblas_get_corename(); bin/colbert version has no blas: line"
fi
if [ -n "${OPENBLAS_CORETYPE:-}" ]; then
  core_src="OPENBLAS_CORETYPE set by the caller, respected (without it: $colbert_core, per $own_src)"
else
  export OPENBLAS_CORETYPE="$colbert_core"
  core_src="from $own_src"
fi

{
  echo "cpu: $(lscpu | sed -n 's/^Model name: *//p' | head -1), $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "blas: OpenBLAS core $OPENBLAS_CORETYPE, $core_src"
} >&2
"$be" -mode checkpoint -out "$tmp/ck" -seed "${CK_SEED:-1}"
echo "model: bert-base-shaped ColBERT (12 layers, hidden 768, 12 heads, intermediate 3072, vocab 30522, dim 128)," \
  "random weights seed ${CK_SEED:-1}, $(du -m "$tmp/ck/model.safetensors" | cut -f1) MiB F32 safetensors" >&2

for what in docs queries; do
  "$be" "${inputs[@]}" -mode "$what" -checkpoint "$tmp/ck" -encoder "$encoder" -threads "$threads" -reps "$reps" >"$tmp/go-$what.json"
  OPENBLAS_NUM_THREADS=$threads "$py" experiments/peers/encode_bench.py --splitmix --what "$what" "${inputs[@]}" \
    --checkpoint "$tmp/ck" --threads "$threads" --reps "$reps" >"$tmp/torch-$what.json"
done

"$py" - "$tmp" <<'PYEOF'
import json, os, sys
d = sys.argv[1]
r = {f"{side}-{what}": json.load(open(os.path.join(d, f"{side}-{what}.json")))
     for side in ("go", "torch") for what in ("docs", "queries")}
for what in ("docs", "queries"):
    g, t = r["go-" + what], r["torch-" + what]
    for k in ("docs_digest", "queries_digest", "tokens"):
        if g[k] != t[k]:
            sys.exit(f"bench-encode: the two sides' {what} inputs differ ({k}: go {g[k]}, torch {t[k]})")
lines = []
for what, name in (("docs", "encode"), ("queries", "encode-queries")):
    g, t = r["go-" + what], r["torch-" + what]
    times = lambda x: " ".join(f"{s:.2f}" for s in x["times_s"])
    print(f"{what}: {g['tokens']} tokens; go ({g['encoder']}): {g['tokens_per_s']:.1f} tokens/s (passes {times(g)} s, "
          f"{g['cpu_tokens_per_s']:.1f} tokens per CPU second), core {g['blas_core']}; torch {t['torch']}: "
          f"{t['tokens_per_s']:.1f} tokens/s (passes {times(t)} s, {t['cpu_tokens_per_s']:.1f} per CPU second), "
          f"batches of {t['batch']}, core {t['blas_core']}", file=sys.stderr)
    core = g["blas_core"]
    if g["blas_core"] != t["blas_core"]:
        print(f"bench-encode: WARNING: OpenBLAS cores differ: go {g['blas_core']}, torch {t['blas_core']}", file=sys.stderr)
        core = f"mismatch(go={g['blas_core']},torch={t['blas_core']})"
    lines.append(f"{name} model=bert-base go_tps={g['tokens_per_s']:.1f} torch_tps={t['tokens_per_s']:.1f} "
                 f"speedup={g['tokens_per_s'] / t['tokens_per_s']:.2f} blas_core={core}")
sys.stderr.flush()
print("\n".join(lines))
PYEOF
