#!/usr/bin/env bash
# The ptables demo: builds a Calico node and its pods out of network namespaces, starts the real
# bin/ptables-felix-driver exactly as Felix does, plays a scenario into it, sends real traffic
# between the pods and shows what is allowed and denied and which tier, policy and rule decided;
# then plays the scenario's timed changes and shows the traffic again. Removes everything it
# created when it ends (also on Ctrl-C).
#
# Usage: bash scripts/demo.sh [scenario.yaml]   (default: packages/felix/src/player/examples/demo.yaml)
set -euo pipefail

scenario=()
if [ "$#" -gt 1 ]; then
  echo "usage: bash scripts/demo.sh [scenario.yaml]" >&2
  exit 2
fi
if [ "$#" -eq 1 ]; then
  if [ ! -r "$1" ]; then
    echo "demo: cannot read scenario $1" >&2
    exit 2
  fi
  scenario=("$(realpath "$1")")
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "demo: must run as root (it creates network namespaces and loads BPF programs)" >&2
  exit 1
fi

cd "$(dirname "$0")/.."
bash scripts/setup.sh
# The datapath object (clang); a no-op when it is up to date.
if [ ! -f packages/backend-ebpf/build/ptables.bpf.o ] || [ -n "$(find packages/backend-ebpf/bpf -newer packages/backend-ebpf/build/ptables.bpf.o -type f)" ]; then
  bash packages/backend-ebpf/bpf/build.sh
fi
exec node e2e/dist/src/demo.js "${scenario[@]}"
