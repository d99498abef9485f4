#!/usr/bin/env bash
# Ingest speed and memory (PRODUCT.md §8: >= 2 M rating rows/s from CSV into
# LMDB on 2 cores). Generates 20 M synthetic ratings (140k users × 27k items),
# imports them REPEAT times into a fresh database each time, and prints the
# median rows/s, the peak RSS (from /usr/bin/time -v), the size of the CSV and
# of the database, and how long the generator took.
#
#   bench/ingest.sh [BUILD_DIR | RECSYS_BINARY]
#   env: THREADS (2), REPEAT (3), RATINGS (20000000), WORK (temp dir, kept if given)
set -euo pipefail

target=${1:-build}
if [ -f "$target" ] && [ -x "$target" ]; then
  bin=$target
else
  bin=$target/src/recsys
  if [ ! -x "$bin" ]; then
    echo "building $target" >&2
    [ -d "$target" ] || meson setup "$target" >&2
    ninja -C "$target" src/recsys >&2
  fi
fi
threads=${THREADS:-2}
repeat=${REPEAT:-3}
users=140000 items=27000 ratings=${RATINGS:-20000000}
work=${WORK:-$(mktemp -d)}
trap '[ -z "${WORK:-}" ] && rm -rf "$work"' EXIT
mkdir -p "$work"
[ -x /usr/bin/time ] || { echo "needs /usr/bin/time (apt-get install time)" >&2; exit 1; }

echo "generating $ratings ratings ($users users × $items items) in $work"
start=$(date +%s.%N)
"$bin" --threads "$threads" generate --users $users --items $items --ratings "$ratings" --seed 1 -o "$work/ratings.csv"
end=$(date +%s.%N)
gen_seconds=$(awk "BEGIN {print $end - $start}")
csv_bytes=$(stat -c %s "$work/ratings.csv")

rates=() rss=()
for run in $(seq 1 "$repeat"); do
  rm -rf "$work/db"
  /usr/bin/time -v "$bin" --db "$work/db" --threads "$threads" --log-level warn import "$work/ratings.csv" \
    >"$work/import.out" 2>"$work/import.err" || { cat "$work/import.err" >&2; exit 1; }
  rate=$(grep -o '([0-9]* rows/s)' "$work/import.out" | tr -dc '0-9')
  kb=$(grep 'Maximum resident set size' "$work/import.err" | awk '{print $NF}')
  wall=$(grep 'Elapsed (wall clock)' "$work/import.err" | awk '{print $NF}')
  echo "run $run: $rate rows/s (import's own clock), process wall $wall, peak RSS $((kb / 1024)) MiB"
  rates+=("$rate") rss+=("$kb")
done
db_bytes=$(stat -c %s "$work/db/data.mdb")
median=$(printf '%s\n' "${rates[@]}" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
peak=$(printf '%s\n' "${rss[@]}" | sort -n | tail -1)

echo
awk -v g="$gen_seconds" -v n="$ratings" -v csv="$csv_bytes" -v m="$median" -v t="$threads" -v p="$peak" 'BEGIN {
  printf "generator:        %.1f s for %d rows (%.2f M rows/s), CSV %d MiB\n", g, n, n / g / 1e6, csv / 1048576
  printf "import (median):  %d rows/s on %d threads = %.2fx the 2 M rows/s target\n", m, t, m / 2e6
  printf "peak RSS:         %d MiB (%.2fx the 16-byte stored ratings)\n", p / 1024, p * 1024 / (n * 16)
}'
echo "database:         $((db_bytes / 1048576)) MiB"
