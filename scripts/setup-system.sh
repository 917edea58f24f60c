#!/usr/bin/env bash
# System set-up the tests and examples need: Debian packages, hugepages, the veth pair and the
# network namespaces used by the DPDK tests. Idempotent; needs root for the system parts (it says
# what it skipped otherwise). Called by scripts/test.sh and scripts/main.sh before pnpm install.
set -euo pipefail

apt_pkgs=(libdpdk-dev pkg-config protobuf-compiler tcpdump iproute2)
missing=()
for p in "${apt_pkgs[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if [[ ${#missing[@]} -gt 0 ]]; then
  if [[ $(id -u) -eq 0 ]]; then
    echo "setup-system: installing ${missing[*]}" >&2
    apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >&2
  else
    echo "setup-system: not root; missing Debian packages: ${missing[*]} (apt-get install them)" >&2
  fi
fi
