#!/usr/bin/env bash
# The whole test suite: installs what is missing, builds, runs every test.
#   scripts/test.sh                 everything (what CI runs)
#   scripts/test.sh -R REGEX        only ctest tests whose name matches
# Environment: HAES_BUILD_DIR (default build), HAES_JOBS (default nproc),
#              HAES_FUZZ_SECONDS (default 60; 0 skips the fuzz run, and says so),
#              HAES_SANITIZE_RUN (default 1; 0 skips the ASan/UBSan run, and says so).
set -euo pipefail
cd "$(dirname "$0")/.."
src=$(pwd)

scripts/setup.sh
scripts/build.sh

build=${HAES_BUILD_DIR:-build}
jobs=${HAES_JOBS:-$(nproc)}
fuzz_seconds=${HAES_FUZZ_SECONDS:-60}

status=0
if [ -f tests/fuzz/run.sh ] && [ "$fuzz_seconds" != 0 ]; then
  echo "== fuzz: frame decoder for ${fuzz_seconds}s"
  tests/fuzz/run.sh "$fuzz_seconds" || status=1
elif [ -f tests/fuzz/run.sh ]; then
  echo "== fuzz: NOT RUN (HAES_FUZZ_SECONDS=0)"
fi

echo "== ctest"
cd "$build"
ctest --output-on-failure --timeout 600 -j "$jobs" "$@" || status=1

cd "$src"
if [ "${HAES_SANITIZE_RUN:-1}" != 0 ] && [ $# -eq 0 ]; then
  echo "== sanitizers: the agent under ASan+UBSan, driven by the admin, ES client and sync integration tests"
  tests/sanitize/run.sh || status=1
else
  echo "== sanitizers: NOT RUN (HAES_SANITIZE_RUN=0 or a -R selection)"
fi
cd "$build"

# A skip must never hide in a green run: list every skipped test and its reason.
skipped=$(grep -hE '^SKIPPED|\[  SKIPPED \]' Testing/Temporary/LastTest.log 2>/dev/null | sort -u || true)
if [ -n "$skipped" ]; then
  echo "== skipped tests (with their reasons):"
  echo "$skipped"
fi
exit $status
