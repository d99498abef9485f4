#!/usr/bin/env bash
# Serving speed against the product contract's targets: requests/s >= 1.3x
# nginx serving the same bytes as static files, at 200 keep-alive connections;
# p99 <= 5 ms; zero errors. wrk with CONNECTIONS keep-alive connections for
# DURATION against `recsys serve` and, in the same run, against nginx serving the
# identical response bodies as static files (same paths, same worker count),
# REPEAT times in alternating order (recsys, nginx, nginx, recsys, ...). Prints
# each run (requests/s, p50, p99, errors, each server's CPU time per request:
# utime+stime from /proc over the run / requests, and wrk's own CPU time), then
# the medians and the range of the ratio recsys/nginx, each against its target
# ("met" / "NOT met").
#
# wrk runs on the same cores as the server under test (2 on the development
# machine): the client's CPU time is printed per run (as a share of what its
# threads could use over the run) so that a reader sees when wrk, not the
# server, was the bottleneck — near 100 % means the client was saturated.
#
# Same bytes: the bodies are compared for SAMPLE paths (status and body), and
# nginx is configured to send few headers (server_tokens off, no ranges, no
# Last-Modified, no ETag); the header bytes of each server are printed.
# Errors are wrk's socket errors plus its error responses (status >= 400).
#
#   bench/serve.sh [BUILD_DIR | RECSYS_BINARY]
#   env: THREADS (server threads = nginx workers, 2), CONNECTIONS (200),
#        DURATION (10s), WRK_THREADS (1), REPEAT (3 runs per server), SAMPLE (20),
#        RATINGS (ml-100k u.data, else generated),
#        ITEMS (an item metadata file, e.g. ml-100k/u.item: bodies carry titles and genres)
#   quick: REPEAT=1 DURATION=2s CONNECTIONS=50 bench/serve.sh
# Exit status: 0 when the runs completed (targets met or not), 1 on errors or a
# failed step, 77 when a tool is missing.
set -euo pipefail

# shellcheck source=bench/lib.sh
. "$(dirname "$0")/lib.sh"
bench_resolve "${1:-build}"
threads=${THREADS:-2}
connections=${CONNECTIONS:-200}
duration=${DURATION:-10s}
wrk_threads=${WRK_THREADS:-1}
repeat=${REPEAT:-3}
sample=${SAMPLE:-20}
root=$(cd "$(dirname "$0")/.." && pwd)
bench_need wrk nginx curl /usr/bin/python3 /usr/bin/time pgrep
nginx_bin=$(command -v nginx || echo /usr/sbin/nginx)

bench_work=$(mktemp -d)
work=$bench_work
bench_traps

cpu_ticks() {  # utime+stime of the given pids, in clock ticks
  local total=0 p f
  for p in "$@"; do
    read -r -a f < "/proc/$p/stat"
    total=$((total + f[13] + f[14]))
  done
  echo $total
}

bench_header "$connections connections, $duration, $threads server threads / nginx workers, wrk threads $wrk_threads, $repeat runs each"

# A database: MovieLens 100k when present, else synthetic ratings.
ratings=${RATINGS:-$root/../shared/data/ml-100k/u.data}
export RECSYS_DB=$work/db
if [ ! -f "$ratings" ]; then
  ratings=$work/ratings.csv
  bench_run "$bin" generate --users 1000 --items 1700 --ratings 100000 --seed 1 -o "$ratings" >/dev/null
fi
bench_run "$bin" --log-level warn train "$ratings" --split none >/dev/null
bench_run "$bin" --log-level warn precompute --k 10 >/dev/null
if [ -n "${ITEMS:-}" ]; then bench_run "$bin" --log-level warn items -q "$ITEMS"; fi

# The same bodies as static files, one per user path.
"$bin" recommend --all --json > "$work/all.jsonl"
/usr/bin/python3 - "$work" <<'PY'
import json, os, sys, urllib.parse
work = sys.argv[1]
paths = []
for line in open(os.path.join(work, "all.jsonl"), encoding="utf-8"):
    user = json.loads(line)["user"]
    path = "/v1/users/" + urllib.parse.quote(user, safe="") + "/recommendations"
    f = os.path.join(work, "www", "v1", "users", user, "recommendations")  # nginx maps the decoded path
    os.makedirs(os.path.dirname(f), exist_ok=True)
    with open(f, "w", encoding="utf-8") as out:
        out.write(line.rstrip("\n"))
    paths.append(path)
with open(os.path.join(work, "paths.lua"), "w") as out:
    out.write("paths = {" + ",".join('"%s"' % p for p in paths) + "}\n")
