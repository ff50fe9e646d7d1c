#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# The documented rollback, end to end: Felix back to its iptables dataplane, the chart in cleanup
# mode (ptables' filters, routes and pins removed on every node), the chart uninstalled. Then the
# smoke policies must still hold, now enforced by Felix, and nothing of ptables may be left.
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

kubectl -n kube-system patch daemonset calico-node --type strategic \
  --patch-file "${REPO_ROOT}/charts/ptables/calico/calico-node-rollback-patch.yaml"
kubectl -n kube-system rollout status daemonset/calico-node --timeout=10m

helm upgrade ptables "${REPO_ROOT}/charts/ptables" --namespace "${PTABLES_NAMESPACE}" --reuse-values --set mode=cleanup
kubectl -n "${PTABLES_NAMESPACE}" rollout status daemonset/ptables --timeout=10m
kubectl -n "${PTABLES_NAMESPACE}" logs daemonset/ptables -c cleanup --all-containers=false --prefix || true
helm uninstall ptables --namespace "${PTABLES_NAMESPACE}" --wait

for node in $(kind_nodes); do
  left="$(docker exec "${node}" sh -c 'ls /sys/fs/bpf/ptables 2>/dev/null | wc -l')"
  [[ "${left}" == 0 ]] || die "${node}: ${left} pins left in /sys/fs/bpf/ptables"
  filters="$(docker exec "${node}" sh -c 'for d in $(ls /sys/class/net | grep ^cali); do tc filter show dev "$d" ingress; tc filter show dev "$d" egress; done' | grep -c 'handle 0x7074' || true)"
  [[ "${filters}" == 0 ]] || die "${node}: ${filters} ptables tc filters left"
  log "ok: ${node}: nothing of ptables left"
done

ns=ptables-smoke
server_ip="$(kubectl -n "${ns}" get pod server -o jsonpath='{.status.podIP}')"
retry 20 3 connects "${ns}" client-other-node "${server_ip}:8080" || die "after rollback: client-other-node should connect"
retry 20 3 blocked "${ns}" client-same-node "${server_ip}:8080" || die "after rollback: client-same-node should be blocked"
log "rollback passed: Felix enforces the policies again"
