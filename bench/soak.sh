#!/usr/bin/env bash
# Soak (issue "hostile network", PRODUCT.md §9): one `recsys serve` under steady
# load for SECONDS — wrk with CONNECTIONS keep-alive connections reading every
# user's list, a second wrk posting events from EVENT_CONNECTIONS clients, and
# `recsys precompute` every SWITCH_EVERY seconds from another process (a hot
# model switch under load). Every 5 s it samples the server's RSS and open file
# descriptors. Targets: 0 errors (socket errors and error responses of both wrk
# runs, failed switches); RSS at the end within 10 % + 8 MiB of the first sample
# (taken 5 s into the load, once buffers are warm) and its heap part (RssAnon)
# within 10 % + 4 MiB; fds flat (+4).
# Why 8 MiB for the whole RSS: it includes LMDB's mapped pages (RssFile), which
# grow while the first switches write new cache generations beside the old
# ones, until LMDB reuses the freed pages. In the quick mode below (60 s, a
# switch every 5 s, 2026-11-29) RSS went 19 -> 26 MiB, all of it RssFile
# (15 -> 22 MiB), flat after the third switch, while RssAnon stayed at 4 MiB;
# a 4 MiB bound on the whole RSS would flag that. A heap leak is caught by the
# RssAnon bound. (The recorded 600 s run went 18 -> 21 MiB.)
#
#   bench/soak.sh [SECONDS] [BUILD_DIR | RECSYS_BINARY]
#   env: CONNECTIONS (200), EVENT_CONNECTIONS (4), SWITCH_EVERY (30), THREADS (2),
#        RATINGS (ml-100k u.data, else generated)
#   quick: SWITCH_EVERY=5 bench/soak.sh 60
#
# Last line:
#   soak: seconds=S requests=R events=E switches=W errors=X rss_start_mb=A rss_end_mb=B fds_start=C fds_end=D
# Exit status 1 on errors (or a server that dies or never gets ready), 77 when
# a tool is missing, else 0; a missed flatness target is printed as NOT met.
set -euo pipefail

# shellcheck source=bench/lib.sh
. "$(dirname "$0")/lib.sh"
seconds=${1:-600}
bench_resolve "${2:-build}"
connections=${CONNECTIONS:-200}
event_connections=${EVENT_CONNECTIONS:-4}
switch_every=${SWITCH_EVERY:-30}
threads=${THREADS:-2}
root=$(cd "$(dirname "$0")/.." && pwd)
bench_need wrk curl /usr/bin/python3
[ "$seconds" -ge 10 ] || { echo "soak.sh: SECONDS must be at least 10 (two RSS samples)" >&2; exit 1; }
# The events are posted without a token: a server started with one would answer 401.
unset RECSYS_TOKEN RECSYS_TOKEN_FILE

bench_work=$(mktemp -d)
work=$bench_work
bench_traps
bench_header "$seconds s, $connections + $event_connections connections, a switch every $switch_every s, $threads threads"

export RECSYS_DB=$work/db
ratings=${RATINGS:-$root/../shared/data/ml-100k/u.data}
if [ ! -f "$ratings" ]; then
  ratings=$work/ratings.csv
  bench_run "$bin" generate --users 1000 --items 1700 --ratings 100000 --seed 1 -o "$ratings" >/dev/null
fi
bench_run "$bin" --log-level warn train "$ratings" --split none --iterations 5 >/dev/null
bench_run "$bin" --log-level warn precompute --k 10 >/dev/null

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

port=$(bench_free_port)
bench_bg "$bin" --log-level warn serve --port "$port" --threads "$threads" 2>"$work/server.err"
server=$bench_last
bench_ready "http://127.0.0.1:$port/readyz" "$server" "$work/server.err"

bench_bg wrk -t1 -c"$connections" -d"${seconds}s" --timeout 5s -s "$work/get.lua" "http://127.0.0.1:$port/" > "$work/get.out"
get_wrk=$bench_last
bench_bg wrk -t1 -c"$event_connections" -d"${seconds}s" --timeout 5s -s "$work/post.lua" "http://127.0.0.1:$port/" > "$work/post.out"
post_wrk=$bench_last

