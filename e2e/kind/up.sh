#!/usr/bin/env bash
# A kind cluster with Calico switched to ptables, from nothing: what both kind jobs start with.
set -euo pipefail
here="$(dirname "${BASH_SOURCE[0]}")"
bash "${here}/create-cluster.sh"
bash "${here}/install-calico.sh"
bash "${here}/install-ptables.sh"
bash "${here}/switch-to-ptables.sh"
