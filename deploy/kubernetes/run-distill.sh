#!/usr/bin/env bash
# Runs the teacher-scoring parts, then the merge, waiting for each.
# Usage: deploy/kubernetes/run-distill.sh [namespace]
set -euo pipefail
ns=${1:-default}
here=$(cd "$(dirname "$0")" && pwd)
k() { kubectl --namespace "$ns" "$@"; }

k apply -f "$here/pvc.yaml"
for step in score merge; do
	k delete job "colbert-distill-$step" --ignore-not-found
	k apply -f "$here/distill-$step.yaml"
	if ! k wait --for=condition=complete --timeout=48h "job/colbert-distill-$step"; then
		echo "run-distill: step $step did not complete; see: kubectl -n $ns logs job/colbert-distill-$step" >&2
		exit 1
	fi
done
echo "run-distill: scores written to /shared/teacher.parquet on PVC colbert-shared"
