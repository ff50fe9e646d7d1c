#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# With ptables as Felix's dataplane: pods on the same and on different nodes reach a server; a
# NetworkPolicy denying ingress stops both; a second one lets only the other node's client in; and
# felix-proxy reports the pods' endpoints "up" to Felix on their nodes.
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

ns=ptables-smoke
mapfile -t workers < <(kubectl get nodes -l '!node-role.kubernetes.io/control-plane' -o jsonpath='{range .items[*]}{.metadata.name}{"\n"}{end}')
((${#workers[@]} >= 2)) || die "need two workers, found ${#workers[@]}"
node_a="${workers[0]}" node_b="${workers[1]}"

sed -e "s|__NODE_A__|${node_a}|g" -e "s|__NODE_B__|${node_b}|g" -e "s|__AGNHOST__|${AGNHOST_IMAGE}|g" \
  "${KIND_DIR}/smoke/workloads.yaml" | kubectl apply -f -
kubectl -n "${ns}" wait --for=condition=Ready pod --all --timeout=5m
server_ip="$(kubectl -n "${ns}" get pod server -o jsonpath='{.status.podIP}')"
log "server ${server_ip} on ${node_a}; clients on ${node_a} and ${node_b}"

expect() { # expect connects|blocked POD: retries while policy propagates
  retry 20 3 "$1" "${ns}" "$2" "${server_ip}:8080" || die "${2}: expected ${1}"
  log "ok: ${2} ${1}"
}

expect connects client-same-node
expect connects client-other-node

kubectl apply -f "${KIND_DIR}/smoke/deny-ingress.yaml"
expect blocked client-same-node
expect blocked client-other-node

kubectl apply -f "${KIND_DIR}/smoke/allow-other-node.yaml"
expect connects client-other-node
expect blocked client-same-node

for node in "${node_a}" "${node_b}"; do
  metrics="$(docker exec "${node}" curl -fsS "http://127.0.0.1:9190/metrics")"
  in_sync="$(metric_value ptables_felix_proxy_felix_in_sync <<<"${metrics}")" || die "${node}: no felix_in_sync metric"
  up="$(metric_value ptables_felix_proxy_endpoint_statuses 'status="up"' <<<"${metrics}")" || die "${node}: no endpoint status metric"
  [[ "${in_sync}" == 1 ]] || die "${node}: Felix is not in sync with ptables (felix_in_sync ${in_sync})"
  # Each worker runs at least the smoke pods scheduled on it.
  min=1
  [[ "${node}" == "${node_a}" ]] && min=2
  ((${up%.*} >= min)) || die "${node}: ${up} endpoints up, expected at least ${min}"
  log "ok: ${node}: in sync, ${up} endpoints up"
done
log "smoke test passed"
