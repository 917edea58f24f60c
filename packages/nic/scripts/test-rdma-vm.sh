#!/usr/bin/env bash
# Runs the ibverbs backend's tests for real, on Soft-RoCE, inside the small VM that
# ../shared/tools/rdma-vm starts (this machine's kernel has no RDMA support). The VM sees this
# machine's file system, so node, node_modules and the built addon are used as they are.
#
# Besides what rdma-vm sets up (rxe0 on 198.18.0.1, rxe1 on 198.18.0.2 in namespace `peer`) the
# tests need the rdma_cm kernel modules (librdmacm connects by IP address and port): they are
# taken from the same Debian kernel package rdma-vm booted, cached in ~/.cache/sgwire-rdma-cm,
# and loaded in the guest by test/vm/guest.sh. A C receiver built here (test/vm/sg-receiver.c)
# is run there too.
#
# Fails (exit 1, or the VM's 125) when anything is missing: the tests never pass by not running.
# usage: scripts/test-rdma-vm.sh [mocha args...]   (SGW_RDMA_VM: the rdma-vm script to use)
set -euo pipefail
nic=$(cd "$(dirname "$0")/.." && pwd)
repo=$(cd "$nic/../.." && pwd)
vm=${SGW_RDMA_VM:-$repo/../shared/tools/rdma-vm}
fail() { echo "test-rdma-vm: FAIL: $*" >&2; exit 1; }

[[ -x $vm ]] || fail "$vm is missing: the ibverbs tests need it (set SGW_RDMA_VM to the rdma-vm script)"
[[ -f $nic/native/build/Release/sgwire_ibverbs.node ]] ||
  fail "the ibverbs addon is not built (native/build/Release/sgwire_ibverbs.node): install libibverbs-dev librdmacm-dev pkg-config and run the build"
pkg-config --exists libibverbs librdmacm || fail "pkg-config finds no libibverbs/librdmacm (apt-get install libibverbs-dev librdmacm-dev)"

cache=${SGW_RDMA_VM_CACHE:-$HOME/.cache/sgwire-rdma-vm}
if [[ ! -f $cache/vmlinuz ]]; then
  echo "test-rdma-vm: first use of rdma-vm: it installs packages and builds its kernel cache" >&2
  set +e; (cd "$nic" && "$vm" --timeout 300 -- true); rc=$?; set -e
  [[ $rc -eq 0 && -f $cache/vmlinuz ]] || fail "rdma-vm did not start (exit $rc)"
fi

# the kernel version of rdma-vm's cached kernel, from the bzImage header (kernel_version at 0x20e)
off=$(od -An -tu2 -j $((0x20e)) -N2 "$cache/vmlinuz" | tr -d ' ')
kver=$(dd if="$cache/vmlinuz" bs=1 skip=$((off + 0x200)) count=80 2>/dev/null | tr '\0' '\n' | head -1 | cut -d' ' -f1)
[[ $kver =~ ^6\.[0-9]+\.[0-9]+-[0-9]+-amd64$ ]] || fail "cannot read the kernel version of $cache/vmlinuz (got '$kver')"
mods=$HOME/.cache/sgwire-rdma-cm/$kver
want=(configfs ib_cm iw_cm rdma_cm rdma_ucm)
if [[ ! -f $mods/rdma_ucm.ko ]]; then
  echo "test-rdma-vm: fetching the rdma_cm modules of linux-image-$kver-unsigned" >&2
  tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
  (cd "$tmp" && apt-get download -qq "linux-image-$kver-unsigned" 2>/dev/null) || fail "apt-get download linux-image-$kver-unsigned failed"
  dpkg -x "$tmp"/linux-image-*.deb "$tmp/k"
  mkdir -p "$mods.part"
  for m in "${want[@]}"; do
    f=$(find "$tmp/k/lib/modules/$kver" -name "$m.ko*" | head -1)
    [[ -n $f ]] || fail "module $m is not in linux-image-$kver-unsigned"
    case $f in
      *.xz) xz -dc "$f" >"$mods.part/$m.ko" ;;
      *.zst) zstd -qdc "$f" >"$mods.part/$m.ko" ;;
      *) cp "$f" "$mods.part/$m.ko" ;;
    esac
  done
  rm -rf "$mods"; mv "$mods.part" "$mods"
fi

mkdir -p "$nic/test/vm/build"
gcc -O2 -Wall -Wextra -o "$nic/test/vm/build/sg-receiver" "$nic/test/vm/sg-receiver.c" $(pkg-config --cflags --libs libibverbs librdmacm)

start=$(date +%s)
set +e
# the whole repository is the VM's writable folder: rdma-vm shares the host's file system, but
# not its /tmp (the guest has its own), and a clone under /tmp would lose its node_modules
"$vm" --dir "$repo" --mem 2048 --timeout "${SGW_RDMA_VM_TIMEOUT:-1200}" -- bash packages/nic/test/vm/guest.sh "$mods" "$@"
rc=$?
set -e
echo "test-rdma-vm: exit $rc after $(( $(date +%s) - start )) s in the VM (boot included)" >&2
[[ $rc -eq 125 ]] && echo "test-rdma-vm: FAIL: the VM did not start or the tests did not finish" >&2
exit "$rc"
