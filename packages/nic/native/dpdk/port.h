// The plain C++ DPDK port (no N-API): one ethdev port, its pools, transmit chains and backlog, receive parser, ARP and peers.
//
// Transmit: JavaScript stages messages into shared memory (descriptor words + staged bytes, see
// src/dpdk/tx-stage.ts) and calls txBurst(n). Per message we build an mbuf chain: the first mbuf
// holds the Ethernet/IPv4/UDP headers followed by copied (scratch) bytes; each referenced
// segment becomes an mbuf attached to registered memory as an external buffer
// (rte_pktmbuf_attach_extbuf), not copied. All external buffers of one message share one
// rte_mbuf_ext_shared_info whose refcnt counts them; when the last is freed (by the driver,
// after transmit) its free callback records the message's token, and JavaScript releases the
// buffers it lent. Chains that tx_burst did not take stay in `backlog_` and are retried first.
//
// Receive: rx_burst mbufs addressed to this port are exposed as external ArrayBuffers over the
// mbuf data (no copy). rxRelease() frees the mbuf and detaches the ArrayBuffer, so JavaScript
// cannot read memory the pool hands to a later packet.
//
// The member functions live by concern: device.cc (set-up, pools, close, counters), tx.cc (chain
// builder, backlog, completions), rx.cc (parser, ARP, peers); binding.cc is the JavaScript face.
#pragma once
#include "eal.h"
#include "../common/port-base.h"
#include "../protocol.h"

#include <rte_ether.h>
#include <rte_ip.h>
#include <rte_mbuf.h>
#include <rte_udp.h>

#include <atomic>
#include <memory>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

namespace sgwire {
namespace dpdk {
// descriptor, metadata and control words shared with src/dpdk/dpdk-port.ts (generated)
using namespace dpdk_protocol;

constexpr uint16_t kTxBurst = 32;
constexpr uint16_t kRxBurst = 32;
constexpr uint32_t kMaxExtbufBytes = 65535;  // buf_len is a uint16_t
constexpr uint32_t kHdrBytes = sizeof(rte_ether_hdr) + sizeof(rte_ipv4_hdr) + sizeof(rte_udp_hdr);  // 42
constexpr uint32_t kShinfoChunk = 4096;
// Tokens name in-flight messages that lent registered memory; JavaScript reuses freed ones. The
// bound keeps a bad token from growing the shinfo table without limit (4 Mi messages in flight).
constexpr uint32_t kMaxTokens = 1u << 22;
constexpr uint32_t kMaxMempoolCache = 256;
constexpr size_t kBacklogMax = 4096;  // built chains waiting for ring space before we stop building more
// what a backlog entry is: counted as the application's message (with or without lent buffers) or not
enum BacklogKind : uint8_t { kBlNoToken = 0, kBlToken = 1, kBlInternal = 2 };

struct TxShinfo {
  rte_mbuf_ext_shared_info info;
  Port* port;
  uint32_t token;
};

// The mempools of one port; shared with receive slots that outlive a closed port.
struct Pools {
  rte_mempool* hdr = nullptr;  // headers and copied bytes
  rte_mempool* ext = nullptr;  // no data room: carriers for external buffers
  rte_mempool* rx = nullptr;
  ~Pools();
};

// A received mbuf lent to JavaScript (common/napi-glue.h, LendHeld).
struct RxSlot {
  rte_mbuf* m;
  std::shared_ptr<Pools> pools;
  bool released;
  EnvPtr env;  // the environment whose rx table lists this slot
  // frees the mbuf (the pool may hand it to a later packet)
  bool Return();
};

// new NativePort(vdev, config): sizes, checked by the binding.
struct PortConfig {
  uint32_t ip;
  uint16_t udp_port;
  uint32_t mbufs;
  uint16_t nb_txd;
  uint16_t nb_rxd;
  uint32_t mtu;
};

// A packet rxBurst accepted: zero copy (`data` over the single mbuf's `data_len` bytes) or a
// chain (`data` nullptr) that GatherRx copies. off/len: the payload; sip/sport: its source.
struct RxPacket {
  rte_mbuf* m;
  void* data;
  uint32_t data_len;
  uint32_t off, len, sip, sport;
};

struct PoolCounts {
  unsigned header, ext, rx;
  uint32_t header_size, ext_size, rx_size;
};

struct PortStats {
  uint64_t ring_full, rx_dropped, rx_copied_bytes, arp_replies, backlog, completions_unreported;
  bool have_eth;  // the device's counters (the port is open)
  uint64_t opackets, ipackets, oerrors, imissed;
};

// Largest MTU a port can be configured with (the binding's range check).
constexpr uint32_t kMaxMtu = 65535 - sizeof(rte_ether_hdr) - RTE_PKTMBUF_HEADROOM;

class Port : public PortBase<EnvState> {
 public:
  ~Port() { Cleanup(); }

