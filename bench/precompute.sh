#!/usr/bin/env bash
# Precompute throughput against the product contract's target: the users ×
# items products with top-k selection must reach >= 80 % of the GFLOP/s
# OpenBLAS SGEMM reaches for the same shape on this machine, measured in the
# same run (bench/sgemm). Generates USERS × ITEMS synthetic ratings, trains one
# ALS iteration (the factors' values do not matter for speed), then alternates
# sgemm and precompute REPEAT times and prints the medians, their ratio and
# the verdict ("met" / "NOT met").
#
#   bench/precompute.sh [BUILD_DIR | RECSYS_BINARY]
#   env: USERS (50000), ITEMS (20000), RATINGS (2000000), FACTORS (64), K (10),
#        THREADS (all cores), REPEAT (3), SGEMM (bench/sgemm binary: default the
#        build directory's, or beside a given binary)
#   quick: USERS=5000 ITEMS=2000 RATINGS=100000 REPEAT=1 bench/precompute.sh
# Exit status: 0 when the runs completed (target met or not), 1 for a failed
# step, 77 when a tool is missing. Without bench/sgemm the ratio is skipped,
# with a message.
set -euo pipefail

# shellcheck source=bench/lib.sh
. "$(dirname "$0")/lib.sh"
bench_resolve "${1:-build}"
bench_sgemm
users=${USERS:-50000} items=${ITEMS:-20000} ratings=${RATINGS:-2000000}
factors=${FACTORS:-64} k=${K:-10} repeat=${REPEAT:-3}
threads=${THREADS:-$(nproc)}
bench_work=$(mktemp -d)
work=$bench_work
bench_traps
export RECSYS_DB=$work/db

bench_header "model: $users users × $items items × $factors factors (synthetic, $ratings ratings), k = $k, $threads threads"
[ -n "$sgemm" ] || echo "no SGEMM reference: $sgemm_missing; the ratio to SGEMM is skipped"
bench_run "$bin" --log-level warn generate --users "$users" --items "$items" --ratings "$ratings" --seed 1 -o "$work/r.csv" >/dev/null
bench_run "$bin" --log-level warn --threads "$threads" train "$work/r.csv" --split none --iterations 1 --factors "$factors" >/dev/null

blas=() rank=() similar=() total=()
for run in $(seq 1 "$repeat"); do
  blas_now="sgemm skipped"
  if [ -n "$sgemm" ]; then
    OPENBLAS_NUM_THREADS=$threads bench_run "$sgemm" "$users" "$items" "$factors" 2 > "$work/sgemm.out"
    blas+=("$(awk '{print $5}' "$work/sgemm.out")")
    blas_now="sgemm ${blas[-1]} GFLOP/s"
  fi
  start=$(bench_now)
  bench_run "$bin" --log-level warn --threads "$threads" precompute --k "$k" --json > "$work/precompute.json"
  end=$(bench_now)
  rank+=("$(grep -o '"rank_gflops":[0-9.]*' "$work/precompute.json" | cut -d: -f2)")
  similar+=("$(grep -o '"similar_gflops":[0-9.]*' "$work/precompute.json" | cut -d: -f2)")
  total+=("$(bench_seconds "$start" "$end")")
  echo "run $run: $blas_now, precompute users×items ${rank[-1]} GFLOP/s, items×items ${similar[-1]} GFLOP/s, whole command ${total[-1]} s"
done
r=$(printf '%s\n' "${rank[@]}" | bench_median)
s=$(printf '%s\n' "${similar[@]}" | bench_median)
t=$(printf '%s\n' "${total[@]}" | bench_median)
if [ -n "$sgemm" ]; then
  b=$(printf '%s\n' "${blas[@]}" | bench_median)
  echo "median: sgemm $b GFLOP/s; precompute $r GFLOP/s (similar items $s); whole precompute $t s"
  ratio=$(awk -v r="$r" -v b="$b" 'BEGIN {printf "%.2f", r / b}')
  echo "ratio precompute/sgemm: $ratio (target >= 0.80: $(bench_verdict "$ratio" '>=' 0.80))"
else
  echo "median: precompute $r GFLOP/s (similar items $s); whole precompute $t s"
  echo "ratio precompute/sgemm: skipped ($sgemm_missing; target >= 0.80: not measured)"
fi
