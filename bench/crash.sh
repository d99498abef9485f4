#!/bin/sh
# Crash benchmark: kill -9 at seeded random moments of import, train,
# precompute and of a server taking events from 4 clients that keep a ledger
# of acknowledged events (then the simulated power losses of
# tests/crash/power_loss_test.cpp). After every kill `recsys check` must pass,
# readers must get lists of one generation, and every acknowledged event must
# be stored. Prints one line per phase: kills, runs that finished before their
# kill, acknowledged events, events found, check failures, mixed generations.
#
#   bench/crash.sh [KILLS]        # KILLS per phase, default 20
#   SEED=7 BUILD_DIR=build bench/crash.sh 50
set -eu

KILLS=${1:-20}
SEED=${SEED:-1}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD_DIR=${BUILD_DIR:-build}
cd "$ROOT"
[ -f "$BUILD_DIR/build.ninja" ] || meson setup "$BUILD_DIR" >/dev/null
ninja -C "$BUILD_DIR" src/recsys tests/test_crash >/dev/null
if [ -f "$BUILD_DIR/tests/crash/power_loss_shim.so" ] || ninja -C "$BUILD_DIR" -t targets all 2>/dev/null | grep -q test_power_loss; then
  ninja -C "$BUILD_DIR" tests/test_power_loss >/dev/null
fi

export RECSYS_BIN="$ROOT/$BUILD_DIR/src/recsys"
export RECSYS_CRASH_KILLS="$KILLS"
export RECSYS_CRASH_SEED="$SEED"
status=0
"$BUILD_DIR/tests/test_crash" --durations no | grep -E '^(crash test|import|train|precompute|serve) ' || status=1
if [ -x "$BUILD_DIR/tests/test_power_loss" ]; then
  RECSYS_POWER_LOSS_SHIM="$ROOT/$BUILD_DIR/tests/crash/libpower_loss_shim.so" \
    "$BUILD_DIR/tests/test_power_loss" --durations no | grep -E '^(power loss)' || status=1
fi
exit $status
