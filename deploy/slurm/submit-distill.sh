#!/usr/bin/env bash
# Submits the teacher-scoring array, then the merge once all tasks succeed.
# Usage: ./submit-distill.sh [N parts, default 4]
set -euo pipefail
cd "$(dirname "$0")"
n=${1:-4}
score=$(sbatch --parsable --array="0-$((n - 1))" distill-score.sbatch)
merge=$(sbatch --parsable --dependency="afterok:$score" distill-merge.sbatch)
echo "submitted: score $score (array of $n), merge $merge"
