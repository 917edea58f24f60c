#!/usr/bin/env bash
# Runs inside rdma-vm (see scripts/test-rdma-vm.sh): loads the rdma_cm modules, checks the
# devices, runs the ibverbs tests. usage: guest.sh MODULE_DIR [mocha args...]
set -euo pipefail
mods=$1; shift
[[ ${SGW_RDMA_VM:-} == 1 ]] || { echo "guest.sh: run me through scripts/test-rdma-vm.sh" >&2; exit 1; }
for m in configfs ib_cm iw_cm rdma_cm rdma_ucm; do
  grep -q "^$m " /proc/modules || insmod "$mods/$m.ko" || { echo "guest.sh: insmod $m failed" >&2; exit 1; }
done
[[ -e /dev/infiniband/rdma_cm ]] || { echo "guest.sh: no /dev/infiniband/rdma_cm after loading rdma_ucm" >&2; exit 1; }
ulimit -l unlimited
echo "guest: kernel $(uname -r), RDMA devices: $(ls /sys/class/infiniband | tr '\n' ' ')"
if [[ ${1:-} == --cmd ]]; then shift; exec "$@"; fi
exec node "$(node -p "require.resolve('mocha/bin/mocha.js')")" --config test/vm/mocharc.json "$@"
