#!/usr/bin/env bash
# Real-time events against the product contract's target: p99 <= 1 ms from POST
# to commit, in a mode that never corrupts on power loss; an event's effect is
# visible in the next GET. wrk posts one event per request (random known user,
# random item) over CONNECTIONS connections for DURATION; the POST answers after
# the commit, so its latency is POST -> commit. Runs the server's default
# durability mode (MDB_NOMETASYNC: one fdatasync per group commit, meta synced
# once a second), then --sync-every-commit (meta synced at each commit too),
# side by side; see docs/serving.md, "Durability of events". Then checks that a
# GET right after a POST reflects it.
#
# The server runs without a bearer token (RECSYS_TOKEN and RECSYS_TOKEN_FILE
# are unset here), and every error response (wrk counts statuses >= 400) or
# socket error counts as an error: a 401 cannot pass as a fast answer.
#
#   bench/events.sh [BUILD_DIR | RECSYS_BINARY]
#   env: CONNECTIONS (8), DURATION (5s), THREADS (2), RATINGS (ml-100k u.data),
#        MODEL (als, or ease: events then recompute x_u·B instead of folding in)
#   quick: DURATION=2s bench/events.sh
# Exit status: 0 when the runs completed (target met or not), 1 on errors or a
# failed step, 77 when a tool is missing.
set -euo pipefail

# shellcheck source=bench/lib.sh
. "$(dirname "$0")/lib.sh"
bench_resolve "${1:-build}"
bench_need wrk curl /usr/bin/python3
root=$(cd "$(dirname "$0")/.." && pwd)
connections=${CONNECTIONS:-8} duration=${DURATION:-5s} threads=${THREADS:-2}
unset RECSYS_TOKEN RECSYS_TOKEN_FILE
bench_work=$(mktemp -d)
work=$bench_work
bench_traps
bench_header "$connections connections, $duration per mode, $threads server threads, model ${MODEL:-als}"

export RECSYS_DB=$work/db
ratings=${RATINGS:-$root/../shared/data/ml-100k/u.data}
if [ ! -f "$ratings" ]; then
  ratings=$work/ratings.csv
  bench_run "$bin" generate --users 1000 --items 1700 --ratings 100000 --seed 1 -o "$ratings" >/dev/null
fi
bench_run "$bin" --log-level warn train "$ratings" --split none --model "${MODEL:-als}" >/dev/null
bench_run "$bin" --log-level warn precompute >/dev/null
port=$(bench_free_port)
server=
start_server() {
  bench_bg "$bin" --log-level warn serve --port "$port" --threads "$threads" "$@" 2>"$work/server.err"
  server=$bench_last
  bench_ready "http://127.0.0.1:$port/readyz" "$server" "$work/server.err"
}
stop_server() { bench_stop "$server"; server=; }

cat > "$work/post.lua" <<'LUA'
math.randomseed(7)
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
request = function()
  local body = string.format('{"user":"%d","item":"%d","value":%d}', math.random(1, 943), math.random(1, 1682), math.random(1, 5))
  return wrk.format(nil, "/v1/events", nil, body)
end
LUA
errors=0
for mode in default sync-every-commit; do
  if [ "$mode" = default ]; then start_server; else start_server --sync-every-commit; fi
  bench_run wrk -t1 -c"$connections" -d"$duration" --latency -s "$work/post.lua" "http://127.0.0.1:$port/" \
    > "$work/wrk.out" 2>&1 || { echo "wrk failed:" >&2; cat "$work/wrk.out" >&2; exit 1; }
  read -r _ rps p50 p99 sock status < <(bench_wrk "$work/wrk.out")
  errors=$((errors + sock + status))
  echo "== $mode"
  grep -E 'Requests/sec|50%|99%|Non-2xx|Socket errors' "$work/wrk.out" || true
  printf 'POST -> commit (%s): %d events/s, p50 %.2f ms, p99 %.2f ms (target <= 1 ms: %s), errors %d (socket %d, status >= 400 %d), %s connections\n' \
    "$mode" "$rps" "$p50" "$p99" "$(bench_verdict "$p99" '<=' 1)" $((sock + status)) "$sock" "$status" "$connections"
  stop_server
done
start_server

# The next GET reflects the event: the posted item leaves the user's list.
before=$(curl -sf "http://127.0.0.1:$port/v1/users/196/recommendations?k=1") ||
  { echo "FAIL: GET of user 196's list failed" >&2; exit 1; }
item=$(echo "$before" | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["items"][0]["item"])')
code=$(curl -s -o "$work/post.body" -w '%{http_code}' -X POST "http://127.0.0.1:$port/v1/events" \
  -d "{\"user\":\"196\",\"item\":\"$item\",\"value\":5}")
case $code in
  2??) ;;
  *) echo "FAIL: POST /v1/events answered $code: $(cat "$work/post.body")" >&2; exit 1 ;;
esac
after=$(curl -sf "http://127.0.0.1:$port/v1/users/196/recommendations?k=10") ||
  { echo "FAIL: GET of user 196's list after the event failed" >&2; exit 1; }
if echo "$after" | grep -q "\"item\":\"$item\""; then echo "FAIL: item $item still recommended after the event"; exit 1; fi
echo "next GET reflects the event: item $item is no longer recommended to user 196"
[ "$errors" -eq 0 ] || { echo "events.sh: $errors errors" >&2; exit 1; }
