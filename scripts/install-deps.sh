#!/bin/sh
# Installs the Debian/Ubuntu packages recsys needs to build, test and benchmark.
# Idempotent: does nothing when everything is present. Uses sudo when not root.
set -eu

PACKAGES="meson ninja-build g++ pkg-config libboost-dev liblmdb-dev libeigen3-dev libcli11-dev
libsimdjson-dev catch2 libfmt-dev libspdlog-dev libopenblas-dev zlib1g-dev libzstd-dev
libsystemd-dev scdoc zstd gzip curl ca-certificates unzip python3 time"
if [ "${1:-}" = "--bench" ]; then
  PACKAGES="$PACKAGES wrk nginx linux-perf python3-numpy"
fi
# --ui: Debian's chromium, for the dashboard's browser tests (tests/ui/).
if [ "${1:-}" = "--ui" ]; then
  PACKAGES="$PACKAGES chromium"
fi
# --fuzz: clang 14 and its libFuzzer runtime, for tests/fuzz/run.sh only.
if [ "${1:-}" = "--fuzz" ]; then
  PACKAGES="$PACKAGES clang-14 libclang-rt-14-dev"
fi

missing=""
for p in $PACKAGES; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing="$missing $p"
  fi
done
[ -z "$missing" ] && exit 0

if [ "$(id -u)" -eq 0 ]; then SUDO=""; else SUDO="sudo"; fi
echo "installing:$missing" >&2
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q >&2 || true
# shellcheck disable=SC2086
$SUDO apt-get install -y -q --no-install-recommends $missing >&2
