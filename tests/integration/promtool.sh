#!/bin/sh
# Runs promtool for the prometheus.rules_* ctest tests; fails (never skips)
# with a clear message when it is not installed.
if ! command -v promtool >/dev/null 2>&1; then
  echo "promtool is not installed: it comes with Debian's package \`prometheus\` (scripts/setup.sh installs it)" >&2
  exit 1
fi
exec promtool "$@"
