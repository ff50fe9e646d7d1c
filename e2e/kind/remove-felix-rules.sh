#!/usr/bin/env bash
# Runs ON a node (fed to `bash -s` after lib.sh's felix_rules_cleanup): removes the iptables rules,
# ipsets and nftables tables that Felix's own dataplane created before the switch to ptables.
# Felix with an external driver never touches them again, and its leftover chains would keep
# enforcing stale policy (and drop traffic of pods created after the switch).
set -euo pipefail

for variant in legacy nft; do
  for family in iptables ip6tables; do
    save="${family}-${variant}-save"
    restore="${family}-${variant}-restore"
    command -v "${save}" >/dev/null 2>&1 || continue
    script="$("${save}" | felix_rules_cleanup)"
    [[ -n "${script}" ]] || continue
    printf '%s\n' "${script}" | "${restore}" --noflush
    echo "removed Felix's ${family} rules (${variant})"
  done
done
if command -v ipset >/dev/null 2>&1; then
  for set in $(ipset list -n | grep '^cali' || true); do
    ipset destroy "${set}" && echo "destroyed ipset ${set}"
  done
fi
if command -v nft >/dev/null 2>&1; then
  nft list tables | while read -r _ family name; do
    if [[ "${name}" == calico ]]; then
      nft delete table "${family}" "${name}" && echo "deleted nftables table ${family} ${name}"
    fi
  done
fi
