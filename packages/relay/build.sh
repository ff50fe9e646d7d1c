#!/usr/bin/env bash
# Builds src/relay.c into build/ptables-felix-relay: a static-pie executable for this machine's
# architecture, so it runs in any Linux container (calico-node's image has a different libc and no
# Node.js). Also writes build/ptables-felix-relay-linux-<arch> for this architecture and, when a
# cross compiler is installed (Debian: gcc-aarch64-linux-gnu or gcc-x86-64-linux-gnu), for the other.
# Safe to run concurrently: each output is compiled to a temporary file and renamed into place.
#
# Usage: build.sh            CC overrides the native compiler, CFLAGS adds flags.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
out_dir="${here}/build"
version="$(node -p 'require(process.argv[1]).version' "${here}/package.json")"
mkdir -p "${out_dir}"

compile() { # compile <compiler> <output>
  local cc="$1" out="$2" tmp
  tmp="$(mktemp "${out_dir}/.relay.XXXXXX")"
  # shellcheck disable=SC2086 # CFLAGS is a list of flags
  if ! "${cc}" -std=c11 -O2 -Wall -Wextra -Werror -D_FORTIFY_SOURCE=2 -fstack-protector-strong \
    -DRELAY_VERSION="\"${version}\"" ${CFLAGS:-} -static-pie -Wl,-z,relro,-z,now -s \
    -o "${tmp}" "${here}/src/relay.c"; then
    rm -f "${tmp}"
    return 1
  fi
  chmod 0755 "${tmp}"
  mv -f "${tmp}" "${out}"
}

case "$(uname -m)" in
  x86_64) native=amd64 other=arm64 other_cc=aarch64-linux-gnu-gcc ;;
  aarch64) native=arm64 other=amd64 other_cc=x86_64-linux-gnu-gcc ;;
  *) echo "relay build: unsupported machine $(uname -m) (amd64 and arm64 only)" >&2; exit 1 ;;
esac

compile "${CC:-gcc}" "${out_dir}/ptables-felix-relay"
cp -f "${out_dir}/ptables-felix-relay" "${out_dir}/ptables-felix-relay-linux-${native}"
if command -v "${other_cc}" >/dev/null 2>&1; then
  compile "${other_cc}" "${out_dir}/ptables-felix-relay-linux-${other}"
else
  rm -f "${out_dir}/ptables-felix-relay-linux-${other}"
  echo "relay build: ${other_cc} not installed; built linux-${native} only" >&2
fi
