// State shared by the EAL and port code: what is process-wide (the EAL, which devices are open)
// and what belongs to one Node.js environment (the main thread or one worker thread).
//
// DPDK's EAL is process-wide: rte_eal_init runs once per process, whichever environment opens
// the first DPDK port, and is never torn down. Everything else is per environment (napi
// instance data): the registered arenas JavaScript sees, the ports it opened and the received
// mbufs it holds. When an environment ends (a worker thread exits), its cleanup hook stops only
// its own ports; other threads' ports keep running.
#pragma once
#include <napi.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <unordered_map>
#include <unordered_set>
#include <vector>

struct rte_device;

namespace sgwire {

// A region of anonymous memory registered with DPDK (rte_extmem_register). Lives until the
// ArrayBuffer JavaScript holds for it is collected.
struct Arena {
  void* base;
  size_t len;
  uint32_t id;
  uint64_t iova;  // IOVA of `base` (contiguous in IOVA-as-VA mode), RTE_BAD_IOVA otherwise
};

struct RxSlot;
class NativePort;

// One Node.js environment's DPDK state. Held by shared_ptr from the instance data, the cleanup
// hook, every port and every received mbuf, so it outlives whichever of them goes last. Only
// the environment's own thread touches it (finalizers run on that thread too).
struct EnvState {
  std::vector<Arena*> arenas;                     // index = arena id; nullptr once freed
  std::unordered_map<void*, RxSlot*> rx_slots;    // received mbufs JavaScript holds, by data pointer
  std::unordered_set<NativePort*> ports;          // open ports of this environment
};
using EnvPtr = std::shared_ptr<EnvState>;

// The calling environment's state (created by InitEal).
EnvPtr GetEnv(Napi::Env env);

Arena* ArenaById(EnvState* st, uint32_t id);
// Maps this environment's live arenas for DMA by a newly started device (ENOTSUP for virtual devices is fine).
void DmaMapArenas(EnvState* st, struct rte_device* dev);

// Serializes device creation, configuration and removal across environments (threads), and
// the process-wide table of open devices.
std::mutex& DeviceMutex();

}  // namespace sgwire
