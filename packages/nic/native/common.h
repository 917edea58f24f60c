// Shared by the addon's translation units: error helpers and module registration hooks.
#pragma once
#include <napi.h>
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

#ifdef SGWIRE_HAVE_DPDK
// dpdk-eal.cc
void InitEal(Napi::Env env, Napi::Object exports);
// dpdk-port.cc
void InitPort(Napi::Env env, Napi::Object exports);
#endif

}  // namespace sgwire
