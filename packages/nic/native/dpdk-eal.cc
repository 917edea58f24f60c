// EAL start-up (once per process, whichever thread comes first) and registered memory
// ("arenas", per environment): anonymous memory mapped here, registered with DPDK as external
// memory (rte_extmem_register) and DMA-mapped for every device that wants it, then handed to
// JavaScript as an ArrayBuffer whose buffers can be attached to mbufs as external buffers.
#include "common.h"
#include "dpdk-eal.h"

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

namespace {

// Process-wide: the EAL starts once, from whichever environment opens the first DPDK port.
std::mutex g_eal_mutex;
bool g_eal_up = false;
// EAL keeps pointers into argv for some options: the strings live for the process.
std::vector<std::string>* g_eal_args = nullptr;
std::mutex g_device_mutex;

constexpr size_t kArenaAlign = 2u << 20;  // 2 MiB: rounds sizes, fine for 4 KiB and 2 MiB pages
constexpr size_t kPage = 4096;

Napi::Array ArgsArray(Napi::Env env) {
  Napi::Array out = Napi::Array::New(env);
  if (g_eal_args == nullptr) return out;
  for (size_t i = 1; i < g_eal_args->size(); i++) out.Set(static_cast<uint32_t>(i - 1), (*g_eal_args)[i]);
  return out;
}

// ealInit(args) -> { started, args }: starts the EAL with `args` unless it is already up in this
// process (another thread started it); either way returns the arguments it runs with.
Napi::Value EalInit(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsArray()) throw Napi::TypeError::New(env, "ealInit(args): args must be an array of strings");
  Napi::Array a = info[0].As<Napi::Array>();
  std::vector<std::string> want{"sgwire"};
  for (uint32_t i = 0; i < a.Length(); i++) {
    Napi::Value v = a.Get(i);
    if (!v.IsString()) throw Napi::TypeError::New(env, "ealInit(args): args must be strings");
    want.push_back(v.As<Napi::String>().Utf8Value());
  }
  std::lock_guard<std::mutex> lock(g_eal_mutex);
  Napi::Object out = Napi::Object::New(env);
  if (g_eal_up) {
    out.Set("started", false);
    out.Set("args", ArgsArray(env));
    return out;
  }
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
    Napi::Error e = Napi::Error::New(env, std::string("rte_eal_init failed: ") + rte_strerror(err) + " (rte_errno " +
                                              std::to_string(err) + "); EAL arguments:" + joined);
    e.Value().Set("errno", Napi::Number::New(env, err));
    throw e;
  }
  g_eal_args = args;
  g_eal_up = true;
  out.Set("started", true);
  out.Set("args", ArgsArray(env));
  return out;
}

Napi::Value EalInitialized(const Napi::CallbackInfo& info) {
  std::lock_guard<std::mutex> lock(g_eal_mutex);
  return Napi::Boolean::New(info.Env(), g_eal_up);
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

struct ArenaHint {
  Arena* arena;
  EnvPtr st;
};

void FreeArena(Napi::Env, void*, ArenaHint* h) {
  // JavaScript can no longer see this memory, and every send that lent part of it held a
  // RefBuffer (a view of it) until its completion, so no mbuf points here any more.
  Arena* a = h->arena;
  if (a->iova != RTE_BAD_IOVA) DmaMapAll(a, false);
  rte_extmem_unregister(a->base, a->len);
  munmap(a->base, a->len);
  h->st->arenas[a->id] = nullptr;
  delete a;
  delete h;
}

// allocArena(bytes) -> [ArrayBuffer, id, attachable]. `attachable` is false when the memory has
// no IOVA (EAL not in IOVA-as-VA mode): a device cannot read it, so it is never sent by reference.
Napi::Value AllocArena(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  {
    std::lock_guard<std::mutex> lock(g_eal_mutex);
    if (!g_eal_up) throw Napi::Error::New(env, "allocArena: EAL is not initialized");
  }
  if (!info[0].IsNumber()) throw Napi::TypeError::New(env, "allocArena(bytes): bytes must be a number");
  double want = info[0].As<Napi::Number>().DoubleValue();
  if (!(want >= 1 && want <= double(1u << 30))) throw Napi::RangeError::New(env, "allocArena: bytes must be 1..2^30");
  EnvPtr st = GetEnv(env);
  size_t len = (static_cast<size_t>(want) + kArenaAlign - 1) / kArenaAlign * kArenaAlign;
  void* p = mmap(nullptr, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
  if (p == MAP_FAILED) throw ErrnoError(env, "allocArena: mmap of " + std::to_string(len) + " bytes failed", errno);
  // a NIC reads these pages by DMA: keep them resident (best effort without CAP_IPC_LOCK)
  mlock(p, len);
  if (rte_extmem_register(p, len, nullptr, 0, kPage) != 0) {
    int err = rte_errno;
    munmap(p, len);
    throw ErrnoError(env, "allocArena: rte_extmem_register failed", err);
  }
  Arena* a = new Arena{p, len, static_cast<uint32_t>(st->arenas.size()), 0};
  // --iova-mode=va (what openPort passes): IOVA equals the virtual address. In PA mode external
  // memory registered without a page table has no IOVA: such an arena is never attached to an mbuf.
  a->iova = rte_eal_iova_mode() == RTE_IOVA_VA ? reinterpret_cast<uint64_t>(p) : RTE_BAD_IOVA;
  st->arenas.push_back(a);
  if (a->iova != RTE_BAD_IOVA) DmaMapAll(a, true);
  Napi::ArrayBuffer ab = Napi::ArrayBuffer::New(env, p, len, FreeArena, new ArenaHint{a, st});
  Napi::Array out = Napi::Array::New(env, 3);
  out.Set(0u, ab);
  out.Set(1u, Napi::Number::New(env, a->id));
  out.Set(2u, Napi::Boolean::New(env, a->iova != RTE_BAD_IOVA));
  return out;
}

}  // namespace

EnvPtr GetEnv(Napi::Env env) {
  EnvPtr* p = env.GetInstanceData<EnvPtr>();
  if (p == nullptr) throw Napi::Error::New(env, "@sgwire/nic: DPDK state of this environment is gone (environment shutting down)");
  return *p;
}

Arena* ArenaById(EnvState* st, uint32_t id) {
  return id < st->arenas.size() ? st->arenas[id] : nullptr;
}

void DmaMapArenas(EnvState* st, struct rte_device* dev) {
  for (Arena* a : st->arenas)
    if (a != nullptr && a->iova != RTE_BAD_IOVA) rte_dev_dma_map(dev, a->base, a->iova, a->len);
}

std::mutex& DeviceMutex() {
  return g_device_mutex;
}

void InitEal(Napi::Env env, Napi::Object exports) {
  // this environment's state; deleted (the last reference dropped) when the environment ends
  env.SetInstanceData<EnvPtr>(new EnvPtr(std::make_shared<EnvState>()));
  exports.Set("ealInit", Napi::Function::New(env, EalInit, "ealInit"));
  exports.Set("ealInitialized", Napi::Function::New(env, EalInitialized, "ealInitialized"));
  exports.Set("allocArena", Napi::Function::New(env, AllocArena, "allocArena"));
}

}  // namespace sgwire
