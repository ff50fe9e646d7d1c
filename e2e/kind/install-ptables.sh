#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# Builds the ptables image (unless SKIP_BUILD=1), loads it into the kind nodes, installs the chart
# with ci/kind-values.yaml, and waits until calico-node on every node can reach felix.sock through
# the relay the chart installed. The pods are not Ready yet: that needs Felix (switch-to-ptables.sh).
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

if [[ "${SKIP_BUILD:-0}" != 1 ]]; then
  log "building ${PTABLES_IMAGE}"
  docker build -f "${REPO_ROOT}/images/Dockerfile" -t "${PTABLES_IMAGE}" "${REPO_ROOT}"
fi
kind load docker-image "${PTABLES_IMAGE}" --name "${KIND_CLUSTER}"

kubectl create namespace "${PTABLES_NAMESPACE}" --dry-run=client -o yaml | kubectl apply -f -
# Host network, host paths and a privileged container: the namespace must allow them.
kubectl label namespace "${PTABLES_NAMESPACE}" pod-security.kubernetes.io/enforce=privileged --overwrite
helm upgrade --install ptables "${REPO_ROOT}/charts/ptables" --namespace "${PTABLES_NAMESPACE}" \
  --values "${REPO_ROOT}/charts/ptables/ci/kind-values.yaml"

for node in $(kind_nodes); do
  log "waiting for felix-proxy on ${node}"
  retry 60 5 relay_check "${node}"
done
kubectl -n "${PTABLES_NAMESPACE}" get pods -o wide
