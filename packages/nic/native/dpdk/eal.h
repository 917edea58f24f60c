// DPDK state shared by the EAL and port code: what is process-wide (the EAL, which devices are open) and what belongs to one Node.js environment.
//
// DPDK's EAL is process-wide: rte_eal_init runs once per process, whichever environment opens
// the first DPDK port, and is never torn down. Everything else is per environment (napi
// instance data): the registered arenas JavaScript sees, the ports it opened and the received
// mbufs it holds. When an environment ends (a worker thread exits), its cleanup hook stops only
// its own ports; other threads' ports keep running.
#pragma once
#include "../common/arena.h"
#include "../common/env-state.h"

#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

struct rte_device;

namespace sgwire {
namespace dpdk {

// A region of anonymous memory registered with DPDK (rte_extmem_register). Lives until the
// ArrayBuffer JavaScript holds for it is collected.
struct Arena {
  void* base;
  size_t len;
  uint32_t id;
  uint64_t iova;  // IOVA of `base` (contiguous in IOVA-as-VA mode), RTE_BAD_IOVA otherwise
};

struct RxSlot;
class Port;

// One Node.js environment's DPDK state (see EnvPorts: its open ports and the received mbufs
// JavaScript holds, by data pointer) and its registered arenas.
struct EnvState : EnvPorts<Port, RxSlot> {
  ArenaTable<Arena*> arenas;  // index = arena id; nullptr once freed
};
using EnvPtr = std::shared_ptr<EnvState>;

// What StartEal did: whether this call started the EAL, and the arguments it runs with.
struct EalStart {
  bool started;
  std::vector<std::string> args;
};

// Starts the EAL with `args` unless it is already up in this process (another thread started
// it); either way returns the arguments it runs with. Throws SysError (errno: rte_errno) when
// rte_eal_init fails.
EalStart StartEal(const std::vector<std::string>& args);
bool EalUp();

// Maps `bytes` of anonymous memory, registers it with DPDK as external memory and DMA-maps it
// for every device (when it has an IOVA); the arena gets the next id of `st`. Throws SysError.
Arena* AllocArena(EnvState* st, size_t bytes);
// Undoes AllocArena once JavaScript can no longer see the memory.
void FreeArena(EnvState* st, Arena* a);

inline Arena* ArenaById(EnvState* st, uint32_t id) { return st->arenas.Find(id); }
// Maps this environment's live arenas for DMA by a newly started device (ENOTSUP for virtual devices is fine).
void DmaMapArenas(EnvState* st, struct rte_device* dev);

// Serializes device creation, configuration and removal across environments (threads), and
// the process-wide table of open devices.
std::mutex& DeviceMutex();

}  // namespace dpdk
}  // namespace sgwire
