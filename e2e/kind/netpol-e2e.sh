#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# Runs the upstream Kubernetes NetworkPolicy conformance specs ([Feature:NetworkPolicy]) against
# the cluster, with the e2e.test and ginkgo of the cluster's own Kubernetes version, skipping
# netpol-skips.txt. JUnit and logs go to ${REPORT_DIR:-./netpol-report}.
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

report_dir="$(realpath -m "${REPORT_DIR:-netpol-report}")"
mkdir -p "${report_dir}"
version="$(kubectl get --raw /version | git_version_from_json)"
arch="$(uname -m | sed -e 's/x86_64/amd64/' -e 's/aarch64/arm64/')"
url="$(k8s_test_tarball_url "${version}" "${arch}")"
bin="$(mktemp -d)"
trap 'rm -rf "${bin}"' EXIT
log "downloading ${url}"
curl -fsSL --retry 5 --retry-delay 2 "${url}" | tar -xz -C "${bin}" --strip-components=3 kubernetes/test/bin/e2e.test kubernetes/test/bin/ginkgo
skip="$(skip_regex "${KIND_DIR}/netpol-skips.txt")"
log "focus [Feature:NetworkPolicy], skip: ${skip}"

kubeconfig="${KUBECONFIG:-${HOME}/.kube/config}"
"${bin}/ginkgo" --nodes="${NETPOL_NODES:-4}" --timeout=3h \
  --focus='\[Feature:NetworkPolicy\]' --skip="${skip}" \
  --junit-report="${report_dir}/junit-netpol.xml" \
  "${bin}/e2e.test" -- \
  --kubeconfig="${kubeconfig}" --provider=local \
  --report-dir="${report_dir}" --disable-log-dump=true \
  --dump-logs-on-failure=true --delete-namespace-on-failure=false
