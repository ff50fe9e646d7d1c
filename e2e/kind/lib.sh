#!/usr/bin/env bash
# Helpers for the kind e2e scripts (sourced). The pure ones (text in, text out) are tested without
# a cluster by e2e/kind/lib.test.ts; the others wrap kubectl, kind and docker.
# shellcheck disable=SC2034 # variables here are used by the scripts that source this file
# shellcheck source-path=SCRIPTDIR

KIND_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "${KIND_DIR}/../.." && pwd)"
# shellcheck source=versions.env
source "${KIND_DIR}/versions.env"

log() { printf '%s [kind-e2e] %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

# retry ATTEMPTS DELAY_SECS COMMAND...: runs COMMAND until it succeeds, at most ATTEMPTS times.
retry() {
  local attempts="$1" delay="$2" i
  shift 2
  for ((i = 1; i <= attempts; i++)); do
    if "$@"; then return 0; fi
    if ((i < attempts)); then sleep "${delay}"; fi
  done
  log "gave up after ${attempts} attempts: $*"
  return 1
}

# git_version_from_json: the "gitVersion" of a /version document (kubectl get --raw /version) on stdin.
git_version_from_json() {
  local v
  v="$(tr -d '\n' | sed -n 's/.*"gitVersion"[[:space:]]*:[[:space:]]*"\([^"]*\)".*/\1/p')"
  [[ -n "${v}" ]] || { echo "no gitVersion in the /version document" >&2; return 1; }
  printf '%s\n' "${v}"
}

# k8s_test_tarball_url VERSION ARCH: the upstream test binaries (e2e.test, ginkgo) for a release.
k8s_test_tarball_url() {
  local version="$1" arch="$2"
  [[ "${version}" =~ ^v[0-9]+\.[0-9]+\.[0-9]+(-(alpha|beta|rc)\.[0-9]+)?$ ]] || { echo "not a Kubernetes release version: ${version}" >&2; return 1; }
  [[ "${arch}" == amd64 || "${arch}" == arm64 ]] || { echo "unsupported architecture: ${arch}" >&2; return 1; }
  printf 'https://dl.k8s.io/%s/kubernetes-test-linux-%s.tar.gz\n' "${version}" "${arch}"
}

# skip_regex FILE: one ginkgo --skip regular expression from a skip list (one expression per line,
# "#" starts a comment, blank lines ignored). Fails on an empty list: nothing to skip means no flag.
skip_regex() {
  local file="$1" line re="" n=0
  while IFS= read -r line || [[ -n "${line}" ]]; do
    line="${line%%#*}"
    line="${line#"${line%%[![:space:]]*}"}"
    line="${line%"${line##*[![:space:]]}"}"
    [[ -z "${line}" ]] && continue
    re+="${re:+|}${line}"
    n=$((n + 1))
  done <"${file}"
  ((n > 0)) || { echo "${file}: no expressions" >&2; return 1; }
  printf '%s\n' "${re}"
}

# felix_rules_cleanup: reads `iptables-save` (or ip6tables-save) output on stdin and writes an
# `iptables-restore --noflush` script that removes what Felix's iptables dataplane left: every rule
# that Felix tagged (comment "cali:...") or that jumps to a cali- chain, then every cali- chain.
# Nothing else is touched. Writes nothing when there is nothing of Felix's.
felix_rules_cleanup() {
  awk '
    function flush_table(   i) {
      if (table == "" || (ndel == 0 && nchains == 0)) return
      print "*" table
      for (i = 1; i <= ndel; i++) print dels[i]
      for (i = 1; i <= nchains; i++) print "-F " chains[i]
      for (i = 1; i <= nchains; i++) print "-X " chains[i]
      print "COMMIT"
    }
    /^\*/ { table = substr($0, 2); ndel = 0; nchains = 0; next }
    /^:cali-/ { nchains++; chains[nchains] = substr($1, 2); next }
    /^-A / {
      if ($2 ~ /^cali-/) next
      if ($0 ~ /--comment "?cali:/ || $0 ~ / -[jg] cali-/) { ndel++; dels[ndel] = "-D" substr($0, 3) }
      next
    }
    /^COMMIT/ { flush_table(); table = ""; next }
  '
}

# metric_value NAME [LABELS]: the value of one sample in Prometheus text on stdin, e.g.
# metric_value ptables_felix_proxy_endpoint_statuses 'status="up"'. Prints nothing if absent.
metric_value() {
  local want="$1"
  if [[ -n "${2:-}" ]]; then want+="{$2}"; fi
  WANT="${want}" awk '
    BEGIN { want = ENVIRON["WANT"] " " }
    substr($0, 1, length(want)) == want { split(substr($0, length(want) + 1), v, " "); print v[1]; found = 1; exit }
    END { if (!found) exit 1 }
  '
}

# kind_nodes: the cluster's node containers.
kind_nodes() { kind get nodes --name "${KIND_CLUSTER}"; }

# calico_node_pod NODE: the calico-node pod on a node.
calico_node_pod() {
  kubectl -n kube-system get pods -l k8s-app=calico-node --field-selector "spec.nodeName=$1" -o jsonpath='{.items[0].metadata.name}'
}

# relay_check NODE: asks the relay inside that node's calico-node whether felix-proxy listens.
relay_check() {
  local pod
  pod="$(calico_node_pod "$1")" && [[ -n "${pod}" ]] &&
    kubectl -n kube-system exec "${pod}" -c calico-node -- /var/lib/calico/felix-plugins/ptables-felix-relay --check
}

# connects NAMESPACE POD HOST:PORT: whether POD opens a TCP connection to HOST:PORT within 3 s
# (agnhost's connect; used with retry, since policy takes a moment to apply).
connects() { kubectl -n "$1" exec "$2" -- /agnhost connect "$3" --timeout=3s >/dev/null 2>&1; }
# blocked NAMESPACE POD HOST:PORT: the opposite.
blocked() { ! connects "$@"; }
