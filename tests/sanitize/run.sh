#!/usr/bin/env bash
# The agent under AddressSanitizer and UndefinedBehaviorSanitizer, driven by
# the real integration tests (HAProxy, essim, haesctl): builds haes-agent and
# haesctl in build-sanitize/ (Debug, address,undefined), runs the health
# port's concurrency unit test and the admin, ES client and sync integration
# tests against them, and the SPOP server's and admin socket's unit tests
# (session lifetimes: stop with live sessions, cut-off peers), and fails if any process
# log holds a sanitizer report (a report at shutdown would not fail a test by
# itself). Called by scripts/test.sh; HAES_SANITIZE_RUN=0 skips it.
set -euo pipefail
cd "$(dirname "$0")/../.."
src=$(pwd)
build=${HAES_SANITIZE_BUILD_DIR:-build-sanitize}
jobs=${HAES_JOBS:-$(nproc)}
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Debug -DHAES_SANITIZE=address,undefined -DHAES_BUILD_TESTS=ON > /dev/null
cmake --build "$build" -j "$jobs" --target haes-agent haesctl http_test spoe_server_test admin_server_test
base=$(mktemp -d /tmp/haes-sanitize.XXXXXX)
trap 'rm -rf "$base"' EXIT
status=0
# The health port answering while verdicts are published (a use-after-free
# there is only visible under the sanitizer).
ASAN_OPTIONS=detect_leaks=1 "$build/tests/unit/agent/http/http_test" --gtest_repeat=3 --gtest_brief=1 \
  > "$base/http_test.log" 2>&1 || { status=1; tail -40 "$base/http_test.log"; }
# Sessions owned by their coroutines, closed at stop(), cut at deadlines.
for t in spoe/spoe_server_test agent/admin/admin_server_test; do
  name=$(basename "$t")
  ASAN_OPTIONS=detect_leaks=1 "$build/tests/unit/$t" --gtest_brief=1 > "$base/$name.log" 2>&1 \
    || { status=1; tail -40 "$base/$name.log"; }
done
ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=0 \
HAES_BUILD_DIR="$src/$build" HAES_SOURCE_DIR="$src" PYTHONPATH="$src/tests/lib" PYTHONDONTWRITEBYTECODE=1 \
  /usr/bin/python3 -m pytest -q -p no:cacheprovider -p haestest.pytest_plugin --basetemp="$base" \
  tests/integration/test_admin.py tests/integration/test_es_client.py tests/integration/test_sync.py || status=1
reports=$(grep -rlE "AddressSanitizer|LeakSanitizer|runtime error:" "$base" || true)
if [ -n "$reports" ]; then
  echo "sanitize: reports found in:"
  for f in $reports; do
    echo "---- $f"
    grep -E -A20 "AddressSanitizer|LeakSanitizer|runtime error:" "$f" | head -60
  done
  status=1
else
  echo "sanitize: no sanitizer report in any process log"
fi
exit $status
