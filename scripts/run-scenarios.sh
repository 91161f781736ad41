#!/usr/bin/env bash
# Runs built-in simulation scenarios one after another (all of them by default) and prints each
# one's final line and run folder. Usage: scripts/run-scenarios.sh [NAME...]
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
names=("$@")
if [ ${#names[@]} -eq 0 ]; then
  names=(default ftaas-alone ftaas-col heterogeneous multi-jvm devices-1000 paper-fmnist-mlp paper-mnist-mlp)
fi
for n in "${names[@]}"; do
  start=$(date +%s)
  out="$("$root/colaedge" simulate "$n" -q 2>&1 | grep -v ' INFO ' || true)"
  echo "== $n ($(( $(date +%s) - start )) s)"
  echo "$out" | grep -E '^(final test accuracy|plots):' || echo "$out" | tail -20
done
