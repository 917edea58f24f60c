#!/usr/bin/env bash
# One command: the kv comparison with the servers on DPDK in one network namespace and the load
# generator in another, over the veth pair scripts/setup-system.sh creates (root):
#   sgw-a: sgw0, DPDK net_af_packet, servers at 198.18.0.1 (UDP ports 7700, 7701, ...)
#   sgw-b: sgw1 198.18.0.2, kernel UDP: the load generator
# Options go to kv/compare.ts, e.g. --quick, --codecs sgwire,protobufjs,flatbuffers, --workloads cdn.
# Only the project's own namespaces carry this traffic (addresses from 198.18.0.0/15, RFC 2544).
set -euo pipefail
cd "$(dirname "$0")/.."
if [[ $(id -u) -ne 0 ]]; then
  echo "kv-dpdk: needs root (network namespaces and DPDK)" >&2
  exit 1
fi
if ! ip -n sgw-a link show sgw0 >/dev/null 2>&1 || ! ip -n sgw-b link show sgw1 >/dev/null 2>&1; then
  echo "kv-dpdk: namespaces sgw-a/sgw-b with the veth sgw0<->sgw1 are missing: run scripts/setup-system.sh (as root) first" >&2
  exit 1
fi
bash scripts/udp-buffers.sh
exec ip netns exec sgw-b ./node_modules/.bin/tsx kv/compare.ts --backend dpdk --server-netns sgw-a --iface sgw0 \
  --server-address 198.18.0.1 --client-bind 198.18.0.2:0 "$@"
