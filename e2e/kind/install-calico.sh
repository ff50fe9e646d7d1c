#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# Installs Calico ${CALICO_VERSION} from its calico.yaml manifest (iptables dataplane, BGP without
# encapsulation) and waits until every node is Ready and CoreDNS runs.
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

work="$(mktemp -d)"
trap 'rm -rf "${work}"' EXIT
url="https://raw.githubusercontent.com/projectcalico/calico/${CALICO_VERSION}/manifests/calico.yaml"
log "downloading ${url}"
curl -fsSL --retry 5 --retry-delay 2 -o "${work}/calico.yaml" "${url}"
cp "${KIND_DIR}/calico/kustomization.yaml" "${KIND_DIR}/calico/calico-node-env.yaml" "${work}/"
# Server-side apply: Calico's CRDs are too large for the last-applied annotation.
kubectl kustomize "${work}" | kubectl apply --server-side --force-conflicts -f -
kubectl -n kube-system rollout status daemonset/calico-node --timeout=10m
kubectl wait --for=condition=Ready nodes --all --timeout=5m
kubectl -n kube-system rollout status deployment/coredns --timeout=5m
log "Calico ${CALICO_VERSION} is running"
