#!/bin/sh
# essim binds 127.0.0.1 on ports it picks (it is a test tool); in a container
# socat publishes them on fixed ports of every interface: node i on 9200+i,
# the control port on 9300. A node stopped through the control port then
# accepts and closes connections instead of refusing them.
set -eu
: "${ESSIM_CLUSTER:?set ESSIM_CLUSTER to the cluster name}"
nodes=${ESSIM_NODES:-2}
ports=/tmp/essim-ports.json
rm -f "$ports"
trap 'trap - TERM INT; kill 0 2>/dev/null; exit 0' TERM INT
python3 /opt/essim/essim --cluster "$ESSIM_CLUSTER" --nodes "$nodes" \
  --repo-root /var/lib/essim/repo --port-file "$ports" &
essim=$!
i=0
while [ ! -s "$ports" ]; do
  kill -0 "$essim" 2>/dev/null || { echo "essim-entrypoint: essim exited" >&2; exit 1; }
  i=$((i + 1)); [ "$i" -lt 300 ] || { echo "essim-entrypoint: no port file after 30 s" >&2; exit 1; }
  sleep 0.1
done
python3 - "$ports" <<'PY' | while read -r public private; do
import json, sys
p = json.load(open(sys.argv[1]))
for i, port in enumerate(p["nodes"].values(), start=1):
    print(9200 + i, port)
print(9300, p["control"])
PY
  socat "TCP-LISTEN:$public,fork,reuseaddr" "TCP:127.0.0.1:$private" &
  echo "essim-entrypoint: $ESSIM_CLUSTER port $public -> 127.0.0.1:$private"
done
wait "$essim"
