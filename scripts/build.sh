#!/usr/bin/env bash
# Configures and builds haes in $HAES_BUILD_DIR (default build/). Incremental;
# ccache is used when present. Does not install packages: see scripts/setup.sh.
#   scripts/build.sh              everything: both programs, unit tests, tools
#   scripts/build.sh TARGET...    only these targets and what they need
#                                 (scripts/demo.sh: haes-agent haesctl)
set -euo pipefail
cd "$(dirname "$0")/.."
build=${HAES_BUILD_DIR:-build}
jobs=${HAES_JOBS:-$(nproc)}
if [ ! -f "$build/CMakeCache.txt" ]; then
  cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=${HAES_BUILD_TYPE:-RelWithDebInfo}
fi
targets=()
for t in "$@"; do
  targets+=(--target "$t")
done
cmake --build "$build" -j "$jobs" "${targets[@]}"
