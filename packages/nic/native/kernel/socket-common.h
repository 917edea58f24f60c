// What the native kernel sockets (udp.cc, tcp.cc) share: errors that carry errno and Node's code,
// addresses parsed for a family, MSG_ZEROCOPY completions read from a socket's error queue, and
// the call into JavaScript from a libuv callback.
#pragma once
#include <arpa/inet.h>
#include <linux/errqueue.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <uv.h>

#include <napi.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <string>

namespace sgwire {
namespace kernel {

// Uint32 words per MSG_ZEROCOPY completion range: first id, last id, copied (the kernel copied anyway)
constexpr int kZcWords = 3;

// "kernel udp: bind 127.0.0.1:7: EADDRINUSE: Address already in use (errno 98)", with `errno` and
// `code` (the code as Node's sockets give it: libuv's codes are -errno on Linux).
inline Napi::Error ErrnoError(Napi::Env env, const std::string& who, const std::string& what, int err) {
  const char* code = uv_err_name(-err);
  Napi::Error e = Napi::Error::New(env, who + ": " + what + ": " + code + ": " + std::strerror(err) + " (errno " + std::to_string(err) + ")");
  e.Value().Set("errno", Napi::Number::New(env, err));
  e.Value().Set("code", Napi::String::New(env, code));
  return e;
}

// `address` (IPv4 or IPv6 text, as `family`) and `port` as a socket address; false when it is not one.
inline bool ParseAddress(int family, const std::string& address, int port, sockaddr_storage* sa, socklen_t* sl) {
  std::memset(sa, 0, sizeof *sa);
  if (family == AF_INET) {
    auto* a = reinterpret_cast<sockaddr_in*>(sa);
    a->sin_family = AF_INET;
    a->sin_port = htons(static_cast<uint16_t>(port));
    if (inet_pton(AF_INET, address.c_str(), &a->sin_addr) != 1) return false;
    *sl = sizeof *a;
  } else {
    auto* a = reinterpret_cast<sockaddr_in6*>(sa);
    a->sin6_family = AF_INET6;
    a->sin6_port = htons(static_cast<uint16_t>(port));
    if (inet_pton(AF_INET6, address.c_str(), &a->sin6_addr) != 1) return false;
    *sl = sizeof *a;
  }
  return true;
}

// Reads the MSG_ZEROCOPY completions `fd`'s error queue holds now into `info` (kZcWords per range,
// at most `cap` ranges); returns how many it wrote. Other entries are skipped.
inline size_t ReadZerocopyCompletions(int fd, uint32_t* info, size_t cap) {
  size_t k = 0;
  while (k < cap) {
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(sock_extended_err) + sizeof(sockaddr_in6))];
    msghdr msg;
    std::memset(&msg, 0, sizeof msg);
    msg.msg_control = control;
    msg.msg_controllen = sizeof control;
    if (recvmsg(fd, &msg, MSG_ERRQUEUE | MSG_DONTWAIT) < 0) break;  // EAGAIN: empty
    for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
      const bool recverr = (c->cmsg_level == SOL_IP && c->cmsg_type == IP_RECVERR) || (c->cmsg_level == SOL_IPV6 && c->cmsg_type == IPV6_RECVERR);
      if (!recverr) continue;
      sock_extended_err e;
      std::memcpy(&e, CMSG_DATA(c), sizeof e);
      if (e.ee_origin != SO_EE_ORIGIN_ZEROCOPY || e.ee_errno != 0) continue;
      uint32_t* w = info + k * kZcWords;
      w[0] = e.ee_info;
      w[1] = e.ee_data;
      w[2] = (e.ee_code & SO_EE_CODE_ZEROCOPY_COPIED) ? 1 : 0;
      k++;
    }
  }
  return k;
}

// Lets go of a reference from teardown code (a cleanup hook, a destructor), where a C++ exception
// would end the process: node-addon-api's Reset throws when the environment refuses, as it may
// while it ends; the reference is gone with the environment then anyway.
template <typename R>
void ReleaseQuietly(R& ref) {
  if (ref.IsEmpty()) return;
  try {
    ref.Reset();
  } catch (...) {
  }
}

// Calls fn(a, b, c) on `self` from a libuv callback (raw N-API, every status checked: JavaScript
// may not be able to run when the environment is ending). False when it could not be called. An
// exception from the callback becomes an uncaught exception of the process (callbacks catch their own).
inline bool CallIntoJs(napi_env env, napi_ref self, napi_ref fn, napi_async_context async, int32_t a, uint32_t b, int32_t c) {
  napi_value recv, f, argv[3], result;
  if (napi_get_reference_value(env, self, &recv) != napi_ok || recv == nullptr || napi_get_reference_value(env, fn, &f) != napi_ok || f == nullptr ||
      napi_create_int32(env, a, &argv[0]) != napi_ok || napi_create_uint32(env, b, &argv[1]) != napi_ok || napi_create_int32(env, c, &argv[2]) != napi_ok)
    return false;
  const napi_status st = napi_make_callback(env, async, recv, f, 3, argv, &result);
  if (st == napi_pending_exception) {
    napi_value e;
    if (napi_get_and_clear_last_exception(env, &e) == napi_ok) napi_fatal_exception(env, e);
    return true;
  }
  return st == napi_ok;
}

}  // namespace kernel
}  // namespace sgwire
