#!/usr/bin/env bash
# Prints a Markdown table of the runs in DIR (default runs/results) (made by scripts/reproduce-results.sh):
# run name, final test accuracy, the best epoch's accuracy, and the seconds the run's epochs took.
set -euo pipefail
cd "$(dirname "$0")/.."
dir="${1:-runs/results}"
printf '| run | final test accuracy | best epoch | before training | train time (s) |\n|---|---|---|---|---|\n'
for f in "$dir"/*.log; do
  name=$(basename "$f" .log)
  final=$(sed -n 's/^final test accuracy: //p' "$f" | tail -1)
  best=$(sed -n 's/.*test accuracy \([0-9.]*\).*/\1/p' "$f" | sort -r | head -1)
  before=$(sed -n 's/.*before training *test accuracy \([0-9.]*\).*/\1/p' "$f" | head -1)
  secs=$(sed -n 's/.*(\([0-9.]*\) s)$/\1/p' "$f" | awk '{s+=$1} END {printf "%.0f", s}')
  printf '| %s | %s | %s | %s | %s |\n' "$name" "${final:--}" "${best:--}" "${before:--}" "${secs:--}"
done
