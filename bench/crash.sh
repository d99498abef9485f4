#!/bin/sh
# Crash benchmark: kill -9 at seeded random moments of import, train,
# precompute and of a server taking events from 4 clients that keep a ledger
# of acknowledged events, then simulated power losses of such a server
# (tests/crash/power_loss_test.cpp: an LD_PRELOAD journal of unsynced writes,
# rolled back page by page after the kill). After every kill `recsys check`
# must pass, readers must get lists of one generation, and every acknowledged
# event (after a power loss: every one acknowledged before the last completed
# sync) must be stored. Prints one line per phase.
#
#   bench/crash.sh [KILLS]        # KILLS per phase, default 20
#   SEED=7 BUILD_DIR=build POWER_LOSS_SERVE_ARGS=--sync-every-commit bench/crash.sh 50
#   env: BUILD_DIR (build, relative to the repository or absolute), BUILD (1: set
#        up and build BUILD_DIR first; 0: use it as built, e.g. a prebuilt or
#        read-only build directory), RECSYS_BIN (the recsys binary to crash;
#        default BUILD_DIR/src/recsys; the tests and the shim come from BUILD_DIR)
#   quick: BUILD=0 bench/crash.sh 1
# Exit status 1 on findings or a failed test, 77 when BUILD=0 and something is
# not built.
set -u

KILLS=${1:-20}
SEED=${SEED:-1}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD_DIR=${BUILD_DIR:-build}
cd "$ROOT" || exit 1
case $BUILD_DIR in /*) ;; *) BUILD_DIR="$ROOT/$BUILD_DIR" ;; esac
if [ "${BUILD:-1}" != 0 ]; then
  [ -f "$BUILD_DIR/build.ninja" ] || meson setup "$BUILD_DIR" >/dev/null || exit 1
  ninja -C "$BUILD_DIR" src/recsys tests/test_crash tests/crash/test_power_loss tests/crash/libpower_loss_shim.so \
    >/dev/null || exit 1
fi
RECSYS_BIN=${RECSYS_BIN:-$BUILD_DIR/src/recsys}
case $RECSYS_BIN in /*) ;; *) RECSYS_BIN="$ROOT/$RECSYS_BIN" ;; esac
for f in "$RECSYS_BIN" "$BUILD_DIR/tests/test_crash" "$BUILD_DIR/tests/crash/test_power_loss"; do
  [ -x "$f" ] || { echo "crash.sh: $f is not built (BUILD=1 builds it)" >&2; exit 77; }
done
[ -f "$BUILD_DIR/tests/crash/libpower_loss_shim.so" ] ||
  { echo "crash.sh: $BUILD_DIR/tests/crash/libpower_loss_shim.so is not built (BUILD=1 builds it)" >&2; exit 77; }

export RECSYS_BIN
export RECSYS_CRASH_KILLS="$KILLS"
export RECSYS_CRASH_SEED="$SEED"
export RECSYS_POWER_LOSS_SHIM="$BUILD_DIR/tests/crash/libpower_loss_shim.so"
export RECSYS_POWER_LOSS_SERVE_ARGS="${POWER_LOSS_SERVE_ARGS:-}"
out=$(mktemp)
trap 'rm -f "$out"' EXIT
status=0
"$BUILD_DIR/tests/test_crash" --durations no >"$out" 2>&1 || status=1
"$BUILD_DIR/tests/crash/test_power_loss" --durations no >>"$out" 2>&1 || status=1
grep -E '^(crash test:|import  |train  |precompute  |tune  |serve  |power loss  )' "$out"
if [ $status -ne 0 ]; then
  echo "FAILED: findings follow"
  findings=$(grep -E '^ *(import |train |precompute |tune |serve |[a-z ,]*)?kill [0-9]+: ' "$out" | cut -c1-300 | head -40)
  if [ -n "$findings" ]; then
    echo "$findings"
  else
    # No finding line: the tests failed otherwise (an assertion, a timeout, a
    # crash of the test itself); their own output says how.
    echo "(no finding lines; the last 40 lines of the test output:)"
    tail -n 40 "$out" | cut -c1-300
  fi
fi
exit $status
