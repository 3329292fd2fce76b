#!/usr/bin/env bash
# Runs every test: unit tests, openraft's storage suite, and the
# multi-process cluster tests (cluster-tests/), which start real raftcdc
# processes. Works on a fresh machine with only the Rust toolchain: the
# protobuf compiler is vendored, and the services later issues need
# (MariaDB, the Kafka broker) are started by scripts/services.sh when the
# suite needs them.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/services.sh
cargo build --workspace --all-targets --locked
export RAFTCDC_BIN=${RAFTCDC_BIN:-$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys;print(json.load(sys.stdin)["target_directory"])')/debug/raftcdc}

# deploy/ and the Dockerfile, as far as a machine without Docker or
# Kubernetes can check them (see the script and deploy/README.md).
scripts/check-deploy.sh

if cargo nextest --version >/dev/null 2>&1; then
  # Cluster tests are slow-ish and run real processes; two at a time keep
  # a 2-core machine responsive.
  cargo nextest run --workspace --locked --no-fail-fast --test-threads 2 "$@"
else
  cargo test --workspace --locked --no-fail-fast "$@" -- --test-threads 2
fi
