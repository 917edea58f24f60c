// The ibverbs backend: one RDMA port driven from JavaScript (a second addon, sgwire_ibverbs.node,
// built only when pkg-config finds libibverbs and librdmacm).
//
// Set-up: an rdma_cm id bound to the port's IPv4 address and port number (RDMA_PS_TCP for RC,
// RDMA_PS_UDP for UD) picks the device; on it: a protection domain, a send CQ, a receive CQ and
// a shared receive queue (SRQ) whose buffers are slots of one registered region. RC: one QP per
// connection, made by rdma_cm (connect by IP and port, or accepted on the listening id). UD: one
// QP for the port; rdma_cm's SIDR exchange gives each peer's address handle and QP number.
//
// Transmit: JavaScript stages messages as descriptor words (see src/ibverbs/ibverbs-port.ts):
// per message the connection, the number of segments, the wr_id and flags; per segment where the
// bytes are: the registered staging region (scratch bytes JavaScript copied there) or a
// registered arena (referenced, never copied). Each message becomes one ibv_send_wr whose sg_list
// has one SGE per segment with the lkey of the region it lies in; consecutive messages to one QP
// are chained and posted with one ibv_post_send. Small all-scratch messages may be sent with
// IBV_SEND_INLINE. Every WR is signaled: its completion (or error completion, with the status)
// is handed back to JavaScript by wr_id, which then releases what the message lent.
//
// Receive: each completion on the receive CQ names a slot; it is handed to JavaScript as an
// external ArrayBuffer over the slot (no copy) and reposted to the SRQ on rxRelease(), which
// detaches the ArrayBuffer first so no view can read a later message.
#include "common/errors.h"
#include "common/napi-glue.h"
#include "protocol.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <infiniband/verbs.h>
#include <rdma/rdma_cma.h>
#include <sys/mman.h>

#include <algorithm>
#include <memory>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#ifndef unlikely
#define unlikely(x) __builtin_expect(!!(x), 0)
#endif

