// The plain C++ ibverbs port (no N-API): device, PD, CQs and SRQ; rdma_cm connections; send posting and completions; receive slots.
//
// The ibverbs backend is a second addon, sgwire_ibverbs.node, built only when pkg-config finds
// libibverbs and librdmacm.
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
//
// The member functions live by concern: device.cc (set-up, registered regions, teardown),
// cm.cc (rdma_cm connections), send.cc (posting, send completions), recv.cc (SRQ slots, receive
// completions); binding.cc is the JavaScript face.
#pragma once
#include "../common/arena.h"
#include "../common/env-state.h"
#include "../common/port-base.h"
#include "../protocol.h"

#include <infiniband/verbs.h>
#include <rdma/rdma_cma.h>

#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#ifndef unlikely
#define unlikely(x) __builtin_expect(!!(x), 0)
#endif

namespace sgwire {
namespace ibverbs {
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

// What a delivered message keeps alive: the receive region and the SRQ to repost its slot to.
struct RecvState {
  RegionPtr region;
  ibv_srq* srq = nullptr;  // nullptr once the port is closed: nothing to repost to
  uint32_t slot_bytes = 0;
  uint32_t data_off = 0;   // kGrhBytes for UD
  uint64_t repost_errors = 0;
};
using RecvPtr = std::shared_ptr<RecvState>;

// Posts receive slot `slot` to the SRQ again; false when the port is closed or the post fails.
bool Repost(RecvState* st, uint32_t slot);

class Port;
struct RxHandle;

// One Node.js environment's ibverbs state (see EnvPorts: its open ports and the received
// buffers JavaScript holds, by data pointer).
struct EnvState : EnvPorts<Port, RxHandle> {};
using EnvPtr = std::shared_ptr<EnvState>;

// A received message lent to JavaScript (common/napi-glue.h, LendHeld).
struct RxHandle {
  RecvPtr recv;
  uint32_t slot;
  bool released;
  EnvPtr env;  // whose rx table lists this buffer
  // reposts the slot to the SRQ; false when that was not possible
  bool Return() { return Repost(recv.get(), slot); }
};

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

// new IbvPort({ ip, port, ud, sendDepth, recvSlots, recvBytes, maxInline, stageBytes, device }),
// checked by the binding.
struct PortConfig {
  uint32_t ip;
  uint32_t port;
  bool ud;
  uint32_t send_depth, recv_slots, recv_bytes, max_inline, stage_bytes;
  std::string device;
};

struct PortInfo {
  std::string device;
  uint32_t port_num;
  bool ud;
  uint32_t local_port, max_sge, max_inline, mtu, max_msg_bytes, recv_bytes, recv_slots, send_depth, send_cq_entries, qpn, stage_bytes;
};

// What cmPoll tells JavaScript about a connection.
struct CmEvent {
  uint32_t conn;
  const char* kind;  // "established" | "accepted" | "failed" | "disconnected"
  uint32_t ip;
  uint32_t port;
  uint32_t recv_bytes;
  std::string message;  // empty: none
};

// A received message: `len` bytes at `data` in receive slot `slot`, from sip:sport.
struct RxMsg {
  uint8_t* data;
  uint32_t len;
  uint32_t slot;
  uint32_t sip, sport;
};

struct Counters {
  uint64_t send_errors, rx_errors;
  int last_rx_status;
  uint64_t cm_rejected, outstanding, repost_errors;
  uint32_t rx_held;
};

// the dotted form of a host-order IPv4 address
std::string IpString(uint32_t ip);
// ibv_wc_status_str for a work completion status
std::string StatusString(int status);
// names of the RDMA devices libibverbs sees
std::vector<std::string> ListDevices();

class Port : public PortBase<EnvState> {
 public:
  ~Port() { Cleanup(); }

  // device.cc
  // Opens the port in environment `st`; throws SysError, having torn down what it made.
  void Open(EnvPtr st, const PortConfig& cfg);
  // Tears everything down in the order verbs requires (QPs, then SRQ and CQs, MRs, PD, ids,
  // channel). Safe to call more than once: close(), environment teardown, GC.
  void Cleanup();
  bool open() const { return open_; }
  PortInfo Info() const;
  const RegionPtr& stage() const { return stage_; }
  // memory registered with ibv_reg_mr on this port's PD, as arena `*id`; throws SysError
  RegionPtr AllocArena(size_t bytes, uint32_t* id);

  // cm.cc
  // Starts connecting to ip:port; returns the connection index (the outcome comes from CmPoll).
  uint32_t Connect(uint32_t ip, uint32_t port);
  // Handles pending rdma_cm events; appends what JavaScript must know.
  void CmPoll(std::vector<CmEvent>* out);

  // send.cc
  void SetBuffers(const SharedWords& w) { words_ = w; }
  // Posts `count` staged messages (fewer if a send queue is full) and reaps send completions;
  // returns how many messages were posted.
  uint32_t Post(uint32_t count);

  // recv.cc
  // Polls the receive CQ (as many as rxMeta holds, at most kRxBurst); failed completions are
  // counted and reposted.
  int RxPoll(RxMsg* out);
  RxHandle* LendRx(const RxMsg& m);
  void WriteRxMeta(uint32_t k, const RxMsg& m);
  Counters GetCounters() const;

 private:
  void OpenDevice(uint32_t want_port, uint32_t want_inline, uint32_t stage_bytes, const std::string& want_dev);
  static void DeregRegion(const RegionPtr& r);
  RegionPtr MapRegion(size_t want, const char* what);
  ibv_qp_init_attr QpAttr(ibv_qp_type type, uint32_t inline_bytes);

  Conn* NewConn();
  PrivData MyPrivData() const;
  static bool ReadPriv(const void* data, uint8_t len, PrivData* out);
  void Report(std::vector<CmEvent>* out, Conn* c, const char* kind, const std::string& message);
  void Fail(Conn* c) { c->state = ConnState::kClosed; }
  void OnConnectRequest(std::vector<CmEvent>* out, rdma_cm_event* ev);

  uint32_t ReapSends();
  uint32_t PostChain(Conn* c, ibv_send_wr* first, uint32_t n, int* err);

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
  ArenaTable<RegionPtr> arenas_;
  std::vector<std::unique_ptr<Conn>> conns_;
  std::unordered_map<uint32_t, Conn*> qp_conn_;  // RC: local qp_num -> connection
  std::unordered_map<uint32_t, Conn*> ud_peer_;  // UD: remote qp_num -> peer
  std::vector<ibv_sge> sges_;
  uint64_t send_errors_ = 0, rx_errors_ = 0, cm_rejected_ = 0;
  int last_rx_status_ = 0;
};

}  // namespace ibverbs
}  // namespace sgwire
