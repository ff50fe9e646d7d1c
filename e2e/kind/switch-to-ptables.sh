#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# Switches the manifest-installed Calico to ptables with the chart's calico-node patch, removes
# what Felix's iptables dataplane left on each node, and waits until the ptables pods are Ready
# (felix-proxy is Ready once Felix is connected and in sync).
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

kubectl -n kube-system patch daemonset calico-node --type strategic \
  --patch-file "${REPO_ROOT}/charts/ptables/calico/calico-node-patch.yaml"
kubectl -n kube-system rollout status daemonset/calico-node --timeout=10m
for node in $(kind_nodes); do
  log "removing Felix's own dataplane rules on ${node}"
  { declare -f felix_rules_cleanup; cat "${KIND_DIR}/remove-felix-rules.sh"; } | docker exec -i "${node}" bash -s
done
kubectl -n "${PTABLES_NAMESPACE}" rollout status daemonset/ptables --timeout=10m
log "Felix runs ptables on every node"
