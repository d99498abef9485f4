#!/bin/sh
# Builds recsys and runs the whole test suite. Installs missing build
# dependencies first (apt-get; sudo when not root). Idempotent.
#
#   tests/run.sh                         # release build in ./build
#   BUILD_DIR=build-asan MESON_ARGS="-Db_sanitize=address,undefined" tests/run.sh
#
# The last line is "N passed, N failed" (Catch2 test cases over all test
# programs); the exit code is non-zero when anything failed.
set -eu

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD_DIR=${BUILD_DIR:-build}
MESON_ARGS=${MESON_ARGS:-}
cd "$ROOT"

"$ROOT/scripts/install-deps.sh"

# -Dtests=true: the quickstart may have set up the same build directory without them.
if [ ! -f "$BUILD_DIR/build.ninja" ]; then
  # shellcheck disable=SC2086
  meson setup "$BUILD_DIR" -Dtests=true $MESON_ARGS
else
  # shellcheck disable=SC2086
  meson configure "$BUILD_DIR" -Dtests=true $MESON_ARGS
fi
ninja -C "$BUILD_DIR"

status=0
meson test -C "$BUILD_DIR" --print-errorlogs --num-processes "${TEST_JOBS:-2}" ${MESON_TEST_ARGS:-} || status=$?

summary=$(python3 "$ROOT/tests/summarize.py" "$BUILD_DIR/meson-logs/testlog.json") || {
  echo "0 passed, 1 failed"
  exit 1
}
echo "$summary"
case "$summary" in
  *" 0 failed") ;;
  *) status=1 ;;
esac
exit $status
