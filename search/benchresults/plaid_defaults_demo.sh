#!/bin/bash
# The trained-model check of BenchmarkPLAIDDefaults (issue 20): PLAID k = 10
# settings on the demo's KL-student index, recall@10 against an exhaustive
# run of the same index and (for a few settings) single-thread CLI latency,
# the settings interleaved over 5 repetitions. Usage:
#   plaid_defaults_demo.sh COLBERT_BIN INDEX CHECKPOINT BENCHMARK_DIR OUTDIR
# e.g. /tmp/colbert runs/demo/index-kl runs/demo/student-kl/checkpoints/step-00000150 runs/demo/benchmark /tmp/out
set -euo pipefail
bin=$1 index=$2 ckpt=$3 queries=$4 out=$5
mkdir -p "$out"
search() { # ncells ndocs threshold outfile
	"$bin" search --index "$index" --checkpoint "$ckpt" --queries "$queries" --split test -k 10 --threads 1 -q \
		--ncells "$1" --ndocs "$2" --threshold "$3" --verbose --out "$4"
}
"$bin" search --index "$index" --checkpoint "$ckpt" --queries "$queries" --split test -k 10 --threads 1 -q \
	--exhaustive --out "$out/exhaustive.trec"
for nc in 1 2; do for nd in 256 384 512 768 1024; do for thr in 0.4 0.45 0.5; do
	search $nc $nd $thr "$out/run_${nc}_${nd}_${thr}.trec" > /dev/null 2>&1
done; done; done
S=("1 256 0.5" "1 512 0.5" "1 768 0.5" "2 768 0.45" "2 1024 0.45")
: > "$out/latency.txt"
for rep in 0 1 2 3 4; do
	for j in "${!S[@]}"; do
		set -- ${S[$(((j + rep) % ${#S[@]}))]}
		echo "$rep $1 $2 $3 $(search $1 $2 $3 "$out/lat.trec" 2>&1 | grep -h 'latency' | tr '\n' ' ')" >> "$out/latency.txt"
	done
done
/usr/bin/env python3 - "$out" <<'PY'
import collections, glob, os, re, sys
out = sys.argv[1]
def load(p):
    r = collections.defaultdict(set)
    for l in open(p):
        f = l.split()
        r[f[0]].add(f[2])
    return r
ex = load(os.path.join(out, "exhaustive.trec"))
lat = collections.defaultdict(list)
for l in open(os.path.join(out, "latency.txt")):
    f = l.split()
    lat[tuple(f[1:4])].append(float(re.search(r"p50 ([\d.]+) ms", l).group(1)))
med = {k: sorted(v)[len(v) // 2] for k, v in lat.items()}
print("ncells,ndocs,threshold,recall_at_10,min_recall_at_10,cli_p50_ms_median_of_5,ratio_to_old_default")
for nc in "12":
    for nd in ("256", "384", "512", "768", "1024"):
        for thr in ("0.4", "0.45", "0.5"):
            r = load(os.path.join(out, f"run_{nc}_{nd}_{thr}.trec"))
            rec = [len(r[q] & ex[q]) / len(ex[q]) for q in ex]
            m = med.get((nc, nd, thr))
            lt = f"{m:.2f},{m / med[('1', '256', '0.5')]:.2f}" if m else ","
            print(f"{nc},{nd},{thr},{sum(rec) / len(rec):.4f},{min(rec):.1f},{lt}")
PY
