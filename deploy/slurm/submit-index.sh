#!/usr/bin/env bash
# Submits plan → encode array → merge with dependencies (each step starts
# only when the previous one succeeded). Run from deploy/slurm/.
# Usage: ./submit-index.sh [N parts, default 8]
set -euo pipefail
cd "$(dirname "$0")"
n=${1:-8}
plan=$(sbatch --parsable index-plan.sbatch)
encode=$(sbatch --parsable --dependency="afterok:$plan" --array="0-$((n - 1))" index-encode.sbatch)
merge=$(sbatch --parsable --dependency="afterok:$encode" index-merge.sbatch)
echo "submitted: plan $plan, encode $encode (array of $n), merge $merge"
