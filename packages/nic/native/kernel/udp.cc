// KernelUdp: one nonblocking UDP socket of a port (src/kernel/native-udp-port.ts drives it).
//
// Send: send(segments, counts, destinations, n) hands n messages to the kernel with sendmmsg,
// up to kBurst per call, each message one datagram whose iovec is its segments (the kernel copies
// them into its socket buffers before the call returns, so the caller's memory is free again at
// once). It returns how many messages, from the first, the kernel took; `lastErrno` says why the
// next one was not (EAGAIN: the socket's send buffer is full, wait for writable).
//
// Receive: datagrams are read with recvmmsg into free slots of an ArrayBuffer JavaScript passed
// in (slot i is bytes [i * slotBytes, (i + 1) * slotBytes)); each one's slot, length, flags and
// source are written into an Int32Array JavaScript passed too, and onEvent(n, drops) is called.
// A slot stays taken until releaseSlot(i): received messages are views of the slots. With no
// free slot the socket is not read (the kernel queues, then drops, and counts what it dropped:
// SO_RXQ_OVFL gives that count with every datagram, `drops`).
//
// Watched by a uv_poll on the calling environment's loop (a worker thread's sockets on its own
// loop). close() stops it; an environment that ends closes its sockets first (async cleanup hook).
//
// With io_uring (the constructor's `uring`): the same calls and events, the work done through one
// io_uring of the socket's own (uring.h): each sendmmsg burst becomes linked SENDMSG (or
// SENDMSG_ZC) submissions, completed before send() returns (MSG_DONTWAIT: nothing waits for room;
// a refused one cancels those after it, as sendmmsg stops there); the slots are the kernel's
// provided buffers, filled by one multishot RECVMSG; zero-copy completions are the ring's
// notification entries; libuv watches the ring's eventfd.
#include "udp.h"
#include "socket-common.h"
#include "uring.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>
#include <uv.h>

#include <sys/uio.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstring>
#include <memory>
#include <deque>
#include <string>
#include <unordered_map>
#include <vector>

namespace sgwire {
namespace kernel {
namespace {

// messages per sendmmsg / recvmmsg call
constexpr int kBurst = 64;
// Int32 words per received entry in rxInfo: slot, length, flags, family, port, address (4), and
// the segment size when the kernel coalesced several datagrams of one flow into it (UDP GRO; 0: one),
// and where in the slot the payload starts (io_uring puts a header, the source and control data first)
constexpr int kInfoWords = 11;
// bursts read per readable event before the loop gets a turn (the socket stays readable)
constexpr int kBurstsPerEvent = 8;
// onEvent's first argument when the socket became writable
constexpr int kWritable = -1000000;
// onEvent's first argument when MSG_ZEROCOPY completions were read (their count is the third)
constexpr int kZerocopy = -1000001;

#ifndef UDP_SEGMENT
#define UDP_SEGMENT 103
#endif
#ifndef UDP_GRO
#define UDP_GRO 104
#endif
// UDP GSO: at most this many datagrams per send (older kernels' UDP_MAX_SEGMENTS) and this many
// payload bytes in all (one IP datagram's worth)
constexpr uint32_t kGsoMaxSegs = 64;
constexpr size_t kGsoMaxBytes = 65000;

Napi::Error ErrnoError(Napi::Env env, const std::string& what, int err) { return kernel::ErrnoError(env, "kernel udp", what, err); }

class KernelUdp : public Napi::ObjectWrap<KernelUdp> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "KernelUdp",
                       {
                           InstanceMethod<&KernelUdp::Send>("send"),
                           InstanceMethod<&KernelUdp::AddDestination>("addDestination"),
                           InstanceMethod<&KernelUdp::SetPolling>("setPolling"),
                           InstanceMethod<&KernelUdp::ReleaseSlot>("releaseSlot"),
                           InstanceMethod<&KernelUdp::Close>("close"),
                           InstanceMethod<&KernelUdp::EnableZerocopy>("enableZerocopy"),
                           InstanceMethod<&KernelUdp::ReadCompletions>("readCompletions"),
                           InstanceMethod<&KernelUdp::DisableGso>("disableGso"),
                           InstanceAccessor<&KernelUdp::LocalPort>("localPort"),
                           InstanceAccessor<&KernelUdp::Fd>("fd"),
                           InstanceAccessor<&KernelUdp::Drops>("drops"),
                           InstanceAccessor<&KernelUdp::LastErrno>("lastErrno"),
                           InstanceAccessor<&KernelUdp::FreeSlots>("freeSlots"),
                           InstanceAccessor<&KernelUdp::Gso>("gso"),
                           InstanceAccessor<&KernelUdp::Gro>("gro"),
                           InstanceAccessor<&KernelUdp::GsoSends>("gsoSends"),
                           InstanceAccessor<&KernelUdp::Uring>("uring"),
                       });
  }

