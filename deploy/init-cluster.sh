#!/bin/sh
# Forms a raftcdc cluster from uninitialised nodes, once. Safe to run again
# (a restarted Kubernetes Job, a re-run `docker compose up`, an operator):
# if the cluster is already formed it changes nothing and exits 0.
#
#   raftcdc-init-cluster http://n1:7001 http://n2:7001 http://n3:7001
#
# 1. Waits until every endpoint answers `raftcdc cluster status`
#    (RAFTCDC_INIT_TIMEOUT seconds, default 300).
# 2. If any of them already knows a leader, the cluster exists: exit 0.
# 3. Otherwise runs `raftcdc cluster --endpoint FIRST init --members ALL`.
#    A node refuses init when it (or a member) is already initialised; that
#    answer also means a previous run got there first: exit 0.
#
# Installed in the container image as /usr/local/bin/raftcdc-init-cluster.
# POSIX sh: the runtime image has no bash. RAFTCDC_BIN overrides the binary.
# Extra client flags (e.g. a token option once control-API auth exists) can
# be passed in RAFTCDC_CLIENT_ARGS.
set -eu

bin=${RAFTCDC_BIN:-raftcdc}
timeout=${RAFTCDC_INIT_TIMEOUT:-300}
client_args=${RAFTCDC_CLIENT_ARGS:-}

if [ $# -lt 1 ]; then
  echo "usage: $0 ENDPOINT [ENDPOINT...]   (control endpoints of all initial members)" >&2
  exit 2
fi

members=$(printf '%s,' "$@")
members=${members%,}
deadline=$(( $(date +%s) + timeout ))

for endpoint in "$@"; do
  # shellcheck disable=SC2086 # client_args is a list of flags
  until status=$("$bin" cluster --endpoint "$endpoint" --output json --timeout 5 $client_args status 2>/dev/null); do
    if [ "$(date +%s)" -ge "$deadline" ]; then
      echo "raftcdc-init: $endpoint did not answer within ${timeout}s" >&2
      exit 1
    fi
    sleep 2
  done
  if printf '%s\n' "$status" | grep -Eq '"leader_id": *[0-9]'; then
    echo "raftcdc-init: $endpoint already belongs to a formed cluster; nothing to do"
    exit 0
  fi
done

echo "raftcdc-init: forming the cluster from $members"
# shellcheck disable=SC2086
if output=$("$bin" cluster --endpoint "$1" $client_args init --members "$members" 2>&1); then
  printf '%s\n' "$output"
  exit 0
fi
case $output in
  *"already initialised"*)
    echo "raftcdc-init: already initialised (an earlier run formed it); nothing to do"
    exit 0
    ;;
esac
printf '%s\n' "$output" >&2
exit 1
