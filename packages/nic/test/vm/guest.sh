#!/usr/bin/env bash
# Runs inside scripts/rdma-vm (see scripts/test-rdma-vm.sh): checks the devices, runs the ibverbs
# tests. usage: guest.sh [mocha args...] | guest.sh --cmd COMMAND [ARGS...]
set -euo pipefail
here=$(cd "$(dirname "$0")/../.." && pwd)   # packages/nic
[[ ${SGW_RDMA_VM:-} == 1 ]] || { echo "guest.sh: run me through scripts/test-rdma-vm.sh" >&2; exit 1; }
[[ -e /dev/infiniband/rdma_cm ]] ||
  { echo "guest.sh: no /dev/infiniband/rdma_cm: the VM did not load the rdma_cm modules (scripts/rdma-vm loads them at boot)" >&2; exit 1; }
ulimit -l unlimited
echo "guest: kernel $(uname -r), RDMA devices: $(ls /sys/class/infiniband | tr '\n' ' ')"
if [[ ${1:-} == --cmd ]]; then shift; exec "$@"; fi   # in the caller's folder
cd "$here"   # the test paths below are relative to the package
mocha=$(node -p "require.resolve('mocha/bin/mocha.js')")
# Node under this emulated CPU sometimes dies of SIGSEGV while loading modules, before any test
# runs (seen with `mocha --dry-run` too: 1 run in 4, no RDMA involved). Such a run is retried, at
# most twice, and says so; a crash once tests have started, or a third one, fails the run.
for attempt in 1 2 3; do
  set +e
  node "$mocha" --config test/vm/mocharc.json "$@" 2>&1 | tee /tmp/mocha.out
  rc=${PIPESTATUS[0]}
  set -e
  if [[ $rc -ge 128 && $attempt -lt 3 ]] && ! grep -q -e '✔' -e 'passing' -e 'failing' /tmp/mocha.out; then
    echo "guest.sh: node died of signal $((rc - 128)) before any test ran (attempt $attempt): retrying" >&2
    continue
  fi
  exit "$rc"
done