  // new KernelUdp(family 4|6, address, port, rxBuffer: ArrayBuffer, slotBytes, rxInfo: Int32Array, onEvent[, uring])
  explicit KernelUdp(const Napi::CallbackInfo& info) : Napi::ObjectWrap<KernelUdp>(info) {
    Napi::Env env = info.Env();
    if (info.Length() < 7 || !info[0].IsNumber() || !info[1].IsString() || !info[2].IsNumber() || !info[3].IsArrayBuffer() ||
        !info[4].IsNumber() || !info[5].IsTypedArray() || !info[6].IsFunction())
      throw Napi::TypeError::New(env, "new KernelUdp(family, address, port, rxBuffer, slotBytes, rxInfo, onEvent)");
    const int fam = info[0].As<Napi::Number>().Int32Value();
    if (fam != 4 && fam != 6) throw Napi::RangeError::New(env, "KernelUdp: family must be 4 or 6");
    family_ = fam == 4 ? AF_INET : AF_INET6;
    const std::string address = info[1].As<Napi::String>().Utf8Value();
    const int port = info[2].As<Napi::Number>().Int32Value();
    if (port < 0 || port > 65535) throw Napi::RangeError::New(env, "KernelUdp: port must be 0..65535");

    Napi::ArrayBuffer rx = info[3].As<Napi::ArrayBuffer>();
    const int64_t slot = info[4].As<Napi::Number>().Int64Value();
    if (slot < 1 || slot > (1 << 20) || rx.ByteLength() < static_cast<size_t>(slot))
      throw Napi::RangeError::New(env, "KernelUdp: slotBytes must be 1..1 MiB and fit rxBuffer at least once");
    slot_bytes_ = static_cast<size_t>(slot);
    const size_t slots = rx.ByteLength() / slot_bytes_;
    rx_base_ = static_cast<uint8_t*>(rx.Data());
    Napi::TypedArray ti = info[5].As<Napi::TypedArray>();
    if (ti.TypedArrayType() != napi_int32_array || ti.ElementLength() < static_cast<size_t>(kBurst * kInfoWords))
      throw Napi::TypeError::New(env, "KernelUdp: rxInfo must be an Int32Array of at least " + std::to_string(kBurst * kInfoWords) + " words");
    Napi::Int32Array info32 = ti.As<Napi::Int32Array>();
    rx_info_ = info32.Data();
    rx_ref_ = Napi::Persistent(rx);
    info_ref_ = Napi::Persistent(info32);
    on_event_ = Napi::Persistent(info[6].As<Napi::Function>());
    free_.reserve(slots);
    // the lowest slot on top: the first datagrams land at the start of the buffer
    for (size_t i = slots; i > 0; i--) free_.push_back(static_cast<uint32_t>(i - 1));

    sockaddr_storage sa;
    socklen_t sl;
    if (!Parse(address, port, &sa, &sl)) throw Napi::TypeError::New(env, "KernelUdp: bad IPv" + std::to_string(fam) + " address \"" + address + "\"");
    fd_ = socket(family_, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd_ < 0) throw ErrnoError(env, "socket", errno);
    int one = 1;
    if (setsockopt(fd_, SOL_SOCKET, SO_RXQ_OVFL, &one, sizeof one) != 0) {
      const int err = errno;
      CloseFd();
      throw ErrnoError(env, "setsockopt(SO_RXQ_OVFL)", err);
    }
    // UDP GSO (Linux 4.18+): runs of equal datagrams to one destination go as one send
    int zero = 0;
    gso_ = setsockopt(fd_, SOL_UDP, UDP_SEGMENT, &zero, sizeof zero) == 0;
    // UDP GRO (Linux 5.0+): datagrams of one flow arriving together are read as one buffer
    gro_ = setsockopt(fd_, SOL_UDP, UDP_GRO, &one, sizeof one) == 0;
    if (bind(fd_, reinterpret_cast<sockaddr*>(&sa), sl) != 0) {
      const int err = errno;
      CloseFd();
      throw ErrnoError(env, "bind " + address + ":" + std::to_string(port), err);
    }
    sockaddr_storage local;
    socklen_t ll = sizeof local;
    if (getsockname(fd_, reinterpret_cast<sockaddr*>(&local), &ll) != 0) {
      const int err = errno;
      CloseFd();
      throw ErrnoError(env, "getsockname", err);
    }
    local_port_ = ntohs(family_ == AF_INET ? reinterpret_cast<sockaddr_in*>(&local)->sin_port : reinterpret_cast<sockaddr_in6*>(&local)->sin6_port);

    uv_loop_t* loop = nullptr;
    if (napi_get_uv_event_loop(env, &loop) != napi_ok || loop == nullptr) {
      CloseFd();
      throw Napi::Error::New(env, "kernel udp: no event loop in this environment");
    }
    if (info.Length() > 7 && info[7].ToBoolean().Value()) {
      const std::string missing = UringMissing();
      if (!missing.empty()) {
        CloseFd();
        throw Napi::Error::New(env, "kernel udp: io_uring: " + missing);
      }
      int err = ring_.Open(256);
      if (err == 0) err = ring_.ProvideBuffers(rx_base_, static_cast<unsigned>(slots), static_cast<unsigned>(slot_bytes_), 0);
      if (err != 0) {
        ring_.Close();
        CloseFd();
        throw ErrnoError(env, "io_uring setup", err);
      }
      uring_ = true;
      slots_ = slots;
      free_.clear();
      std::memset(&rx_msg_, 0, sizeof rx_msg_);
      rx_msg_.msg_namelen = sizeof(sockaddr_in6);
      rx_msg_.msg_controllen = kUringCtrl;
    }
    poll_ = new uv_poll_t;
    const int rc = uv_poll_init(loop, poll_, uring_ ? ring_.eventfd() : fd_);
    if (rc != 0) {
      delete poll_;
      poll_ = nullptr;
      CloseFd();
      throw Napi::Error::New(env, std::string("kernel udp: uv_poll_init: ") + uv_strerror(rc));
    }
    poll_->data = this;
    env_ = env;
    async_ = std::make_unique<Napi::AsyncContext>(env, "sgwire.KernelUdp");
    // an environment that ends (a worker thread exits) closes the socket and waits for libuv
    // to finish with its handle before the loop goes
    napi_add_async_cleanup_hook(env, &KernelUdp::Teardown, this, &cleanup_);
  }

  ~KernelUdp() override { Shut(nullptr); }

