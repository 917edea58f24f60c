// KernelTcp: the sockets of one native TCP port (src/kernel/native-tcp-port.ts drives it): a
// listening socket and the connections accepted on it or dialled from it, each nonblocking and
// watched by a uv_poll of its own on the calling environment's loop.
//
// Send: write(id, segments, skip) hands one connection's queued segments to the kernel in
// sendmsg calls of up to IOV_MAX iovecs (skipping `skip` bytes already written from the first),
// until all are written or the socket is full; it returns the bytes the kernel took and
// `lastErrno` says why it stopped (EAGAIN: wait for writable, wantWritable(id)). The kernel
// copies what it takes into its socket buffer before the call returns (no MSG_ZEROCOPY here).
// unacked(id) is the socket's SIOCOUTQ: bytes written that the peer's TCP has not acknowledged.
//
// Receive: connections read into one shared target JavaScript sets (setShared: an ArrayBuffer,
// offset and length), one after the other, each read at most kSharedReadMax bytes; a connection
// given a target of its own (setTarget, for a large frame: the rest of it goes straight into the
// frame's buffer) reads there until clearTarget. Every read advances its target and calls
// onEvent(kData, id, bytes); a target with no room left is not read into until JavaScript sets
// another (the kernel's receive buffer, then TCP's window, make the peer wait). Received messages
// are views of those buffers (JavaScript frames them). A connection holds no buffer of its own
// until JavaScript gives it one.
//
// Events, onEvent(kind, id, value): kAccept (a new connection `id`, its peer in peerInfo),
// kConnected, kData (value: bytes read), kEnd (the peer closed its side), kError (value: errno;
// the connection is finished), kWritable, kAcceptError (value: errno; still listening).
#include "tcp.h"
#include "socket-common.h"

#include <arpa/inet.h>
#include <linux/sockios.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>
#include <uv.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstring>
#include <memory>
#include <string>
#include <type_traits>
#include <unordered_map>
#include <vector>

namespace sgwire {
namespace kernel {
namespace {

constexpr int kAccept = 1;
constexpr int kConnected = 2;
constexpr int kData = 3;
constexpr int kEnd = 4;
constexpr int kError = 5;
constexpr int kWritable = 6;
constexpr int kAcceptError = 7;
// reads per readable event before the loop gets a turn (the socket stays readable)
constexpr int kReadsPerEvent = 8;
// connections accepted per readable event of the listening socket
constexpr int kAcceptsPerEvent = 32;
// after accept failed for lack of descriptors or memory, the listening socket rests this long (ms)
constexpr uint64_t kAcceptRetryMs = 100;
// Int32 words in peerInfo: family, port, address (16 bytes)
constexpr int kPeerWords = 6;
// most bytes one read into the shared target takes (the rest waits for the next turn of the loop)
constexpr size_t kSharedReadMax = 64 * 1024;

Napi::Error ErrnoError(Napi::Env env, const std::string& what, int err) { return kernel::ErrnoError(env, "kernel tcp", what, err); }

class KernelTcp;

struct Conn {
  KernelTcp* owner = nullptr;
  uint32_t id = 0;
  int fd = -1;
  uv_poll_t* poll = nullptr;
  int events = 0;
  bool connecting = false;
  bool reading = true;
  bool want_write = false;
  bool ended = false;  // the peer's FIN was read: nothing more to read
  bool zerocopy = false;  // SO_ZEROCOPY is set
  uint32_t zc_next = 0;   // the id the kernel gives this socket's next MSG_ZEROCOPY send
  // a target of its own (else the port's shared one)
  bool own = false;
  uint8_t* target = nullptr;
  size_t room = 0;
  napi_ref target_ref = nullptr;
};

class KernelTcp : public Napi::ObjectWrap<KernelTcp> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "KernelTcp",
                       {
                           InstanceMethod<&KernelTcp::Connect>("connect"),
                           InstanceMethod<&KernelTcp::Write>("write"),
                           InstanceMethod<&KernelTcp::WantWritable>("wantWritable"),
                           InstanceMethod<&KernelTcp::SetTarget>("setTarget"),
                           InstanceMethod<&KernelTcp::ClearTarget>("clearTarget"),
                           InstanceMethod<&KernelTcp::SetShared>("setShared"),
                           InstanceMethod<&KernelTcp::SetReading>("setReading"),
                           InstanceMethod<&KernelTcp::Unacked>("unacked"),
                           InstanceMethod<&KernelTcp::EndConn>("end"),
                           InstanceMethod<&KernelTcp::CloseConn>("closeConnection"),
                           InstanceMethod<&KernelTcp::Close>("close"),
                           InstanceMethod<&KernelTcp::EnableZerocopy>("enableZerocopy"),
                           InstanceMethod<&KernelTcp::ReadCompletions>("readCompletions"),
                           InstanceAccessor<&KernelTcp::LastZcId>("lastZcId"),
                           InstanceAccessor<&KernelTcp::LocalPort>("localPort"),
                           InstanceAccessor<&KernelTcp::LastErrno>("lastErrno"),
                           InstanceAccessor<&KernelTcp::Connections>("connections"),
                       });
  }

