#!/usr/bin/env bash
# The agent and every unit test under ThreadSanitizer: builds haes-agent,
# haesctl and the unit test binaries with clang -fsanitize=thread (-O1 -g) in
# build-tsan/, runs every unit test binary, then the admin and failover
# integration tests (real HAProxy, essim, haesctl) against the TSan agent.
# Fails on any "WARNING: ThreadSanitizer" from any process: each instrumented
# process writes its reports to its own file (TSAN_OPTIONS log_path), and the
# process logs are searched too. A report fails the run even when the test
# that caused it passed. Suppressions: tests/sanitize/tsan.supp (each with its
# reason). Called by scripts/test.sh; HAES_TSAN_RUN=0 skips it there.
set -euo pipefail
cd "$(dirname "$0")/../.."
src=$(pwd)
build=${HAES_TSAN_BUILD_DIR:-build-tsan}
jobs=${HAES_JOBS:-$(nproc)}
if [ ! -f "$build/CMakeCache.txt" ]; then
  CC=clang CXX=clang++ cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g" -DHAES_SANITIZE=thread -DHAES_BUILD_TESTS=ON > /dev/null
fi
cmake --build "$build" -j "$jobs" --target haes-agent haesctl haes_unit_tests
base=$(mktemp -d /tmp/haes-tsan.XXXXXX)
trap 'rm -rf "$base"' EXIT
mkdir -p "$base/reports"
export TSAN_OPTIONS="log_path=$base/reports/tsan second_deadlock_stack=1 history_size=4 suppressions=$src/tests/sanitize/tsan.supp"
status=0

mapfile -t tests < <(find "$build/tests/unit" -type f -name '*_test' -perm -u+x | sort)
if [ ${#tests[@]} -eq 0 ]; then
  echo "tsan: no unit test binary found in $build/tests/unit" >&2
  exit 1
fi
for t in "${tests[@]}"; do
  name=$(basename "$t")
  if ! "$t" --gtest_brief=1 > "$base/$name.log" 2>&1; then
    echo "tsan: $name FAILED"
    tail -40 "$base/$name.log"
    status=1
  fi
done
echo "tsan: ${#tests[@]} unit test binaries run"

HAES_BUILD_DIR="$src/$build" HAES_SOURCE_DIR="$src" PYTHONPATH="$src/tests/lib" PYTHONDONTWRITEBYTECODE=1 \
  /usr/bin/python3 -m pytest -q -p no:cacheprovider -p haestest.pytest_plugin --basetemp="$base/pytest" \
  tests/integration/test_admin.py tests/integration/test_failover.py || status=1

reports=$(grep -rlE "WARNING: ThreadSanitizer" "$base" || true)
if [ -n "$reports" ]; then
  echo "tsan: ThreadSanitizer reports in:"
  for f in $reports; do
    echo "---- $f"
    grep -E -A40 "WARNING: ThreadSanitizer" "$f" | head -80 || true  # head closing the pipe is not a failure
  done
  status=1
else
  echo "tsan: no ThreadSanitizer report from any process"
fi
exit $status