namespace sgwire {
namespace {
// descriptor, metadata and control words shared with src/ibverbs/ibverbs-port.ts (generated)
using namespace ibverbs_protocol;

constexpr uint32_t kPostBatch = 32;     // WRs chained into one ibv_post_send
constexpr int kRxBurst = 32;            // receive completions per rxBurst
constexpr uint32_t kGrhBytes = 40;      // UD receive buffers start with the GRH
constexpr uint32_t kMagic = 0x53475731; // "SGW1": private data of our connection requests
constexpr int kResolveMs = 2000;
constexpr size_t kPage = 4096;
constexpr int kSendCqEntries = 4096;    // all connections' outstanding sends together

// Sent in the private data of connect/accept, so each side names the other by its listening
// endpoint and knows how large a message the other can receive.
struct PrivData {
  uint32_t magic;
  uint16_t port;       // the sender's listening port (network order not needed: same struct both sides)
  uint8_t transport;   // 0 RC, 1 UD
  uint8_t pad;
  uint32_t recv_bytes; // largest message its receive slots hold
  uint32_t qpn;        // UD: the QP to send to
};

// Anonymous memory registered as one MR. Unmapped when the last owner (the port, an ArrayBuffer
// JavaScript holds, a received message not yet released) lets go; the MR is deregistered by the
// port's close (before its PD goes) or here, whichever is first.
struct Region {
  void* base = nullptr;
  size_t len = 0;
  ibv_mr* mr = nullptr;
  ~Region() {
    if (mr != nullptr) ibv_dereg_mr(mr);
    if (base != nullptr) munmap(base, len);
  }
};
using RegionPtr = std::shared_ptr<Region>;

void FreeRegionRef(Napi::Env, void*, RegionPtr* hint) { delete hint; }

// What a delivered message keeps alive: the receive region and the SRQ to repost its slot to.
struct RecvState {
  RegionPtr region;
  ibv_srq* srq = nullptr;  // nullptr once the port is closed: nothing to repost to
  uint32_t slot_bytes = 0;
  uint32_t data_off = 0;   // kGrhBytes for UD
  uint64_t repost_errors = 0;
};
using RecvPtr = std::shared_ptr<RecvState>;

class IbvPort;
struct RxHandle;

// One Node.js environment's ibverbs state (the main thread and each worker thread have their
// own). Held by shared_ptr from the instance data, the cleanup hook, every port and every
// received buffer, so it outlives whichever goes last. Only that environment's thread touches it.
struct EnvState {
  std::unordered_map<void*, RxHandle*> rx;  // received buffers JavaScript holds, by data pointer
  std::unordered_set<IbvPort*> ports;       // open ports of this environment
};
using EnvPtr = std::shared_ptr<EnvState>;

EnvPtr GetEnv(Napi::Env env) {
  EnvPtr* p = env.GetInstanceData<EnvPtr>();
  if (p == nullptr) throw Napi::Error::New(env, "@sgwire/nic: ibverbs state of this environment is gone (environment shutting down)");
  return *p;
}

struct RxHandle {
  RecvPtr st;
  uint32_t slot;
  bool released;
  EnvPtr env;  // whose rx table lists this buffer
};

bool Repost(RecvState* st, uint32_t slot) {
  if (st->srq == nullptr) return false;
  ibv_sge sge{};
  sge.addr = reinterpret_cast<uint64_t>(st->region->base) + uint64_t(slot) * st->slot_bytes;
  sge.length = st->slot_bytes;
  sge.lkey = st->region->mr->lkey;
  ibv_recv_wr wr{}, *bad = nullptr;
  wr.wr_id = slot;
  wr.sg_list = &sge;
  wr.num_sge = 1;
  if (ibv_post_srq_recv(st->srq, &wr, &bad) != 0) {
    st->repost_errors++;
    return false;
  }
  return true;
}

void RxFinalize(Napi::Env, void* data, RxHandle* h) {
  // the ArrayBuffer is gone; a message the application never released goes back to the SRQ
  if (!h->released) {
    h->env->rx.erase(data);
    Repost(h->st.get(), h->slot);
  }
  delete h;
}

enum class ConnState { kResolving, kConnecting, kEstablished, kClosed };

struct Conn {
  uint32_t index;
  rdma_cm_id* id = nullptr;
  ibv_qp* qp = nullptr;     // RC: this connection's QP; UD: nullptr (the port's QP sends)
  ConnState state = ConnState::kResolving;
  bool passive = false;
  uint32_t peer_ip = 0;     // host order
  uint16_t peer_port = 0;   // the peer's listening port
  uint32_t peer_recv_bytes = 0;
  ibv_ah* ah = nullptr;     // UD
  uint32_t remote_qpn = 0;  // UD
  uint32_t remote_qkey = 0; // UD
  uint32_t outstanding = 0; // posted WRs not yet completed
};


Napi::Value U32(Napi::Env env, uint32_t v) { return Napi::Number::New(env, v); }

class IbvPort : public Napi::ObjectWrap<IbvPort> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "IbvPort",
                       {
                           InstanceMethod<&IbvPort::Info>("info"),
                           InstanceMethod<&IbvPort::SetBuffers>("setBuffers"),
                           InstanceMethod<&IbvPort::Stage>("stage"),
                           InstanceMethod<&IbvPort::AllocArena>("allocArena"),
                           InstanceMethod<&IbvPort::Connect>("connect"),
                           InstanceMethod<&IbvPort::CmPoll>("cmPoll"),
                           InstanceMethod<&IbvPort::Post>("post"),
                           InstanceMethod<&IbvPort::RxBurst>("rxBurst"),
                           InstanceMethod<&IbvPort::RxRelease>("rxRelease"),
                           InstanceMethod<&IbvPort::Counters>("counters"),
                           InstanceMethod<&IbvPort::Close>("close"),
                       });
  }

  // new IbvPort({ ip, port, ud, sendDepth, recvSlots, recvBytes, maxInline, stageBytes, device })
  IbvPort(const Napi::CallbackInfo& info) : Napi::ObjectWrap<IbvPort>(info) {
    Napi::Env env = info.Env();
    if (!info[0].IsObject()) throw Napi::TypeError::New(env, "IbvPort(config)");
    Napi::Object cfg = info[0].As<Napi::Object>();
    auto num = [&](const char* k, uint32_t lo, uint32_t hi) -> uint32_t {
      Napi::Value v = cfg.Get(k);
      if (!v.IsNumber()) throw Napi::TypeError::New(env, std::string("IbvPort config: ") + k + " must be a number");
      double d = v.As<Napi::Number>().DoubleValue();
      if (!(d >= lo && d <= hi)) throw Napi::RangeError::New(env, std::string("IbvPort config: ") + k + " out of range");
      return static_cast<uint32_t>(d);
    };
    ip_ = num("ip", 0, UINT32_MAX);
    uint32_t want_port = num("port", 0, 65535);
    ud_ = cfg.Get("ud").ToBoolean();
    send_depth_ = num("sendDepth", 1, 32768);
    recv_slots_ = num("recvSlots", 1, 65536);
    recv_bytes_ = num("recvBytes", 64, 1u << 30);
    uint32_t want_inline = num("maxInline", 0, 4096);
    uint32_t stage_bytes = num("stageBytes", 4096, 1u << 30);
    Napi::Value dv = cfg.Get("device");
    std::string want_dev = dv.IsString() ? dv.As<Napi::String>().Utf8Value() : "";
    env_ = GetEnv(env);
    try {
      Open(env, want_port, want_inline, stage_bytes, want_dev);
    } catch (...) {
      Cleanup();
      throw;
    }
    env_->ports.insert(this);
  }

  ~IbvPort() override { Cleanup(); }

  // Tears everything down in the order verbs requires (QPs, then SRQ and CQs, MRs, PD, ids,
  // channel). Safe to call more than once: close(), environment teardown, GC.
  void Cleanup() {
    if (recv_) recv_->srq = nullptr;  // later releases do not repost
    for (auto& c : conns_) {
      if (c == nullptr) continue;
      if (c->id != nullptr && c->state == ConnState::kEstablished && !ud_) rdma_disconnect(c->id);
      if (c->ah != nullptr) ibv_destroy_ah(c->ah);
      if (c->id != nullptr) {
        if (c->id->qp != nullptr) rdma_destroy_qp(c->id);
        rdma_destroy_id(c->id);
      }
    }
    conns_.clear();
    if (listen_ != nullptr && listen_->qp != nullptr) rdma_destroy_qp(listen_);
    ud_qp_ = nullptr;
    if (srq_ != nullptr) ibv_destroy_srq(srq_);
    srq_ = nullptr;
    if (send_cq_ != nullptr) ibv_destroy_cq(send_cq_);
    if (recv_cq_ != nullptr) ibv_destroy_cq(recv_cq_);
    send_cq_ = recv_cq_ = nullptr;
    // every MR goes before the PD; the memory stays mapped while JavaScript can see it
    for (auto& r : arenas_) DeregRegion(r);
    arenas_.clear();
    DeregRegion(stage_);
    stage_.reset();
    if (recv_) DeregRegion(recv_->region);
    recv_.reset();
    if (pd_ != nullptr) ibv_dealloc_pd(pd_);
    pd_ = nullptr;
    if (listen_ != nullptr) rdma_destroy_id(listen_);
    listen_ = nullptr;
    if (channel_ != nullptr) rdma_destroy_event_channel(channel_);
    channel_ = nullptr;
    open_ = false;
    if (env_) env_->ports.erase(this);
  }

 private:
  static void DeregRegion(const RegionPtr& r) {
    if (r && r->mr != nullptr) {
      ibv_dereg_mr(r->mr);
      r->mr = nullptr;
    }
  }

  RegionPtr MapRegion(Napi::Env env, size_t want, const char* what) {
    size_t len = (want + kPage - 1) / kPage * kPage;
    void* p = mmap(nullptr, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
    if (p == MAP_FAILED) throw ErrnoError(env, std::string(what) + ": mmap of " + std::to_string(len) + " bytes failed", errno);
    auto r = std::make_shared<Region>();
    r->base = p;
    r->len = len;
    r->mr = ibv_reg_mr(pd_, p, len, IBV_ACCESS_LOCAL_WRITE);
    if (r->mr == nullptr) {
      int err = errno;
      throw ErrnoError(env, std::string(what) + ": ibv_reg_mr of " + std::to_string(len) +
                                " bytes failed (RLIMIT_MEMLOCK? `ulimit -l`)", err ? err : ENOMEM);
    }
    return r;
  }

  void Open(Napi::Env env, uint32_t want_port, uint32_t want_inline, uint32_t stage_bytes, const std::string& want_dev) {
    channel_ = rdma_create_event_channel();
    if (channel_ == nullptr) {
      int err = errno;
      throw ErrnoError(env, "rdma_create_event_channel (is the rdma_ucm kernel module loaded: /dev/infiniband/rdma_cm?)", err);
    }
    int fl = fcntl(channel_->fd, F_GETFL);
    fcntl(channel_->fd, F_SETFL, fl | O_NONBLOCK);
    if (rdma_create_id(channel_, &listen_, this, ud_ ? RDMA_PS_UDP : RDMA_PS_TCP) != 0)
      throw ErrnoError(env, "rdma_create_id", errno);
    sockaddr_in sin{};
    sin.sin_family = AF_INET;
    sin.sin_addr.s_addr = htonl(ip_);
    sin.sin_port = htons(static_cast<uint16_t>(want_port));
    if (rdma_bind_addr(listen_, reinterpret_cast<sockaddr*>(&sin)) != 0) {
      int err = errno;
      throw ErrnoError(env, "rdma_bind_addr(" + IpString(ip_) + ":" + std::to_string(want_port) +
                                "): no RDMA device has this address, or the port is taken", err);
    }
    if (listen_->verbs == nullptr)
      throw Napi::Error::New(env, "rdma_bind_addr(" + IpString(ip_) + "): the address is not on an RDMA device (no rxe/RoCE link on its interface?)");
    ctx_ = listen_->verbs;
    device_ = ibv_get_device_name(ctx_->device);
    if (!want_dev.empty() && want_dev != device_)
      throw Napi::Error::New(env, "address " + IpString(ip_) + " is on RDMA device " + device_ + ", not " + want_dev);
    port_num_ = listen_->port_num;
    local_port_ = ntohs(rdma_get_src_port(listen_));
    if (ibv_query_device(ctx_, &dev_attr_) != 0) throw ErrnoError(env, "ibv_query_device", errno);
    if (ibv_query_port(ctx_, port_num_, &port_attr_) != 0) throw ErrnoError(env, "ibv_query_port", errno);
    pd_ = ibv_alloc_pd(ctx_);
    if (pd_ == nullptr) throw ErrnoError(env, "ibv_alloc_pd", errno);
    int scq = std::min(kSendCqEntries, dev_attr_.max_cqe);
    send_cq_ = ibv_create_cq(ctx_, scq, nullptr, nullptr, 0);
    if (send_cq_ == nullptr) throw ErrnoError(env, "ibv_create_cq(send, " + std::to_string(scq) + ")", errno);
    send_cq_cap_ = static_cast<uint32_t>(scq);
    recv_slots_ = std::min<uint32_t>(recv_slots_, static_cast<uint32_t>(std::min(dev_attr_.max_srq_wr, dev_attr_.max_cqe)));
    recv_cq_ = ibv_create_cq(ctx_, static_cast<int>(recv_slots_), nullptr, nullptr, 0);
    if (recv_cq_ == nullptr) throw ErrnoError(env, "ibv_create_cq(recv, " + std::to_string(recv_slots_) + ")", errno);
    ibv_srq_init_attr sa{};
    sa.attr.max_wr = recv_slots_;
    sa.attr.max_sge = 1;
    srq_ = ibv_create_srq(pd_, &sa);
    if (srq_ == nullptr) throw ErrnoError(env, "ibv_create_srq(" + std::to_string(recv_slots_) + ")", errno);

    mtu_bytes_ = 128u << port_attr_.active_mtu;  // IBV_MTU_256 = 1 ... IBV_MTU_4096 = 5
    if (ud_) recv_bytes_ = mtu_bytes_;
    max_sge_ = static_cast<uint32_t>(std::min(dev_attr_.max_sge, 64));
    send_depth_ = std::min<uint32_t>(send_depth_, static_cast<uint32_t>(dev_attr_.max_qp_wr));

    recv_ = std::make_shared<RecvState>();
    recv_->data_off = ud_ ? kGrhBytes : 0;
    recv_->slot_bytes = recv_bytes_ + recv_->data_off;
    recv_->region = MapRegion(env, size_t(recv_->slot_bytes) * recv_slots_, "receive buffers");
    recv_->srq = srq_;
    for (uint32_t s = 0; s < recv_slots_; s++)
      if (!Repost(recv_.get(), s)) throw ErrnoError(env, "ibv_post_srq_recv", errno ? errno : EINVAL);
    stage_ = MapRegion(env, stage_bytes, "staging buffer");

    if (ud_) {
      // the port's one UD QP, made on the listening id so rdma_cm sets its P_Key and Q_Key
      ibv_qp_init_attr qa = QpAttr(IBV_QPT_UD, want_inline);
      if (rdma_create_qp(listen_, pd_, &qa) != 0) {
        qa = QpAttr(IBV_QPT_UD, 0);
        if (rdma_create_qp(listen_, pd_, &qa) != 0) throw ErrnoError(env, "rdma_create_qp(UD)", errno);
      }
      ud_qp_ = listen_->qp;
      max_inline_ = qa.cap.max_inline_data;
      max_sge_ = qa.cap.max_send_sge;
    } else {
      // RC QPs come with connections; learn what the device grants from a probe QP
      ibv_qp_init_attr qa = QpAttr(IBV_QPT_RC, want_inline);
      ibv_qp* probe = ibv_create_qp(pd_, &qa);
      if (probe == nullptr) {
        qa = QpAttr(IBV_QPT_RC, 0);
        probe = ibv_create_qp(pd_, &qa);
      }
      if (probe == nullptr) throw ErrnoError(env, "ibv_create_qp(RC probe)", errno);
      max_inline_ = qa.cap.max_inline_data;
      max_sge_ = qa.cap.max_send_sge;
      rc_inline_ = max_inline_;
      ibv_destroy_qp(probe);
    }
    if (rdma_listen(listen_, 16) != 0) throw ErrnoError(env, "rdma_listen", errno);
    sges_.resize(size_t(kPostBatch) * max_sge_);
    open_ = true;
  }

  ibv_qp_init_attr QpAttr(ibv_qp_type type, uint32_t inline_bytes) {
    ibv_qp_init_attr qa{};
    qa.qp_type = type;
    qa.send_cq = send_cq_;
    qa.recv_cq = recv_cq_;
    qa.srq = srq_;
    qa.cap.max_send_wr = send_depth_;
    qa.cap.max_send_sge = max_sge_;
    qa.cap.max_recv_wr = 0;
    qa.cap.max_recv_sge = 0;
    qa.cap.max_inline_data = inline_bytes;
    qa.sq_sig_all = 1;
    return qa;
  }

  static std::string IpString(uint32_t ip) {
    char b[INET_ADDRSTRLEN];
    in_addr a{htonl(ip)};
    inet_ntop(AF_INET, &a, b, sizeof b);
    return b;
  }

  void CheckOpen(Napi::Env env) {
    if (!open_) throw Napi::Error::New(env, "ibverbs port is closed");
  }

  Napi::Value Info(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    Napi::Object o = Napi::Object::New(env);
    o.Set("device", device_);
    o.Set("portNum", U32(env, port_num_));
    o.Set("transport", ud_ ? "ud" : "rc");
    o.Set("localPort", U32(env, local_port_));
    o.Set("maxSge", U32(env, max_sge_));
    o.Set("maxInline", U32(env, max_inline_));
    o.Set("mtu", U32(env, mtu_bytes_));
    o.Set("maxMsgBytes", U32(env, port_attr_.max_msg_sz));
    o.Set("recvBytes", U32(env, recv_bytes_));
    o.Set("recvSlots", U32(env, recv_slots_));
    o.Set("sendDepth", U32(env, send_depth_));
    o.Set("sendCqEntries", U32(env, send_cq_cap_));
    o.Set("qpn", U32(env, ud_qp_ != nullptr ? ud_qp_->qp_num : 0));
    o.Set("stageBytes", U32(env, stage_ ? static_cast<uint32_t>(stage_->len) : 0));
    return o;
  }

  // setBuffers(desc: Uint32Array, ctl: Int32Array, completions: Uint32Array, rxMeta: Uint32Array)
  Napi::Value SetBuffers(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (info.Length() < 4 || !info[0].IsTypedArray() || !info[1].IsTypedArray() || !info[2].IsTypedArray() || !info[3].IsTypedArray())
      throw Napi::TypeError::New(env, "setBuffers(desc, ctl, completions, rxMeta)");
    auto desc = info[0].As<Napi::Uint32Array>();
    auto ctl = info[1].As<Napi::Int32Array>();
    auto cm = info[2].As<Napi::Uint32Array>();
    auto rxm = info[3].As<Napi::Uint32Array>();
    if (ctl.ElementLength() < kCtlWords) throw Napi::RangeError::New(env, "setBuffers: ctl needs 8 words");
    for (int i = 0; i < 4; i++) refs_[i] = Napi::Persistent(info[i].As<Napi::Object>());
    desc_ = desc.Data();
    desc_words_ = desc.ElementLength();
    ctl_ = ctl.Data();
    compl_ = cm.Data();
    compl_cap_ = cm.ElementLength() / 2;
    rx_meta_ = rxm.Data();
    rx_meta_cap_ = rxm.ElementLength() / kRxMetaWords;
    return env.Undefined();
  }

  // stage(): the registered staging region as an ArrayBuffer (scratch bytes are written there).
  Napi::Value Stage(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    CheckOpen(env);
    return Napi::ArrayBuffer::New(env, stage_->base, stage_->len, FreeRegionRef, new RegionPtr(stage_));
  }

  // allocArena(bytes) -> [ArrayBuffer, id]: memory registered with ibv_reg_mr on this port's PD.
  Napi::Value AllocArena(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    CheckOpen(env);
    if (!info[0].IsNumber()) throw Napi::TypeError::New(env, "allocArena(bytes): bytes must be a number");
    double want = info[0].As<Napi::Number>().DoubleValue();
    if (!(want >= 1 && want <= double(1u << 30))) throw Napi::RangeError::New(env, "allocArena: bytes must be 1..2^30");
    RegionPtr r = MapRegion(env, static_cast<size_t>(want), "allocArena");
    uint32_t id = static_cast<uint32_t>(arenas_.size());
    arenas_.push_back(r);
    Napi::Array out = Napi::Array::New(env, 2);
    out.Set(0u, Napi::ArrayBuffer::New(env, r->base, r->len, FreeRegionRef, new RegionPtr(r)));
    out.Set(1u, U32(env, id));
    return out;
  }

  Conn* NewConn() {
    auto c = std::make_unique<Conn>();
    c->index = static_cast<uint32_t>(conns_.size());
    Conn* p = c.get();
    conns_.push_back(std::move(c));
    return p;
  }

  PrivData MyPrivData() const {
    PrivData pd{};
    pd.magic = kMagic;
    pd.port = local_port_;
    pd.transport = ud_ ? 1 : 0;
    pd.recv_bytes = recv_bytes_;
    pd.qpn = ud_qp_ != nullptr ? ud_qp_->qp_num : 0;
    return pd;
  }

  // connect(ip, port) -> connection index; progress and the outcome arrive through cmPoll().
  Napi::Value Connect(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    CheckOpen(env);
    uint32_t ip = info[0].As<Napi::Number>().Uint32Value();
    uint32_t port = info[1].As<Napi::Number>().Uint32Value();
    Conn* c = NewConn();
    c->peer_ip = ip;
    c->peer_port = static_cast<uint16_t>(port);
    if (rdma_create_id(channel_, &c->id, c, ud_ ? RDMA_PS_UDP : RDMA_PS_TCP) != 0) {
      c->state = ConnState::kClosed;
      throw ErrnoError(env, "rdma_create_id", errno);
    }
    sockaddr_in src{}, dst{};
    src.sin_family = dst.sin_family = AF_INET;
    src.sin_addr.s_addr = htonl(ip_);
    dst.sin_addr.s_addr = htonl(ip);
    dst.sin_port = htons(static_cast<uint16_t>(port));
    if (rdma_resolve_addr(c->id, reinterpret_cast<sockaddr*>(&src), reinterpret_cast<sockaddr*>(&dst), kResolveMs) != 0) {
      int err = errno;
      c->state = ConnState::kClosed;
      throw ErrnoError(env, "rdma_resolve_addr(" + IpString(ip) + ")", err);
    }
    return U32(env, c->index);
  }

  static bool ReadPriv(const void* data, uint8_t len, PrivData* out) {
    if (data == nullptr || len < sizeof(PrivData)) return false;
    memcpy(out, data, sizeof(PrivData));
    return out->magic == kMagic;
  }

  void Report(Napi::Env env, Napi::Array& out, Conn* c, const char* kind, const std::string& message) {
    Napi::Object e = Napi::Object::New(env);
    e.Set("conn", U32(env, c->index));
    e.Set("kind", kind);
    e.Set("ip", U32(env, c->peer_ip));
    e.Set("port", U32(env, c->peer_port));
    e.Set("recvBytes", U32(env, c->peer_recv_bytes));
    if (!message.empty()) e.Set("message", message);
    out.Set(out.Length(), e);
  }

  void Fail(Conn* c) {
    c->state = ConnState::kClosed;
  }

  // cmPoll(): handles pending rdma_cm events; returns what JavaScript must know
  // ({ conn, kind: "established" | "accepted" | "failed" | "disconnected", ip, port, message }).
  Napi::Value CmPoll(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    Napi::Array out = Napi::Array::New(env);
    if (!open_) return out;
    rdma_cm_event* ev;
    while (rdma_get_cm_event(channel_, &ev) == 0) {
      rdma_cm_id* id = ev->id;
      rdma_cm_event_type type = ev->event;
      int status = ev->status;
      std::string what = std::string(rdma_event_str(type)) + " (status " + std::to_string(status) + ")";
      if (type == RDMA_CM_EVENT_CONNECT_REQUEST) {
        OnConnectRequest(env, out, ev);
        rdma_ack_cm_event(ev);
        continue;
      }
      Conn* c = id == listen_ ? nullptr : static_cast<Conn*>(id->context);
      PrivData pd{};
      bool have_pd = false;
      rdma_ud_param ud{};
      if (type == RDMA_CM_EVENT_ESTABLISHED) {
        if (ud_) {
          ud = ev->param.ud;
          have_pd = ReadPriv(ud.private_data, ud.private_data_len, &pd);
        } else {
          have_pd = ReadPriv(ev->param.conn.private_data, ev->param.conn.private_data_len, &pd);
        }
      }
      rdma_ack_cm_event(ev);
      if (c == nullptr) continue;
      switch (type) {
        case RDMA_CM_EVENT_ADDR_RESOLVED:
          if (rdma_resolve_route(id, kResolveMs) != 0) {
            Fail(c);
            Report(env, out, c, "failed", std::string("rdma_resolve_route: ") + strerror(errno));
          }
          break;
        case RDMA_CM_EVENT_ROUTE_RESOLVED: {
          if (!ud_) {
            ibv_qp_init_attr qa = QpAttr(IBV_QPT_RC, rc_inline_);
            if (rdma_create_qp(id, pd_, &qa) != 0) {
              Fail(c);
              Report(env, out, c, "failed", std::string("rdma_create_qp: ") + strerror(errno));
              break;
            }
            c->qp = id->qp;
            qp_conn_[c->qp->qp_num] = c;
          }
          PrivData mine = MyPrivData();
          rdma_conn_param cp{};
          cp.private_data = &mine;
          cp.private_data_len = sizeof mine;
          cp.retry_count = 7;
          cp.rnr_retry_count = 7;  // infinite: a receiver with no free buffers slows the sender down
          cp.srq = 1;
          if (ud_) cp.qp_num = ud_qp_->qp_num;
          if (rdma_connect(id, &cp) != 0) {
            Fail(c);
            Report(env, out, c, "failed", std::string("rdma_connect: ") + strerror(errno));
          } else {
            c->state = ConnState::kConnecting;
          }
          break;
        }
        case RDMA_CM_EVENT_ESTABLISHED:
          if (ud_) {
            c->ah = ibv_create_ah(pd_, &ud.ah_attr);
            if (c->ah == nullptr) {
              Fail(c);
              Report(env, out, c, "failed", std::string("ibv_create_ah: ") + strerror(errno));
              break;
            }
            c->remote_qpn = ud.qp_num;
            c->remote_qkey = ud.qkey;
            ud_peer_[c->remote_qpn] = c;
          }
          if (have_pd) c->peer_recv_bytes = pd.recv_bytes;
          c->state = ConnState::kEstablished;
          Report(env, out, c, c->passive ? "accepted" : "established", "");
          break;
        case RDMA_CM_EVENT_DISCONNECTED:
          if (c->state != ConnState::kClosed) rdma_disconnect(id);  // moves our QP to error: sends flush
          c->state = ConnState::kClosed;
          Report(env, out, c, "disconnected", what);
          break;
        case RDMA_CM_EVENT_TIMEWAIT_EXIT:
          break;
        case RDMA_CM_EVENT_REJECTED:
          Fail(c);
          Report(env, out, c, "failed", "connection rejected: nothing listens there (" + what + ")");
          break;
        default:
          // ADDR_ERROR, ROUTE_ERROR, CONNECT_ERROR, UNREACHABLE, DEVICE_REMOVAL, ...
          Fail(c);
          Report(env, out, c, "failed", what + (status < 0 ? std::string(": ") + strerror(-status) : ""));
          break;
      }
    }
    return out;
  }

  void OnConnectRequest(Napi::Env env, Napi::Array& out, rdma_cm_event* ev) {
    rdma_cm_id* id = ev->id;
    PrivData pd{};
    bool ok = ud_ ? ReadPriv(ev->param.ud.private_data, ev->param.ud.private_data_len, &pd)
                  : ReadPriv(ev->param.conn.private_data, ev->param.conn.private_data_len, &pd);
    if (!ok || pd.transport != (ud_ ? 1 : 0) || id->verbs != ctx_) {
      rdma_reject(id, nullptr, 0);
      rdma_destroy_id(id);
      cm_rejected_++;
      return;
    }
    Conn* c = NewConn();
    c->id = id;
    id->context = c;
    c->passive = true;
    auto* peer = reinterpret_cast<sockaddr_in*>(rdma_get_peer_addr(id));
    c->peer_ip = peer->sin_family == AF_INET ? ntohl(peer->sin_addr.s_addr) : 0;
    c->peer_port = pd.port;
    c->peer_recv_bytes = pd.recv_bytes;
    PrivData mine = MyPrivData();
    rdma_conn_param cp{};
    cp.private_data = &mine;
    cp.private_data_len = sizeof mine;
    cp.retry_count = 7;
    cp.rnr_retry_count = 7;
    cp.srq = 1;
    if (ud_) {
      cp.qp_num = ud_qp_->qp_num;
      c->remote_qpn = pd.qpn;
      c->remote_qkey = RDMA_UDP_QKEY;
      ud_peer_[pd.qpn] = c;  // its address handle is made from its first datagram
    } else {
      ibv_qp_init_attr qa = QpAttr(IBV_QPT_RC, rc_inline_);
      if (rdma_create_qp(id, pd_, &qa) != 0) {
        int err = errno;
        rdma_reject(id, nullptr, 0);
        Fail(c);
        Report(env, out, c, "failed", std::string("accept: rdma_create_qp: ") + strerror(err));
        return;
      }
      c->qp = id->qp;
      qp_conn_[c->qp->qp_num] = c;
    }
    if (rdma_accept(id, &cp) != 0) {
      int err = errno;
      Fail(c);
      Report(env, out, c, "failed", std::string("rdma_accept: ") + strerror(err));
      return;
    }
    if (ud_) {
      // SIDR has no ESTABLISHED on this side: the peer is known now
      c->state = ConnState::kEstablished;
      Report(env, out, c, "accepted", "");
    } else {
      c->state = ConnState::kConnecting;
    }
  }

  // Reaps send completions into compl_ as (wr_id, status) pairs.
  uint32_t ReapSends() {
    uint32_t n = 0;
    ibv_wc wc[32];
    while (n < compl_cap_) {
      int want = static_cast<int>(std::min<uint32_t>(32, compl_cap_ - n));
      int got = ibv_poll_cq(send_cq_, want, wc);
      if (got <= 0) break;
      for (int i = 0; i < got; i++) {
        compl_[2 * n] = static_cast<uint32_t>(wc[i].wr_id);
        compl_[2 * n + 1] = wc[i].status;
        n++;
        total_outstanding_--;
        auto it = qp_conn_.find(wc[i].qp_num);
        if (it != qp_conn_.end()) it->second->outstanding--;
        if (wc[i].status != IBV_WC_SUCCESS) send_errors_++;
      }
    }
    return n;
  }

  // Posts a chain of WRs; on failure the WRs from bad_wr on were not posted.
  uint32_t PostChain(Conn* c, ibv_send_wr* first, uint32_t n, int* err) {
    if (n == 0) return 0;
    ibv_qp* qp = ud_ ? ud_qp_ : c->qp;
    ibv_send_wr* bad = nullptr;
    int rc = ibv_post_send(qp, first, &bad);
    if (rc == 0) return n;
    *err = rc;
    uint32_t posted = 0;
    for (ibv_send_wr* w = first; w != nullptr && w != bad; w = w->next) posted++;
    return posted;
  }

  // post(count): posts `count` staged messages (fewer if a send queue is full) and reaps send
  // completions. count 0 only reaps. Returns how many messages were posted.
  Napi::Value Post(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    CheckOpen(env);
    if (desc_ == nullptr) throw Napi::Error::New(env, "post before setBuffers");
    uint32_t count = info[0].As<Napi::Number>().Uint32Value();
    StopReason stop = kStopNone;
    uint32_t taken = 0;
    uint64_t bytes = 0;
    size_t w = 0;
    ibv_send_wr wrs[kPostBatch];
    uint32_t nb = 0;
    Conn* batch_conn = nullptr;
    uint64_t batch_bytes = 0;
    int post_err = 0;
    auto flush = [&]() -> bool {
      uint32_t posted = PostChain(batch_conn, wrs, nb, &post_err);
      if (batch_conn != nullptr) batch_conn->outstanding += posted;
      total_outstanding_ += posted;
      taken += posted;
      bool ok = posted == nb;
      if (ok) bytes += batch_bytes;
      nb = 0;
      batch_bytes = 0;
      return ok;
    };
    uint32_t ud_unit = mtu_bytes_;
    while (taken + nb < count) {
      const uint32_t* d = desc_ + w;
      if (unlikely(w + kMsgWords > desc_words_)) { stop = kStopBadDesc; break; }
      uint32_t ci = d[0], nseg = d[1], wr_id = d[2], flags = d[3];
      if (unlikely(nseg > max_sge_ || w + kMsgWords + size_t(nseg) * kSegWords > desc_words_ || ci >= conns_.size())) {
        stop = kStopBadDesc;
        break;
      }
      Conn* c = conns_[ci].get();
      if (unlikely(c->state != ConnState::kEstablished || (ud_ && c->ah == nullptr))) { stop = kStopNoConn; break; }
      if (c != batch_conn && nb > 0 && !flush()) { stop = kStopPostError; break; }
      batch_conn = c;
      uint32_t in_sq = c->outstanding + nb;
      if (ud_) in_sq = total_outstanding_ + nb;  // one QP for every peer
      if (in_sq >= send_depth_ || total_outstanding_ + nb >= send_cq_cap_) { stop = kStopSqFull; break; }
      ibv_sge* sg = &sges_[size_t(nb) * max_sge_];
      const uint32_t* s = d + kMsgWords;
      uint64_t total = 0;
      bool bad = false;
      for (uint32_t i = 0; i < nseg; i++, s += kSegWords) {
        uint32_t kind = s[0], off = s[1], len = s[2];
        Region* r = kind == 0 ? stage_.get() : (kind - 1 < arenas_.size() ? arenas_[kind - 1].get() : nullptr);
        if (unlikely(r == nullptr || r->mr == nullptr || size_t(off) + len > r->len)) { bad = true; break; }
        sg[i].addr = reinterpret_cast<uint64_t>(r->base) + off;
        sg[i].length = len;
        sg[i].lkey = r->mr->lkey;
        total += len;
      }
      uint64_t limit = ud_ ? ud_unit : std::min<uint64_t>(c->peer_recv_bytes ? c->peer_recv_bytes : recv_bytes_, port_attr_.max_msg_sz);
      if (unlikely(bad || total > limit)) { stop = kStopBadDesc; break; }
      ibv_send_wr& wr = wrs[nb];
      wr = ibv_send_wr{};
      wr.wr_id = wr_id;
      wr.sg_list = sg;
      wr.num_sge = static_cast<int>(nseg);
      wr.opcode = IBV_WR_SEND;
      wr.send_flags = IBV_SEND_SIGNALED;
      if ((flags & kFlagInline) && total <= max_inline_) wr.send_flags |= IBV_SEND_INLINE;
      if (ud_) {
        wr.wr.ud.ah = c->ah;
        wr.wr.ud.remote_qpn = c->remote_qpn;
        wr.wr.ud.remote_qkey = c->remote_qkey;
      }
      if (nb > 0) wrs[nb - 1].next = &wr;
      nb++;
      batch_bytes += total;
      w += kMsgWords + size_t(nseg) * kSegWords;
      if (nb == kPostBatch && !flush()) { stop = kStopPostError; break; }
    }
    if (nb > 0 && !flush() && stop == kStopNone) stop = kStopPostError;
    uint32_t nc = ReapSends();
    ctl_[kCtlCompletions] = static_cast<int32_t>(nc);
    ctl_[kCtlStop] = stop;
    ctl_[kCtlPosted] = static_cast<int32_t>(taken);
    ctl_[kCtlPostedBytes] = static_cast<int32_t>(bytes);
    ctl_[kCtlPostErrno] = post_err;
    return U32(env, taken);
  }

  // rxBurst(): received messages as ArrayBuffers over their receive slots (meta in rxMeta:
  // length, source ip, source port). Failed receive completions are counted and reposted.
  Napi::Value RxBurst(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    Napi::Array out = Napi::Array::New(env);
    if (!open_) return out;
    if (rx_meta_ == nullptr) throw Napi::Error::New(env, "rxBurst before setBuffers");
    ibv_wc wc[kRxBurst];
    int want = static_cast<int>(std::min<size_t>(kRxBurst, rx_meta_cap_));
    int n = ibv_poll_cq(recv_cq_, want, wc);
    uint32_t k = 0;
    for (int i = 0; i < n; i++) {
      uint32_t slot = static_cast<uint32_t>(wc[i].wr_id);
      uint8_t* base = static_cast<uint8_t*>(recv_->region->base) + size_t(slot) * recv_->slot_bytes;
      if (unlikely(wc[i].status != IBV_WC_SUCCESS || wc[i].byte_len < recv_->data_off)) {
        rx_errors_++;
        last_rx_status_ = wc[i].status;
        Repost(recv_.get(), slot);
        continue;
      }
      uint32_t len = wc[i].byte_len - recv_->data_off;
      uint32_t sip = 0, sport = 0;
      Conn* c = nullptr;
      if (ud_) {
        auto it = ud_peer_.find(wc[i].src_qp);
        if (it != ud_peer_.end()) c = it->second;
        if (c != nullptr && c->ah == nullptr)
          c->ah = ibv_create_ah_from_wc(pd_, &wc[i], reinterpret_cast<ibv_grh*>(base), port_num_);
      } else {
        auto it = qp_conn_.find(wc[i].qp_num);
        if (it != qp_conn_.end()) c = it->second;
      }
      if (c != nullptr) {
        sip = c->peer_ip;
        sport = c->peer_port;
      }
      uint8_t* data = base + recv_->data_off;
      RxHandle* h = new RxHandle{recv_, slot, false, env_};
      Napi::ArrayBuffer ab = Napi::ArrayBuffer::New(env, data, len, RxFinalize, h);
      env_->rx[data] = h;
      uint32_t* m = rx_meta_ + k * kRxMetaWords;
      m[0] = len;
      m[1] = sip;
      m[2] = sport;
      out.Set(k++, ab);
    }
    return out;
  }

  Napi::Value RxRelease(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!info[0].IsArrayBuffer()) throw Napi::TypeError::New(env, "rxRelease(arrayBuffer)");
    Napi::ArrayBuffer ab = info[0].As<Napi::ArrayBuffer>();
    auto it = env_->rx.find(ab.Data());
    if (it == env_->rx.end()) return Napi::Boolean::New(env, false);
    RxHandle* h = it->second;
    env_->rx.erase(it);
    h->released = true;
    // detach first: from here on no JavaScript view reaches the slot the SRQ hands out again
    ab.Detach();
    bool reposted = Repost(h->st.get(), h->slot);
    return Napi::Boolean::New(env, reposted);
  }

  Napi::Value Counters(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    Napi::Object o = Napi::Object::New(env);
    o.Set("sendErrors", static_cast<double>(send_errors_));
    o.Set("rxErrors", static_cast<double>(rx_errors_));
    o.Set("lastRxStatus", last_rx_status_ ? ibv_wc_status_str(static_cast<ibv_wc_status>(last_rx_status_)) : "");
    o.Set("cmRejected", static_cast<double>(cm_rejected_));
    o.Set("outstanding", static_cast<double>(total_outstanding_));
    o.Set("repostErrors", static_cast<double>(recv_ ? recv_->repost_errors : 0));
    uint32_t held = 0;
    for (auto& kv : env_->rx) if (kv.second->st == recv_) held++;
    o.Set("rxHeld", held);
    return o;
  }

  Napi::Value Close(const Napi::CallbackInfo& info) {
    Cleanup();
    return info.Env().Undefined();
  }

  bool open_ = false;
  bool ud_ = false;
  uint32_t ip_ = 0;
  uint16_t local_port_ = 0;
  uint8_t port_num_ = 1;
  std::string device_;
  rdma_event_channel* channel_ = nullptr;
  rdma_cm_id* listen_ = nullptr;
  ibv_context* ctx_ = nullptr;
  ibv_device_attr dev_attr_{};
  ibv_port_attr port_attr_{};
  ibv_pd* pd_ = nullptr;
  ibv_cq* send_cq_ = nullptr;
  ibv_cq* recv_cq_ = nullptr;
  ibv_srq* srq_ = nullptr;
  ibv_qp* ud_qp_ = nullptr;
  uint32_t send_depth_ = 256, recv_slots_ = 512, recv_bytes_ = 65536, mtu_bytes_ = 1024;
  uint32_t max_sge_ = 1, max_inline_ = 0, rc_inline_ = 0, send_cq_cap_ = 0;
  uint32_t total_outstanding_ = 0;
  RecvPtr recv_;
  RegionPtr stage_;
  std::vector<RegionPtr> arenas_;
  std::vector<std::unique_ptr<Conn>> conns_;
  std::unordered_map<uint32_t, Conn*> qp_conn_;  // RC: local qp_num -> connection
  std::unordered_map<uint32_t, Conn*> ud_peer_;  // UD: remote qp_num -> peer
  std::vector<ibv_sge> sges_;
  uint64_t send_errors_ = 0, rx_errors_ = 0, cm_rejected_ = 0;
  int last_rx_status_ = 0;
  Napi::ObjectReference refs_[4];
  uint32_t* desc_ = nullptr;
  size_t desc_words_ = 0;
  int32_t* ctl_ = nullptr;
  uint32_t* compl_ = nullptr;
  EnvPtr env_;  // this port's environment (its thread)
  size_t compl_cap_ = 0;
  uint32_t* rx_meta_ = nullptr;
  size_t rx_meta_cap_ = 0;
};

