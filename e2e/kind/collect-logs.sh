#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# On failure: everything needed to tell what went wrong, into ${1:-./kind-logs}: kind's own export
# (node journals, container logs, kubelet), cluster state, and the ptables and calico-node logs.
set -uo pipefail
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

out="${1:-kind-logs}"
mkdir -p "${out}"
kind export logs "${out}/kind" --name "${KIND_CLUSTER}" || log "kind export logs failed"
kubectl get nodes,pods,daemonsets,networkpolicies -A -o wide >"${out}/cluster.txt" 2>&1
kubectl describe pods -A >"${out}/describe-pods.txt" 2>&1
kubectl -n "${PTABLES_NAMESPACE}" logs daemonset/ptables --all-containers --prefix --timestamps >"${out}/ptables.log" 2>&1
kubectl -n kube-system logs daemonset/calico-node -c calico-node --prefix --timestamps >"${out}/calico-node.log" 2>&1
for node in $(kind_nodes); do
  docker exec "${node}" sh -c 'iptables-save; nft list ruleset; ip route; ls -l /sys/fs/bpf/ptables' >"${out}/node-${node}.txt" 2>&1
done
log "logs in ${out}"
exit 0
