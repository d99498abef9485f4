#!/usr/bin/env bash
# Soak (issue "hostile network", PRODUCT.md §9): one `recsys serve` under steady
# load for SECONDS — wrk with CONNECTIONS keep-alive connections reading every
# user's list, a second wrk posting events from EVENT_CONNECTIONS clients, and
# `recsys precompute` every SWITCH_EVERY seconds from another process (a hot
# model switch under load). Every 5 s it samples the server's RSS and open file
# descriptors. Targets: 0 errors, RSS at the end within 10 % + 16 MiB of the
# first sample (taken 5 s into the load, once buffers are warm), fds flat.
#
#   bench/soak.sh [SECONDS] [BUILD_DIR | RECSYS_BINARY]
#   env: CONNECTIONS (200), EVENT_CONNECTIONS (4), SWITCH_EVERY (30), THREADS (2),
#        RATINGS (ml-100k u.data, else generated)
#
# Last line:
#   soak: seconds=S requests=R events=E switches=W errors=X rss_start_mb=A rss_end_mb=B fds_start=C fds_end=D
# Exit status 1 when a target is missed.
set -euo pipefail

seconds=${1:-600}
target=${2:-build}
if [ -f "$target" ] && [ -x "$target" ]; then
  bin=$target
else
  bin=$target/src/recsys
  [ -x "$bin" ] || { [ -d "$target" ] || meson setup "$target" >&2; ninja -C "$target" src/recsys >&2; }
fi
connections=${CONNECTIONS:-200}
event_connections=${EVENT_CONNECTIONS:-4}
switch_every=${SWITCH_EVERY:-30}
threads=${THREADS:-2}
root=$(cd "$(dirname "$0")/.." && pwd)
command -v wrk >/dev/null || { echo "needs wrk (scripts/install-deps.sh --bench)" >&2; exit 1; }

work=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

export RECSYS_DB=$work/db
ratings=${RATINGS:-$root/../shared/data/ml-100k/u.data}
if [ ! -f "$ratings" ]; then
  ratings=$work/ratings.csv
  "$bin" generate --users 1000 --items 1700 --ratings 100000 --seed 1 -o "$ratings" >/dev/null
fi
"$bin" --log-level warn train "$ratings" --split none --iterations 5 >/dev/null
"$bin" --log-level warn precompute --k 10 >/dev/null

# Every user's path, and a stream of events on known users and items.
"$bin" recommend --all --json > "$work/all.jsonl"
/usr/bin/python3 - "$work" <<'PY'
import json, os, sys, urllib.parse
work = sys.argv[1]
users = [json.loads(l)["user"] for l in open(os.path.join(work, "all.jsonl"), encoding="utf-8")]
with open(os.path.join(work, "get.lua"), "w") as out:
    out.write("paths = {" + ",".join('"/v1/users/%s/recommendations"' % urllib.parse.quote(u, safe="") for u in users) + "}\n")
    out.write("local i = 0\nrequest = function()\n  i = i % #paths + 1\n  return wrk.format('GET', paths[i])\nend\n")
with open(os.path.join(work, "post.lua"), "w") as out:
    out.write("users = {" + ",".join(json.dumps(u) for u in users) + "}\n")
PY
cat >> "$work/post.lua" <<'LUA'
math.randomseed(11)
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
request = function()
  local body = string.format('{"user":%s,"item":"%d","value":%d}', users[math.random(1, #users)],
                             math.random(1, 1682), math.random(1, 5))
  return wrk.format(nil, "/v1/events", nil, body)
end
LUA

port=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$bin" --log-level warn serve --port "$port" --threads "$threads" 2>"$work/server.err" &
server=$!
pids+=("$server")
for _ in $(seq 200); do curl -sf -o /dev/null "http://127.0.0.1:$port/readyz" && break; sleep 0.05; done

wrk -t1 -c"$connections" -d"${seconds}s" --timeout 5s -s "$work/get.lua" "http://127.0.0.1:$port/" > "$work/get.out" &
pids+=($!)
wrk -t1 -c"$event_connections" -d"${seconds}s" --timeout 5s -s "$work/post.lua" "http://127.0.0.1:$port/" > "$work/post.out" &
pids+=($!)

# Hot switches from another process.
(
  switches=0 failed=0
  end=$((SECONDS + seconds - switch_every / 2))
  while sleep "$switch_every" && [ $SECONDS -lt $end ]; do
    if "$bin" --log-level warn precompute --k 10 >/dev/null 2>>"$work/precompute.err"; then
      switches=$((switches + 1))
    else
      failed=$((failed + 1))
    fi
    echo "$switches $failed" > "$work/switches"
  done
) &
pids+=($!)

sample() { # rss_kib fds
  echo "$(awk '/^VmRSS:/ {print $2}' "/proc/$server/status") $(ls "/proc/$server/fd" | wc -l)"
}
rss_start= fds_start= rss_end= fds_end= rss_max=0
start=$SECONDS
while [ $((SECONDS - start + 5)) -lt "$seconds" ]; do
  sleep 5
  kill -0 "$server" 2>/dev/null || { echo "soak: the server died" >&2; cat "$work/server.err" >&2; exit 1; }
  read -r rss fds < <(sample)
  [ -n "$rss_start" ] || { rss_start=$rss; fds_start=$fds; }
  [ "$rss" -gt "$rss_max" ] && rss_max=$rss
  rss_end=$rss fds_end=$fds  # the last sample under load
  echo "t=$((SECONDS - start))s rss_mb=$((rss / 1024)) fds=$fds"
done
wait "${pids[1]}" "${pids[2]}" 2>/dev/null || true

count() { # total requests and errors of a wrk output
  awk '/requests in/ {r = $1}
       /Non-2xx/ {e += $NF}
       /Socket errors/ {gsub(",", ""); e += $4 + $6 + $8 + $10}
       END {print r + 0, e + 0}' "$1"
}
read -r requests get_errors < <(count "$work/get.out")
read -r events event_errors < <(count "$work/post.out")
read -r switches switch_failures < "$work/switches" 2>/dev/null || { switches=0; switch_failures=0; }
errors=$((get_errors + event_errors + switch_failures))
grep -E 'Requests/sec|Latency' "$work/get.out" | sed 's/^/reads:  /'
grep -E 'Requests/sec|Latency' "$work/post.out" | sed 's/^/events: /'
echo "peak rss_mb=$((rss_max / 1024)); server log lines: $(wc -l < "$work/server.err")"

status=0
[ "$errors" -eq 0 ] || status=1
[ "$rss_end" -le $((rss_start + rss_start / 10 + 16 * 1024)) ] || status=1
[ "$fds_end" -le $((fds_start + 4)) ] || status=1
echo "soak: seconds=$seconds requests=$requests events=$events switches=$switches errors=$errors" \
  "rss_start_mb=$((rss_start / 1024)) rss_end_mb=$((rss_end / 1024)) fds_start=$fds_start fds_end=$fds_end"
exit $status