with open(os.path.join(work, "paths.txt"), "w") as out:
    out.write("".join(p + "\n" for p in paths))
PY
chmod 755 "$work" && chmod -R a+rX "$work/www"  # nginx workers may run as another user
cat >> "$work/paths.lua" <<'LUA'
local i = 0
request = function()
  i = i % #paths + 1
  return wrk.format("GET", paths[i])
end
LUA

recsys_port=$(bench_free_port)
bench_bg "$bin" --log-level warn serve --port "$recsys_port" --threads "$threads" 2>"$work/recsys.err"
recsys_pid=$bench_last

nginx_port=$(bench_free_port)
mkdir -p "$work/nginx"
# Headers kept to what recsys sends as far as nginx allows: no version in
# Server, no Accept-Ranges, no Last-Modified (an empty add_header removes it),
# no ETag. nginx still sends Server and Date; the header bytes are printed.
cat > "$work/nginx/nginx.conf" <<CONF
daemon off;
worker_processes $threads;
pid $work/nginx/nginx.pid;
error_log $work/nginx/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  default_type application/json;
  server_tokens off;
  max_ranges 0;
  etag off;
  if_modified_since off;
  add_header Last-Modified "";
  keepalive_requests 100000000;
  keepalive_timeout 60;
  open_file_cache max=10000 inactive=60s;
  open_file_cache_valid 3600s;
  sendfile off;
  tcp_nodelay on;
  client_body_temp_path $work/nginx/body;
  proxy_temp_path $work/nginx/proxy;
  fastcgi_temp_path $work/nginx/fastcgi;
  uwsgi_temp_path $work/nginx/uwsgi;
  scgi_temp_path $work/nginx/scgi;
  server {
    listen 127.0.0.1:$nginx_port reuseport;
    root $work/www;
  }
}
CONF
bench_bg "$nginx_bin" -p "$work/nginx" -c "$work/nginx/nginx.conf" -e "$work/nginx/error.log"
nginx_pid=$bench_last

first=$(head -1 "$work/paths.txt")
bench_ready "http://127.0.0.1:$recsys_port$first" "$recsys_pid" "$work/recsys.err"
bench_ready "http://127.0.0.1:$nginx_port$first" "$nginx_pid" "$work/nginx/error.log"

# Same answers: status and body of SAMPLE paths spread over all users.
total=$(wc -l < "$work/paths.txt")
step=$(( total > sample ? total / sample : 1 ))
awk -v s="$step" -v n="$sample" '(NR - 1) % s == 0 && ++k <= n' "$work/paths.txt" > "$work/sample.txt"
compared=0
while read -r path; do
  for server in recsys:"$recsys_port" nginx:"$nginx_port"; do
    curl -s -o "$work/body.${server%%:*}" -D "$work/head.${server%%:*}" -w '%{http_code}\n' \
      "http://127.0.0.1:${server#*:}$path" > "$work/status.${server%%:*}"
  done
  if ! cmp -s "$work/status.recsys" "$work/status.nginx" || ! cmp -s "$work/body.recsys" "$work/body.nginx" ||
     [ "$(cat "$work/status.recsys")" != 200 ]; then
    echo "recsys and nginx answer $path differently: status $(cat "$work/status.recsys") / $(cat "$work/status.nginx")," \
      "body $(wc -c < "$work/body.recsys") / $(wc -c < "$work/body.nginx") bytes" >&2
    exit 1
  fi
  compared=$((compared + 1))
done < "$work/sample.txt"
header_names() { tr -d '\r' < "$1" | awk -F: 'NR > 1 && NF > 1 {printf "%s%s", sep, $1; sep = ", "}'; }
echo "same answers: status 200 and identical bodies for $compared sample paths ($(wc -c < "$work/body.recsys") body bytes on the last);" \
  "header bytes: recsys $(wc -c < "$work/head.recsys") ($(header_names "$work/head.recsys")), nginx $(wc -c < "$work/head.nginx") ($(header_names "$work/head.nginx"))"

