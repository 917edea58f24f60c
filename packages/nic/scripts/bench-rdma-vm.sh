#!/usr/bin/env bash
# Runs bench/nic-ibverbs-bench.ts inside scripts/rdma-vm (Soft-RoCE; see scripts/test-rdma-vm.sh).
# The codec is generated here first, so the VM starts one node process.
# usage: scripts/bench-rdma-vm.sh [bench args...]   (SGW_RDMA_VM: the rdma-vm script to use)
set -euo pipefail
nic=$(cd "$(dirname "$0")/.." && pwd)
repo=$(cd "$nic/../.." && pwd)
vm=${SGW_RDMA_VM:-$nic/scripts/rdma-vm}
[[ -x $vm ]] || { echo "bench-rdma-vm: $vm is missing" >&2; exit 1; }
gen=$repo/bench/results/tmp/nic-ibverbs
mkdir -p "$gen"
node "$repo/packages/codegen/bin/sgwire.js" compile --out "$gen" -I "$repo/bench" "$repo/bench/nic-message.proto"
# what the JSON records (scripts/figures.ts reads it): the revision, taken here (the guest's view of
# the repository may not let git run), and this command line
rev=$(bash "$repo/scripts/git-revision.sh")
cmd="bash packages/nic/scripts/bench-rdma-vm.sh${*:+ $*}"
exec "$vm" --dir "$repo" --timeout 900 -- bash packages/nic/test/vm/guest.sh --cmd \
  env SGW_BENCH_REVISION="$rev" SGW_BENCH_COMMAND="$cmd" node --import tsx bench/nic-ibverbs-bench.ts "$@"
