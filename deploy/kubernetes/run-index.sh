#!/usr/bin/env bash
# Runs plan → encode parts → merge on the current kubectl context, waiting
# for each step (Kubernetes Jobs have no dependencies of their own).
# Usage: deploy/kubernetes/run-index.sh [namespace]
set -euo pipefail
ns=${1:-default}
here=$(cd "$(dirname "$0")" && pwd)
k() { kubectl --namespace "$ns" "$@"; }

k apply -f "$here/pvc.yaml"
for step in plan encode merge; do
	k delete job "colbert-index-$step" --ignore-not-found
	k apply -f "$here/index-$step.yaml"
	if ! k wait --for=condition=complete --timeout=48h "job/colbert-index-$step"; then
		echo "run-index: step $step did not complete; see: kubectl -n $ns logs job/colbert-index-$step" >&2
		exit 1
	fi
done
echo "run-index: index written to /shared/index on PVC colbert-shared"
