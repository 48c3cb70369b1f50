#!/usr/bin/env bash
# The main job, from a fresh Debian 12: installs what is missing, builds,
# then runs the demo (scripts/demo.py): two simulated Elasticsearch clusters,
# haes-agent on its default local state store, HAProxy in front; status, an
# automatic failover when dc1 goes red, and the operator's failback.
#   scripts/demo.sh [--keep]
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/build.sh
export HAES_BUILD_DIR=$(pwd)/${HAES_BUILD_DIR:-build}
exec /usr/bin/python3 scripts/demo.py "$@"