 private:
  bool Parse(const std::string& address, int port, sockaddr_storage* sa, socklen_t* sl) const { return ParseAddress(family_, address, port, sa, sl); }

  void CloseFd() {
    if (fd_ >= 0) close(fd_);
    fd_ = -1;
  }

  // Stops everything (idempotent). `teardown`: the environment's async cleanup handle, removed
  // once libuv is done with the poll handle; otherwise the hook is removed here.
  void Shut(napi_async_cleanup_hook_handle teardown) {
    if (cleanup_ != nullptr && teardown == nullptr) {
      napi_remove_async_cleanup_hook(cleanup_);
      cleanup_ = nullptr;
    }
    if (uring_ && ring_.open()) {
      // the kernel must be done with the receive buffers before JavaScript's memory may go
      if (recv_armed_) {
        io_uring_sqe* e = ring_.Sqe();
        if (e != nullptr) {
          e->opcode = IORING_OP_ASYNC_CANCEL;
          e->addr = Tag(kRecvTag, 0, 0);
          e->user_data = Tag(kCancelTag, 0, 0);
          ring_.Submit(0);
        }
        for (int tries = 0; recv_armed_ && tries < 100; tries++) {
          ring_.Submit(1);
          while (io_uring_cqe* c = ring_.Peek()) {
            if (Kind(c->user_data) == kRecvTag && !(c->flags & IORING_CQE_F_MORE)) recv_armed_ = false;
            ring_.Seen();
          }
        }
      }
      CloseFd();
      ring_.Close();
    }
    if (poll_ != nullptr) {
      uv_poll_stop(poll_);
      poll_->data = teardown;
      uv_close(reinterpret_cast<uv_handle_t*>(poll_), [](uv_handle_t* h) {
        auto* hook = static_cast<napi_async_cleanup_hook_handle>(h->data);
        delete reinterpret_cast<uv_poll_t*>(h);
        if (hook != nullptr) napi_remove_async_cleanup_hook(hook);
      });
      poll_ = nullptr;
      teardown = nullptr;  // removed by the close callback
    }
    if (teardown != nullptr) napi_remove_async_cleanup_hook(teardown);
    CloseFd();
    events_ = 0;
    ReleaseQuietly(rx_ref_);
    ReleaseQuietly(info_ref_);
    ReleaseQuietly(on_event_);
    ReleaseQuietly(zc_ref_);
    zc_info_ = nullptr;
    rx_base_ = nullptr;
    rx_info_ = nullptr;
    deferred_.clear();
  }

  static void Teardown(napi_async_cleanup_hook_handle handle, void* arg) {
    auto* self = static_cast<KernelUdp*>(arg);
    self->cleanup_ = nullptr;
    self->Shut(handle);
  }

  void CheckOpen(Napi::Env env) const {
    if (fd_ < 0) throw Napi::Error::New(env, "kernel udp: the socket is closed");
  }

