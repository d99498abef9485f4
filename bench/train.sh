#!/usr/bin/env bash
# Training speed and memory (PRODUCT.md §8): implicit ALS, 64 factors, on
# 20 M synthetic ratings (140k users × 27k items from `recsys generate`).
# Prints seconds per iteration (median), peak RSS against the ratings' size in
# memory, FLOPs per iteration, achieved GFLOP/s, and OpenBLAS SGEMM GFLOP/s
# measured on the same machine in the same run.
#
#   bench/train.sh [BUILD_DIR]    env: THREADS (2), ITERATIONS (5), WORK (temp dir)
set -euo pipefail

build=${1:-build}
bin=$build/src/recsys
sgemm=$build/bench/sgemm
threads=${THREADS:-2}
iterations=${ITERATIONS:-5}
users=140000 items=27000 ratings=20000000 factors=64 cg_steps=3
work=${WORK:-$(mktemp -d)}
mkdir -p "$work"
trap '[ -z "${WORK:-}" ] && rm -rf "$work"' EXIT

[ -x "$bin" ] || { echo "no $bin: build first (meson setup $build && ninja -C $build)" >&2; exit 1; }

echo "generating $ratings ratings ($users users × $items items) in $work"
"$bin" generate --users $users --items $items --ratings $ratings --seed 1 -o "$work/ratings.csv"
"$bin" --db "$work/db" --log-level warn import "$work/ratings.csv" >/dev/null

echo "training: $iterations iterations, $factors factors, $threads threads"
/usr/bin/time -v "$bin" --db "$work/db" --threads "$threads" --log-level info train --split none --no-loss \
  --factors $factors --iterations "$iterations" >"$work/train.out" 2>"$work/train.err"

# Per-iteration times from the progress lines ("… 1.23s/it …").
seconds=$(grep -o '[0-9.]*s/it' "$work/train.err" | tr -d 's/it' | sort -n)
median=$(echo "$seconds" | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}')
rss_kb=$(grep 'Maximum resident set size' "$work/train.err" | awk '{print $NF}')

if [ -x "$sgemm" ]; then
  sgemm_line=$(OPENBLAS_NUM_THREADS=$threads "$sgemm" 4096 4096 64 3)
  sgemm_gflops=$(echo "$sgemm_line" | awk '{print $NF}')
else
  sgemm_gflops=$(/usr/bin/python3 - "$threads" <<'PY'
import os, sys, time
os.environ["OPENBLAS_NUM_THREADS"] = sys.argv[1]
import numpy as np
a = np.random.rand(4096, 64).astype(np.float32); b = np.random.rand(4096, 64).astype(np.float32)
a @ b.T; n = 0; t = time.time()
while time.time() - t < 3: a @ b.T; n += 1
print(f"{2 * 4096 * 4096 * 64 * n / (time.time() - t) / 1e9:.1f}")
PY
)
fi

/usr/bin/python3 - "$median" "$rss_kb" "$sgemm_gflops" "$users" "$items" "$ratings" "$factors" "$cg_steps" <<'PY'
import sys
median, rss_kb, sgemm = float(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
users, items, nnz, f, steps = (int(x) for x in sys.argv[4:9])
# One CG half-step for R rows against the other side's n factors (row_solver.cpp):
# residual and every CG step each cost Yu·v and Yuᵀ·q (2·nnz·f flops each) and
# (YᵀY+λI)·v (2·R·f²); forming YᵀY costs n·f² (one triangle).
def side(rows, other):
    return (1 + steps) * (4 * nnz * f + 2 * rows * f * f) + other * f * f
flops = side(users, items) + side(items, users)
ratings_bytes = nnz * 20  # RatingTable: u32 user, u32 item, f32 value, i64 timestamp
print(f"seconds per iteration (median)  {median:.2f}  (target <= 1.5)")
print(f"FLOP per iteration              {flops / 1e9:.1f} G")
print(f"achieved                        {flops / median / 1e9:.1f} GFLOP/s")
print(f"OpenBLAS SGEMM                  {sgemm:.1f} GFLOP/s  (training reaches {100 * flops / median / 1e9 / sgemm:.0f}%)")
print(f"peak RSS                        {rss_kb / 1024:.0f} MiB")
print(f"ratings in memory               {ratings_bytes / 2**20:.0f} MiB (20 bytes each)")
print(f"peak RSS / ratings              {rss_kb * 1024 / ratings_bytes:.2f}x  (target <= 3)")
PY
