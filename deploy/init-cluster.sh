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
#
# Nodes with [auth] / [tls.*] (README, "Security"): the raftcdc CLI reads its
# credentials from the environment, so set them for this script:
#   RAFTCDC_TOKEN_FILE=/path/token        the control API's bearer token
#   RAFTCDC_CA_CERT=/path/ca.crt          for https:// endpoints ([tls.control])
#   RAFTCDC_CLIENT_CERT, RAFTCDC_CLIENT_KEY   when [tls.control] has client_ca
# and give the endpoints as https://... when [tls.control] is set.
#   RAFTCDC_TOKEN_FILE=/etc/raftcdc/token RAFTCDC_CA_CERT=/etc/raftcdc/tls/ca.crt \
#     raftcdc-init-cluster https://n1:7001 https://n2:7001 https://n3:7001
# Any other client flags can be passed in RAFTCDC_CLIENT_ARGS.
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
  until status=$("$bin" cluster --endpoint "$endpoint" --output json --timeout 5 $client_args status 2>&1); do
    if [ "$(date +%s)" -ge "$deadline" ]; then
      # The last answer tells a node that is down from, say, a wrong token
      # (UNAUTHENTICATED) or CA. (Read-only root filesystem: no temp file.)
      echo "raftcdc-init: $endpoint did not answer within ${timeout}s; last answer: $status" >&2
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
