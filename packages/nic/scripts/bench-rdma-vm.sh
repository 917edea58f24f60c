#!/usr/bin/env bash
# Runs bench/nic-ibverbs-bench.ts inside rdma-vm (see scripts/test-rdma-vm.sh, which must have
# run once: it caches the rdma_cm modules). The codec is generated here first, so the VM starts
# one node process. usage: scripts/bench-rdma-vm.sh [bench args...]
set -euo pipefail
nic=$(cd "$(dirname "$0")/.." && pwd)
repo=$(cd "$nic/../.." && pwd)
vm=${SGW_RDMA_VM:-$repo/../shared/tools/rdma-vm}
[[ -x $vm ]] || { echo "bench-rdma-vm: $vm is missing" >&2; exit 1; }
cache=${SGW_RDMA_VM_CACHE:-$HOME/.cache/sgwire-rdma-vm}
off=$(od -An -tu2 -j $((0x20e)) -N2 "$cache/vmlinuz" | tr -d ' ')
kver=$(dd if="$cache/vmlinuz" bs=1 skip=$((off + 0x200)) count=80 2>/dev/null | tr '\0' '\n' | head -1 | cut -d' ' -f1)
mods=$HOME/.cache/sgwire-rdma-cm/$kver
[[ -f $mods/rdma_ucm.ko ]] || { echo "bench-rdma-vm: run scripts/test-rdma-vm.sh once first (it fetches $mods)" >&2; exit 1; }
gen=$repo/bench/results/tmp/nic-ibverbs
mkdir -p "$gen"
node "$repo/packages/codegen/bin/sgwire.js" compile --out "$gen" -I "$repo/bench" "$repo/bench/nic-message.proto"
exec "$vm" --dir "$repo" --timeout 900 -- bash packages/nic/test/vm/guest.sh "$mods" --cmd node --import tsx bench/nic-ibverbs-bench.ts "$@"
