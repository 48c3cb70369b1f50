#!/usr/bin/env bash
# The main job, from a fresh Debian 12: installs what is missing, builds,
# then runs the demo (scripts/demo.py): two simulated Elasticsearch clusters,
# haes-agent on its default local state store with snapshot sync, HAProxy in
# front; documents written through HAProxy, synced to dc2, the RPO, an
# automatic failover when dc1 goes red (the documents still there), and the
# operator's failback.
#   scripts/demo.sh [--keep] [--workdir DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/build.sh haes-agent haesctl   # only what the demo runs
export HAES_BUILD_DIR=$(pwd)/${HAES_BUILD_DIR:-build}
exec /usr/bin/python3 scripts/demo.py "$@"
