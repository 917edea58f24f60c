// Shared by the addon's translation units: error helpers and module registration hooks.
#pragma once
#include <napi.h>
#include <dlfcn.h>
#include <cerrno>
#include <cstring>
#include <string>

namespace sgwire {

// A JS Error carrying errno (as `errno`) and its name (as `code`), for native failures a user can act on.
inline Napi::Error ErrnoError(Napi::Env env, const std::string& what, int err) {
  std::string msg = what + ": " + std::strerror(err) + " (errno " + std::to_string(err) + ")";
  Napi::Error e = Napi::Error::New(env, msg);
  e.Value().Set("errno", Napi::Number::New(env, err));
  return e;
}

// Loads the shared object that holds `symbol` once more with RTLD_NODELETE, so it is never
// unloaded: Node calls dlclose when the last environment that loaded an addon ends, and state
// that must live as long as the process (the DPDK EAL, open devices, callbacks a driver may still
// call) would go with it.
inline void PinLibrary(void* symbol) {
  Dl_info di;
  if (dladdr(symbol, &di) != 0 && di.dli_fname != nullptr) dlopen(di.dli_fname, RTLD_NOW | RTLD_NODELETE | RTLD_NOLOAD);
}

#ifdef SGWIRE_HAVE_DPDK
// dpdk-eal.cc
void InitEal(Napi::Env env, Napi::Object exports);
// dpdk-port.cc
void InitPort(Napi::Env env, Napi::Object exports);
#endif

}  // namespace sgwire
