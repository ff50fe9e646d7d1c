#!/usr/bin/env bash
# Builds bpf/ptables.bpf.c into build/ptables.bpf.o (clang -O2 -g -target bpf; -g keeps the BTF
# that libbpf needs for the maps and that the layout test compares the TypeScript codecs with).
# Safe to run concurrently: each run compiles to a private temporary file and renames it into place.
#
# Usage: bpf/build.sh [output.o]   (default build/ptables.bpf.o)
# BPF_EXTRA_CFLAGS adds compiler flags (the upgrade test builds a variant with -mcpu=v3).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
out="${1:-${here}/../build/ptables.bpf.o}"
out_dir="$(dirname "${out}")"
clang_bin="${CLANG:-clang}"
# The BPF target has no asm/ headers of its own; use the host's multiarch copies.
multiarch="$(gcc -print-multiarch 2>/dev/null || echo "$(uname -m)-linux-gnu")"

mkdir -p "${out_dir}"
tmp="$(mktemp "${out_dir}/.ptables.bpf.o.XXXXXX")"
trap 'rm -f "${tmp}"' EXIT

# shellcheck disable=SC2086 # BPF_EXTRA_CFLAGS is a list of flags

"${clang_bin}" -O2 -g -target bpf -Wall -Werror ${BPF_EXTRA_CFLAGS:-} \
  -I"${here}/lib" -I"/usr/include/${multiarch}" \
  -c "${here}/ptables.bpf.c" -o "${tmp}"
mv -f "${tmp}" "${out}"
trap - EXIT
