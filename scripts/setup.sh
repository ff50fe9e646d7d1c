#!/usr/bin/env bash
# Installs everything ptables needs on a Debian or Ubuntu machine (as root) and builds it.
# Idempotent: a second run only checks. Used by the README's two commands and by CI.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(clang llvm libbpf-dev libelf-dev bpftool iproute2 iputils-ping iperf3 ipset nftables iptables ethtool procps python3 make g++ prometheus util-linux shellcheck gcc-aarch64-linux-gnu libc6-dev-arm64-cross qemu-user-static)

missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
command -v node >/dev/null 2>&1 || missing+=(nodejs npm)
# The chart tests apply the Calico patches with `kubectl patch --local` (no cluster needed).
command -v kubectl >/dev/null 2>&1 || missing+=(kubernetes-client)
if [ "${#missing[@]}" -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  # Packages such as prometheus would start system services on install; ptables' tests start
  # their own instances on loopback, so keep Debian from starting any (policy-rc.d, exit 101).
  own_policy=0
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d && own_policy=1
  fi
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  if [ "$own_policy" = 1 ]; then rm -f /usr/sbin/policy-rc.d; fi
fi

node_major=$(node -p 'process.versions.node.split(".")[0]')
if [ "$node_major" -lt 20 ]; then
  echo "setup: Node.js >= 20 is required (found $(node --version))" >&2
  exit 1
fi

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "setup: npm ci"
  npm ci --no-audit --no-fund --loglevel=error
fi

echo "setup: build"
npx turbo run build --output-logs=errors-only >/dev/null || npx turbo run build --output-logs=errors-only
