// The DPDK backend's JavaScript face, registered by addon.cc when DPDK is compiled in.
#pragma once
#include <napi.h>

namespace sgwire {
namespace dpdk {

// ealInit, ealInitialized, allocArena; and this environment's DPDK state
void InitEal(Napi::Env env, Napi::Object exports);
// the NativePort class; and the cleanup hook that stops this environment's ports when it ends
void InitPort(Napi::Env env, Napi::Object exports);

}  // namespace dpdk
}  // namespace sgwire