  // device.cc
  // Creates (or takes the EAL's) device `spec` ("name,args"), configures and starts it; throws
  // SysError, having undone what it did.
  void Open(EnvPtr st, const std::string& spec, const PortConfig& cfg);
  // Stops and frees the device; safe to call more than once (close(), env teardown, GC).
  void Cleanup();
  bool open() const { return vdev_up_; }
  const std::string& name() const { return name_; }
  uint16_t port_id() const { return port_id_; }
  const std::string& driver() const { return driver_; }
  std::string mac() const;
  uint16_t mtu() const { return mtu_; }
  uint16_t max_segs() const { return max_segs_; }
  bool multi_segs() const { return multi_segs_; }
  bool chains_ok() const { return chains_ok_; }
  uint32_t single_payload() const { return single_payload_; }
  bool PoolCountsNow(PoolCounts* out) const;
  PortStats Stats() const;
  uint64_t RxMissed() const;

  // tx.cc
  void SetBuffers(const SharedWords& w, uint8_t* stage, size_t stage_len);
  // Builds `count` staged messages (fewer if mbufs, peers or backlog room run out), transmits,
  // and reports completions and counters in ctl; returns how many were taken.
  uint32_t TxBurst(uint32_t count);

  // rx.cc
  // Receives a burst (as many as rxMeta holds, at most kRxBurst); returns the packets addressed
  // to this port in `out`. Everything else is counted and freed; ARP is answered.
  uint16_t RxPoll(RxPacket* out);
  RxSlot* LendRx(const RxPacket& p);
  // copies a chain's payload to `dst` and frees it; its payload then starts at 0
  void GatherRx(RxPacket* p, void* dst);
  void WriteRxMeta(uint32_t k, const RxPacket& p);
  // after a burst: sends ARP replies (and data waiting for ring space), reports drops in ctl
  void RxDone();
  // false when `mac` is no MAC address
  bool AddPeer(uint32_t ip, const std::string& mac);
  bool HasPeer(uint32_t ip) const { return peers_.count(ip) != 0; }

 private:
  void CleanupLocked();
  void Configure(uint32_t mbufs, uint16_t nb_txd, uint16_t nb_rxd, uint32_t mtu);

  void OnExtFree(uint32_t token) { completed_.push_back(token); }
  TxShinfo* Shinfo(uint32_t token);
  static void ExtFree(void*, void* opaque);
  StopReason AppendCopy(rte_mbuf* head, rte_mbuf** tailp, bool* tail_direct, const uint8_t* src, uint32_t len);
  StopReason AppendExt(rte_mbuf* head, rte_mbuf** tailp, Arena* a, uint32_t off, uint32_t len, TxShinfo* sh);
  StopReason BuildOne(const uint32_t* d, uint32_t words_left, rte_mbuf** out, bool* has_token, uint32_t* payload_out);
  void FlushBacklog();
  size_t BacklogSize() const { return backlog_.size() - bl_head_; }

  void HandleArp(rte_mbuf* m);
  bool Accept(rte_mbuf* m, uint32_t* off, uint32_t* len, uint32_t* sip, uint32_t* sport);
  bool Drop() {
    rx_dropped_++;
    return false;
  }

  uint32_t single_payload_ = 0;
  std::string name_;
  std::string driver_;
  uint16_t port_id_ = 0;
  bool vdev_up_ = false;
  bool started_ = false;
  bool multi_segs_ = false;
  bool chains_ok_ = false;
  uint16_t max_segs_ = 1;
  uint16_t mtu_ = RTE_ETHER_MTU;
  uint32_t ip_ = 0;
  uint16_t udp_port_ = 0;
  uint16_t ip_id_ = 0;
  rte_ether_addr mac_{};
  std::shared_ptr<Pools> pools_;
  std::unordered_map<uint32_t, rte_ether_addr> peers_;
  std::vector<std::unique_ptr<TxShinfo[]>> shinfo_;
  std::vector<uint32_t> completed_;
  std::vector<rte_mbuf*> backlog_;
  std::vector<uint8_t> bl_kind_;
  std::vector<uint32_t> bl_bytes_;
  size_t bl_head_ = 0;
  uint64_t sent_ = 0, sent_bytes_ = 0, sent_no_token_ = 0;
  uint64_t ring_full_ = 0, rx_dropped_ = 0, rx_copied_bytes_ = 0, arp_replies_ = 0;
  uint8_t* stage_ = nullptr;
  size_t stage_len_ = 0;
};

}  // namespace dpdk
}  // namespace sgwire
