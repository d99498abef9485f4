#!/usr/bin/env bash
# EASE beside iALS on the same data, in the same run: training time, quality
# (stratified 75/25 hold-out, k = 10), `recsys precompute` time and serving
# requests/s (wrk, keep-alive, every user's recommendations path). EASE's cost
# grows with items³ (fit) and nnz·items (precompute), iALS's with ratings.
#
# Serving errors (wrk's socket errors and error responses, status >= 400) are
# counted per family.
#
#   bench/ease.sh [BUILD_DIR | RECSYS_BINARY]
#   env: RATINGS (ml-100k u.data, else generated), LAMBDA (EASE λ, default of
#        train), THREADS (all cores), REPEAT (3 precompute runs, median),
#        CONNECTIONS (50), DURATION (5s)
#   quick: REPEAT=1 DURATION=2s bench/ease.sh
# Exit status: 0 when both families ran without errors, 1 on serving errors or
# a failed step, 77 when a tool is missing.
set -euo pipefail

# shellcheck source=bench/lib.sh
. "$(dirname "$0")/lib.sh"
bench_resolve "${1:-build}"
root=$(cd "$(dirname "$0")/.." && pwd)
threads=${THREADS:-$(nproc)} repeat=${REPEAT:-3}
connections=${CONNECTIONS:-50} duration=${DURATION:-5s}
bench_need wrk curl python3

bench_work=$(mktemp -d)
work=$bench_work
bench_traps

ratings=${RATINGS:-$root/../shared/data/ml-100k/u.data}
if [ ! -f "$ratings" ]; then
  ratings=$work/ratings.csv
  bench_run "$bin" generate --users 1000 --items 1700 --ratings 100000 --seed 1 -o "$ratings" >/dev/null
fi
lambda=()
[ -n "${LAMBDA:-}" ] && lambda=(--regularization "$LAMBDA")

field() { grep -o "\"$1\":[0-9.eE+-]*" | head -1 | cut -d: -f2; }

# One model family: train (timed, with evaluation and refit), precompute
# REPEAT times, then serve and measure requests/s.
run_family() {
  local name=$1; shift
  local db=$work/$name.db
  local start end
  start=$(bench_now)
  bench_run "$bin" --log-level warn --threads "$threads" --db "$db" train "$ratings" "$@" --metrics-json "$work/$name.json" >/dev/null
  end=$(bench_now)
  local train_s ndcg map
  train_s=$(bench_seconds "$start" "$end")
  ndcg=$(sed 's/"baseline".*//' "$work/$name.json" | field ndcg_at_k)
  map=$(sed 's/"baseline".*//' "$work/$name.json" | field map)
  local times=()
  for _ in $(seq 1 "$repeat"); do
    start=$(bench_now)
    bench_run "$bin" --log-level warn --threads "$threads" --db "$db" precompute --k 10 >/dev/null
    end=$(bench_now)
    times+=("$(bench_seconds "$start" "$end")")
  done
  local pre
  pre=$(printf '%s\n' "${times[@]}" | bench_median)

  "$bin" --db "$db" recommend --all --json | sed 's/^{"user":"\([^"]*\)".*/\1/' > "$work/users.txt"
  python3 - "$work/users.txt" "$work/paths.lua" <<'PY'
import sys, urllib.parse
users = [l.strip() for l in open(sys.argv[1]) if l.strip()]
with open(sys.argv[2], "w") as out:
    out.write("paths = {" + ",".join('"/v1/users/%s/recommendations"' % urllib.parse.quote(u, safe="") for u in users) + "}\n")
    out.write("i = 0\nrequest = function()\n  i = i % #paths + 1\n  return wrk.format(\"GET\", paths[i])\nend\n")
PY
  local server port=''
  bench_bg "$bin" --threads "$threads" --db "$db" serve --port 0 2> "$work/serve.log"
  server=$bench_last
  # --port 0: the server logs the port it got.
  for _ in $(seq 1 200); do
    port=$(grep -o 'listening on [0-9.]*:[0-9]*' "$work/serve.log" | sed 's/.*://') && [ -n "$port" ] && break
    kill -0 "$server" 2>/dev/null || break
    sleep 0.05
  done
  [ -n "$port" ] || { echo "ease.sh: the $name server logged no port within 10 s; its log:" >&2; cat "$work/serve.log" >&2; exit 1; }
  bench_ready "http://127.0.0.1:$port/readyz" "$server" "$work/serve.log"
  bench_run wrk -t1 -c"$connections" -d1s -s "$work/paths.lua" "http://127.0.0.1:$port/" >/dev/null
  bench_run wrk -t1 -c"$connections" -d"$duration" --latency -s "$work/paths.lua" "http://127.0.0.1:$port/" \
    > "$work/wrk.out" 2>&1 || { echo "wrk failed against $name:" >&2; cat "$work/wrk.out" >&2; exit 1; }
  local rps p99 sock status
  read -r _ rps _ p99 sock status < <(bench_wrk "$work/wrk.out")
  bench_stop "$server"
  printf '%-6s train %7s s  nDCG@10 %.4f  MAP %.4f  precompute %7s s (median of %d)  serving %9s req/s  p99 %.2f ms  errors %d (socket %d, status >= 400 %d)\n' \
    "$name" "$train_s" "$ndcg" "$map" "$pre" "$repeat" "$rps" "$p99" $((sock + status)) "$sock" "$status"
  echo "$pre" > "$work/$name.pre"
  echo "$rps" > "$work/$name.rps"
  echo $((sock + status)) > "$work/$name.errors"
}

bench_header "data: $ratings; $threads threads; wrk $connections connections, $duration"
run_family als
run_family ease --model ease "${lambda[@]}"
awk -v a="$(cat "$work/als.pre")" -v e="$(cat "$work/ease.pre")" -v ar="$(cat "$work/als.rps")" -v er="$(cat "$work/ease.rps")" \
  'BEGIN {printf "ratio ease/als: precompute time %.2f, serving req/s %.2f\n", e / a, er / ar}'
errors=$(($(cat "$work/als.errors") + $(cat "$work/ease.errors")))
[ "$errors" -eq 0 ] || { echo "ease.sh: $errors serving errors" >&2; exit 1; }
