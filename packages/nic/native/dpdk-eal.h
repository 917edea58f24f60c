// Registered memory shared by the EAL and port code.
#pragma once
#include <cstddef>
#include <cstdint>

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

Arena* ArenaById(uint32_t id);
// Maps every live arena for DMA by a newly started device (ENOTSUP for virtual devices is fine).
void DmaMapArenas(struct rte_device* dev);

}  // namespace sgwire
