#!/usr/bin/env bash
# Training speed and memory against the product contract's targets: implicit
# ALS, 64 factors, 20 M synthetic ratings (140k users × 27k items from
# `recsys generate`), 2 cores: <= 0.4 s per iteration (>= 60 % of OpenBLAS
# SGEMM's GFLOP/s), peak memory <= 3× the ratings in memory.
# Prints seconds per iteration (median), FLOPs per iteration, achieved GFLOP/s,
# OpenBLAS SGEMM GFLOP/s measured on the same machine in the same run
# (bench/sgemm 4096 4096 64), peak RSS against the ratings in memory, each
# against its target ("met" / "NOT met").
#
# "Ratings in memory" (the same definition in bench/ingest.sh and
# docs/training.md): 16 bytes per rating, what one rating costs in the input
# ALS fits from — a 4-byte index and a 4-byte value in each of the two CSRs it
# holds, by user and by item (src/model/rating_matrix.hpp); the row offsets
# (8 bytes per user and per item) are left out. The rest of the peak is
# overhead: while the matrix is built, the loaded rating table (u32 user, u32
# item, f32 value: 12 bytes per rating, 20 while loading with timestamps) it
# consumes; the database's pages read, which stay mapped (file-backed RSS);
# the factors.
#
#   bench/train.sh [BUILD_DIR | RECSYS_BINARY]
#   env: USERS (140000), ITEMS (27000), RATINGS (20000000), ITERATIONS (5),
#        THREADS (2), WORK (temp dir, kept if given), SGEMM (bench/sgemm binary:
#        default the build directory's, built with ninja if missing, or beside
#        a given binary)
#   quick: USERS=14000 ITEMS=2700 RATINGS=500000 ITERATIONS=3 bench/train.sh
# Exit status: 0 when the run completed (targets met or not), 1 for a failed
# step, 77 when a tool is missing. Without bench/sgemm the SGEMM ratio is
# skipped, with a message (no fallback: numpy would bring its own BLAS).
set -euo pipefail

# shellcheck source=bench/lib.sh
. "$(dirname "$0")/lib.sh"
bench_resolve "${1:-build}"
bench_need /usr/bin/time /usr/bin/python3
bench_sgemm
threads=${THREADS:-2}
iterations=${ITERATIONS:-5}
users=${USERS:-140000} items=${ITEMS:-27000} ratings=${RATINGS:-20000000}
factors=64 cg_steps=3
bench_work=${WORK:-$(mktemp -d)}
bench_keep_work=${WORK:-}
work=$bench_work
mkdir -p "$work"
bench_traps

bench_header "implicit ALS, $factors factors, $ratings ratings ($users users × $items items), $iterations iterations, $threads threads"
[ -n "$sgemm" ] || echo "no SGEMM reference: $sgemm_missing; the SGEMM ratio is skipped"

echo "generating $ratings ratings ($users users × $items items) in $work"
bench_run "$bin" generate --users "$users" --items "$items" --ratings "$ratings" --seed 1 -o "$work/ratings.csv"
rm -rf "$work/db"
bench_run "$bin" --db "$work/db" --log-level warn import "$work/ratings.csv" >/dev/null

echo "training: $iterations iterations, $factors factors, $threads threads"
if ! bench_run /usr/bin/time -v "$bin" --db "$work/db" --threads "$threads" --log-level info train --split none --no-loss \
       --factors $factors --iterations "$iterations" >"$work/train.out" 2>"$work/train.err"; then
  echo "train failed; its output and error output:" >&2
  cat "$work/train.out" "$work/train.err" >&2
  exit 1
fi

# Per-iteration times from the progress lines ("… 1.23s/it …").
median=$(grep -o '[0-9.]*s/it' "$work/train.err" | sed 's|s/it||' | bench_median)
rss_kb=$(grep 'Maximum resident set size' "$work/train.err" | awk '{print $NF}')
if [ -z "$median" ] || [ -z "$rss_kb" ]; then
  echo "no per-iteration times or peak RSS in train's output:" >&2
  cat "$work/train.err" >&2
  exit 1
fi

sgemm_gflops=
if [ -n "$sgemm" ]; then
  OPENBLAS_NUM_THREADS=$threads bench_run "$sgemm" 4096 4096 64 3 > "$work/sgemm.out"
  sgemm_gflops=$(awk '{print $NF}' "$work/sgemm.out")
fi

/usr/bin/python3 - "$median" "$rss_kb" "${sgemm_gflops:-0}" "$users" "$items" "$ratings" "$factors" "$cg_steps" <<'PY'
import sys
median, rss_kb, sgemm = float(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
users, items, nnz, f, steps = (int(x) for x in sys.argv[4:9])
def verdict(ok): return "met" if ok else "NOT met"
# One CG half-step for R rows against the other side's n factors (row_solver.cpp):
# residual and every CG step each cost Yu·v and Yuᵀ·q (2·nnz·f flops each) and
# (YᵀY+λI)·v (2·R·f²); forming YᵀY costs n·f² (one triangle).
def side(rows, other):
    return (1 + steps) * (4 * nnz * f + 2 * rows * f * f) + other * f * f
flops = side(users, items) + side(items, users)
achieved = flops / median / 1e9
# Ratings in memory: 16 bytes each, a u32 index and an f32 value in each of the
# two CSRs ALS fits from (the script's header says why).
ratings_bytes = nnz * 16
contract = (users, items, nnz) == (140000, 27000, 20000000)
print(f"seconds per iteration (median)  {median:.2f}  (target <= 0.4: {verdict(median <= 0.4)})")
print(f"FLOP per iteration              {flops / 1e9:.1f} G")
print(f"achieved                        {achieved:.1f} GFLOP/s")
if sgemm > 0:
    share = achieved / sgemm
    print(f"OpenBLAS SGEMM                  {sgemm:.1f} GFLOP/s  (training reaches {100 * share:.0f}%; target >= 60%: {verdict(share >= 0.6)})")
else:
    print("OpenBLAS SGEMM                  skipped (no bench/sgemm; target >= 60%: not measured)")
print(f"peak RSS                        {rss_kb / 1024:.0f} MiB")
print(f"ratings in memory               {ratings_bytes / 2**20:.0f} MiB (16 bytes each: index + value in the by-user and by-item CSRs)")
print(f"peak RSS / ratings              {rss_kb * 1024 / ratings_bytes:.2f}x  (target <= 3: {verdict(rss_kb * 1024 <= 3 * ratings_bytes)})")
if not contract:
    print("(not the contract's size, 20 M ratings of 140k users × 27k items: the verdicts are indicative only)")
PY
