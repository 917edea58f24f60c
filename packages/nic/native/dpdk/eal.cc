// EAL start-up (once per process, whichever thread comes first) and DPDK's registered memory (arenas, per environment).
//
// Arenas: anonymous memory mapped here (common/arena.h), registered with DPDK as external
// memory (rte_extmem_register) and DMA-mapped for every device that wants it, then handed to
// JavaScript as an ArrayBuffer (dpdk/binding.cc) whose buffers can be attached to mbufs as
// external buffers.
#include "eal.h"

#include <pthread.h>
#include <sched.h>
#include <sys/mman.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_memory.h>

#include <mutex>
#include <string>
#include <vector>

namespace sgwire {
namespace dpdk {

namespace {

// Process-wide: the EAL starts once, from whichever environment opens the first DPDK port.
std::mutex g_eal_mutex;
bool g_eal_up = false;
// EAL keeps pointers into argv for some options: the strings live for the process.
std::vector<std::string>* g_eal_args = nullptr;
std::mutex g_device_mutex;

constexpr size_t kArenaAlign = 2u << 20;  // 2 MiB: rounds sizes, fine for 4 KiB and 2 MiB pages
constexpr size_t kPage = 4096;

std::vector<std::string> ArgsRunning() {
  if (g_eal_args == nullptr) return {};
  return std::vector<std::string>(g_eal_args->begin() + 1, g_eal_args->end());
}

void DmaMapAll(Arena* a, bool map) {
  std::lock_guard<std::mutex> lock(g_device_mutex);
  uint16_t pid;
  RTE_ETH_FOREACH_DEV(pid) {
    struct rte_eth_dev_info di;
    if (rte_eth_dev_info_get(pid, &di) != 0 || di.device == nullptr) continue;
    // virtual devices answer ENOTSUP: they read memory with the CPU, no IOMMU mapping needed
    if (map) rte_dev_dma_map(di.device, a->base, a->iova, a->len);
    else rte_dev_dma_unmap(di.device, a->base, a->iova, a->len);
  }
}

}  // namespace

EalStart StartEal(const std::vector<std::string>& user_args) {
  std::vector<std::string> want{"sgwire"};
  want.insert(want.end(), user_args.begin(), user_args.end());
  std::lock_guard<std::mutex> lock(g_eal_mutex);
  if (g_eal_up) return EalStart{false, ArgsRunning()};
  auto* args = new std::vector<std::string>(std::move(want));
  std::vector<char*> argv;
  for (auto& s : *args) argv.push_back(&s[0]);
  argv.push_back(nullptr);
  // rte_eal_init pins the calling thread to the main lcore's CPU, and threads it starts later
  // (libuv's pool) would inherit that. DPDK keys its per-lcore state on a thread-local lcore id,
  // not on the CPU, so give the thread its CPUs back afterwards.
  cpu_set_t before;
  bool have_before = pthread_getaffinity_np(pthread_self(), sizeof before, &before) == 0;
  int rc = rte_eal_init(static_cast<int>(argv.size() - 1), argv.data());
  if (have_before) pthread_setaffinity_np(pthread_self(), sizeof before, &before);
  if (rc < 0) {
    int err = rte_errno;
    std::string joined;
    for (size_t i = 1; i < args->size(); i++) joined += " " + (*args)[i];
    delete args;
    throw SysError(std::string("rte_eal_init failed: ") + rte_strerror(err) + " (rte_errno " + std::to_string(err) +
                       "); EAL arguments:" + joined,
                   err, true);
  }
  g_eal_args = args;
  g_eal_up = true;
  return EalStart{true, ArgsRunning()};
}

bool EalUp() {
  std::lock_guard<std::mutex> lock(g_eal_mutex);
  return g_eal_up;
}

Arena* AllocArena(EnvState* st, size_t bytes) {
  // a NIC reads these pages by DMA: keep them resident (best effort without CAP_IPC_LOCK)
  Mapping m = MapRegistered(bytes, kArenaAlign, true, "allocArena", [](void* p, size_t len) {
    if (rte_extmem_register(p, len, nullptr, 0, kPage) != 0) ThrowErrno("allocArena: rte_extmem_register failed", rte_errno);
  });
  Arena* a = new Arena{m.base, m.len, st->arenas.NextId(), 0};
  // --iova-mode=va (what openPort passes): IOVA equals the virtual address. In PA mode external
  // memory registered without a page table has no IOVA: such an arena is never attached to an mbuf.
  a->iova = rte_eal_iova_mode() == RTE_IOVA_VA ? reinterpret_cast<uint64_t>(m.base) : RTE_BAD_IOVA;
  st->arenas.Add(a);
  if (a->iova != RTE_BAD_IOVA) DmaMapAll(a, true);
  return a;
}

void FreeArena(EnvState* st, Arena* a) {
  // JavaScript can no longer see this memory, and every send that lent part of it held a
  // RefBuffer (a view of it) until its completion, so no mbuf points here any more.
  if (a->iova != RTE_BAD_IOVA) DmaMapAll(a, false);
  rte_extmem_unregister(a->base, a->len);
  munmap(a->base, a->len);
  st->arenas.Forget(a->id);
  delete a;
}

void DmaMapArenas(EnvState* st, struct rte_device* dev) {
  for (Arena* a : st->arenas)
    if (a != nullptr && a->iova != RTE_BAD_IOVA) rte_dev_dma_map(dev, a->base, a->iova, a->len);
}

std::mutex& DeviceMutex() {
  return g_device_mutex;
}

}  // namespace dpdk
}  // namespace sgwire
