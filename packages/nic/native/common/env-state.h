// One Node.js environment's ports and lent receive buffers (plain C++; the bindings keep it as napi instance data).
#pragma once
#include <unordered_map>
#include <unordered_set>
#include <vector>

namespace sgwire {

// One environment's (the main thread's or one worker thread's) open ports and the received
// buffers JavaScript holds. Held by shared_ptr from the instance data, the cleanup hook, every
// port and every received buffer, so it outlives whichever goes last. Only that environment's
// thread touches it (finalizers run on that thread too). `Port` has Cleanup(); `Held` is a
// received buffer lent to JavaScript (see common/napi-glue.h, LendHeld).
template <typename Port, typename Held>
struct EnvPorts {
  std::unordered_map<void*, Held*> rx;  // received buffers JavaScript holds, by data pointer
  std::unordered_set<Port*> ports;      // open ports of this environment

  // this environment is ending (its thread exits): stop its ports before the memory they read
  // is torn down. Other environments' ports are not touched.
  void CloseAll() {
    std::vector<Port*> open(ports.begin(), ports.end());
    for (Port* p : open) p->Cleanup();
  }
};

}  // namespace sgwire
