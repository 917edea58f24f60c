// The native kernel TCP sockets of one port (Linux): a listening socket and its connections,
// writes of many segments per sendmsg, reads into JavaScript's buffers, SIOCOUTQ for what the
// peer acknowledged, watched by libuv on the environment's own loop.
#pragma once
#include <napi.h>

namespace sgwire {
namespace kernel {

// Adds `KernelTcp` (the socket class) and `kernelTcpEvents` to the addon's exports.
void InitTcp(Napi::Env env, Napi::Object exports);

}  // namespace kernel
}  // namespace sgwire
