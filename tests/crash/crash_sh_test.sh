#!/bin/sh
# bench/crash.sh when the crash tests fail without a finding line: the tail of
# their output must be shown, not only "FAILED: findings follow". Runs the
# script against a stand-in build directory whose test programs only print
# and exit, so nothing is built or killed.
set -u
ROOT=${RECSYS_SOURCE_ROOT:?run through meson test}
fake=$(mktemp -d)
trap 'rm -rf "$fake"' EXIT
mkdir -p "$fake/tests/crash" "$fake/src"
cat >"$fake/build.ninja" <<'NINJA'
build src/recsys tests/test_crash tests/crash/test_power_loss tests/crash/libpower_loss_shim.so: phony
NINJA
cat >"$fake/tests/test_crash" <<'SH'
#!/bin/sh
echo "crash_test.cpp:42: FAILED: REQUIRE( server.port() > 0 ) with expansion: 0 > 0"
exit 1
SH
printf '#!/bin/sh\nexit 0\n' >"$fake/tests/crash/test_power_loss"
printf '#!/bin/sh\nexit 0\n' >"$fake/src/recsys"
: >"$fake/tests/crash/libpower_loss_shim.so"
chmod +x "$fake/tests/test_crash" "$fake/tests/crash/test_power_loss" "$fake/src/recsys"

out=$(BUILD_DIR="$fake" sh "$ROOT/bench/crash.sh" 1 2>&1)
status=$?
echo "$out"
[ $status -ne 0 ] || { echo "not ok: crash.sh exited 0 on a failing test"; exit 1; }
echo "$out" | grep -q '^FAILED' || { echo "not ok: no FAILED line"; exit 1; }
echo "$out" | grep -q 'REQUIRE( server.port() > 0 )' || { echo "not ok: the test output's tail is not shown"; exit 1; }
echo "ok"
