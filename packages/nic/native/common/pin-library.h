// Library pinning: keeps an addon's shared object loaded for the life of the process.
#pragma once
#include <dlfcn.h>

namespace sgwire {

// Loads the shared object that holds `symbol` once more with RTLD_NODELETE, so it is never
// unloaded: Node calls dlclose when the last environment that loaded an addon ends, and state
// that must live as long as the process (the DPDK EAL, open devices, callbacks a driver may still
// call) would go with it.
inline void PinLibrary(void* symbol) {
  Dl_info di;
  if (dladdr(symbol, &di) != 0 && di.dli_fname != nullptr) dlopen(di.dli_fname, RTLD_NOW | RTLD_NODELETE | RTLD_NOLOAD);
}

}  // namespace sgwire
