#!/usr/bin/env bash
# Configures and builds haes in $HAES_BUILD_DIR (default build/). Incremental;
# ccache is used when present. Does not install packages: see scripts/setup.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${HAES_BUILD_DIR:-build}
jobs=${HAES_JOBS:-$(nproc)}
if [ ! -f "$build/CMakeCache.txt" ]; then
  cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=${HAES_BUILD_TYPE:-RelWithDebInfo}
fi
cmake --build "$build" -j "$jobs"
