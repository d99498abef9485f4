#!/usr/bin/env bash
# Ingest speed and memory against the product contract's target: import at
# least as fast as DuckDB's read_csv into a table on the same file, with the
# same threads. Generates 20 M synthetic ratings (140k users × 27k items),
# reads the file once (warm page cache), then REPEAT times imports it into a
# fresh database and, when `duckdb` is on PATH, creates a table from it with
# DuckDB in a fresh database file, alternating. Both are timed with the same
# wall clock around the whole command (not import's own log). Prints each run,
# the medians (rows/s), the ratio and the verdict, the peak RSS of import (from
# /usr/bin/time -v) against the ratings in memory, the size of the CSV and of
# the database, and how long the generator took.
#
# "Ratings in memory", as in bench/train.sh and docs/training.md: 16 bytes per
# rating (a 4-byte index and a 4-byte value in each of the two CSRs training
# holds; also the size of a stored rating record).
#
#   bench/ingest.sh [BUILD_DIR | RECSYS_BINARY]
#   env: THREADS (2), REPEAT (3), RATINGS (20000000), WORK (temp dir, kept if given)
#   quick: RATINGS=1000000 REPEAT=1 bench/ingest.sh
# Exit status: 0 when the runs completed (target met or not), 1 for a failed
# step, 77 when a tool is missing. Without duckdb the comparison is skipped,
# with a message, and recsys's figures are still printed.
set -euo pipefail

# shellcheck source=bench/lib.sh
. "$(dirname "$0")/lib.sh"
bench_resolve "${1:-build}"
bench_need /usr/bin/time
threads=${THREADS:-2}
repeat=${REPEAT:-3}
users=140000 items=27000 ratings=${RATINGS:-20000000}
bench_work=${WORK:-$(mktemp -d)}
bench_keep_work=${WORK:-}
work=$bench_work
mkdir -p "$work"
bench_traps
duckdb=$(command -v duckdb || true)

bench_header "$ratings ratings ($users users × $items items), $threads threads, $repeat runs"
if [ -n "$duckdb" ]; then
  echo "   duckdb: $duckdb ($("$duckdb" --version 2>/dev/null | head -1))"
else
  echo "duckdb not installed: the DuckDB comparison is skipped"
fi

echo "generating $ratings ratings ($users users × $items items) in $work"
start=$(bench_now)
bench_run "$bin" --threads "$threads" generate --users $users --items $items --ratings "$ratings" --seed 1 -o "$work/ratings.csv"
end=$(bench_now)
gen_seconds=$(bench_seconds "$start" "$end")
csv_bytes=$(stat -c %s "$work/ratings.csv")
cat "$work/ratings.csv" > /dev/null  # warm: both read it from the page cache

duck_sql="SET threads=$threads; CREATE TABLE r AS SELECT * FROM read_csv('$work/ratings.csv', header=true,
  columns={'user': 'UINTEGER', 'item': 'UINTEGER', 'rating': 'FLOAT', 'timestamp': 'BIGINT'})"
walls=() duck_walls=() rss=()
for run in $(seq 1 "$repeat"); do
  rm -rf "$work/db"
  start=$(bench_now)
  bench_run /usr/bin/time -v "$bin" --db "$work/db" --threads "$threads" --log-level warn import "$work/ratings.csv" \
    >"$work/import.out" 2>"$work/import.err" || { echo "import failed:" >&2; cat "$work/import.out" "$work/import.err" >&2; exit 1; }
  end=$(bench_now)
  wall=$(bench_seconds "$start" "$end")
  own=$(grep -o '([0-9]* rows/s)' "$work/import.out" | tr -dc '0-9')
  kb=$(grep 'Maximum resident set size' "$work/import.err" | awk '{print $NF}')
  walls+=("$wall") rss+=("$kb")
  line="run $run: recsys import $wall s = $(awk -v n="$ratings" -v w="$wall" 'BEGIN {printf "%.0f", n / w}') rows/s (its own log: ${own:-?} rows/s), peak RSS $((kb / 1024)) MiB"
  if [ -n "$duckdb" ]; then
    rm -f "$work/duck.db" "$work/duck.db.wal"
    start=$(bench_now)
    bench_run "$duckdb" "$work/duck.db" -c "$duck_sql" >"$work/duck.out" 2>&1 ||
      { echo "duckdb failed:" >&2; cat "$work/duck.out" >&2; exit 1; }
    end=$(bench_now)
    duck=$(bench_seconds "$start" "$end")
    duck_walls+=("$duck")
    line="$line; duckdb $duck s = $(awk -v n="$ratings" -v w="$duck" 'BEGIN {printf "%.0f", n / w}') rows/s"
    if [ "$run" -eq 1 ]; then  # not timed: DuckDB read every row
      rows=$("$duckdb" "$work/duck.db" -noheader -list -c "SELECT count(*) FROM r" 2>&1 | tail -1)
      [ "$rows" = "$ratings" ] || { echo "duckdb's table has '$rows' rows, not $ratings" >&2; exit 1; }
    fi
  fi
  echo "$line"
done
db_bytes=$(stat -c %s "$work/db/data.mdb")
wall=$(printf '%s\n' "${walls[@]}" | bench_median)
peak=$(printf '%s\n' "${rss[@]}" | sort -n | tail -1)

echo
awk -v g="$gen_seconds" -v n="$ratings" -v csv="$csv_bytes" -v w="$wall" -v t="$threads" -v p="$peak" 'BEGIN {
  printf "generator:        %.1f s for %d rows (%.2f M rows/s), CSV %d MiB\n", g, n, n / g / 1e6, csv / 1048576
  printf "import (median):  %.2f s = %.0f rows/s on %d threads (wall clock of the whole command)\n", w, n / w, t
  printf "peak RSS:         %d MiB (%.2fx the ratings in memory, %d MiB at 16 bytes each)\n", p / 1024, p * 1024 / (n * 16), n * 16 / 1048576
}'
if [ -n "$duckdb" ]; then
  duck=$(printf '%s\n' "${duck_walls[@]}" | bench_median)
  ratio=$(awk -v d="$duck" -v w="$wall" 'BEGIN {printf "%.2f", d / w}')
  echo "duckdb (median):  $duck s = $(awk -v n="$ratings" -v d="$duck" 'BEGIN {printf "%.0f", n / d}') rows/s on $threads threads"
  echo "speed recsys/duckdb: $ratio (target >= 1.0, at least as fast: $(bench_verdict "$ratio" '>=' 1.0))"
else
  echo "speed recsys/duckdb: skipped, duckdb not installed (target >= 1.0: not measured)"
fi
echo "database:         $((db_bytes / 1048576)) MiB"