# Hot switches from another process (the EXIT trap stops this loop and the
# precompute or sleep it is running).
# shellcheck disable=SC2317  # run through bench_bg
switch_loop() {
  local switches=0 failed=0 end
  end=$((SECONDS + seconds - switch_every / 2))
  while sleep "$switch_every" && [ "$SECONDS" -lt "$end" ]; do
    if "$bin" --log-level warn precompute --k 10 >/dev/null 2>>"$work/precompute.err"; then
      switches=$((switches + 1))
    else
      failed=$((failed + 1))
    fi
    echo "$switches $failed" > "$work/switches"
  done
}
bench_bg switch_loop

sample() { # rss_kib fds anon_kib file_kib (RssFile: LMDB's mapped pages; RssAnon: the heap)
  echo "$(awk '/^(VmRSS|RssAnon|RssFile):/ {v[$1] = $2} END {print v["VmRSS:"]}' "/proc/$server/status")" \
    "$(find "/proc/$server/fd" -mindepth 1 -maxdepth 1 | wc -l)" \
    "$(awk '/^(RssAnon|RssFile):/ {printf "%s ", $2}' "/proc/$server/status")"
}
rss_start='' fds_start='' rss_end='' fds_end='' anon_start='' anon_end='' rss_max=0
start=$SECONDS
while [ $((SECONDS - start + 5)) -lt "$seconds" ]; do
  bench_run sleep 5
  kill -0 "$server" 2>/dev/null || { echo "soak: the server died" >&2; cat "$work/server.err" >&2; exit 1; }
  read -r rss fds anon file < <(sample)
  [ -n "$rss_start" ] || { rss_start=$rss; fds_start=$fds; anon_start=$anon; }
  [ "$rss" -gt "$rss_max" ] && rss_max=$rss
  rss_end=$rss fds_end=$fds anon_end=$anon  # the last sample under load
  echo "t=$((SECONDS - start))s rss_mb=$((rss / 1024)) (anon $((anon / 1024)), file $((file / 1024))) fds=$fds"
done
bench_wait "$get_wrk" "$post_wrk" || true

count() { # total requests and errors (socket errors + error responses) of a wrk output
  bench_wrk "$1" | awk '{print $1, $5 + $6}'
}
read -r requests get_errors < <(count "$work/get.out")
read -r events event_errors < <(count "$work/post.out")
read -r switches switch_failures < "$work/switches" 2>/dev/null || { switches=0; switch_failures=0; }
errors=$((get_errors + event_errors + switch_failures))
grep -E 'Requests/sec|Latency' "$work/get.out" | sed 's/^/reads:  /'
grep -E 'Requests/sec|Latency' "$work/post.out" | sed 's/^/events: /'
echo "peak rss_mb=$((rss_max / 1024)); server log lines: $(wc -l < "$work/server.err")"

rss_bound=$((rss_start + rss_start / 10 + 8 * 1024))
anon_bound=$((anon_start + anon_start / 10 + 4 * 1024))
echo "targets:"
echo "  errors $errors (target 0) $(bench_verdict "$errors" '<=' 0)"
echo "  RSS at the end $((rss_end / 1024)) MiB (target <= $((rss_bound / 1024)) MiB: first sample + 10 % + 8 MiB)" \
  "$(bench_verdict "$rss_end" '<=' "$rss_bound")"
echo "  heap (RssAnon) at the end $((anon_end / 1024)) MiB (target <= $((anon_bound / 1024)) MiB: first sample + 10 % + 4 MiB)" \
  "$(bench_verdict "$anon_end" '<=' "$anon_bound")"
echo "  fds at the end $fds_end (target <= $((fds_start + 4))) $(bench_verdict "$fds_end" '<=' $((fds_start + 4)))"
status=0
[ "$errors" -eq 0 ] || status=1
echo "soak: seconds=$seconds requests=$requests events=$events switches=$switches errors=$errors" \
  "rss_start_mb=$((rss_start / 1024)) rss_end_mb=$((rss_end / 1024)) fds_start=$fds_start fds_end=$fds_end"
exit $status
