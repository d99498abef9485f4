#!/usr/bin/env bash
# Precompute throughput (PRODUCT.md §8): the users × items products with top-k
# selection must reach >= 50 % of the GFLOP/s OpenBLAS SGEMM reaches for the
# same shape on this machine, measured in the same run (bench/sgemm).
# Generates USERS × ITEMS synthetic ratings, trains one ALS iteration (the
# factors' values do not matter for speed), then alternates sgemm and
# precompute REPEAT times and prints the medians and their ratio.
#
#   bench/precompute.sh [BUILD_DIR]
#   env: USERS (50000), ITEMS (20000), RATINGS (2000000), FACTORS (64), K (10),
#        THREADS (all cores), REPEAT (3)
set -euo pipefail

build=${1:-build}
bin=$build/src/recsys
sgemm=$build/bench/sgemm
if [ ! -x "$bin" ] || [ ! -x "$sgemm" ]; then
  [ -d "$build" ] || meson setup "$build" >&2
  ninja -C "$build" src/recsys bench/sgemm >&2
fi
users=${USERS:-50000} items=${ITEMS:-20000} ratings=${RATINGS:-2000000}
factors=${FACTORS:-64} k=${K:-10} repeat=${REPEAT:-3}
threads=${THREADS:-$(nproc)}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export RECSYS_DB=$work/db

echo "model: $users users × $items items × $factors factors (synthetic, $ratings ratings), k = $k, $threads threads"
"$bin" --log-level warn generate --users "$users" --items "$items" --ratings "$ratings" --seed 1 -o "$work/r.csv" >/dev/null
"$bin" --log-level warn --threads "$threads" train "$work/r.csv" --split none --iterations 1 --factors "$factors" >/dev/null

median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
blas=() rank=() similar=() total=()
for run in $(seq 1 "$repeat"); do
  blas+=("$(OPENBLAS_NUM_THREADS=$threads "$sgemm" "$users" "$items" "$factors" 2 | awk '{print $5}')")
  start=$(date +%s.%N)
  json=$("$bin" --log-level warn --threads "$threads" precompute --k "$k" --json)
  end=$(date +%s.%N)
  rank+=("$(echo "$json" | grep -o '"rank_gflops":[0-9.]*' | cut -d: -f2)")
  similar+=("$(echo "$json" | grep -o '"similar_gflops":[0-9.]*' | cut -d: -f2)")
  total+=("$(awk "BEGIN {print $end - $start}")")
  echo "run $run: sgemm ${blas[-1]} GFLOP/s, precompute users×items ${rank[-1]} GFLOP/s, items×items ${similar[-1]} GFLOP/s, whole command ${total[-1]} s"
done
b=$(printf '%s\n' "${blas[@]}" | median)
r=$(printf '%s\n' "${rank[@]}" | median)
s=$(printf '%s\n' "${similar[@]}" | median)
t=$(printf '%s\n' "${total[@]}" | median)
echo "median: sgemm $b GFLOP/s; precompute $r GFLOP/s (similar items $s); whole precompute $t s"
awk -v r="$r" -v b="$b" 'BEGIN {printf "ratio precompute/sgemm: %.2f (target >= 0.50)\n", r / b}'