  // send(segments: Uint8Array[], counts: Uint32Array, destinations: Uint32Array, n): messages taken
  Napi::Value Send(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    CheckOpen(env);
    if (info.Length() < 4 || !info[0].IsArray() || !info[1].IsTypedArray() || !info[2].IsTypedArray() || !info[3].IsNumber())
      throw Napi::TypeError::New(env, "send(segments, counts, destinations, n[, zerocopy])");
    const bool zerocopy = info.Length() > 4 && info[4].ToBoolean().Value();
    if (zerocopy && zc_info_ == nullptr) throw Napi::Error::New(env, "send: zerocopy before enableZerocopy()");
    Napi::Array segs = info[0].As<Napi::Array>();
    Napi::Uint32Array counts = info[1].As<Napi::Uint32Array>();
    Napi::Uint32Array dests = info[2].As<Napi::Uint32Array>();
    const uint32_t n = info[3].As<Napi::Number>().Uint32Value();
    if (n > counts.ElementLength() || n > dests.ElementLength()) throw Napi::RangeError::New(env, "send: n exceeds counts or destinations");

    // every message's iovec, in one array: message i is iov_[first_[i], first_[i + 1])
    // (empty segments left out)
    iov_.clear();
    first_.resize(n + 1);
    const uint32_t nsegs = segs.Length();
    uint32_t s = 0;
    for (uint32_t i = 0; i < n; i++) {
      first_[i] = static_cast<uint32_t>(iov_.size());
      const uint32_t c = counts[i];
      if (c > static_cast<uint32_t>(IOV_MAX) || s + c > nsegs) throw Napi::RangeError::New(env, "send: segment counts exceed the segments given");
      if (dests[i] >= dests_.size()) throw Napi::RangeError::New(env, "send: unknown destination id");
      for (uint32_t k = 0; k < c; k++, s++) {
        napi_value v;
        if (napi_get_element(env, segs, s, &v) != napi_ok) throw Napi::Error::New(env, "send: cannot read segment");
        napi_typedarray_type type;
        size_t len;
        void* data;
        if (napi_get_typedarray_info(env, v, &type, &len, &data, nullptr, nullptr) != napi_ok || type != napi_uint8_array)
          throw Napi::TypeError::New(env, "send: segment " + std::to_string(s) + " is not a Uint8Array");
        if (len == 0) continue;
        if (data == nullptr) throw Napi::TypeError::New(env, "send: segment " + std::to_string(s) + " is detached");
        iov_.push_back({data, len});
      }
    }
    first_[n] = static_cast<uint32_t>(iov_.size());

    // messages' lengths, for grouping
    len_.resize(n);
    for (uint32_t i = 0; i < n; i++) {
      size_t l = 0;
      for (uint32_t k = first_[i]; k < first_[i + 1]; k++) l += iov_[k].iov_len;
      len_[i] = l;
    }

    uint32_t done = 0;
    // messages before this index go one per datagram (a GSO send of theirs failed: find which)
    uint32_t single_until = 0;
    last_errno_ = 0;
    mmsghdr msgs[kBurst];
    uint32_t group[kBurst];  // messages in each mmsghdr
    alignas(cmsghdr) char ctrl[kBurst][CMSG_SPACE(sizeof(uint16_t))];
    while (done < n) {
      uint32_t k = 0;
      uint32_t m = done;
      while (k < kBurst && m < n) {
        // a run of equal datagrams to one destination, without MSG_ZEROCOPY: one GSO send
        uint32_t j = m + 1;
        if (gso_ && !zerocopy && m >= single_until && len_[m] > 0 && len_[m] <= gso_limit_) {
          size_t iovs = first_[m + 1] - first_[m];
          while (j < n && j - m < kGsoMaxSegs && dests[j] == dests[m] && len_[j] == len_[m] && (j - m + 1) * len_[m] <= kGsoMaxBytes &&
                 iovs + (first_[j + 1] - first_[j]) <= static_cast<size_t>(IOV_MAX)) {
            iovs += first_[j + 1] - first_[j];
            j++;
          }
        }
        msghdr& h = msgs[k].msg_hdr;
        std::memset(&msgs[k], 0, sizeof msgs[k]);
        const sockaddr_storage& d = dests_[dests[m]];
        h.msg_name = const_cast<sockaddr_storage*>(&d);
        h.msg_namelen = dest_len_[dests[m]];
        h.msg_iov = iov_.data() + first_[m];
        h.msg_iovlen = first_[j] - first_[m];
        if (j - m > 1) {
          h.msg_control = ctrl[k];
          h.msg_controllen = sizeof ctrl[k];
          cmsghdr* c = CMSG_FIRSTHDR(&h);
          c->cmsg_level = SOL_UDP;
          c->cmsg_type = UDP_SEGMENT;
          c->cmsg_len = CMSG_LEN(sizeof(uint16_t));
          const uint16_t seg = static_cast<uint16_t>(len_[m]);
          std::memcpy(CMSG_DATA(c), &seg, sizeof seg);
        }
        group[k++] = j - m;
        m = j;
      }
      int r;
      int err = 0;
      if (uring_) {
        r = RingSend(msgs, k, zerocopy, &err);
      } else {
        r = sendmmsg(fd_, msgs, k, MSG_DONTWAIT | (zerocopy ? MSG_ZEROCOPY : 0));
        if (r < 0) err = errno;
      }
      if (r < 0) {
        if (group[0] > 1 && err != EAGAIN && err != EWOULDBLOCK && err != ENOBUFS) {
          // a GSO send refused: send its datagrams one by one, so the error is the one datagram's;
          // EINVAL is a segment the path cannot carry (larger than its MTU): no more GSO at that size
          if (err == EINVAL && len_[done] <= gso_limit_) gso_limit_ = len_[done] - 1;
          single_until = done + group[0];
          continue;
        }
        last_errno_ = err;
        break;
      }
      for (int g = 0; g < r; g++) {
        done += group[g];
        if (group[g] > 1) gso_sends_++;
      }
      // fewer than k: the next call starts at the message that failed and reports its error
    }
    return Napi::Number::New(env, done);
  }

  // addDestination(address, port): an id for send()
  Napi::Value AddDestination(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    CheckOpen(env);
    if (info.Length() < 2 || !info[0].IsString() || !info[1].IsNumber()) throw Napi::TypeError::New(env, "addDestination(address, port)");
    const std::string address = info[0].As<Napi::String>().Utf8Value();
    const int port = info[1].As<Napi::Number>().Int32Value();
    if (port < 1 || port > 65535) throw Napi::RangeError::New(env, "addDestination: port must be 1..65535");
    sockaddr_storage sa;
    socklen_t sl;
    if (!Parse(address, port, &sa, &sl))
      throw Napi::TypeError::New(env, "addDestination: \"" + address + "\" is not an IPv" + (family_ == AF_INET ? "4" : "6") + " address");
    dests_.push_back(sa);
    dest_len_.push_back(sl);
    return Napi::Number::New(env, static_cast<double>(dests_.size() - 1));
  }

  // setPolling(readable, writable)
  Napi::Value SetPolling(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (fd_ < 0) return env.Undefined();
    want_read_ = info[0].ToBoolean().Value();
    want_write_ = info[1].ToBoolean().Value();
    if (uring_) {
      if (want_read_ && !recv_armed_) ArmRecv();
      if (want_write_ && !pollout_armed_) {
        // one POLL_ADD: its completion says the socket has room again
        io_uring_sqe* e = ring_.Sqe();
        if (e != nullptr) {
          e->opcode = IORING_OP_POLL_ADD;
          e->fd = fd_;
          e->poll32_events = POLLOUT;
          e->user_data = Tag(kPollOutTag, 0, 0);
          pollout_armed_ = true;
        }
      }
      ring_.Submit(0);
    }
    UpdatePoll(env);
    return env.Undefined();
  }

  // ---- io_uring

  static constexpr uint64_t kSendTag = 1, kZcSendTag = 2, kRecvTag = 3, kPollOutTag = 4, kCancelTag = 5;
  // control data room per received datagram: SO_RXQ_OVFL and UDP_GRO
  static constexpr size_t kUringCtrl = CMSG_SPACE(sizeof(uint32_t)) + CMSG_SPACE(sizeof(int));
  static uint64_t Tag(uint64_t kind, uint32_t seq, uint32_t g) { return (kind << 56) | (static_cast<uint64_t>(seq) << 24) | (g & 0xffffff); }
  static uint64_t Kind(uint64_t tag) { return tag >> 56; }

