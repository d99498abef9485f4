# shellcheck shell=bash disable=SC2034  # bin, build, sgemm, bench_last: set for the scripts
# Shared by the bash scripts in bench/ (sourced, not run): the environment
# header, the recsys binary, tool checks, long steps that an interrupt stops,
# wrk's output and the targets' verdicts.
#
# Exit statuses of the scripts: 0 when the run completed, whether or not a
# figure meets its target (each figure is printed with its target and "met" or
# "NOT met"); 1 for errors (socket errors, error responses, a failed command,
# a server that never became ready); 77 when a tool is missing (skipped).

# --- Interrupts ------------------------------------------------------------
# bash runs a trap only once the foreground command has finished, and the
# EXIT trap used to remove the work directory while wrk, train or import went
# on running. Long steps therefore run in the background (bench_run waits for
# them: `wait` returns at once on a trapped signal) and the EXIT trap stops
# every recorded process together with its descendants.
bench_pids=()   # background processes to stop at exit: servers, wrk, loops
bench_fg=       # the step bench_run is waiting for
bench_work=     # a directory removed at exit (unless bench_keep_work is set)
bench_keep_work=

# bench_freeze PID...: stops each process, then its children (a stopped
# process starts no new one), and prints every pid of the trees.
bench_freeze() {
  local p kids
  for p in "$@"; do
    kill -STOP "$p" 2>/dev/null || continue
    echo "$p"
    mapfile -t kids < <(pgrep -P "$p")
    [ ${#kids[@]} -eq 0 ] || bench_freeze "${kids[@]}"
  done
}

# bench_kill PID...: SIGTERM to the processes and all their descendants.
bench_kill() {
  local tree
  [ $# -gt 0 ] || return 0
  mapfile -t tree < <(bench_freeze "$@")
  [ ${#tree[@]} -gt 0 ] || return 0
  kill -TERM "${tree[@]}" 2>/dev/null || true
  kill -CONT "${tree[@]}" 2>/dev/null || true
}

bench_cleanup() {
  local all=()
  [ -z "$bench_fg" ] || all+=("$bench_fg")
  all+=("${bench_pids[@]}")
  bench_kill "${all[@]}"
  wait 2>/dev/null || true
  if [ -n "$bench_work" ] && [ -z "$bench_keep_work" ]; then rm -rf "$bench_work"; fi
}

# bench_traps: the EXIT trap above; SIGINT, SIGTERM and SIGHUP exit through it.
bench_traps() {
  trap bench_cleanup EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
  trap 'exit 129' HUP
}

# bench_run CMD...: runs CMD in the background and waits for it; its status.
bench_run() {
  local status=0
  "$@" &
  bench_fg=$!
  wait "$bench_fg" || status=$?
  bench_fg=
  return $status
}

# bench_bg CMD...: starts CMD in the background, recorded for the EXIT trap;
# its pid in bench_last.
bench_bg() {
  "$@" &
  bench_last=$!
  bench_pids+=("$bench_last")
}

# bench_forget PID...: the processes have ended and were waited for; their pids
# may be reused, so the EXIT trap must not signal them.
bench_forget() {
  local p q rest=()
  for p in "${bench_pids[@]}"; do
    for q in "$@"; do [ "$p" != "$q" ] || continue 2; done
    rest+=("$p")
  done
  bench_pids=("${rest[@]}")
}

# bench_wait PID...: waits for processes started by bench_bg (a trapped signal
# interrupts the wait) and forgets them; the status of the last one.
bench_wait() {
  local p status=0
  for p in "$@"; do
    status=0
    wait "$p" || status=$?
  done
  bench_forget "$@"
  return $status
}

# bench_stop PID: stops a process started by bench_bg (and its descendants),
# waits for it and forgets it.
bench_stop() {
  bench_kill "$1"
  wait "$1" 2>/dev/null || true
  bench_forget "$1"
}

# --- Tools and the binary ---------------------------------------------------
# bench_need TOOL...: exit 77 (skipped) naming the missing tools.
bench_need() {
  local t missing=
  for t in "$@"; do
    case $t in
      /*) [ -x "$t" ] || missing="$missing $t" ;;
      *) command -v "$t" >/dev/null || [ -x "/usr/sbin/$t" ] || missing="$missing $t" ;;
    esac
  done
  if [ -n "$missing" ]; then
    echo "$(basename "$0"): missing:$missing (Debian: scripts/install-deps.sh --bench; /usr/bin/time is package time)" >&2
    exit 77
  fi
}

# bench_resolve [BUILD_DIR | RECSYS_BINARY]: sets bin (the recsys binary) and
# build (the build directory, empty when a binary was given). A build
# directory without the binary is set up and built.
bench_resolve() {
  local target=${1:-build}
  if [ -f "$target" ] && [ -x "$target" ]; then
    bin=$target build=
  elif [ -e "$target" ] && [ ! -d "$target" ]; then
    echo "$(basename "$0"): $target is neither a build directory nor an executable" >&2
    exit 1
  else
    build=$target bin=$target/src/recsys
    if [ ! -x "$bin" ]; then
      echo "building $bin" >&2
      bench_need meson ninja
      if ! { [ -d "$target" ] || meson setup "$target" >&2; } || ! ninja -C "$target" src/recsys >&2; then
        echo "$(basename "$0"): could not build $bin" >&2
        exit 1
      fi
    fi
  fi
}

# bench_sgemm: sets sgemm to bench/sgemm (SGEMM, else the build directory's,
# built there with ninja if missing, else beside a given binary: BIN/../bench
# or BIN's own directory), or empty with the reason in sgemm_missing.
bench_sgemm() {
  sgemm='' sgemm_missing=''
  if [ -n "${SGEMM:-}" ]; then
    if [ -x "$SGEMM" ]; then sgemm=$SGEMM; else sgemm_missing="SGEMM=$SGEMM is not an executable"; fi
  elif [ -n "$build" ]; then
    if [ ! -x "$build/bench/sgemm" ] && [ -f "$build/build.ninja" ] && command -v ninja >/dev/null; then
      echo "building $build/bench/sgemm" >&2
      ninja -C "$build" bench/sgemm >&2 || true
    fi
    if [ -x "$build/bench/sgemm" ]; then
      sgemm=$build/bench/sgemm
    else
      sgemm_missing="$build/bench/sgemm is not built and could not be built (ninja -C $build bench/sgemm; needs libopenblas-dev)"
    fi
  else
    local d
    d=$(dirname "$bin")
    if [ -x "$d/../bench/sgemm" ]; then sgemm=$d/../bench/sgemm
    elif [ -x "$d/sgemm" ]; then sgemm=$d/sgemm
    else sgemm_missing="no bench/sgemm beside $bin (set SGEMM=path, or give a build directory)"
    fi
  fi
}

# --- The header --------------------------------------------------------------
# bench_header LINE: what ran where, and the machine's OpenBLAS settings (set on
# purpose on this machine; the scripts never change them).
bench_header() {
  echo "== $(basename "$0") $(date -u '+%Y-%m-%d %H:%M UTC'): $1"
  echo "   recsys $("$bin" --version 2>/dev/null | awk '{print $NF}') ($bin); $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "   OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE-(unset)} OPENBLAS_L2_SIZE=${OPENBLAS_L2_SIZE-(unset)}" \
    "OPENBLAS_NUM_THREADS=${OPENBLAS_NUM_THREADS-(unset)} (as the environment has them)"
}

# --- Servers -----------------------------------------------------------------
bench_free_port() {
  /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# bench_ready URL PID LOG [SECONDS]: waits until URL answers 2xx; exit 1 with
# LOG when the process PID ends or SECONDS (10) pass first.
bench_ready() {
  local url=$1 pid=$2 log=$3 limit=${4:-10} start=$SECONDS
  until curl -sf -o /dev/null "$url"; do
    if ! kill -0 "$pid" 2>/dev/null; then
      echo "$(basename "$0"): the server exited before it was ready ($url); its log:" >&2
      cat "$log" >&2 2>/dev/null || true
      exit 1
    fi
    if [ $((SECONDS - start)) -ge "$limit" ]; then
      echo "$(basename "$0"): the server was not ready after ${limit} s ($url); its log:" >&2
      cat "$log" >&2 2>/dev/null || true
      exit 1
    fi
    sleep 0.05
  done
}

# --- wrk ---------------------------------------------------------------------
# bench_wrk FILE: wrk's output as one line
#   "REQUESTS REQUESTS_PER_S P50_MS P99_MS SOCKET_ERRORS ERROR_RESPONSES"
# Socket errors are wrk's "Socket errors: connect N, read N, write N, timeout N"
# (commas removed, so the counts are fields 4, 6, 8 and 10); error responses
# are its "Non-2xx or 3xx responses: N", which counts statuses >= 400 (wrk
# does not count a 3xx; none of the routes measured answers one). Latencies
# without --latency are 0.
bench_wrk() {
  awk 'function ms(v) {
         if (v ~ /us$/) return v / 1000; if (v ~ /ms$/) return v + 0
         if (v ~ /m$/) return v * 60000; if (v ~ /s$/) return v * 1000; return v + 0 }
       /requests in/ { r = $1 }
       /Requests\/sec/ { q = $2 }
       $1 == "50%" { p50 = ms($2) }
       $1 == "99%" { p99 = ms($2) }
       /Socket errors:/ { gsub(",", ""); s += $4 + $6 + $8 + $10 }
       /Non-2xx or 3xx responses:/ { n += $NF }
       END { printf "%d %.0f %.3f %.3f %d %d\n", r, q, p50, p99, s, n }' "$1"
}

# --- Figures -----------------------------------------------------------------
# bench_median / bench_range: numbers on stdin, one a line.
bench_median() { sort -g | awk '{a[NR] = $1} END {if (NR) print (NR % 2 ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2)}'; }
bench_range() { sort -g | awk 'NR == 1 {lo = $1} {hi = $1} END {if (NR) print lo "-" hi}'; }

# bench_verdict VALUE OP TARGET: "met" or "NOT met" (OP: <= or >=);
# "not measured" without a value.
bench_verdict() {
  if [ -z "$1" ]; then echo "not measured"; return; fi
  awk -v v="$1" -v op="$2" -v t="$3" 'BEGIN { ok = op == "<=" ? v + 0 <= t + 0 : v + 0 >= t + 0; print ok ? "met" : "NOT met" }'
}

bench_now() { date +%s.%N; }
bench_seconds() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.3f", b - a}'; }
