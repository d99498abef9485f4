#!/usr/bin/env bash
# Serving speed (PRODUCT.md §8): wrk with CONNECTIONS keep-alive connections for
# DURATION against `recsys serve` and, in the same run, against nginx serving the
# identical response bodies as static files (same paths, same worker count).
# Prints requests/s, p50, p99 and errors for both, the ratio, and each server's
# CPU time per request (utime+stime from /proc over the run ÷ requests).
# Targets: ratio >= 1.0 (stretch 1.2), <= 10 µs CPU/request, p99 <= 5 ms, no errors.
#
#   bench/serve.sh [BUILD_DIR | RECSYS_BINARY]
#   env: THREADS (server threads = nginx workers, 2), CONNECTIONS (200),
#        DURATION (10s), WRK_THREADS (1), RATINGS (ml-100k u.data, else generated),
#        ITEMS (an item metadata file, e.g. ml-100k/u.item: bodies carry titles and genres)
set -euo pipefail

target=${1:-build}
if [ -f "$target" ] && [ -x "$target" ]; then
  bin=$target
else
  bin=$target/src/recsys
  [ -x "$bin" ] || { [ -d "$target" ] || meson setup "$target" >&2; ninja -C "$target" src/recsys >&2; }
fi
threads=${THREADS:-2}
connections=${CONNECTIONS:-200}
duration=${DURATION:-10s}
wrk_threads=${WRK_THREADS:-1}
root=$(cd "$(dirname "$0")/.." && pwd)
for tool in wrk nginx; do
  command -v $tool >/dev/null || [ -x /usr/sbin/$tool ] || { echo "needs $tool" >&2; exit 1; }
done
nginx_bin=$(command -v nginx || echo /usr/sbin/nginx)

work=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

free_port() { /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
cpu_ticks() {  # utime+stime of the given pids, in clock ticks
  local total=0
  for p in "$@"; do
    read -r -a f < "/proc/$p/stat"
    total=$((total + f[13] + f[14]))
  done
  echo $total
}

# A database: MovieLens 100k when present, else synthetic ratings.
ratings=${RATINGS:-$root/../shared/data/ml-100k/u.data}
export RECSYS_DB=$work/db
if [ ! -f "$ratings" ]; then
  ratings=$work/ratings.csv
  "$bin" generate --users 1000 --items 1700 --ratings 100000 --seed 1 -o "$ratings" >/dev/null
fi
"$bin" --log-level warn train "$ratings" --split none >/dev/null
"$bin" --log-level warn precompute --k 10 >/dev/null
if [ -n "${ITEMS:-}" ]; then "$bin" --log-level warn items -q "$ITEMS"; fi

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
PY
chmod 755 "$work" && chmod -R a+rX "$work/www"  # nginx workers may run as another user
cat >> "$work/paths.lua" <<'LUA'
local i = 0
request = function()
  i = i % #paths + 1
  return wrk.format("GET", paths[i])
end
LUA

recsys_port=$(free_port)
"$bin" --log-level warn serve --port "$recsys_port" --threads "$threads" 2>"$work/recsys.err" &
recsys_pid=$!
pids+=("$recsys_pid")

nginx_port=$(free_port)
mkdir -p "$work/nginx"
cat > "$work/nginx/nginx.conf" <<CONF
daemon off;
worker_processes $threads;
pid $work/nginx/nginx.pid;
error_log $work/nginx/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  default_type application/json;
  keepalive_requests 100000000;
  keepalive_timeout 60;
  open_file_cache max=10000 inactive=60s;
  open_file_cache_valid 3600s;
  sendfile off;
  tcp_nodelay on;
  etag off;
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
"$nginx_bin" -p "$work/nginx" -c "$work/nginx/nginx.conf" -e "$work/nginx/error.log" &
nginx_pid=$!
pids+=("$nginx_pid")

wait_port() {
  for _ in $(seq 100); do curl -sf -o /dev/null "http://127.0.0.1:$1$2" && return 0; sleep 0.05; done
  echo "server on $1 did not start" >&2; cat "$work/recsys.err" "$work/nginx/error.log" >&2; exit 1
}
first=$(head -1 "$work/paths.lua" | sed 's/paths = {"\([^"]*\)".*/\1/')
wait_port "$recsys_port" "$first"
wait_port "$nginx_port" "$first"
if [ "$(curl -s "http://127.0.0.1:$recsys_port$first")" != "$(curl -s "http://127.0.0.1:$nginx_port$first")" ]; then
  echo "recsys and nginx bodies differ for $first" >&2; exit 1
fi

hz=$(getconf CLK_TCK)
declare -A rps p50 p99 errors cpu_us
run() {  # name port pids...
  local name=$1 port=$2; shift 2
  local before after out requests
  before=$(cpu_ticks "$@")
  out=$(wrk -t"$wrk_threads" -c"$connections" -d"$duration" --latency -s "$work/paths.lua" "http://127.0.0.1:$port/")
  after=$(cpu_ticks "$@")
  requests=$(echo "$out" | awk '/requests in/ {print $1}')
  rps[$name]=$(echo "$out" | awk '/Requests\/sec/ {print $2}')
  p50[$name]=$(echo "$out" | awk '$1 == "50%" {print $2}')
  p99[$name]=$(echo "$out" | awk '$1 == "99%" {print $2}')
  local sock non2xx
  sock=$(echo "$out" | awk -F'[ ,]+' '/Socket errors/ {print $4 + $6 + $8 + $10}')
  non2xx=$(echo "$out" | awk '/Non-2xx/ {print $NF}')
  errors[$name]=$(( ${sock:-0} + ${non2xx:-0} ))
  cpu_us[$name]=$(awk -v t=$((after - before)) -v hz="$hz" -v n="$requests" 'BEGIN {printf "%.1f", t / hz * 1e6 / n}')
}
nginx_workers=$(pgrep -P "$nginx_pid" | tr '\n' ' ')
# Warm-up, then the measured runs, alternating servers.
wrk -t1 -c"$connections" -d1s -s "$work/paths.lua" "http://127.0.0.1:$recsys_port/" >/dev/null
wrk -t1 -c"$connections" -d1s -s "$work/paths.lua" "http://127.0.0.1:$nginx_port/" >/dev/null
run recsys "$recsys_port" "$recsys_pid"
# shellcheck disable=SC2086
run nginx "$nginx_port" "$nginx_pid" $nginx_workers

printf '%-8s %12s %10s %10s %8s %12s\n' server requests/s p50 p99 errors cpu-us/req
for name in recsys nginx; do
  printf '%-8s %12s %10s %10s %8s %12s\n' "$name" "${rps[$name]}" "${p50[$name]}" "${p99[$name]}" "${errors[$name]}" "${cpu_us[$name]}"
done
awk -v a="${rps[recsys]}" -v b="${rps[nginx]}" 'BEGIN {printf "ratio recsys/nginx: %.2f (target >= 1.0, stretch 1.2)\n", a / b}'
echo "($connections connections, $duration, $threads server threads / nginx workers, wrk threads $wrk_threads, $(nproc) cores)"
