// Module entry of the ibverbs addon (sgwire_ibverbs.node, linked against libibverbs and librdmacm, built only when pkg-config finds them).
#include "binding.h"

static Napi::Object InitIbverbs(Napi::Env env, Napi::Object exports) {
  return sgwire::ibverbs::InitModule(env, exports);
}

NODE_API_MODULE(sgwire_ibverbs, InitIbverbs)