hz=$(getconf CLK_TCK)
nginx_workers=()
mapfile -t nginx_workers < <(pgrep -P "$nginx_pid")
# run NAME PORT PIDS...: one measured wrk run; appends "NAME RPS P50 P99 ERRORS" to runs.txt.
run() {
  local name=$1 port=$2; shift 2
  local before after requests rps p50 p99 sock status seconds wrk_cpu
  before=$(cpu_ticks "$@")
  bench_run /usr/bin/time -f '%U %S' -o "$work/wrk.time" \
      wrk -t"$wrk_threads" -c"$connections" -d"$duration" --latency -s "$work/paths.lua" "http://127.0.0.1:$port/" \
      > "$work/wrk.out" 2>&1 || { echo "wrk failed against $name:" >&2; cat "$work/wrk.out" >&2; exit 1; }
  after=$(cpu_ticks "$@")
  read -r requests rps p50 p99 sock status < <(bench_wrk "$work/wrk.out")
  seconds=$(awk '/requests in/ {sub(/s,?$/, "", $4); print $4}' "$work/wrk.out")
  wrk_cpu=$(awk '{print $1 + $2}' "$work/wrk.time")
  awk -v n="$name" -v i="$i" -v r="$rps" -v a="$p50" -v b="$p99" -v s="$sock" -v e="$status" \
      -v t=$((after - before)) -v hz="$hz" -v q="$requests" -v w="$wrk_cpu" -v d="$seconds" -v wt="$wrk_threads" 'BEGIN {
    printf "run %d %-6s %9d req/s  p50 %6.2f ms  p99 %6.2f ms  errors %d (socket %d, status >= 400 %d)  server CPU %5.1f us/req  wrk CPU %.1f s = %.0f %% of %d thread(s) over %.1f s\n",
      i, n, r, a, b, s + e, s, e, q ? t / hz * 1e6 / q : 0, w, d ? 100 * w / (d * wt) : 0, wt, d }'
  echo "$name $rps $p50 $p99 $((sock + status))" >> "$work/runs.txt"
}
# Warm-up, then the measured runs, alternating which server goes first.
bench_run wrk -t1 -c"$connections" -d1s -s "$work/paths.lua" "http://127.0.0.1:$recsys_port/" >/dev/null
bench_run wrk -t1 -c"$connections" -d1s -s "$work/paths.lua" "http://127.0.0.1:$nginx_port/" >/dev/null
: > "$work/runs.txt"
for i in $(seq 1 "$repeat"); do
  if [ $((i % 2)) -eq 1 ]; then order="recsys nginx"; else order="nginx recsys"; fi
  for name in $order; do
    if [ "$name" = recsys ]; then run recsys "$recsys_port" "$recsys_pid"
    else run nginx "$nginx_port" "$nginx_pid" "${nginx_workers[@]}"; fi
  done
done

# Ratio per round: the recsys and nginx runs of the same round.
awk '$1 == "recsys" {r[++i] = $2} $1 == "nginx" {n[++j] = $2} END {for (k = 1; k <= i; ++k) print (n[k] ? r[k] / n[k] : 0)}' \
  "$work/runs.txt" > "$work/ratios.txt"
field() { awk -v n="$1" -v f="$2" '$1 == n {print $f}' "$work/runs.txt"; }
ratio=$(bench_median < "$work/ratios.txt")
p99=$(field recsys 4 | bench_median)
errors=$(awk '{e += $5} END {print e + 0}' "$work/runs.txt")
echo
printf 'median   recsys %.0f req/s (runs %s), nginx %.0f req/s (runs %s)\n' \
  "$(field recsys 2 | bench_median)" "$(field recsys 2 | bench_range)" "$(field nginx 2 | bench_median)" "$(field nginx 2 | bench_range)"
echo "ratio recsys/nginx per round: $(tr '\n' ' ' < "$work/ratios.txt" | awk '{for (i = 1; i <= NF; ++i) printf "%s%.2f", (i > 1 ? " " : ""), $i}')"
if [ "$connections" -eq 200 ]; then echo "targets (product contract, 200 connections):"
else echo "targets (product contract; its figures are for 200 connections, this run used $connections: indicative only):"; fi
printf '  ratio recsys/nginx  median %.2f (range %s)   target >= 1.3   %s\n' "$ratio" \
  "$(awk '{printf "%.2f\n", $1}' "$work/ratios.txt" | bench_range)" "$(bench_verdict "$ratio" '>=' 1.3)"
printf '  recsys p99          median %.2f ms (range %s ms)   target <= 5 ms   %s\n' "$p99" \
  "$(field recsys 4 | awk '{printf "%.2f\n", $1}' | bench_range)" \
  "$(bench_verdict "$p99" '<=' 5)"
printf '  errors              %d over all runs of both servers   target 0   %s\n' "$errors" "$(bench_verdict "$errors" '<=' 0)"
echo "($connections connections, $duration, $threads server threads / nginx workers, wrk threads $wrk_threads, $(nproc) cores shared with wrk)"
[ "$errors" -eq 0 ] || { echo "serve.sh: $errors errors" >&2; exit 1; }