  // The multishot receive into the provided buffers (again, after it stopped).
  void ArmRecv() {
    if (recv_armed_ || held_ >= slots_) return;
    io_uring_sqe* e = ring_.Sqe();
    if (e == nullptr) {
      ring_.Submit(0);
      e = ring_.Sqe();
      if (e == nullptr) return;
    }
    e->opcode = IORING_OP_RECVMSG;
    e->fd = fd_;
    e->addr = reinterpret_cast<uint64_t>(&rx_msg_);
    e->len = 1;
    e->ioprio = IORING_RECV_MULTISHOT;
    e->flags = IOSQE_BUFFER_SELECT;
    e->buf_group = 0;
    e->user_data = Tag(kRecvTag, 0, 0);
    recv_armed_ = true;
  }

  // The k prepared messages as linked SENDMSG(_ZC) submissions, completed before it returns:
  // how many from the first the kernel took (as sendmmsg returns), *err the first refusal's errno.
  int RingSend(mmsghdr* msgs, uint32_t k, bool zerocopy, int* err) {
    int res[kBurst];
    uint32_t seqs[kBurst];
    for (uint32_t g = 0; g < k; g++) {
      io_uring_sqe* e = ring_.Sqe();
      if (e == nullptr) {
        ring_.Submit(0);
        e = ring_.Sqe();
      }
      if (e == nullptr) {
        k = g;  // cannot happen with a ring of 256 and bursts of 64; send what was prepared
        break;
      }
      e->opcode = zerocopy ? IORING_OP_SENDMSG_ZC : IORING_OP_SENDMSG;
      e->fd = fd_;
      e->addr = reinterpret_cast<uint64_t>(&msgs[g].msg_hdr);
      e->len = 1;
      e->msg_flags = MSG_DONTWAIT;
      if (zerocopy) e->ioprio = IORING_SEND_ZC_REPORT_USAGE;
      // a refused one cancels the rest, as sendmmsg stops at it
      if (g + 1 < k) e->flags = IOSQE_IO_LINK;
      seqs[g] = zc_seq_++;
      e->user_data = Tag(zerocopy ? kZcSendTag : kSendTag, seqs[g], g);
      res[g] = INT32_MIN;
    }
    if (k == 0) {
      *err = EAGAIN;
      return -1;
    }
    uint32_t seen = 0;
    ring_.Submit(0);
    while (seen < k) {
      io_uring_cqe* c = ring_.Peek();
      if (c == nullptr) {
        ring_.Submit(1);
        continue;
      }
      const io_uring_cqe cqe = *c;
      ring_.Seen();
      const uint64_t kind = Kind(cqe.user_data);
      if ((kind == kSendTag || kind == kZcSendTag) && !(cqe.flags & IORING_CQE_F_NOTIF)) {
        const uint32_t g = cqe.user_data & 0xffffff;
        if (g < k && res[g] == INT32_MIN) {
          res[g] = cqe.res;
          seen++;
        }
      } else {
        deferred_.push_back(cqe);
      }
    }
    int r = 0;
    while (r < static_cast<int>(k) && res[r] >= 0) r++;
    if (zerocopy) {
      // the taken ones get the ids JavaScript gives them, in order; a refused one's notification is ignored
      for (int g = 0; g < r; g++) zc_ids_[seqs[g]] = zc_js_next_++;
    }
    // what the kernel completed meanwhile is dispatched from the loop: make sure it wakes
    if (!deferred_.empty()) {
      const uint64_t one = 1;
      if (write(ring_.eventfd(), &one, sizeof one) < 0) {
      }
    }
    if (r == 0) {
      *err = res[0] < 0 ? -res[0] : EAGAIN;
      return -1;
    }
    if (r < static_cast<int>(k)) *err = res[r] == -ECANCELED ? 0 : -res[r];
    return r;
  }

  // Completions the loop woke for: receives (slots handed to JavaScript in bursts), zero-copy
  // notifications, the socket having room again.
  void RingDispatch() {
    ring_.DrainEventfd();
    // buffers given back since the last submission go first
    if (ring_.pending() > 0) ring_.Submit(0);
    int n = 0;   // receive records in rxInfo
    size_t z = 0;  // zero-copy ranges in zcInfo
    for (;;) {
      io_uring_cqe cqe;
      if (!deferred_.empty()) {
        cqe = deferred_.front();
        deferred_.pop_front();
      } else {
        io_uring_cqe* c = ring_.Peek();
        if (c == nullptr) break;
        cqe = *c;
        ring_.Seen();
      }
      const uint64_t kind = Kind(cqe.user_data);
      if (kind == kRecvTag) {
        if (!(cqe.flags & IORING_CQE_F_MORE)) recv_armed_ = false;
        if (cqe.res < 0) {
          if (cqe.res != -ENOBUFS && cqe.res != -ECANCELED) {
            if (n > 0 && !Emit(n)) return;
            n = 0;
            if (!Emit(cqe.res)) return;
          }
        } else if (cqe.flags & IORING_CQE_F_BUFFER) {
          RecordRecv(n++, cqe.flags >> IORING_CQE_BUFFER_SHIFT, static_cast<uint32_t>(cqe.res));
          if (n == kBurst) {
            if (!Emit(n)) return;
            n = 0;
          }
        }
      } else if ((kind == kZcSendTag) && (cqe.flags & IORING_CQE_F_NOTIF)) {
        const uint32_t seq = static_cast<uint32_t>(cqe.user_data >> 24);
        auto it = zc_ids_.find(seq);
        if (it != zc_ids_.end() && zc_info_ != nullptr) {
          uint32_t* w = zc_info_ + z * kZcWords;
          w[0] = w[1] = it->second;
          w[2] = (static_cast<uint32_t>(cqe.res) & IORING_NOTIF_USAGE_ZC_COPIED) ? 1 : 0;
          zc_ids_.erase(it);
          if (++z == zc_cap_) {
            if (!Emit(kZerocopy, static_cast<uint32_t>(z))) return;
            z = 0;
          }
        }
      } else if (kind == kPollOutTag) {
        pollout_armed_ = false;
        want_write_ = false;
        if (n > 0 && !Emit(n)) return;
        n = 0;
        if (!Emit(kWritable)) return;
      }
    }
    if (n > 0 && !Emit(n)) return;
    if (z > 0 && !Emit(kZerocopy, static_cast<uint32_t>(z))) return;
    if (fd_ >= 0 && want_read_ && !recv_armed_) {
      ArmRecv();
      ring_.Submit(0);
    }
  }

