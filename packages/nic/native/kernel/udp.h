// The native kernel UDP socket (Linux): sendmmsg bursts, recvmmsg into slots of a JavaScript
// ArrayBuffer, the SO_RXQ_OVFL drop counter, watched by libuv on the environment's own loop.
#pragma once
#include <napi.h>

namespace sgwire {
namespace kernel {

// Adds `KernelUdp` (the socket class) and `kernelUdpLimits` to the addon's exports.
void InitUdp(Napi::Env env, Napi::Object exports);

}  // namespace kernel
}  // namespace sgwire
