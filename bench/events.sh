#!/usr/bin/env bash
# Real-time events (PRODUCT.md §8): an event's effect is visible in the next GET,
# p99 <= 1 ms from POST to commit in a mode that never corrupts on power loss.
# wrk posts one event per request (random known user, random item) over
# CONNECTIONS connections for DURATION; the POST answers after the commit, so its
# latency is POST -> commit. Runs the server's default durability mode
# (MDB_NOMETASYNC: one fdatasync per group commit, meta synced once a second),
# then --sync-every-commit (meta synced at each commit too), side by side; see
# docs/serving.md, "Durability of events". Then checks that a GET right after a
# POST reflects it.
#
#   bench/events.sh [BUILD_DIR]
#   env: CONNECTIONS (8), DURATION (5s), THREADS (2), RATINGS (ml-100k u.data),
#        MODEL (als, or ease: events then recompute x_u·B instead of folding in)
set -euo pipefail

build=${1:-build}
bin=$build/src/recsys
[ -x "$bin" ] || { [ -d "$build" ] || meson setup "$build" >&2; ninja -C "$build" src/recsys >&2; }
root=$(cd "$(dirname "$0")/.." && pwd)
connections=${CONNECTIONS:-8} duration=${DURATION:-5s} threads=${THREADS:-2}
work=$(mktemp -d)
server=
trap '[ -n "$server" ] && kill "$server" 2>/dev/null; wait 2>/dev/null; rm -rf "$work"' EXIT
export RECSYS_DB=$work/db
ratings=${RATINGS:-$root/../shared/data/ml-100k/u.data}
if [ ! -f "$ratings" ]; then
  ratings=$work/ratings.csv
  "$bin" generate --users 1000 --items 1700 --ratings 100000 --seed 1 -o "$ratings" >/dev/null
fi
"$bin" --log-level warn train "$ratings" --split none --model "${MODEL:-als}" >/dev/null
"$bin" --log-level warn precompute >/dev/null
port=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
start_server() {
  "$bin" --log-level warn serve --port "$port" --threads "$threads" "$@" &
  server=$!
  for _ in $(seq 100); do curl -sf -o /dev/null "http://127.0.0.1:$port/readyz" && break; sleep 0.05; done
}
stop_server() { kill "$server"; wait "$server" || true; server=; }

cat > "$work/post.lua" <<'LUA'
math.randomseed(7)
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
request = function()
  local body = string.format('{"user":"%d","item":"%d","value":%d}', math.random(1, 943), math.random(1, 1682), math.random(1, 5))
  return wrk.format(nil, "/v1/events", nil, body)
end
LUA
for mode in default sync-every-commit; do
  if [ "$mode" = default ]; then start_server; else start_server --sync-every-commit; fi
  out=$(wrk -t1 -c"$connections" -d"$duration" --latency -s "$work/post.lua" "http://127.0.0.1:$port/")
  echo "== $mode"
  echo "$out" | grep -E 'Requests/sec|50%|99%|Non-2xx|Socket errors' || true
  p50=$(echo "$out" | awk '$1 == "50%" {print $2}')
  p99=$(echo "$out" | awk '$1 == "99%" {print $2}')
  echo "POST -> commit ($mode): p50 $p50, p99 $p99 (target p99 <= 1 ms) with $connections connections"
  stop_server
done
start_server

# The next GET reflects the event: the posted item leaves the user's list.
before=$(curl -s "http://127.0.0.1:$port/v1/users/196/recommendations?k=1")
item=$(echo "$before" | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["items"][0]["item"])')
curl -s -o /dev/null -X POST "http://127.0.0.1:$port/v1/events" -d "{\"user\":\"196\",\"item\":\"$item\",\"value\":5}"
after=$(curl -s "http://127.0.0.1:$port/v1/users/196/recommendations?k=10")
if echo "$after" | grep -q "\"item\":\"$item\""; then echo "FAIL: item $item still recommended after the event"; exit 1; fi
echo "next GET reflects the event: item $item is no longer recommended to user 196"
