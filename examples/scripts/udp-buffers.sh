#!/usr/bin/env bash
# Bigger default socket buffers for the kv example over kernel UDP (root only; idempotent).
# Linux drops a datagram when the receiving socket's buffer is full (RcvbufErrors in
# /proc/net/snmp). The default, 208 KiB, holds only a few 64 KiB responses, and @sgwire/nic's UDP
# port uses the default, so without this the load generator must keep very few large requests in
# flight. Raises net.core.rmem_default/wmem_default to 4 MiB (never lowers them); the rest of the
# machine's set-up is scripts/setup-system.sh.
set -euo pipefail
want=$((4 * 1024 * 1024))
if [[ $(id -u) -ne 0 ]]; then
  echo "udp-buffers: not root; kernel UDP keeps its default socket buffers (the kv load generator keeps fewer large requests in flight)" >&2
  exit 0
fi
for k in rmem_max wmem_max rmem_default wmem_default; do
  cur=$(cat "/proc/sys/net/core/$k")
  if (( cur < want )); then sysctl -qw "net.core.$k=$want"; fi
done
echo "udp-buffers: net.core.rmem_default $(cat /proc/sys/net/core/rmem_default), wmem_default $(cat /proc/sys/net/core/wmem_default)" >&2
