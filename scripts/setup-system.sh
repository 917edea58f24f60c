#!/usr/bin/env bash
# System set-up the tests and examples need: Debian packages, hugepages, the veth pair and the
# network namespaces used by the DPDK tests. Idempotent; needs root for the system parts (it says
# what it skipped otherwise). Called by scripts/test.sh and scripts/main.sh before pnpm install.
set -euo pipefail

apt_pkgs=(libdpdk-dev pkg-config protobuf-compiler tcpdump iproute2 libibverbs-dev librdmacm-dev rdma-core ibverbs-providers python3-grpcio python3-protobuf openssl)
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

# ---- DPDK test environment (packages/nic). Only the project's own veths and namespaces carry
# test traffic; addresses come from the benchmarking range 198.18.0.0/15 (RFC 2544).
#   sgw-a: sgw0 (no kernel address: DPDK owns it as 198.18.0.1)
#   sgw-b: sgw1 198.18.0.2/24 (kernel sockets; a DPDK port there uses 198.18.0.3)
#   root namespace: sgw2 <-> sgw3, no addresses, for DPDK-to-DPDK inside one process
if [[ $(id -u) -ne 0 ]]; then
  echo "setup-system: not root; skipped hugepages, bpffs, veths and namespaces (DPDK tests need them)" >&2
  exit 0
fi

# hugepages for EAL's --in-memory mode (without them the tests run EAL with --no-huge)
want_huge=1024
if [[ -w /proc/sys/vm/nr_hugepages ]] && (( $(cat /proc/sys/vm/nr_hugepages) < want_huge )); then
  echo "$want_huge" > /proc/sys/vm/nr_hugepages || echo "setup-system: could not reserve hugepages" >&2
fi
if ! grep -qs ' /dev/hugepages hugetlbfs ' /proc/mounts; then
  mkdir -p /dev/hugepages
  mount -t hugetlbfs nodev /dev/hugepages || echo "setup-system: could not mount hugetlbfs" >&2
fi
# bpffs: libxdp (used by DPDK's af_xdp driver) pins its programs there
if ! grep -qs ' /sys/fs/bpf bpf ' /proc/mounts; then
  mount -t bpf bpf /sys/fs/bpf 2>/dev/null || echo "setup-system: could not mount bpffs (af_xdp still works, with a warning)" >&2
fi

# the end-to-end tests' kernel sockets ask for 4 MiB receive buffers (only ever raised here)
for k in rmem_max wmem_max; do
  if (( $(sysctl -n net.core.$k) < 4194304 )); then sysctl -qw net.core.$k=4194304 || true; fi
done

quiet_link() {  # no IPv6 autoconfiguration chatter on test links
  local ns=$1 dev=$2
  ${ns:+ip netns exec "$ns"} sysctl -qw "net.ipv6.conf.$dev.disable_ipv6=1" 2>/dev/null || true
}

for ns in sgw-a sgw-b; do
  ip netns list | grep -qw "$ns" || ip netns add "$ns"
  ip -n "$ns" link set lo up
done
if ! ip -n sgw-a link show sgw0 >/dev/null 2>&1; then
  ip link del sgw0 2>/dev/null || true
  ip link add sgw0 type veth peer name sgw1
  ip link set sgw0 netns sgw-a
  ip link set sgw1 netns sgw-b
fi
quiet_link sgw-a sgw0
quiet_link sgw-b sgw1
ip -n sgw-a link set sgw0 up
ip -n sgw-b link set sgw1 up
ip -n sgw-b addr replace 198.18.0.2/24 dev sgw1

if ! ip link show sgw2 >/dev/null 2>&1; then
  ip link add sgw2 type veth peer name sgw3
fi
for dev in sgw2 sgw3; do
  quiet_link "" "$dev"
  ip link set "$dev" up
done
# a DPDK af_xdp process that died leaves its XDP program attached, and the next attach fails
ip -n sgw-a link set dev sgw0 xdp off 2>/dev/null || true
ip -n sgw-b link set dev sgw1 xdp off 2>/dev/null || true
ip link set dev sgw2 xdp off 2>/dev/null || true
ip link set dev sgw3 xdp off 2>/dev/null || true
echo "setup-system: hugepages $(cat /proc/sys/vm/nr_hugepages), namespaces sgw-a/sgw-b (sgw0<->sgw1), veth sgw2<->sgw3 ready" >&2
