#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# Creates the kind cluster (kind-config.yaml). Nodes stay NotReady until install-calico.sh.
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

if kind get clusters 2>/dev/null | grep -qx "${KIND_CLUSTER}"; then
  log "cluster ${KIND_CLUSTER} already exists"
  exit 0
fi
log "creating kind cluster ${KIND_CLUSTER} (kind $(kind version))"
kind create cluster --name "${KIND_CLUSTER}" --config "${KIND_DIR}/kind-config.yaml"
kubectl cluster-info --context "kind-${KIND_CLUSTER}"
