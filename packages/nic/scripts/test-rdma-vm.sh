#!/usr/bin/env bash
# Runs the ibverbs backend's tests for real, on Soft-RoCE, inside the small VM that
# scripts/rdma-vm starts (this machine's kernel has no RDMA support). The VM sees this machine's
# file system, so node, node_modules and the built addon are used as they are.
#
# rdma-vm sets up rxe0 on 198.18.0.1 and rxe1 on 198.18.0.2 in namespace `peer`, and loads the
# rdma_cm modules at boot (librdmacm connects by IP address and port); its first use installs
# its packages and builds its kernel cache. test/vm/guest.sh checks the devices and runs the
# tests. A C receiver built here (test/vm/sg-receiver.c) is run there too.
#
# Fails (exit 1, or the VM's 125) when anything is missing: the tests never pass by not running.
# usage: scripts/test-rdma-vm.sh [mocha args...]   (SGW_RDMA_VM: the rdma-vm script to use)
set -euo pipefail
nic=$(cd "$(dirname "$0")/.." && pwd)
repo=$(cd "$nic/../.." && pwd)
vm=${SGW_RDMA_VM:-$nic/scripts/rdma-vm}
fail() { echo "test-rdma-vm: FAIL: $*" >&2; exit 1; }

[[ -x $vm ]] || fail "$vm is missing: the ibverbs tests need it (set SGW_RDMA_VM to the rdma-vm script)"
[[ -f $nic/native/build/Release/sgwire_ibverbs.node ]] ||
  fail "the ibverbs addon is not built (native/build/Release/sgwire_ibverbs.node): install libibverbs-dev librdmacm-dev pkg-config and run the build"
pkg-config --exists libibverbs librdmacm || fail "pkg-config finds no libibverbs/librdmacm (apt-get install libibverbs-dev librdmacm-dev)"

mkdir -p "$nic/test/vm/build"
gcc -O2 -Wall -Wextra -o "$nic/test/vm/build/sg-receiver" "$nic/test/vm/sg-receiver.c" $(pkg-config --cflags --libs libibverbs librdmacm)

start=$(date +%s)
set +e
# the whole repository is the VM's writable folder: rdma-vm shares the host's file system, but
# not its /tmp (the guest has its own), and a clone under /tmp would lose its node_modules
"$vm" --dir "$repo" --mem 2048 --timeout "${SGW_RDMA_VM_TIMEOUT:-1200}" -- bash packages/nic/test/vm/guest.sh "$@"
rc=$?
set -e
echo "test-rdma-vm: exit $rc after $(( $(date +%s) - start )) s in the VM (boot included)" >&2
[[ $rc -eq 125 ]] && echo "test-rdma-vm: FAIL: the VM did not start or the tests did not finish" >&2
exit "$rc"
