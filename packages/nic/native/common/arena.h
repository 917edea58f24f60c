// Registered memory both ports share: anonymous mappings registered with a device through a hook, and the table of arenas by id.
//
// An arena is memory JavaScript writes messages into and lends to a send by reference (segment
// kind k names arena k - 1; kind 0 is the port's staging memory). The mapping is the same for
// both ports; the registration is each port's own hook (DPDK: rte_extmem_register, ibverbs:
// ibv_reg_mr), and so is ownership (DPDK frees an arena with its ArrayBuffer, ibverbs shares it
// between the port and the ArrayBuffer).
#pragma once
#include "errors.h"

#include <sys/mman.h>

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace sgwire {

// Anonymous memory mapped for registration.
struct Mapping {
  void* base = nullptr;
  size_t len = 0;
};

// Maps `want` bytes rounded up to `align` (populated; with `lock`, kept resident as best effort
// without CAP_IPC_LOCK) and registers them with `reg(base, len)`, which throws SysError when the
// device refuses; then the memory is unmapped again. Throws SysError "<what>: mmap of N bytes
// failed" when the mapping fails.
template <typename Register>
Mapping MapRegistered(size_t want, size_t align, bool lock, const std::string& what, Register&& reg) {
  size_t len = (want + align - 1) / align * align;
  void* p = mmap(nullptr, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
  if (p == MAP_FAILED) ThrowErrno(what + ": mmap of " + std::to_string(len) + " bytes failed", errno);
  if (lock) mlock(p, len);
  try {
    reg(p, len);
  } catch (...) {
    munmap(p, len);
    throw;
  }
  return Mapping{p, len};
}

// Whether [off, off + n) lies within `len` bytes (offsets and lengths come from JavaScript).
inline bool InBounds(size_t len, uint32_t off, uint32_t n) { return static_cast<size_t>(off) + n <= len; }

// Arenas by id (the index). `Ptr` is what the table holds: Arena* (DPDK: nullptr once freed) or
// std::shared_ptr<Region> (ibverbs).
template <typename Ptr>
class ArenaTable {
 public:
  // the id the next Add gets
  uint32_t NextId() const { return static_cast<uint32_t>(arenas_.size()); }
  uint32_t Add(Ptr a) {
    arenas_.push_back(std::move(a));
    return static_cast<uint32_t>(arenas_.size() - 1);
  }
  // the arena `id`, or nullptr when there is none (never allocated, or freed)
  auto* Find(uint32_t id) const { return id < arenas_.size() ? Raw(arenas_[id]) : nullptr; }
  void Forget(uint32_t id) { arenas_[id] = Ptr{}; }
  void Clear() { arenas_.clear(); }
  typename std::vector<Ptr>::const_iterator begin() const { return arenas_.begin(); }
  typename std::vector<Ptr>::const_iterator end() const { return arenas_.end(); }

 private:
  template <typename T>
  static T* Raw(T* p) { return p; }
  template <typename T>
  static T* Raw(const std::shared_ptr<T>& p) { return p.get(); }

  std::vector<Ptr> arenas_;
};

}  // namespace sgwire
