#!/usr/bin/env bash
# Installs kind ${KIND_VERSION} (versions.env) into ${1:-/usr/local/bin}.
# shellcheck source-path=SCRIPTDIR
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

dest="${1:-/usr/local/bin}"
arch="$(uname -m | sed -e 's/x86_64/amd64/' -e 's/aarch64/arm64/')"
curl -fsSL --retry 5 -o "${dest}/kind" "https://kind.sigs.k8s.io/dl/${KIND_VERSION}/kind-linux-${arch}"
chmod +x "${dest}/kind"
"${dest}/kind" version