void CloseEnvPorts(void* arg) {
  // this environment is ending (its thread exits): stop its QPs before the memory they read is
  // torn down. Other environments' ports are not touched.
  auto* st = static_cast<EnvPtr*>(arg);
  std::vector<IbvPort*> ports((*st)->ports.begin(), (*st)->ports.end());
  for (IbvPort* p : ports) p->Cleanup();
  delete st;
}

Napi::Value StatusString(const Napi::CallbackInfo& info) {
  return Napi::String::New(info.Env(), ibv_wc_status_str(static_cast<ibv_wc_status>(info[0].As<Napi::Number>().Int32Value())));
}

Napi::Value ListDevices(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Array out = Napi::Array::New(env);
  int n = 0;
  ibv_device** list = ibv_get_device_list(&n);
  if (list == nullptr) return out;
  for (int i = 0; i < n; i++) out.Set(static_cast<uint32_t>(i), ibv_get_device_name(list[i]));
  ibv_free_device_list(list);
  return out;
}

Napi::Object InitModule(Napi::Env env, Napi::Object exports) {
  exports.Set("hasIbverbs", Napi::Boolean::New(env, true));
  exports.Set("IbvPort", IbvPort::Define(env));
  exports.Set("statusString", Napi::Function::New(env, StatusString, "statusString"));
  exports.Set("listDevices", Napi::Function::New(env, ListDevices, "listDevices"));
  EnvPtr st = std::make_shared<EnvState>();
  env.SetInstanceData<EnvPtr>(new EnvPtr(st));
  napi_add_env_cleanup_hook(env, CloseEnvPorts, new EnvPtr(st));
  return exports;
}

}  // namespace
}  // namespace sgwire

static Napi::Object InitIbverbs(Napi::Env env, Napi::Object exports) {
  return sgwire::InitModule(env, exports);
}

NODE_API_MODULE(sgwire_ibverbs, InitIbverbs)
