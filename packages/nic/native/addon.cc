// Module entry: registers the native kernel UDP and TCP sockets, and reports whether DPDK was compiled in
// and registers the DPDK parts when it was.
#include <napi.h>

#include "common/pin-library.h"
#include "kernel/tcp.h"
#include "kernel/udp.h"

#ifdef SGWIRE_HAVE_DPDK
#include <rte_version.h>

#include "dpdk/binding.h"
#endif

namespace {

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  // Keep this library loaded for the life of the process. Node unloads an addon (dlclose) when
  // the last environment that loaded it ends: a worker thread that was first to load it and
  // exits would take the process-wide state with it (the EAL is up, devices are open) while
  // DPDK, which cannot be unloaded, keeps running.
  sgwire::PinLibrary(reinterpret_cast<void*>(&Init));
  sgwire::kernel::InitUdp(env, exports);
  sgwire::kernel::InitTcp(env, exports);
#ifdef SGWIRE_HAVE_DPDK
  exports.Set("hasDpdk", Napi::Boolean::New(env, true));
  exports.Set("dpdkVersion", Napi::String::New(env, rte_version()));
  sgwire::dpdk::InitEal(env, exports);
  sgwire::dpdk::InitPort(env, exports);
#else
  exports.Set("hasDpdk", Napi::Boolean::New(env, false));
  exports.Set("dpdkVersion", Napi::String::New(env, ""));
#endif
  return exports;
}

}  // namespace

NODE_API_MODULE(sgwire_nic, Init)
