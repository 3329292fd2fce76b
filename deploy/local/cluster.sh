#!/usr/bin/env bash
# The README's first command: from a fresh clone, starts
#   - a MariaDB with row binlog (own datadir under .local/demo, port 3307),
#   - the Kafka-protocol broker noida-db (port 29092),
#   - three raftcdc nodes (control API on 127.0.0.1:7001-7003, Kafka
#     Connect REST API and web console on http://127.0.0.1:8081-8083),
# creates the demo connector (deploy/local/demo-connector.json) on the
# sample `inventory` schema, applies some changes and shows the change
# events arriving in Kafka. Re-running it starts everything over cleanly.
#
#   deploy/local/cluster.sh          start (or restart) the demo
#   deploy/local/cluster.sh stop     stop it
#
# Ports can be moved with DEMO_MARIADB_PORT and DEMO_KAFKA_PORT.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
DIR=$ROOT/.local/demo
BIN=${RAFTCDC_BIN:-${CARGO_TARGET_DIR:-$ROOT/target}/debug/raftcdc}
DB_PORT=${DEMO_MARIADB_PORT:-3307}
KAFKA_PORT=${DEMO_KAFKA_PORT:-29092}
KAFKA=127.0.0.1:$KAFKA_PORT

stop() {
  for pidfile in "$DIR"/*.pid; do
    [ -e "$pidfile" ] || continue
    pid=$(cat "$pidfile")
    if kill -0 "$pid" 2>/dev/null; then kill "$pid"; fi
    for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
    rm -f "$pidfile"
  done
}

wait_for() { # description, command...
  local what=$1; shift
  for _ in $(seq 300); do
    if "$@" >/dev/null 2>&1; then return 0; fi
    sleep 0.1
  done
  echo "demo: timed out waiting for $what" >&2
  return 1
}

if [ "${1:-start}" = "stop" ]; then stop; echo "stopped"; exit 0; fi

scripts/services.sh
if [ -z "${RAFTCDC_BIN:-}" ]; then
  echo "demo: building raftcdc..."
  cargo build --bin raftcdc
fi
stop
# Every port the demo listens on must be free: another checkout's demo may
# still be running (its own `deploy/local/cluster.sh stop` stops it).
for port in "$DB_PORT" "$KAFKA_PORT" 7001 7002 7003 7101 7102 7103 7201 7202 7203 8081 8082 8083; do
  if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
    echo "demo: port $port is already in use (another demo still running? stop it with its deploy/local/cluster.sh stop; MariaDB's and the broker's ports move with DEMO_MARIADB_PORT and DEMO_KAFKA_PORT)" >&2
    exit 1
  fi
done
rm -rf "$DIR"; mkdir -p "$DIR"

# MariaDB, its own instance (the machine's default server is left alone).
mariadb-install-db --no-defaults --datadir="$DIR/mariadb" --user=root \
  --auth-root-authentication-method=normal --skip-test-db >"$DIR/mariadb-install.log" 2>&1
MARIADBD=/usr/sbin/mariadbd; [ -x "$MARIADBD" ] || MARIADBD=mariadbd
nohup "$MARIADBD" --no-defaults --datadir="$DIR/mariadb" --socket="$DIR/mariadb.sock" \
  --pid-file="$DIR/mariadb.server-pid" --port="$DB_PORT" --bind-address=127.0.0.1 --user=root \
  --log-bin=mysql-bin --binlog-format=ROW --binlog-row-image=FULL --binlog-row-metadata=FULL \
  --server-id=1 --character-set-server=utf8mb4 --collation-server=utf8mb4_general_ci \
  --log-error="$DIR/mariadb.log" >/dev/null 2>&1 &
echo $! >"$DIR/mariadb.pid"
sql() { mariadb --protocol=TCP -h127.0.0.1 -P"$DB_PORT" -uroot "$@"; }
wait_for "MariaDB on port $DB_PORT" sql -e "SELECT 1"
sql <<'SQL'
CREATE USER 'raftcdc'@'%' IDENTIFIED BY 'raftcdc';
GRANT SELECT, RELOAD, SHOW DATABASES, REPLICATION SLAVE, REPLICATION CLIENT, BINLOG MONITOR ON *.* TO 'raftcdc'@'%';
CREATE DATABASE inventory;
CREATE TABLE inventory.customers (id INT PRIMARY KEY, first_name VARCHAR(255), last_name VARCHAR(255), email VARCHAR(255) UNIQUE);
INSERT INTO inventory.customers VALUES (1001, 'Sally', 'Thomas', 'sally.thomas@acme.com'), (1002, 'George', 'Bailey', 'gbailey@foobar.com');
SQL

# The broker.
NOIDA=$(.venv-kafka/bin/python -c 'import noida_db,os;print(os.path.join(os.path.dirname(noida_db.__file__),"noida-db"))')
mkdir -p "$DIR/kafka"
nohup "$NOIDA" start --data-dir "$DIR/kafka" --host 127.0.0.1 --only kafka --kafka-port "$KAFKA_PORT" >"$DIR/kafka.log" 2>&1 &
echo $! >"$DIR/kafka.pid"
wait_for "the broker on port $KAFKA_PORT" bash -c "exec 3<>/dev/tcp/127.0.0.1/$KAFKA_PORT"

# Three raftcdc nodes.
for i in 1 2 3; do
  cat > "$DIR/node$i.toml" <<CONF
[node]
id = $i
cluster_name = "local"
listen = "127.0.0.1:700$i"
peer_listen = "127.0.0.1:710$i"
data_dir = "$DIR/node$i-data"

[kafka]
bootstrap_servers = "$KAFKA"

[metrics]
listen = "127.0.0.1:720$i"

[rest]
listen = "127.0.0.1:808$i"
CONF
  nohup "$BIN" serve --config "$DIR/node$i.toml" >"$DIR/node$i.log" 2>&1 &
  echo $! >"$DIR/node$i.pid"
done
for i in 1 2 3; do
  wait_for "node $i" "$BIN" cluster --endpoint "http://127.0.0.1:700$i" status
done
"$BIN" cluster --endpoint http://127.0.0.1:7001 init --members http://127.0.0.1:7001,http://127.0.0.1:7002,http://127.0.0.1:7003 >/dev/null

# The demo connector (it snapshots the two existing customers first), then
# some changes once it streams.
sed "s/\"database.port\": \"3307\"/\"database.port\": \"$DB_PORT\"/" deploy/local/demo-connector.json >"$DIR/connector.json"
"$BIN" connector --endpoint http://127.0.0.1:7002 create --file "$DIR/connector.json" >/dev/null
streaming() { "$BIN" connector --endpoint http://127.0.0.1:7003 -o json get inventory | grep -q '"offset": {'; }
wait_for "the connector to stream" streaming
sql <<'SQL'
INSERT INTO inventory.customers VALUES (1003, 'Edward', 'Walker', 'ed@walker.com');
UPDATE inventory.customers SET email = 'sally.t@acme.com' WHERE id = 1001;
DELETE FROM inventory.customers WHERE id = 1002;
SQL

"$BIN" cluster --endpoint http://127.0.0.1:7003 status
echo
echo "Kafka Connect REST API (any node; writes on followers are forwarded):"
curl -s http://127.0.0.1:8082/connectors/inventory/status; echo
echo
"$BIN" connector --endpoint http://127.0.0.1:7001 list
echo
echo "Change events committed to Kafka (topic dbserver1.inventory.customers): 2 snapshot reads (op r), then c, u, d and its tombstone:"
"$BIN" tail --bootstrap-servers "$KAFKA" --topic dbserver1.inventory.customers --from-beginning --max 6 --idle-timeout 30
cat <<MSG

Web console: http://127.0.0.1:8081/ui  (also :8082/ui and :8083/ui)

Everything runs from .local/demo/ (logs there). Try:
  $BIN tail --bootstrap-servers $KAFKA --topic dbserver1.inventory.customers     # watch new events
  mariadb --protocol=TCP -h127.0.0.1 -P$DB_PORT -uroot inventory                   # make changes
  $BIN connector --endpoint http://127.0.0.1:7002 status inventory
  $BIN connector --endpoint http://127.0.0.1:7002 snapshot inventory --tables inventory.customers   # re-read a table while streaming
  curl -s http://127.0.0.1:8083/connectors?expand=status                         # Kafka Connect REST API
  curl -s -X PUT http://127.0.0.1:8083/connectors/inventory/pause                # (resume, stop, restart...)
  curl -s http://127.0.0.1:7201/metrics | grep raftcdc_connector                  # Prometheus metrics
  kill -9 \$(cat .local/demo/node1.pid)     # kill a node; the leader and the connector move
  deploy/local/cluster.sh stop
MSG