  // new KernelTcp(family 4|6, address, port, peerInfo: Int32Array, onEvent)
  explicit KernelTcp(const Napi::CallbackInfo& info) : Napi::ObjectWrap<KernelTcp>(info) {
    Napi::Env env = info.Env();
    if (info.Length() < 5 || !info[0].IsNumber() || !info[1].IsString() || !info[2].IsNumber() || !info[3].IsTypedArray() ||
        !info[4].IsFunction())
      throw Napi::TypeError::New(env, "new KernelTcp(family, address, port, peerInfo, onEvent)");
    const int fam = info[0].As<Napi::Number>().Int32Value();
    if (fam != 4 && fam != 6) throw Napi::RangeError::New(env, "KernelTcp: family must be 4 or 6");
    family_ = fam == 4 ? AF_INET : AF_INET6;
    const std::string address = info[1].As<Napi::String>().Utf8Value();
    const int port = info[2].As<Napi::Number>().Int32Value();
    if (port < 0 || port > 65535) throw Napi::RangeError::New(env, "KernelTcp: port must be 0..65535");
    Napi::TypedArray pi = info[3].As<Napi::TypedArray>();
    if (pi.TypedArrayType() != napi_int32_array || pi.ElementLength() < static_cast<size_t>(kPeerWords))
      throw Napi::TypeError::New(env, "KernelTcp: peerInfo must be an Int32Array of at least " + std::to_string(kPeerWords) + " words");
    Napi::Int32Array peer = pi.As<Napi::Int32Array>();
    peer_info_ = peer.Data();
    peer_ref_ = Napi::Persistent(peer);
    on_event_ = Napi::Persistent(info[4].As<Napi::Function>());

    sockaddr_storage sa;
    socklen_t sl;
    if (!Parse(address, port, &sa, &sl)) throw Napi::TypeError::New(env, "KernelTcp: bad IPv" + std::to_string(fam) + " address \"" + address + "\"");
    lfd_ = socket(family_, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (lfd_ < 0) throw ErrnoError(env, "socket", errno);
    int one = 1;
    // as Node's net does: a port in TIME_WAIT can be bound again
    setsockopt(lfd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(lfd_, reinterpret_cast<sockaddr*>(&sa), sl) != 0 || listen(lfd_, 511) != 0) {
      const int err = errno;
      close(lfd_);
      lfd_ = -1;
      throw ErrnoError(env, "listen on " + address + ":" + std::to_string(port), err);
    }
    sockaddr_storage local;
    socklen_t ll = sizeof local;
    getsockname(lfd_, reinterpret_cast<sockaddr*>(&local), &ll);
    local_port_ = ntohs(family_ == AF_INET ? reinterpret_cast<sockaddr_in*>(&local)->sin_port : reinterpret_cast<sockaddr_in6*>(&local)->sin6_port);

    if (napi_get_uv_event_loop(env, &loop_) != napi_ok || loop_ == nullptr) {
      close(lfd_);
      lfd_ = -1;
      throw Napi::Error::New(env, "kernel tcp: no event loop in this environment");
    }
    lpoll_ = new uv_poll_t;
    int rc = uv_poll_init(loop_, lpoll_, lfd_);
    if (rc == 0) rc = uv_poll_start(lpoll_, UV_READABLE, &KernelTcp::OnListen);
    if (rc != 0) {
      delete lpoll_;
      lpoll_ = nullptr;
      close(lfd_);
      lfd_ = -1;
      throw Napi::Error::New(env, std::string("kernel tcp: uv_poll: ") + uv_strerror(rc));
    }
    lpoll_->data = this;
    accept_timer_ = new uv_timer_t;
    uv_timer_init(loop_, accept_timer_);
    accept_timer_->data = this;
    // a pending retry does not keep the process alive
    uv_unref(reinterpret_cast<uv_handle_t*>(accept_timer_));
    env_ = env;
    async_ = std::make_unique<Napi::AsyncContext>(env, "sgwire.KernelTcp");
    napi_add_async_cleanup_hook(env, &KernelTcp::Teardown, this, &cleanup_);
  }

  ~KernelTcp() override { Shut(nullptr); }

 private:
  bool Parse(const std::string& address, int port, sockaddr_storage* sa, socklen_t* sl) const { return ParseAddress(family_, address, port, sa, sl); }

  // ---- handles and teardown

  // libuv handles being closed: the environment's cleanup hook is removed when the last is gone
  static void HandleClosed(uv_handle_t* h) {
    auto* self = static_cast<KernelTcp*>(h->data);
    if (h->type == UV_TIMER) delete reinterpret_cast<uv_timer_t*>(h);
    else delete reinterpret_cast<uv_poll_t*>(h);
    if (self == nullptr) return;
    if (--self->closing_ == 0 && self->teardown_ != nullptr) {
      napi_async_cleanup_hook_handle hook = self->teardown_;
      self->teardown_ = nullptr;
      napi_remove_async_cleanup_hook(hook);
    }
  }

  template <typename H>
  void ClosePoll(H*& p) {
    if (p == nullptr) return;
    if constexpr (std::is_same_v<H, uv_timer_t>) uv_timer_stop(p);
    else uv_poll_stop(p);
    // the close callback may run after this object is gone (a port collected after close()):
    // it then only frees the handle
    p->data = teardown_ != nullptr ? this : nullptr;
    if (teardown_ != nullptr) closing_++;
    uv_close(reinterpret_cast<uv_handle_t*>(p), &KernelTcp::HandleClosed);
    p = nullptr;
  }

  void DropConn(Conn* c, bool reset) {
    ClosePoll(c->poll);
    if (c->fd >= 0) {
      if (reset) {
        // what is unsent is discarded and the peer gets a RST, as a forced close means
        linger l = {1, 0};
        setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
      }
      close(c->fd);
      c->fd = -1;
    }
    if (c->target_ref != nullptr && env_ != nullptr) napi_delete_reference(env_, c->target_ref);
    c->target_ref = nullptr;
    conns_.erase(c->id);
    delete c;
  }

  // Stops everything (idempotent). `teardown`: the environment's async cleanup handle, removed
  // once libuv is done with every handle; otherwise the hook is removed here.
  void Shut(napi_async_cleanup_hook_handle teardown) {
    if (cleanup_ != nullptr && teardown == nullptr) {
      napi_remove_async_cleanup_hook(cleanup_);
      cleanup_ = nullptr;
    }
    teardown_ = teardown;
    ClosePoll(lpoll_);
    ClosePoll(accept_timer_);
    if (lfd_ >= 0) close(lfd_);
    lfd_ = -1;
    std::vector<Conn*> all;
    for (auto& kv : conns_) all.push_back(kv.second);
    for (Conn* c : all) DropConn(c, true);
    if (teardown_ != nullptr && closing_ == 0) {
      teardown_ = nullptr;
      napi_remove_async_cleanup_hook(teardown);
    }
    ReleaseQuietly(peer_ref_);
    ReleaseQuietly(zc_ref_);
    if (shared_ref_ != nullptr && env_ != nullptr) napi_delete_reference(env_, shared_ref_);
    shared_ref_ = nullptr;
    shared_ = nullptr;
    shared_room_ = 0;
    zc_info_ = nullptr;
    ReleaseQuietly(on_event_);
    peer_info_ = nullptr;
  }

  static void Teardown(napi_async_cleanup_hook_handle handle, void* arg) {
    auto* self = static_cast<KernelTcp*>(arg);
    self->cleanup_ = nullptr;
    self->Shut(handle);
  }

  Conn* Get(Napi::Env env, const Napi::Value& v) {
    if (!v.IsNumber()) throw Napi::TypeError::New(env, "kernel tcp: connection id must be a number");
    auto it = conns_.find(v.As<Napi::Number>().Uint32Value());
    return it == conns_.end() ? nullptr : it->second;
  }

  // A new connection on `fd` (nonblocking); nullptr when libuv refuses to watch it (fd closed).
  Conn* Adopt(int fd, bool connecting) {
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    auto* c = new Conn;
    c->owner = this;
    c->fd = fd;
    c->connecting = connecting;
    c->poll = new uv_poll_t;
    if (uv_poll_init(loop_, c->poll, fd) != 0) {
      delete c->poll;
      close(fd);
      delete c;
      return nullptr;
    }
    c->poll->data = c;
    if (zc_info_ != nullptr) c->zerocopy = setsockopt(fd, SOL_SOCKET, SO_ZEROCOPY, &one, sizeof one) == 0;
    c->id = next_id_++;
    conns_[c->id] = c;
    return c;
  }

  int Apply(Conn* c) {
    if (c->poll == nullptr) return 0;
    const bool room = c->own ? c->room > 0 : shared_room_ > 0;
    const int ev = (!c->connecting && c->reading && !c->ended && room ? UV_READABLE : 0) | (c->connecting || c->want_write ? UV_WRITABLE : 0);
    if (ev == c->events) return 0;
    const int rc = ev == 0 ? uv_poll_stop(c->poll) : uv_poll_start(c->poll, ev, &KernelTcp::OnConn);
    if (rc == 0) c->events = ev;
    return rc;
  }

  void ApplyOrThrow(Napi::Env env, Conn* c) {
    const int rc = Apply(c);
    if (rc != 0) throw Napi::Error::New(env, std::string("kernel tcp: uv_poll_start: ") + uv_strerror(rc));
  }

  // ---- methods

  // connect(address, port): a connection id (connecting: kConnected or kError follows), or -errno
  // when the kernel refused at once (no route, bad address family)
  Napi::Value Connect(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (lfd_ < 0) throw Napi::Error::New(env, "kernel tcp: the port is closed");
    if (info.Length() < 2 || !info[0].IsString() || !info[1].IsNumber()) throw Napi::TypeError::New(env, "connect(address, port)");
    const std::string address = info[0].As<Napi::String>().Utf8Value();
    const int port = info[1].As<Napi::Number>().Int32Value();
    if (port < 1 || port > 65535) throw Napi::RangeError::New(env, "connect: port must be 1..65535");
    sockaddr_storage sa;
    socklen_t sl;
    if (!Parse(address, port, &sa, &sl))
      throw Napi::TypeError::New(env, "connect: \"" + address + "\" is not an IPv" + (family_ == AF_INET ? "4" : "6") + " address");
    const int fd = socket(family_, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) return Napi::Number::New(env, -errno);
    if (connect(fd, reinterpret_cast<sockaddr*>(&sa), sl) != 0 && errno != EINPROGRESS) {
      const int err = errno;
      close(fd);
      return Napi::Number::New(env, -err);
    }
    Conn* c = Adopt(fd, true);
    if (c == nullptr) return Napi::Number::New(env, -EBADF);
    ApplyOrThrow(env, c);
    return Napi::Number::New(env, c->id);
  }

  // write(id, segments: Uint8Array[], skip[, zerocopy]): bytes the kernel took. With zerocopy,
  // each sendmsg that took bytes gets the socket's next completion id; lastZcId is the last one
  // (-1: none), so every message written wholly by this call is covered by it.
  Napi::Value Write(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (info.Length() < 3 || !info[1].IsArray() || !info[2].IsNumber()) throw Napi::TypeError::New(env, "write(id, segments, skip[, zerocopy])");
    Conn* c = Get(env, info[0]);
    last_errno_ = 0;
    last_zc_id_ = -1;
    // a connection whose SO_ZEROCOPY the kernel refused sends as usual (lastZcId stays -1)
    const bool zerocopy = info.Length() > 3 && info[3].ToBoolean().Value() && c != nullptr && c->zerocopy;
    if (c == nullptr || c->fd < 0) {
      last_errno_ = EBADF;
      return Napi::Number::New(env, 0);
    }
    Napi::Array segs = info[1].As<Napi::Array>();
    size_t skip = static_cast<size_t>(info[2].As<Napi::Number>().Int64Value());
    const uint32_t n = segs.Length();
    iov_.clear();
    for (uint32_t s = 0; s < n; s++) {
      napi_value v;
      if (napi_get_element(env, segs, s, &v) != napi_ok) throw Napi::Error::New(env, "write: cannot read segment");
      napi_typedarray_type type;
      size_t len;
      void* data;
      if (napi_get_typedarray_info(env, v, &type, &len, &data, nullptr, nullptr) != napi_ok || type != napi_uint8_array)
        throw Napi::TypeError::New(env, "write: segment " + std::to_string(s) + " is not a Uint8Array");
      if (skip >= len) {
        skip -= len;
        continue;
      }
      if (data == nullptr) throw Napi::TypeError::New(env, "write: segment " + std::to_string(s) + " is detached");
      iov_.push_back({static_cast<uint8_t*>(data) + skip, len - skip});
      skip = 0;
    }
    double written = 0;
    size_t at = 0;
    while (at < iov_.size()) {
      msghdr h;
      std::memset(&h, 0, sizeof h);
      h.msg_iov = iov_.data() + at;
      h.msg_iovlen = std::min<size_t>(iov_.size() - at, IOV_MAX);
      const ssize_t r = sendmsg(c->fd, &h, MSG_DONTWAIT | MSG_NOSIGNAL | (zerocopy ? MSG_ZEROCOPY : 0));
      if (r < 0) {
        if (errno == EINTR) continue;
        last_errno_ = errno;
        break;
      }
      if (zerocopy && r > 0) last_zc_id_ = static_cast<double>(c->zc_next++);
      written += static_cast<double>(r);
      size_t left = static_cast<size_t>(r);
      while (at < iov_.size() && left >= iov_[at].iov_len) left -= iov_[at++].iov_len;
      if (left > 0) {
        iov_[at].iov_base = static_cast<uint8_t*>(iov_[at].iov_base) + left;
        iov_[at].iov_len -= left;
      }
    }
    return Napi::Number::New(env, written);
  }

  // wantWritable(id): kWritable once the socket has room again
  Napi::Value WantWritable(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    Conn* c = Get(env, info[0]);
    if (c == nullptr) return env.Undefined();
    c->want_write = true;
    ApplyOrThrow(env, c);
    return env.Undefined();
  }

  // Holds `ab` in *ref (the previous one let go); the bytes from `off` for `len`, checked.
  uint8_t* Hold(Napi::Env env, const Napi::CallbackInfo& info, napi_ref* ref, size_t* room, int at) {
    if (info.Length() < static_cast<size_t>(at + 3) || !info[at].IsArrayBuffer() || !info[at + 1].IsNumber() || !info[at + 2].IsNumber())
      throw Napi::TypeError::New(env, "kernel tcp: a target is (buffer: ArrayBuffer, offset, length)");
    Napi::ArrayBuffer ab = info[at].As<Napi::ArrayBuffer>();
    const int64_t off = info[at + 1].As<Napi::Number>().Int64Value();
    const int64_t len = info[at + 2].As<Napi::Number>().Int64Value();
    if (off < 0 || len < 0 || static_cast<size_t>(off + len) > ab.ByteLength()) throw Napi::RangeError::New(env, "kernel tcp: target outside its buffer");
    if (*ref != nullptr) napi_delete_reference(env, *ref);
    *ref = nullptr;
    if (napi_create_reference(env, ab, 1, ref) != napi_ok) throw Napi::Error::New(env, "kernel tcp: cannot hold the target buffer");
    *room = static_cast<size_t>(len);
    return static_cast<uint8_t*>(ab.Data()) + off;
  }

  // setShared(buffer: ArrayBuffer, offset, length): where connections without a target of their own read
  Napi::Value SetShared(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    const bool had = shared_room_ > 0;
    shared_ = Hold(env, info, &shared_ref_, &shared_room_, 0);
    if (had != (shared_room_ > 0))
      for (auto& kv : conns_) ApplyOrThrow(env, kv.second);
    return env.Undefined();
  }

  // clearTarget(id): the connection reads into the shared target again
  Napi::Value ClearTarget(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    Conn* c = Get(env, info[0]);
    if (c == nullptr) return env.Undefined();
    if (c->target_ref != nullptr) napi_delete_reference(env, c->target_ref);
    c->target_ref = nullptr;
    c->own = false;
    c->target = nullptr;
    c->room = 0;
    ApplyOrThrow(env, c);
    return env.Undefined();
  }

  // setTarget(id, buffer: ArrayBuffer, offset, length): the connection's next bytes go there
  Napi::Value SetTarget(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (info.Length() < 4 || !info[1].IsArrayBuffer() || !info[2].IsNumber() || !info[3].IsNumber())
      throw Napi::TypeError::New(env, "setTarget(id, buffer, offset, length)");
    Conn* c = Get(env, info[0]);
    if (c == nullptr) return env.Undefined();
    c->target = Hold(env, info, &c->target_ref, &c->room, 1);
    c->own = true;
    ApplyOrThrow(env, c);
    return env.Undefined();
  }

  // setReading(id, on)
  Napi::Value SetReading(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    Conn* c = Get(env, info[0]);
    if (c == nullptr) return env.Undefined();
    c->reading = info[1].ToBoolean().Value();
    ApplyOrThrow(env, c);
    return env.Undefined();
  }

  // unacked(id): bytes written the peer has not acknowledged (SIOCOUTQ), -1 for a closed one
  Napi::Value Unacked(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    Conn* c = Get(env, info[0]);
    int v = 0;
    if (c == nullptr || c->fd < 0 || ioctl(c->fd, SIOCOUTQ, &v) != 0) return Napi::Number::New(env, -1);
    return Napi::Number::New(env, v);
  }

  // end(id): sends FIN after what is written (shutdown SHUT_WR); reading goes on
  Napi::Value EndConn(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    Conn* c = Get(env, info[0]);
    if (c != nullptr && c->fd >= 0) shutdown(c->fd, SHUT_WR);
    return env.Undefined();
  }

  // closeConnection(id, reset): closes it; reset: unsent data is discarded and the peer gets a RST
  Napi::Value CloseConn(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    Conn* c = Get(env, info[0]);
    if (c != nullptr) DropConn(c, info.Length() > 1 && info[1].ToBoolean().Value());
    return env.Undefined();
  }

  Napi::Value Close(const Napi::CallbackInfo& info) {
    Shut(nullptr);
    return info.Env().Undefined();
  }

  // enableZerocopy(zcInfo: Uint32Array): SO_ZEROCOPY on every connection from now on (the open
  // ones too); completions are read into zcInfo (kZcWords per range). 0, or the errno of a
  // kernel that refuses it (tried on the listening socket).
  Napi::Value EnableZerocopy(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (info.Length() < 1 || !info[0].IsTypedArray() || info[0].As<Napi::TypedArray>().TypedArrayType() != napi_uint32_array)
      throw Napi::TypeError::New(env, "enableZerocopy(zcInfo: Uint32Array)");
    Napi::Uint32Array zi = info[0].As<Napi::Uint32Array>();
    if (zi.ElementLength() < static_cast<size_t>(kZcWords)) throw Napi::RangeError::New(env, "enableZerocopy: zcInfo holds no range");
    int one = 1;
    if (lfd_ < 0) throw Napi::Error::New(env, "kernel tcp: the port is closed");
    if (setsockopt(lfd_, SOL_SOCKET, SO_ZEROCOPY, &one, sizeof one) != 0) return Napi::Number::New(env, errno);
    zc_ref_ = Napi::Persistent(zi);
    zc_info_ = zi.Data();
    zc_cap_ = zi.ElementLength() / kZcWords;
    for (auto& kv : conns_) kv.second->zerocopy = setsockopt(kv.second->fd, SOL_SOCKET, SO_ZEROCOPY, &one, sizeof one) == 0;
    return Napi::Number::New(env, 0);
  }

  // readCompletions(id): the MSG_ZEROCOPY completions the connection's error queue holds now,
  // read into zcInfo (at most its capacity); returns the ranges written
  Napi::Value ReadCompletions(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    Conn* c = Get(env, info[0]);
    if (c == nullptr || c->fd < 0 || zc_info_ == nullptr) return Napi::Number::New(env, 0);
    const size_t k = ReadZerocopyCompletions(c->fd, zc_info_, zc_cap_);
    return Napi::Number::New(env, static_cast<double>(k));
  }

  Napi::Value LocalPort(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), local_port_); }
  Napi::Value LastErrno(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), last_errno_); }
  Napi::Value LastZcId(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), last_zc_id_); }
  Napi::Value Connections(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), static_cast<double>(conns_.size())); }

  // ---- libuv callbacks: no C++ exception may leave them, and calls into JavaScript may fail
  // (the environment is shutting down): raw N-API, every status checked.

  static void OnListen(uv_poll_t* h, int status, int) {
    auto* self = static_cast<KernelTcp*>(h->data);
    if (self == nullptr || self->lfd_ < 0) return;
    napi_handle_scope scope;
    if (napi_open_handle_scope(self->env_, &scope) != napi_ok) return;
    if (status < 0) {
      self->Emit(kAcceptError, 0, -status);
    } else {
      for (int i = 0; i < kAcceptsPerEvent && self->lfd_ >= 0; i++) {
        sockaddr_storage from;
        socklen_t fl = sizeof from;
        const int fd = accept4(self->lfd_, reinterpret_cast<sockaddr*>(&from), &fl, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
          const int err = errno;
          if (err == EAGAIN || err == EWOULDBLOCK) break;
          if (err == EINTR || err == ECONNABORTED) continue;
          // EMFILE, ENFILE, ENOBUFS, ENOMEM: the connection waits in the backlog, and the
          // listening socket is not watched for kAcceptRetryMs (it stays readable: watching it
          // would spin); the port goes on
          if (self->lpoll_ != nullptr && self->accept_timer_ != nullptr) {
            uv_poll_stop(self->lpoll_);
            uv_timer_start(self->accept_timer_, &KernelTcp::OnAcceptRetry, kAcceptRetryMs, 0);
          }
          self->Emit(kAcceptError, 0, err);
          break;
        }
        Conn* c = self->Adopt(fd, false);
        if (c == nullptr) continue;
        self->WritePeer(from);
        // read from now on (into the shared target); JavaScript may pause it in the callback
        if (self->Apply(c) != 0) {
          self->DropConn(c, true);
          continue;
        }
        if (!self->Emit(kAccept, c->id, 0)) break;
      }
    }
    napi_close_handle_scope(self->env_, scope);
  }

  static void OnAcceptRetry(uv_timer_t* t) {
    auto* self = static_cast<KernelTcp*>(t->data);
    if (self == nullptr || self->lpoll_ == nullptr || self->lfd_ < 0) return;
    uv_poll_start(self->lpoll_, UV_READABLE, &KernelTcp::OnListen);
  }

  void WritePeer(const sockaddr_storage& from) {
    int32_t* w = peer_info_;
    if (w == nullptr) return;
    std::memset(w + 2, 0, 16);
    if (from.ss_family == AF_INET) {
      const auto* a = reinterpret_cast<const sockaddr_in*>(&from);
      w[0] = 4;
      w[1] = ntohs(a->sin_port);
      std::memcpy(w + 2, &a->sin_addr, 4);
    } else {
      const auto* a = reinterpret_cast<const sockaddr_in6*>(&from);
      w[0] = 6;
      w[1] = ntohs(a->sin6_port);
      std::memcpy(w + 2, &a->sin6_addr, 16);
    }
  }

  static void OnConn(uv_poll_t* h, int status, int events) {
    auto* c = static_cast<Conn*>(h->data);
    if (c == nullptr) return;
    KernelTcp* self = c->owner;
    napi_handle_scope scope;
    if (napi_open_handle_scope(self->env_, &scope) != napi_ok) {
      uv_poll_stop(h);
      return;
    }
    self->Dispatch(c->id, status, events);
    napi_close_handle_scope(self->env_, scope);
  }

  // A connection's events. JavaScript may close the connection (or the port) in any callback:
  // it is looked up again by id after each.
  void Dispatch(uint32_t id, int status, int events) {
    auto find = [this, id]() -> Conn* {
      auto it = conns_.find(id);
      return it == conns_.end() ? nullptr : it->second;
    };
    Conn* c = find();
    if (c == nullptr) return;
    if (status < 0) {
      Fail(c, -status);
      return;
    }
    if (c->connecting) {
      if (!(events & UV_WRITABLE)) return;
      int err = 0;
      socklen_t el = sizeof err;
      if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &el) != 0) err = errno;
      if (err != 0) {
        Fail(c, err);
        return;
      }
      c->connecting = false;
      Apply(c);
      Emit(kConnected, id, 0);
      if ((c = find()) == nullptr) return;
    } else if (events & UV_WRITABLE) {
      c->want_write = false;
      Apply(c);
      if (!Emit(kWritable, id, 0) || (c = find()) == nullptr) return;
    }
    if (!(events & UV_READABLE)) return;
    for (int i = 0; i < kReadsPerEvent; i++) {
      if (!c->reading || c->ended || c->fd < 0) break;
      uint8_t* dst = c->own ? c->target : shared_;
      const size_t want = c->own ? c->room : std::min(shared_room_, kSharedReadMax);
      if (want == 0 || dst == nullptr) break;
      const ssize_t n = recv(c->fd, dst, want, MSG_DONTWAIT);
      if (n < 0) {
        const int err = errno;
        if (err == EINTR) continue;
        if (err == EAGAIN || err == EWOULDBLOCK) break;
        Fail(c, err);
        return;
      }
      if (n == 0) {
        c->ended = true;
        Apply(c);
        Emit(kEnd, id, 0);
        return;
      }
      if (c->own) {
        c->target += n;
        c->room -= static_cast<size_t>(n);
      } else {
        shared_ += n;
        shared_room_ -= static_cast<size_t>(n);
      }
      if (!Emit(kData, id, static_cast<int>(n)) || (c = find()) == nullptr) return;
      // a short read emptied the socket: no second call to learn it
      if (static_cast<size_t>(n) < want) break;
    }
    if ((c = find()) != nullptr && Apply(c) != 0) uv_poll_stop(c->poll);
  }

  // The connection is finished (reset, refused, timed out): stop watching it, tell JavaScript,
  // which closes it.
  void Fail(Conn* c, int err) {
    if (c->poll != nullptr) uv_poll_stop(c->poll);
    c->events = 0;
    c->reading = false;
    c->want_write = false;
    c->connecting = false;
    c->ended = true;
    Emit(kError, c->id, err);
  }

  // Calls onEvent(kind, id, value); false when JavaScript cannot run (the environment is ending)
  // or the port was closed meanwhile. An exception from the callback becomes an uncaught
  // exception of the process (the callback catches its own).
  bool Emit(int kind, uint32_t id, int value) {
    if (on_event_.IsEmpty()) return false;
    if (!CallIntoJs(env_, static_cast<napi_ref>(*this), static_cast<napi_ref>(on_event_), static_cast<napi_async_context>(*async_), kind, id, value))
      return false;
    return lfd_ >= 0;
  }

  int family_ = AF_INET;
  int lfd_ = -1;
  int local_port_ = 0;
  napi_env env_ = nullptr;
  uv_loop_t* loop_ = nullptr;
  uv_poll_t* lpoll_ = nullptr;
  // restarts watching the listening socket after an accept that failed for lack of resources
  uv_timer_t* accept_timer_ = nullptr;
  napi_async_cleanup_hook_handle cleanup_ = nullptr;
  // set while the environment tears down: removed when the last handle closed
  napi_async_cleanup_hook_handle teardown_ = nullptr;
  int closing_ = 0;
  std::unique_ptr<Napi::AsyncContext> async_;
  Napi::Reference<Napi::Int32Array> peer_ref_;
  int32_t* peer_info_ = nullptr;
  Napi::FunctionReference on_event_;
  std::unordered_map<uint32_t, Conn*> conns_;
  uint32_t next_id_ = 1;
  std::vector<iovec> iov_;
  int last_errno_ = 0;
  double last_zc_id_ = -1;
  uint8_t* shared_ = nullptr;
  size_t shared_room_ = 0;
  napi_ref shared_ref_ = nullptr;
  Napi::Reference<Napi::Uint32Array> zc_ref_;
  uint32_t* zc_info_ = nullptr;
  size_t zc_cap_ = 0;
};

}  // namespace

void InitTcp(Napi::Env env, Napi::Object exports) {
  exports.Set("KernelTcp", KernelTcp::Define(env));
  Napi::Object e = Napi::Object::New(env);
  e.Set("accept", Napi::Number::New(env, kAccept));
  e.Set("connected", Napi::Number::New(env, kConnected));
  e.Set("data", Napi::Number::New(env, kData));
  e.Set("end", Napi::Number::New(env, kEnd));
  e.Set("error", Napi::Number::New(env, kError));
  e.Set("writable", Napi::Number::New(env, kWritable));
  e.Set("acceptError", Napi::Number::New(env, kAcceptError));
  e.Set("peerWords", Napi::Number::New(env, kPeerWords));
  e.Set("iovMax", Napi::Number::New(env, IOV_MAX));
  e.Set("zcWords", Napi::Number::New(env, kZcWords));
  e.Set("sharedReadMax", Napi::Number::New(env, static_cast<double>(kSharedReadMax)));
  exports.Set("kernelTcpEvents", e);
}

}  // namespace kernel
}  // namespace sgwire
