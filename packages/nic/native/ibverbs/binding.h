// The ibverbs backend's JavaScript face, registered by ibverbs/addon.cc.
#pragma once
#include <napi.h>

namespace sgwire {
namespace ibverbs {

// hasIbverbs, the IbvPort class, statusString, listDevices; this environment's state and the
// cleanup hook that closes its ports when it ends
Napi::Object InitModule(Napi::Env env, Napi::Object exports);

}  // namespace ibverbs
}  // namespace sgwire
