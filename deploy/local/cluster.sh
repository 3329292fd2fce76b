#!/usr/bin/env bash
# Starts a local 3-node raftcdc cluster on 127.0.0.1 from a fresh clone:
# builds the binary, writes three node configs under .local/cluster/,
# starts the nodes, initialises the cluster and creates the demo connector
# (deploy/local/demo-connector.json). Safe to re-run: it stops the nodes it
# started before and starts over with fresh data.
#
#   deploy/local/cluster.sh          start (or restart) the cluster
#   deploy/local/cluster.sh stop     stop it
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
DIR=$ROOT/.local/cluster
BIN=${RAFTCDC_BIN:-${CARGO_TARGET_DIR:-$ROOT/target}/debug/raftcdc}

stop() {
  for pidfile in "$DIR"/node*.pid; do
    [ -e "$pidfile" ] || continue
    pid=$(cat "$pidfile")
    if kill -0 "$pid" 2>/dev/null; then kill "$pid"; fi
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
    rm -f "$pidfile"
  done
}

if [ "${1:-start}" = "stop" ]; then stop; echo "stopped"; exit 0; fi

if [ -z "${RAFTCDC_BIN:-}" ]; then
  echo "building raftcdc..."
  cargo build --bin raftcdc
fi
stop
rm -rf "$DIR"; mkdir -p "$DIR"
for i in 1 2 3; do
  cat > "$DIR/node$i.toml" <<CONF
[node]
id = $i
cluster_name = "local"
listen = "127.0.0.1:700$i"
peer_listen = "127.0.0.1:710$i"
data_dir = "$DIR/data$i"
CONF
  nohup "$BIN" serve --config "$DIR/node$i.toml" >"$DIR/node$i.log" 2>&1 &
  echo $! >"$DIR/node$i.pid"
done

cli() { "$BIN" "$@"; }
for i in 1 2 3; do
  for _ in $(seq 100); do
    "$BIN" cluster --endpoint "http://127.0.0.1:700$i" status >/dev/null 2>&1 && break
    sleep 0.1
  done
done
cli cluster --endpoint http://127.0.0.1:7001 init --members http://127.0.0.1:7001,http://127.0.0.1:7002,http://127.0.0.1:7003 >/dev/null
cli connector --endpoint http://127.0.0.1:7002 create --file deploy/local/demo-connector.json >/dev/null
for _ in $(seq 100); do
  state=$("$BIN" connector --endpoint http://127.0.0.1:7003 -o json get inventory | sed -n 's/^  "state": "\(.*\)",$/\1/p')
  [ "$state" = "RUNNING" ] && break
  sleep 0.1
done
cli cluster --endpoint http://127.0.0.1:7003 status
echo
cli connector --endpoint http://127.0.0.1:7001 list
cat <<MSG

A 3-node cluster is running (control API on 127.0.0.1:7001-7003, logs in .local/cluster/).
  $BIN cluster --endpoint http://127.0.0.1:7002 status
  $BIN connector --endpoint http://127.0.0.1:7002 status inventory
  kill -9 \$(cat .local/cluster/node1.pid)   # then watch the leader and owner move
  deploy/local/cluster.sh stop
MSG
