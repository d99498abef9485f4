#!/usr/bin/env bash
# EASE beside iALS on the same data, in the same run: training time, quality
# (stratified 75/25 hold-out, k = 10), `recsys precompute` time and serving
# requests/s (wrk, keep-alive, every user's recommendations path). EASE's cost
# grows with items³ (fit) and nnz·items (precompute), iALS's with ratings.
#
#   bench/ease.sh [BUILD_DIR]
#   env: RATINGS (ml-100k u.data, else generated), LAMBDA (EASE λ, default of
#        train), THREADS (all cores), REPEAT (3 precompute runs, median),
#        CONNECTIONS (50), DURATION (5s)
set -euo pipefail

build=${1:-build}
bin=$build/src/recsys
[ -x "$bin" ] || { [ -d "$build" ] || meson setup "$build" >&2; ninja -C "$build" src/recsys >&2; }
root=$(cd "$(dirname "$0")/.." && pwd)
threads=${THREADS:-$(nproc)} repeat=${REPEAT:-3}
connections=${CONNECTIONS:-50} duration=${DURATION:-5s}
command -v wrk >/dev/null || { echo "needs wrk" >&2; exit 1; }

work=$(mktemp -d)
server=
cleanup() {
  [ -n "$server" ] && kill "$server" 2>/dev/null || true
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

ratings=${RATINGS:-$root/../shared/data/ml-100k/u.data}
if [ ! -f "$ratings" ]; then
  ratings=$work/ratings.csv
  "$bin" generate --users 1000 --items 1700 --ratings 100000 --seed 1 -o "$ratings" >/dev/null
fi
lambda=()
[ -n "${LAMBDA:-}" ] && lambda=(--regularization "$LAMBDA")

median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
seconds() { awk "BEGIN {printf \"%.3f\", $2 - $1}"; }
field() { grep -o "\"$1\":[0-9.eE+-]*" | head -1 | cut -d: -f2; }

# One model family: train (timed, with evaluation and refit), precompute
# REPEAT times, then serve and measure requests/s.
run_family() {
  local name=$1; shift
  local db=$work/$name.db
  local start end
  start=$(date +%s.%N)
  "$bin" --log-level warn --threads "$threads" --db "$db" train "$ratings" "$@" --metrics-json "$work/$name.json" >/dev/null
  end=$(date +%s.%N)
  local train_s ndcg map
  train_s=$(seconds "$start" "$end")
  ndcg=$(sed 's/"baseline".*//' "$work/$name.json" | field ndcg_at_k)
  map=$(sed 's/"baseline".*//' "$work/$name.json" | field map)
  local times=()
  for _ in $(seq 1 "$repeat"); do
    start=$(date +%s.%N)
    "$bin" --log-level warn --threads "$threads" --db "$db" precompute --k 10 >/dev/null
    end=$(date +%s.%N)
    times+=("$(seconds "$start" "$end")")
  done
  local pre
  pre=$(printf '%s\n' "${times[@]}" | median)

  "$bin" --db "$db" recommend --all --json | sed 's/^{"user":"\([^"]*\)".*/\1/' > "$work/users.txt"
  python3 - "$work/users.txt" "$work/paths.lua" <<'PY'
import sys, urllib.parse
users = [l.strip() for l in open(sys.argv[1]) if l.strip()]
with open(sys.argv[2], "w") as out:
    out.write("paths = {" + ",".join('"/v1/users/%s/recommendations"' % urllib.parse.quote(u, safe="") for u in users) + "}\n")
    out.write("i = 0\nrequest = function()\n  i = i % #paths + 1\n  return wrk.format(\"GET\", paths[i])\nend\n")
PY
  "$bin" --threads "$threads" --db "$db" serve --port 0 2> "$work/serve.log" &
  server=$!
  local port=
  for _ in $(seq 1 200); do
    port=$(grep -o 'listening on [0-9.]*:[0-9]*' "$work/serve.log" | sed 's/.*://') && [ -n "$port" ] && break
    sleep 0.05
  done
  wrk -t1 -c"$connections" -d1s -s "$work/paths.lua" "http://127.0.0.1:$port/" >/dev/null
  local out rps p99
  out=$(wrk -t1 -c"$connections" -d"$duration" --latency -s "$work/paths.lua" "http://127.0.0.1:$port/")
  rps=$(echo "$out" | awk '/Requests\/sec/ {print $2}')
  p99=$(echo "$out" | awk '$1 == "99%" {print $2}')
  kill "$server"; wait "$server" 2>/dev/null || true; server=
  printf '%-6s train %7s s  nDCG@10 %.4f  MAP %.4f  precompute %7s s (median of %d)  serving %9s req/s  p99 %s\n' \
    "$name" "$train_s" "$ndcg" "$map" "$pre" "$repeat" "$rps" "$p99"
  echo "$pre" > "$work/$name.pre"
  echo "$rps" > "$work/$name.rps"
}

echo "data: $ratings; $threads threads; wrk $connections connections, $duration"
run_family als
run_family ease --model ease "${lambda[@]}"
awk -v a="$(cat "$work/als.pre")" -v e="$(cat "$work/ease.pre")" -v ar="$(cat "$work/als.rps")" -v er="$(cat "$work/ease.rps")" \
  'BEGIN {printf "ratio ease/als: precompute time %.2f, serving req/s %.2f\n", e / a, er / ar}'
