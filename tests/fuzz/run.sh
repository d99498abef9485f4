#!/bin/sh
# Builds the libFuzzer targets (clang++, -fsanitize=fuzzer,address,undefined,
# in build-fuzz; -O1 with line tables only, as OSS-Fuzz builds) and runs each
# for SECONDS on a copy of its corpus. The corpus
# is replayed first, so crash inputs kept there stay regression tests; new
# crash inputs are written to build-fuzz/crashes/<target>/.
#
#   tests/fuzz/run.sh 10                 # every target for 10 s
#   tests/fuzz/run.sh 600 http_request   # one target for 10 minutes
#
# Last line: "fuzz: N targets, S s each, C crashes"; exit status non-zero on any crash.
set -u

SECONDS_EACH=${1:?usage: tests/fuzz/run.sh SECONDS [TARGET...]}
shift
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BUILD_DIR=${FUZZ_BUILD_DIR:-$ROOT/build-fuzz}
cd "$ROOT"

TARGETS=${*:-"chunk_parser format byte_source factor_reader item_reader events percent_decode http_request"}

"$ROOT/scripts/install-deps.sh" --fuzz
if [ ! -f "$BUILD_DIR/build.ninja" ]; then
  CXX=${FUZZ_CXX:-$(command -v clang++-14 || echo clang++)} meson setup "$BUILD_DIR" -Dfuzz=true -Dtests=false -Dsystemd=disabled \
    -Doptimization=1 -Ddebug=false -Dcpp_args=-gline-tables-only -Db_sanitize=address,undefined -Db_lundef=false || {
    echo "fuzz: 0 targets, $SECONDS_EACH s each, 0 crashes (build-fuzz setup failed: scripts/install-deps.sh --fuzz)"
    exit 1
  }
fi
build_targets=""
for t in $TARGETS; do build_targets="$build_targets tests/fuzz/fuzz_$t"; done
# shellcheck disable=SC2086
if ! ninja -C "$BUILD_DIR" $build_targets; then
  echo "fuzz: 0 targets, $SECONDS_EACH s each, 0 crashes (build failed)"
  exit 1
fi

# Sanitizer findings are crashes; leaks are reported at exit like other errors.
export ASAN_OPTIONS="${ASAN_OPTIONS:-abort_on_error=1:detect_leaks=1:allocator_may_return_null=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"

n=0
crashes=0
for t in $TARGETS; do
  n=$((n + 1))
  work="$BUILD_DIR/corpus/$t"
  found="$BUILD_DIR/crashes/$t"
  rm -rf "$work"
  mkdir -p "$work" "$found"
  cp "tests/fuzz/corpus/$t"/* "$work"/ 2>/dev/null || true
  dict=""
  [ -f "tests/fuzz/$t.dict" ] && dict="-dict=tests/fuzz/$t.dict"
  max_len=4096
  [ "$t" = http_request ] && max_len=20000
  log="$BUILD_DIR/fuzz-$t.log"
  # shellcheck disable=SC2086
  "$BUILD_DIR/tests/fuzz/fuzz_$t" "$work" $dict -max_total_time="$SECONDS_EACH" -timeout=10 \
    -rss_limit_mb=2048 -max_len="$max_len" -print_final_stats=1 -artifact_prefix="$found/" >"$log" 2>&1
  rc=$?
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
  cov=$(grep -o 'cov: [0-9]*' "$log" | tail -n 1 | cut -d' ' -f2)
  if [ $rc -ne 0 ]; then
    crashes=$((crashes + 1))
    echo "FAIL $t: exit $rc, input in $found/ (log $log)"
    grep -E 'ERROR|invariant broken|runtime error|SUMMARY' "$log" | head -n 5
  else
    echo "ok   $t: ${SECONDS_EACH} s, ${execs:-?} executions, coverage ${cov:-?}"
  fi
done
echo "fuzz: $n targets, $SECONDS_EACH s each, $crashes crashes"
[ $crashes -eq 0 ]
