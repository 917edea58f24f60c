// Module entry: reports whether DPDK was compiled in and registers the DPDK parts when it was.
#include "common.h"

#ifdef SGWIRE_HAVE_DPDK
#include <rte_version.h>
#endif

namespace {

Napi::Object Init(Napi::Env env, Napi::Object exports) {
#ifdef SGWIRE_HAVE_DPDK
  exports.Set("hasDpdk", Napi::Boolean::New(env, true));
  exports.Set("dpdkVersion", Napi::String::New(env, rte_version()));
  sgwire::InitEal(env, exports);
  sgwire::InitPort(env, exports);
#else
  exports.Set("hasDpdk", Napi::Boolean::New(env, false));
  exports.Set("dpdkVersion", Napi::String::New(env, ""));
#endif
  return exports;
}

}  // namespace

NODE_API_MODULE(sgwire_nic, Init)
