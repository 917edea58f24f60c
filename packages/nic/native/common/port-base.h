// What both ports' plain classes share: their environment, the shared words JavaScript gave them (setBuffers), and not being copyable.
#pragma once
#include "shared-words.h"

#include <memory>

namespace sgwire {

// `Env` is the backend's per-environment state (an EnvPorts); the port lists itself in it while open.
template <typename Env>
class PortBase {
 public:
  PortBase() = default;
  PortBase(const PortBase&) = delete;
  PortBase& operator=(const PortBase&) = delete;

  // this port's environment (its thread)
  const std::shared_ptr<Env>& env() const { return env_; }
  bool has_buffers() const { return words_.desc != nullptr; }
  bool has_rx_meta() const { return words_.rx_meta != nullptr; }

 protected:
  std::shared_ptr<Env> env_;
  SharedWords words_;
};

}  // namespace sgwire