  // Record i of rxInfo for the datagram the kernel put in buffer `bid` (`len` bytes in all).
  void RecordRecv(int i, uint32_t bid, uint32_t len) {
    held_++;
    uint8_t* buf = rx_base_ + static_cast<size_t>(bid) * slot_bytes_;
    io_uring_recvmsg_out out;
    std::memcpy(&out, buf, sizeof out);
    const size_t name_at = sizeof out;
    const size_t ctrl_at = name_at + rx_msg_.msg_namelen;
    const size_t payload_at = ctrl_at + rx_msg_.msg_controllen;
    int32_t* w = rx_info_ + i * kInfoWords;
    uint32_t payload = len >= payload_at ? out.payloadlen : 0;
    if (payload > len - std::min<size_t>(len, payload_at)) payload = static_cast<uint32_t>(len - std::min<size_t>(len, payload_at));
    int segment = 0;
    msghdr h;
    std::memset(&h, 0, sizeof h);
    h.msg_control = buf + ctrl_at;
    h.msg_controllen = std::min<size_t>(out.controllen, rx_msg_.msg_controllen);
    for (cmsghdr* c = CMSG_FIRSTHDR(&h); c != nullptr; c = CMSG_NXTHDR(&h, c)) {
      if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SO_RXQ_OVFL) std::memcpy(&drops_, CMSG_DATA(c), sizeof drops_);
      if (c->cmsg_level == SOL_UDP && c->cmsg_type == UDP_GRO) std::memcpy(&segment, CMSG_DATA(c), sizeof segment);
    }
    w[0] = static_cast<int32_t>(bid);
    w[1] = static_cast<int32_t>(payload);
    w[2] = (out.flags & MSG_TRUNC) ? 1 : 0;
    w[9] = segment > 0 && static_cast<uint32_t>(segment) < payload ? segment : 0;
    w[10] = static_cast<int32_t>(payload_at);
    std::memset(w + 5, 0, 16);
    sockaddr_storage from;
    std::memset(&from, 0, sizeof from);
    std::memcpy(&from, buf + name_at, std::min<size_t>(out.namelen, sizeof(sockaddr_in6)));
    if (from.ss_family == AF_INET6) {
      const auto* a = reinterpret_cast<const sockaddr_in6*>(&from);
      w[3] = 6;
      w[4] = ntohs(a->sin6_port);
      std::memcpy(w + 5, &a->sin6_addr, 16);
    } else {
      const auto* a = reinterpret_cast<const sockaddr_in*>(&from);
      w[3] = 4;
      w[4] = ntohs(a->sin_port);
      std::memcpy(w + 5, &a->sin_addr, 4);
    }
  }

  // Starts or stops the poll to match what is wanted; returns libuv's error (0: fine).
  int ApplyPoll() {
    if (poll_ == nullptr) return 0;
    // io_uring: the ring's eventfd, always (the ring itself does the waiting for the socket)
    const int ev = uring_ ? UV_READABLE : (want_read_ && !free_.empty() ? UV_READABLE : 0) | (want_write_ ? UV_WRITABLE : 0);
    if (ev == events_) return 0;
    const int rc = ev == 0 ? uv_poll_stop(poll_) : uv_poll_start(poll_, ev, &KernelUdp::OnPoll);
    if (rc == 0) events_ = ev;
    return rc;
  }

  void UpdatePoll(Napi::Env env) {
    const int rc = ApplyPoll();
    if (rc != 0) throw Napi::Error::New(env, std::string("kernel udp: uv_poll_start: ") + uv_strerror(rc));
  }

  Napi::Value ReleaseSlot(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    const uint32_t i = info[0].As<Napi::Number>().Uint32Value();
    if (rx_base_ == nullptr) return env.Undefined();  // closed: nothing to read into any more
    if (uring_) {
      // returns go with the next submission; at once when the receive stopped for lack of buffers
      ring_.ReturnBuffer(i);
      held_--;
      if (want_read_ && !recv_armed_) {
        ArmRecv();
        ring_.Submit(0);
      } else if (ring_.pending() >= 16) {
        ring_.Submit(0);
      }
      return env.Undefined();
    }
    free_.push_back(i);
    if (free_.size() == 1) UpdatePoll(env);  // reading resumes
    return env.Undefined();
  }

  // enableZerocopy(zcInfo: Uint32Array): sets SO_ZEROCOPY; completions will be written into
  // zcInfo (kZcWords per range). Returns 0, or the errno of a kernel that refuses it.
  Napi::Value EnableZerocopy(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    CheckOpen(env);
    if (info.Length() < 1 || !info[0].IsTypedArray() || info[0].As<Napi::TypedArray>().TypedArrayType() != napi_uint32_array)
      throw Napi::TypeError::New(env, "enableZerocopy(zcInfo: Uint32Array)");
    Napi::Uint32Array zi = info[0].As<Napi::Uint32Array>();
    if (zi.ElementLength() < static_cast<size_t>(kZcWords)) throw Napi::RangeError::New(env, "enableZerocopy: zcInfo holds no range");
    int one = 1;
    // io_uring's SENDMSG_ZC needs no SO_ZEROCOPY: its notifications come on the ring
    if (!uring_ && setsockopt(fd_, SOL_SOCKET, SO_ZEROCOPY, &one, sizeof one) != 0) return Napi::Number::New(env, errno);
    zc_ref_ = Napi::Persistent(zi);
    zc_info_ = zi.Data();
    zc_cap_ = zi.ElementLength() / kZcWords;
    return Napi::Number::New(env, 0);
  }

  // disableGso(): every datagram goes as its own (a peer reading raw frames off a virtual
  // interface on this host would get the unsegmented GSO packet)
  Napi::Value DisableGso(const Napi::CallbackInfo& info) {
    gso_ = false;
    return info.Env().Undefined();
  }

  // readCompletions(): reads what the error queue holds now into zcInfo; returns the ranges written
  Napi::Value ReadCompletions(const Napi::CallbackInfo& info) {
    // io_uring: notifications come with the ring's other completions (the eventfd wakes the loop)
    return Napi::Number::New(info.Env(), fd_ < 0 || zc_info_ == nullptr || uring_ ? 0 : DrainErrQueue());
  }

  // Reads MSG_ZEROCOPY completions from the error queue into zcInfo, at most its capacity;
  // returns how many ranges it wrote. Other entries (none are asked for) are skipped.
  int DrainErrQueue() { return static_cast<int>(ReadZerocopyCompletions(fd_, zc_info_, zc_cap_)); }

  Napi::Value Close(const Napi::CallbackInfo& info) {
    Shut(nullptr);
    return info.Env().Undefined();
  }

  Napi::Value LocalPort(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), local_port_); }
  Napi::Value Fd(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), fd_); }
  Napi::Value Gso(const Napi::CallbackInfo& info) { return Napi::Boolean::New(info.Env(), gso_); }
  Napi::Value Gro(const Napi::CallbackInfo& info) { return Napi::Boolean::New(info.Env(), gro_); }
  Napi::Value GsoSends(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), gso_sends_); }
  Napi::Value Drops(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), drops_); }
  Napi::Value LastErrno(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), last_errno_); }
  Napi::Value FreeSlots(const Napi::CallbackInfo& info) {
    return Napi::Number::New(info.Env(), static_cast<double>(uring_ ? slots_ - held_ : free_.size()));
  }
  Napi::Value Uring(const Napi::CallbackInfo& info) { return Napi::Boolean::New(info.Env(), uring_); }

  // libuv callback: no C++ exception may leave it, and calls into JavaScript may fail (the
  // environment is shutting down): raw N-API, every status checked.
  static void OnPoll(uv_poll_t* h, int status, int events) {
    auto* self = static_cast<KernelUdp*>(h->data);
    if (self == nullptr || self->fd_ < 0) return;
    napi_env env = self->env_;
    napi_handle_scope scope;
    if (napi_open_handle_scope(env, &scope) != napi_ok) {
      self->StopPoll();
      return;
    }
    self->Dispatch(status, events);
    napi_close_handle_scope(env, scope);
  }

  void Dispatch(int status, int events) {
    if (status < 0) {
      Emit(status);  // libuv reports -errno
      return;
    }
    if (uring_) {
      RingDispatch();
      return;
    }
    if (events & UV_WRITABLE) {
      want_write_ = false;
      ApplyPoll();
      if (!Emit(kWritable)) return;
    }
    if (zc_info_ != nullptr) {
      for (;;) {
        const int c = DrainErrQueue();
        if (c == 0) break;
        if (!Emit(kZerocopy, static_cast<uint32_t>(c))) return;
        if (c < static_cast<int>(zc_cap_)) break;
      }
    }
    if (events & UV_READABLE) {
      for (int b = 0; b < kBurstsPerEvent && fd_ >= 0; b++) {
        const int n = ReceiveBurst();
        if (n == 0) break;
        if (!Emit(n)) return;
        if (n < 0) break;
      }
      if (fd_ >= 0 && ApplyPoll() != 0) StopPoll();
    }
  }

  void StopPoll() {
    if (poll_ != nullptr) uv_poll_stop(poll_);
    events_ = 0;
  }

  // Calls onEvent(n, drops); false when the socket was closed meanwhile or JavaScript cannot run
  // (the poll is then stopped: the environment's cleanup closes the socket). An exception from the
  // callback becomes an uncaught exception of the process (the callback catches its own).
  bool Emit(int n, uint32_t count = 0) {
    if (on_event_.IsEmpty()) return false;
    if (!CallIntoJs(env_, static_cast<napi_ref>(*this), static_cast<napi_ref>(on_event_), static_cast<napi_async_context>(*async_), n, drops_,
                    static_cast<int32_t>(count))) {
      StopPoll();
      return false;
    }
    return fd_ >= 0;
  }

  // Reads one burst into free slots; returns the datagrams read (their records are in rxInfo),
  // 0 when none was waiting or no slot is free, or -errno for a receive error.
  int ReceiveBurst() {
    const int room = static_cast<int>(std::min<size_t>(free_.size(), kBurst));
    if (room == 0) return 0;
    mmsghdr msgs[kBurst];
    iovec iov[kBurst];
    sockaddr_storage from[kBurst];
    alignas(cmsghdr) char ctrl[kBurst][CMSG_SPACE(sizeof(uint32_t)) + CMSG_SPACE(sizeof(int))];
    const size_t top = free_.size();
    for (int i = 0; i < room; i++) {
      const uint32_t slot = free_[top - 1 - i];
      iov[i] = {rx_base_ + static_cast<size_t>(slot) * slot_bytes_, slot_bytes_};
      std::memset(&msgs[i], 0, sizeof msgs[i]);
      msghdr& h = msgs[i].msg_hdr;
      h.msg_name = &from[i];
      h.msg_namelen = sizeof from[i];
      h.msg_iov = &iov[i];
      h.msg_iovlen = 1;
      h.msg_control = ctrl[i];
      h.msg_controllen = sizeof ctrl[i];
    }
    const int n = recvmmsg(fd_, msgs, room, MSG_DONTWAIT, nullptr);
    if (n < 0) {
      const int err = errno;
      if (err == EAGAIN || err == EWOULDBLOCK || err == EINTR) return 0;
      return -err;
    }
    for (int i = 0; i < n; i++) {
      const msghdr& h = msgs[i].msg_hdr;
      int segment = 0;
      for (cmsghdr* c = CMSG_FIRSTHDR(const_cast<msghdr*>(&h)); c != nullptr; c = CMSG_NXTHDR(const_cast<msghdr*>(&h), c)) {
        if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SO_RXQ_OVFL) std::memcpy(&drops_, CMSG_DATA(c), sizeof drops_);
        if (c->cmsg_level == SOL_UDP && c->cmsg_type == UDP_GRO) std::memcpy(&segment, CMSG_DATA(c), sizeof segment);
      }
      int32_t* w = rx_info_ + i * kInfoWords;
      w[9] = segment > 0 && static_cast<uint32_t>(segment) < msgs[i].msg_len ? segment : 0;
      w[10] = 0;
      w[0] = static_cast<int32_t>(free_[top - 1 - i]);
      w[1] = static_cast<int32_t>(msgs[i].msg_len);
      w[2] = (h.msg_flags & MSG_TRUNC) ? 1 : 0;
      std::memset(w + 5, 0, 16);
      if (from[i].ss_family == AF_INET) {
        const auto* a = reinterpret_cast<const sockaddr_in*>(&from[i]);
        w[3] = 4;
        w[4] = ntohs(a->sin_port);
        std::memcpy(w + 5, &a->sin_addr, 4);
      } else {
        const auto* a = reinterpret_cast<const sockaddr_in6*>(&from[i]);
        w[3] = 6;
        w[4] = ntohs(a->sin6_port);
        std::memcpy(w + 5, &a->sin6_addr, 16);
      }
    }
    free_.resize(top - static_cast<size_t>(n));
    return n;
  }

  int family_ = AF_INET;
  int fd_ = -1;
  int local_port_ = 0;
  napi_env env_ = nullptr;
  uv_poll_t* poll_ = nullptr;
  int events_ = 0;
  bool want_read_ = false;
  bool want_write_ = false;
  napi_async_cleanup_hook_handle cleanup_ = nullptr;
  std::unique_ptr<Napi::AsyncContext> async_;
  Napi::Reference<Napi::ArrayBuffer> rx_ref_;
  Napi::Reference<Napi::Int32Array> info_ref_;
  Napi::Reference<Napi::Uint32Array> zc_ref_;
  uint32_t* zc_info_ = nullptr;
  size_t zc_cap_ = 0;
  Napi::FunctionReference on_event_;
  uint8_t* rx_base_ = nullptr;
  int32_t* rx_info_ = nullptr;
  size_t slot_bytes_ = 0;
  std::vector<uint32_t> free_;
  std::vector<sockaddr_storage> dests_;
  std::vector<socklen_t> dest_len_;
  std::vector<iovec> iov_;
  std::vector<size_t> len_;
  bool gso_ = false;
  bool gro_ = false;
  size_t gso_limit_ = kGsoMaxBytes;
  double gso_sends_ = 0;
  std::vector<uint32_t> first_;
  uint32_t drops_ = 0;
  int last_errno_ = 0;
  // io_uring
  bool uring_ = false;
  kernel::Uring ring_;
  msghdr rx_msg_;
  size_t slots_ = 0;
  size_t held_ = 0;
  bool recv_armed_ = false;
  bool pollout_armed_ = false;
  // completions RingSend took off the ring that were not its own: dispatched first from the loop
  std::deque<io_uring_cqe> deferred_;
  uint32_t zc_seq_ = 0;
  uint32_t zc_js_next_ = 0;
  std::unordered_map<uint32_t, uint32_t> zc_ids_;
};

}  // namespace

void InitUdp(Napi::Env env, Napi::Object exports) {
  exports.Set("KernelUdp", KernelUdp::Define(env));
  Napi::Object limits = Napi::Object::New(env);
  limits.Set("burst", Napi::Number::New(env, kBurst));
  limits.Set("infoWords", Napi::Number::New(env, kInfoWords));
  limits.Set("writable", Napi::Number::New(env, kWritable));
  limits.Set("zerocopy", Napi::Number::New(env, kZerocopy));
  limits.Set("zcWords", Napi::Number::New(env, kZcWords));
  limits.Set("iovMax", Napi::Number::New(env, IOV_MAX));
  // empty: io_uring can carry the engine here; else what it lacks
  limits.Set("uringMissing", Napi::String::New(env, UringMissing()));
  exports.Set("kernelUdpLimits", limits);
}

}  // namespace kernel
}  // namespace sgwire
