#!/usr/bin/env bash
# Builds the SPOP frame-decoder fuzzer with clang (libFuzzer + ASan + UBSan)
# in build-fuzz/ and runs it for SECONDS (default 60) on a scratch copy of
# tests/fuzz/corpus/, so the repository is never modified. Exits non-zero on
# a crash; the crashing input is left in build-fuzz/crashes/.
set -euo pipefail
cd "$(dirname "$0")/../.."
seconds=${1:-60}
build=${HAES_FUZZ_BUILD_DIR:-build-fuzz}
if [ ! -f "$build/CMakeCache.txt" ]; then
  CC=clang CXX=clang++ cmake -S . -B "$build" -DHAES_FUZZ=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
fi
cmake --build "$build" -j"${HAES_JOBS:-$(nproc)}" --target spoe_frame_fuzz >/dev/null
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp tests/fuzz/corpus/* "$work/"
mkdir -p "$build/crashes"
echo "fuzz: spoe_frame_fuzz for ${seconds}s, seed corpus $(ls tests/fuzz/corpus | wc -l) files"
"$build/tests/fuzz/spoe_frame_fuzz" -max_total_time="$seconds" -max_len=20000 \
  -artifact_prefix="$build/crashes/" -print_final_stats=1 "$work" 2>"$build/fuzz.log" || {
  echo "fuzz: CRASH, see $build/fuzz.log and $build/crashes/"; tail -40 "$build/fuzz.log"; exit 1; }
grep -E '^stat::number_of_executed_units|^Done' "$build/fuzz.log" | sed 's/^/fuzz: /'
echo "fuzz: no crash"
