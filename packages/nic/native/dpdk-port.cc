// One DPDK ethdev port driven from JavaScript.
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
#include "common.h"
#include "dpdk-eal.h"
#include "protocol.h"

#include <rte_arp.h>
#include <rte_bus_vdev.h>
#include <rte_errno.h>
#include <rte_ether.h>
#include <rte_ethdev.h>
#include <rte_ip.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>
#include <rte_udp.h>

#include <algorithm>
#include <atomic>
#include <memory>
#include <unordered_map>
#include <unordered_set>
#include <vector>

namespace sgwire {
namespace {
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
  NativePort* port;
  uint32_t token;
};

// The mempools of one port; shared with receive slots that outlive a closed port.
struct Pools {
  rte_mempool* hdr = nullptr;  // headers and copied bytes
  rte_mempool* ext = nullptr;  // no data room: carriers for external buffers
  rte_mempool* rx = nullptr;
  ~Pools() {
    rte_mempool_free(hdr);
    rte_mempool_free(ext);
    rte_mempool_free(rx);
  }
};

}  // namespace

struct RxSlot {
  rte_mbuf* m;
  std::shared_ptr<Pools> pools;
  bool released;
  EnvPtr st;  // the environment whose rx_slots table lists this slot
};

namespace {

// Process-wide (under DeviceMutex): ethdev ports open in any environment (a device is opened once).
std::unordered_set<uint16_t> g_ports_by_id;
std::atomic<uint32_t> g_pool_seq{0};  // mempool names are process-wide

void RxFinalize(Napi::Env, void* data, RxSlot* slot) {
  // the ArrayBuffer is gone; if the application never released it, free the mbuf now
  if (!slot->released) {
    slot->st->rx_slots.erase(data);
    rte_pktmbuf_free(slot->m);
  }
  delete slot;
}

// Mempool per-lcore cache: rte_mempool_create refuses (EINVAL) a cache whose flush threshold
// (1.5 x size) exceeds the pool, so small pools get a small cache, or none.
uint32_t CacheFor(uint32_t n) {
  return std::min<uint32_t>(kMaxMempoolCache, static_cast<uint32_t>(uint64_t(n) * 2 / 3));
}

}  // namespace

class NativePort : public Napi::ObjectWrap<NativePort> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "NativePort",
                       {
                           InstanceMethod<&NativePort::Info>("info"),
                           InstanceMethod<&NativePort::SetBuffers>("setBuffers"),
                           InstanceMethod<&NativePort::TxBurst>("txBurst"),
                           InstanceMethod<&NativePort::RxBurst>("rxBurst"),
                           InstanceMethod<&NativePort::RxRelease>("rxRelease"),
                           InstanceMethod<&NativePort::AddPeer>("addPeer"),
                           InstanceMethod<&NativePort::HasPeer>("hasPeer"),
                           InstanceMethod<&NativePort::PoolCounts>("poolCounts"),
                           InstanceMethod<&NativePort::Xstats>("xstats"),
                           InstanceMethod<&NativePort::RxMissed>("rxMissed"),
                           InstanceMethod<&NativePort::Close>("close"),
                       });
  }

  NativePort(const Napi::CallbackInfo& info) : Napi::ObjectWrap<NativePort>(info) {
    Napi::Env env = info.Env();
    st_ = GetEnv(env);
    if (!info[0].IsString() || !info[1].IsObject()) throw Napi::TypeError::New(env, "NativePort(vdev, config)");
    std::string spec = info[0].As<Napi::String>().Utf8Value();
    Napi::Object cfg = info[1].As<Napi::Object>();
    // sizes come from JavaScript: checked here again, never trusted
    auto num = [&](const char* k, double lo, double hi) -> uint32_t {
      Napi::Value v = cfg.Get(k);
      if (!v.IsNumber()) throw Napi::TypeError::New(env, std::string("NativePort config: ") + k + " must be a number");
      double d = v.As<Napi::Number>().DoubleValue();
      if (!(d >= lo && d <= hi) || d != static_cast<double>(static_cast<uint64_t>(d)))
        throw Napi::RangeError::New(env, std::string("NativePort config: ") + k + " must be an integer " + std::to_string(uint64_t(lo)) + ".." + std::to_string(uint64_t(hi)));
      return static_cast<uint32_t>(d);
    };
    ip_ = num("ip", 0, UINT32_MAX);
    udp_port_ = static_cast<uint16_t>(num("udpPort", 0, 65535));
    uint32_t mbufs = num("mbufs", 1, 1u << 20);
    uint16_t nb_txd = static_cast<uint16_t>(num("txDescriptors", 1, 32768));
    uint16_t nb_rxd = static_cast<uint16_t>(num("rxDescriptors", 1, 32768));
    uint32_t mtu = num("mtu", 0, 65535 - sizeof(rte_ether_hdr) - RTE_PKTMBUF_HEADROOM);
    std::lock_guard<std::mutex> lock(DeviceMutex());

    size_t comma = spec.find(',');
    name_ = spec.substr(0, comma);
    std::string args = comma == std::string::npos ? "" : spec.substr(comma + 1);
    // a device the EAL already created (--vdev in eal.extraArgs) is used as it is; closing the
    // port removes it like one we created, so a later open makes it anew
    uint16_t existing;
    bool created_by_eal = rte_eth_dev_get_port_by_name(name_.c_str(), &existing) == 0;
    if (created_by_eal && g_ports_by_id.count(existing) != 0) {
      throw Napi::Error::New(env, "DPDK device \"" + name_ + "\" is already open in this process");
    }
    int rc = created_by_eal ? 0 : rte_vdev_init(name_.c_str(), args.c_str());
    if (rc != 0) {
      int err = rc < -1 ? -rc : rte_errno;
      throw ErrnoError(env, "cannot create DPDK device \"" + spec + "\" (rte_vdev_init; is the driver name right and " +
                                "installed, and the interface there?)", err ? err : EINVAL);
    }
    vdev_up_ = true;
    if (rte_eth_dev_get_port_by_name(name_.c_str(), &port_id_) != 0) {
      CleanupLocked();
      throw Napi::Error::New(env, "device \"" + name_ + "\" was created but is not an ethdev (not a net_ driver?)");
    }
    try {
      Configure(env, mbufs, nb_txd, nb_rxd, mtu);
    } catch (...) {
      CleanupLocked();
      throw;
    }
    st_->ports.insert(this);
    g_ports_by_id.insert(port_id_);
  }

  ~NativePort() override { Cleanup(); }

  // Stops and frees the device; safe to call more than once (close(), env teardown, GC).
  void Cleanup() {
    if (!vdev_up_ && !started_) {
      CleanupLocked();
      return;
    }
    std::lock_guard<std::mutex> lock(DeviceMutex());
    CleanupLocked();
  }

  void CleanupLocked() {
    if (started_) {
      rte_eth_dev_stop(port_id_);
      started_ = false;
    }
    for (size_t i = bl_head_; i < backlog_.size(); i++) rte_pktmbuf_free(backlog_[i]);
    backlog_.clear();
    bl_head_ = 0;
    if (vdev_up_) {
      rte_eth_dev_close(port_id_);
      rte_vdev_uninit(name_.c_str());
      g_ports_by_id.erase(port_id_);
      vdev_up_ = false;
    }
    pools_.reset();
    if (st_) st_->ports.erase(this);
  }

  void OnExtFree(uint32_t token) { completed_.push_back(token); }

 private:
  void Configure(Napi::Env env, uint32_t mbufs, uint16_t nb_txd, uint16_t nb_rxd, uint32_t mtu) {
    rte_eth_dev_info di;
    int rc = rte_eth_dev_info_get(port_id_, &di);
    if (rc != 0) throw ErrnoError(env, "rte_eth_dev_info_get", -rc);
    driver_ = di.driver_name ? di.driver_name : name_;
    multi_segs_ = (di.tx_offload_capa & RTE_ETH_TX_OFFLOAD_MULTI_SEGS) != 0;
    // Chains are safe on drivers that advertise MULTI_SEGS, and on the two that never read
    // packet data: net_null frees what it is given, net_ring passes mbuf pointers along.
    // Others (net_af_xdp in 22.11 copies pkt_len bytes from the first segment only) get
    // single-mbuf packets: everything is copied.
    chains_ok_ = multi_segs_ || driver_ == "net_null" || driver_ == "net_ring";
    uint16_t seg_max = di.tx_desc_lim.nb_seg_max ? di.tx_desc_lim.nb_seg_max : UINT16_MAX;
    uint16_t mtu_seg = di.tx_desc_lim.nb_mtu_seg_max ? di.tx_desc_lim.nb_mtu_seg_max : UINT16_MAX;
    max_segs_ = std::min(seg_max, mtu_seg);

    int socket = rte_eth_dev_socket_id(port_id_);
    if (socket < 0) socket = static_cast<int>(rte_socket_id());
    pools_ = std::make_shared<Pools>();
    uint32_t seq = g_pool_seq.fetch_add(1);
    uint32_t cache = CacheFor(mbufs);
    auto mk = [&](const char* tag, uint16_t room) {
      std::string n = std::string("sgw_") + tag + std::to_string(seq);
      rte_mempool* mp = rte_pktmbuf_pool_create(n.c_str(), mbufs, cache, 0, room, socket);
      if (mp == nullptr) {
        throw ErrnoError(env, "rte_pktmbuf_pool_create(" + n + ", " + std::to_string(mbufs) + " mbufs of " + std::to_string(room) +
                                  " bytes, cache " + std::to_string(cache) + ")", rte_errno);
      }
      return mp;
    };
    // a frame of the requested MTU fits one mbuf: received frames stay single mbufs (zero copy)
    // and drivers that take no chains can send up to the MTU
    uint32_t frame = mtu == 0 ? 0 : mtu + sizeof(rte_ether_hdr);
    uint16_t room = static_cast<uint16_t>(std::max<uint32_t>(RTE_MBUF_DEFAULT_BUF_SIZE, RTE_PKTMBUF_HEADROOM + frame));
    pools_->hdr = mk("h", room);
    pools_->ext = mk("x", 0);
    pools_->rx = mk("r", room);
    single_payload_ = room - RTE_PKTMBUF_HEADROOM - kHdrBytes;

    rte_eth_conf conf{};
    if (multi_segs_) conf.txmode.offloads |= RTE_ETH_TX_OFFLOAD_MULTI_SEGS;
    rc = rte_eth_dev_configure(port_id_, 1, 1, &conf);
    if (rc != 0) throw ErrnoError(env, "rte_eth_dev_configure", -rc);
    rc = rte_eth_dev_adjust_nb_rx_tx_desc(port_id_, &nb_rxd, &nb_txd);
    if (rc != 0) throw ErrnoError(env, "rte_eth_dev_adjust_nb_rx_tx_desc", -rc);
    rc = rte_eth_rx_queue_setup(port_id_, 0, nb_rxd, socket, nullptr, pools_->rx);
    if (rc != 0) throw ErrnoError(env, "rte_eth_rx_queue_setup", -rc);
    rte_eth_txconf txc = di.default_txconf;
    txc.offloads = conf.txmode.offloads;
    rc = rte_eth_tx_queue_setup(port_id_, 0, nb_txd, socket, &txc);
    if (rc != 0) throw ErrnoError(env, "rte_eth_tx_queue_setup", -rc);
    if (mtu != 0) {
      rc = rte_eth_dev_set_mtu(port_id_, static_cast<uint16_t>(mtu));
      if (rc != 0) throw ErrnoError(env, "rte_eth_dev_set_mtu(" + std::to_string(mtu) + ")", -rc);
    }
    rc = rte_eth_dev_start(port_id_);
    if (rc != 0) throw ErrnoError(env, "rte_eth_dev_start", -rc);
    started_ = true;
    if (rte_eth_dev_get_mtu(port_id_, &mtu_) != 0) mtu_ = RTE_ETHER_MTU;
    rte_eth_macaddr_get(port_id_, &mac_);
    if (di.device != nullptr) DmaMapArenas(st_.get(), di.device);
  }

  static std::string MacString(const rte_ether_addr& a) {
    char buf[RTE_ETHER_ADDR_FMT_SIZE];
    rte_ether_format_addr(buf, sizeof buf, &a);
    return buf;
  }

  void CheckOpen(Napi::Env env) {
    if (!vdev_up_) throw Napi::Error::New(env, "DPDK port \"" + name_ + "\" is closed");
  }

  Napi::Value Info(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    Napi::Object o = Napi::Object::New(env);
    o.Set("portId", port_id_);
    o.Set("driver", driver_);
    o.Set("mac", MacString(mac_));
    o.Set("mtu", mtu_);
    o.Set("maxSegments", max_segs_);
    o.Set("multiSegs", multi_segs_);
    o.Set("chains", chains_ok_);
    o.Set("maxSinglePayload", single_payload_);
    o.Set("maxTokens", kMaxTokens);
    return o;
  }

  Napi::Value SetBuffers(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (info.Length() < 5 || !info[0].IsTypedArray() || !info[1].IsTypedArray() || !info[2].IsTypedArray() ||
        !info[3].IsTypedArray() || !info[4].IsTypedArray())
      throw Napi::TypeError::New(env, "setBuffers(desc, stage, ctl, completions, rxMeta)");
    auto desc = info[0].As<Napi::Uint32Array>();
    auto stage = info[1].As<Napi::Uint8Array>();
    auto ctl = info[2].As<Napi::Int32Array>();
    auto compl_ = info[3].As<Napi::Uint32Array>();
    auto rxm = info[4].As<Napi::Uint32Array>();
    if (ctl.ElementLength() < kCtlWords) throw Napi::RangeError::New(env, "setBuffers: ctl needs 8 words");
    // hold the arrays so their memory stays put while we keep raw pointers
    refs_[0] = Napi::Persistent(info[0].As<Napi::Object>());
    refs_[1] = Napi::Persistent(info[1].As<Napi::Object>());
    refs_[2] = Napi::Persistent(info[2].As<Napi::Object>());
    refs_[3] = Napi::Persistent(info[3].As<Napi::Object>());
    refs_[4] = Napi::Persistent(info[4].As<Napi::Object>());
    desc_ = desc.Data();
    desc_words_ = desc.ElementLength();
    stage_ = stage.Data();
    stage_len_ = stage.ElementLength();
    ctl_ = ctl.Data();
    compl_buf_ = compl_.Data();
    compl_cap_ = compl_.ElementLength();
    rx_meta_ = rxm.Data();
    rx_meta_cap_ = rxm.ElementLength() / kRxMetaWords;
    return env.Undefined();
  }

  TxShinfo* Shinfo(uint32_t token) {
    uint32_t c = token / kShinfoChunk;
    while (shinfo_.size() <= c) {
      auto chunk = std::make_unique<TxShinfo[]>(kShinfoChunk);
      uint32_t base = static_cast<uint32_t>(shinfo_.size()) * kShinfoChunk;
      for (uint32_t i = 0; i < kShinfoChunk; i++) {
        chunk[i].info.free_cb = &NativePort::ExtFree;
        chunk[i].info.fcb_opaque = &chunk[i];
        rte_mbuf_ext_refcnt_set(&chunk[i].info, 0);
        chunk[i].port = this;
        chunk[i].token = base + i;
      }
      shinfo_.push_back(std::move(chunk));
    }
    return &shinfo_[c][token % kShinfoChunk];
  }

  static void ExtFree(void*, void* opaque) {
    TxShinfo* s = static_cast<TxShinfo*>(opaque);
    s->port->OnExtFree(s->token);
  }

  // Appends `n` mbufs worth of chain bookkeeping.
  static inline void Chain(rte_mbuf* head, rte_mbuf*& tail, rte_mbuf* m) {
    tail->next = m;
    tail = m;
    head->nb_segs++;
  }

  // Copies `len` bytes to the end of the chain: into the tail mbuf while it is a direct one
  // with room, else into new mbufs. (Kept out of BuildOne: with `len` live across the loop GCC
  // spilled it through a vector register, and the reloads stalled on store forwarding.)
  StopReason AppendCopy(rte_mbuf* head, rte_mbuf** tailp, bool* tail_direct, const uint8_t* src, uint32_t len) {
    rte_mbuf* tail = *tailp;
    while (len > 0) {
      uint32_t room = *tail_direct ? rte_pktmbuf_tailroom(tail) : 0;
      if (room == 0) {
        if (unlikely(!chains_ok_)) return kStopBadDesc;  // JavaScript keeps such messages within one mbuf
        rte_mbuf* m = rte_pktmbuf_alloc(pools_->hdr);
        if (unlikely(m == nullptr)) return kStopNoMbuf;
        Chain(head, tail, m);
        *tailp = tail;
        *tail_direct = true;
        room = rte_pktmbuf_tailroom(tail);
      }
      uint32_t n = len < room ? len : room;
      rte_memcpy(rte_pktmbuf_mtod_offset(tail, uint8_t*, tail->data_len), src, n);
      tail->data_len = static_cast<uint16_t>(tail->data_len + n);
      head->pkt_len += n;
      src += n;
      len -= n;
    }
    return kStopNone;
  }

  // Attaches [off, off+len) of arena `a` as external buffers (at most 65535 bytes each), all
  // sharing the message's shinfo: one reference per attached mbuf.
  StopReason AppendExt(rte_mbuf* head, rte_mbuf** tailp, Arena* a, uint32_t off, uint32_t len, TxShinfo* sh) {
    rte_mbuf* tail = *tailp;
    uint8_t* p = static_cast<uint8_t*>(a->base) + off;
    uint64_t iova = a->iova == RTE_BAD_IOVA ? RTE_BAD_IOVA : a->iova + off;
    while (len > 0) {
      uint32_t n = len < kMaxExtbufBytes ? len : kMaxExtbufBytes;
      rte_mbuf* m = rte_pktmbuf_alloc(pools_->ext);
      if (unlikely(m == nullptr)) return kStopNoMbuf;
      rte_mbuf_ext_refcnt_update(&sh->info, 1);
      rte_pktmbuf_attach_extbuf(m, p, iova, static_cast<uint16_t>(n), &sh->info);
      m->data_len = static_cast<uint16_t>(n);
      Chain(head, tail, m);
      *tailp = tail;
      head->pkt_len += n;
      p += n;
      if (iova != RTE_BAD_IOVA) iova += n;
      len -= n;
    }
    return kStopNone;
  }

  // Builds the chain for the message whose descriptor starts at `d`. On failure nothing is
  // sent, nothing is completed, and the message stays staged for a later try.
  StopReason BuildOne(const uint32_t* d, uint32_t words_left, rte_mbuf** out, bool* has_token, uint32_t* payload_out) {
    // descriptors come from JavaScript: every size and index is checked before use
    if (unlikely(words_left < kMsgWords)) return kStopBadDesc;
    uint32_t dst_ip = d[0], dst_port = d[1], nseg = d[2], token = d[3];
    if (unlikely(kMsgWords + uint64_t(nseg) * kSegWords > words_left || dst_port > 65535)) return kStopBadDesc;
    if (unlikely(token != kNoToken && token >= kMaxTokens)) return kStopBadDesc;
    auto peer = peers_.find(dst_ip);
    if (unlikely(peer == peers_.end())) return kStopNoPeer;
    rte_mbuf* head = rte_pktmbuf_alloc(pools_->hdr);
    if (unlikely(head == nullptr)) return kStopNoMbuf;
    head->data_len = kHdrBytes;
    head->pkt_len = kHdrBytes;
    TxShinfo* sh = nullptr;
    if (token != kNoToken) {
      sh = Shinfo(token);
      // the build holds one reference so a failure half way cannot complete the message
      rte_mbuf_ext_refcnt_set(&sh->info, 1);
    }
    rte_mbuf* tail = head;
    bool tail_direct = true;
    const uint32_t* s = d + kMsgWords;
    for (uint32_t i = 0; i < nseg; i++, s += kSegWords) {
      uint32_t kind = s[0], off = s[1], len = s[2];
      StopReason r;
      if (kind == 0) {
        if (unlikely(static_cast<size_t>(off) + len > stage_len_)) goto bad;
        r = AppendCopy(head, &tail, &tail_direct, stage_ + off, len);
      } else {
        Arena* a = ArenaById(st_.get(), kind - 1);
        // memory with no IOVA (EAL not in VA mode) is never attached: a device could not read it
        if (unlikely(!chains_ok_ || a == nullptr || sh == nullptr || a->iova == RTE_BAD_IOVA || static_cast<size_t>(off) + len > a->len)) goto bad;
        r = AppendExt(head, &tail, a, off, len, sh);
        tail_direct = false;
      }
      if (unlikely(r != kStopNone)) {
        if (r == kStopNoMbuf) goto nombuf;
        goto bad;
      }
    }
    if (unlikely(head->pkt_len - kHdrBytes + 28 > mtu_ || (multi_segs_ && head->nb_segs > max_segs_))) goto bad;
    {
      uint32_t payload = head->pkt_len - kHdrBytes;
      auto* eth = rte_pktmbuf_mtod(head, rte_ether_hdr*);
      eth->dst_addr = peer->second;
      eth->src_addr = mac_;
      eth->ether_type = rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4);
      auto* ip = reinterpret_cast<rte_ipv4_hdr*>(eth + 1);
      ip->version_ihl = RTE_IPV4_VHL_DEF;
      ip->type_of_service = 0;
      ip->total_length = rte_cpu_to_be_16(static_cast<uint16_t>(sizeof(rte_ipv4_hdr) + sizeof(rte_udp_hdr) + payload));
      ip->packet_id = rte_cpu_to_be_16(ip_id_++);
      ip->fragment_offset = rte_cpu_to_be_16(RTE_IPV4_HDR_DF_FLAG);
      ip->time_to_live = 64;
      ip->next_proto_id = IPPROTO_UDP;
      ip->src_addr = rte_cpu_to_be_32(ip_);
      ip->dst_addr = rte_cpu_to_be_32(dst_ip);
      ip->hdr_checksum = 0;
      ip->hdr_checksum = rte_ipv4_cksum(ip);
      auto* udp = reinterpret_cast<rte_udp_hdr*>(ip + 1);
      udp->src_port = rte_cpu_to_be_16(udp_port_);
      udp->dst_port = rte_cpu_to_be_16(static_cast<uint16_t>(dst_port));
      udp->dgram_len = rte_cpu_to_be_16(static_cast<uint16_t>(sizeof(rte_udp_hdr) + payload));
      udp->dgram_cksum = 0;  // optional over IPv4; a NIC offload would fill it
      head->l2_len = sizeof(rte_ether_hdr);
      head->l3_len = sizeof(rte_ipv4_hdr);
      *payload_out = payload;
    }
    if (sh != nullptr) {
      // drop the build reference; the attached mbufs hold the rest
      if (rte_mbuf_ext_refcnt_update(&sh->info, -1) == 0) OnExtFree(token);
    }
    *has_token = sh != nullptr;
    *out = head;
    return kStopNone;
  nombuf:
    rte_pktmbuf_free(head);
    if (sh != nullptr) rte_mbuf_ext_refcnt_set(&sh->info, 0);
    return kStopNoMbuf;
  bad:
    rte_pktmbuf_free(head);
    if (sh != nullptr) rte_mbuf_ext_refcnt_set(&sh->info, 0);
    return kStopBadDesc;
  }

  // Offers the backlog to the device in bursts; what it does not take stays, in order.
  void FlushBacklog() {
    while (bl_head_ < backlog_.size()) {
      uint16_t n = static_cast<uint16_t>(std::min<size_t>(kTxBurst, backlog_.size() - bl_head_));
      uint16_t sent = rte_eth_tx_burst(port_id_, 0, &backlog_[bl_head_], n);
      for (uint16_t i = 0; i < sent; i++) {
        uint8_t kind = bl_kind_[bl_head_ + i];
        if (kind == kBlInternal) continue;  // our ARP replies: not the application's messages
        sent_++;
        sent_bytes_ += bl_bytes_[bl_head_ + i];
        if (kind == kBlNoToken) sent_no_token_++;
      }
      bl_head_ += sent;
      if (sent < n) {
        ring_full_++;
        break;
      }
    }
    if (bl_head_ == backlog_.size()) {
      backlog_.clear();
      bl_kind_.clear();
      bl_bytes_.clear();
      bl_head_ = 0;
    } else if (bl_head_ > 1024) {
      backlog_.erase(backlog_.begin(), backlog_.begin() + bl_head_);
      bl_kind_.erase(bl_kind_.begin(), bl_kind_.begin() + bl_head_);
      bl_bytes_.erase(bl_bytes_.begin(), bl_bytes_.begin() + bl_head_);
      bl_head_ = 0;
    }
  }

  size_t BacklogSize() const { return backlog_.size() - bl_head_; }

  // txBurst(count): builds `count` staged messages (fewer if mbufs, peers or backlog room run
  // out), transmits, and reports completions and counters in ctl. count 0 only retries the
  // backlog and reaps completions.
  Napi::Value TxBurst(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    CheckOpen(env);
    if (desc_ == nullptr) throw Napi::Error::New(env, "txBurst before setBuffers");
    if (!info[0].IsNumber()) throw Napi::TypeError::New(env, "txBurst(count): count must be a number");
    uint32_t count = info[0].As<Napi::Number>().Uint32Value();
    StopReason stop = kStopNone;
    FlushBacklog();
    uint32_t taken = 0;
    size_t w = 0;
    while (taken < count) {
      if (BacklogSize() >= kBacklogMax) {
        stop = kStopBacklog;
        break;
      }
      rte_mbuf* m;
      bool has_token;
      uint32_t payload;
      stop = BuildOne(desc_ + w, static_cast<uint32_t>(desc_words_ - w), &m, &has_token, &payload);
      if (stop != kStopNone) break;
      backlog_.push_back(m);
      bl_kind_.push_back(has_token ? kBlToken : kBlNoToken);
      bl_bytes_.push_back(payload);
      w += kMsgWords + desc_[w + 2] * kSegWords;
      taken++;
      if (BacklogSize() >= kTxBurst) FlushBacklog();
    }
    FlushBacklog();
    if (count == 0) rte_eth_tx_done_cleanup(port_id_, 0, 0);  // drivers that free lazily (af_xdp) complete here
    // hand completions to JavaScript (what does not fit waits for the next call)
    size_t nc = std::min(completed_.size(), compl_cap_);
    std::copy(completed_.begin(), completed_.begin() + nc, compl_buf_);
    completed_.erase(completed_.begin(), completed_.begin() + nc);
    ctl_[kCtlCompletions] = static_cast<int32_t>(nc);
    ctl_[kCtlBacklog] = static_cast<int32_t>(BacklogSize());
    ctl_[kCtlStop] = stop;
    ctl_[kCtlSent] = static_cast<int32_t>(sent_);
    ctl_[kCtlSentBytes] = static_cast<int32_t>(sent_bytes_);
    ctl_[kCtlSentNoToken] = static_cast<int32_t>(sent_no_token_);
    ctl_[kCtlUnreported] = static_cast<int32_t>(completed_.size());
    ctl_[kCtlRxDropped] = static_cast<int32_t>(rx_dropped_);
    // reported: counting starts again (rxBurst may transmit backlog between two txBurst calls)
    sent_ = 0;
    sent_bytes_ = 0;
    sent_no_token_ = 0;
    return Napi::Number::New(env, taken);
  }

  // Answers ARP requests for our address; learns the sender either way.
  void HandleArp(rte_mbuf* m) {
    if (m->data_len < sizeof(rte_ether_hdr) + sizeof(rte_arp_hdr)) return;
    auto* eth = rte_pktmbuf_mtod(m, rte_ether_hdr*);
    auto* arp = reinterpret_cast<rte_arp_hdr*>(eth + 1);
    if (arp->arp_hardware != rte_cpu_to_be_16(RTE_ARP_HRD_ETHER) || arp->arp_protocol != rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4)) return;
    uint32_t sip = rte_be_to_cpu_32(arp->arp_data.arp_sip);
    uint32_t tip = rte_be_to_cpu_32(arp->arp_data.arp_tip);
    if (sip != 0) peers_[sip] = arp->arp_data.arp_sha;
    if (arp->arp_opcode != rte_cpu_to_be_16(RTE_ARP_OP_REQUEST) || tip != ip_) return;
    rte_mbuf* r = rte_pktmbuf_alloc(pools_->hdr);
    if (r == nullptr) return;
    uint16_t len = sizeof(rte_ether_hdr) + sizeof(rte_arp_hdr);
    r->data_len = len;
    r->pkt_len = len;
    auto* reth = rte_pktmbuf_mtod(r, rte_ether_hdr*);
    reth->dst_addr = eth->src_addr;
    reth->src_addr = mac_;
    reth->ether_type = rte_cpu_to_be_16(RTE_ETHER_TYPE_ARP);
    auto* rarp = reinterpret_cast<rte_arp_hdr*>(reth + 1);
    rarp->arp_hardware = rte_cpu_to_be_16(RTE_ARP_HRD_ETHER);
    rarp->arp_protocol = rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4);
    rarp->arp_hlen = RTE_ETHER_ADDR_LEN;
    rarp->arp_plen = 4;
    rarp->arp_opcode = rte_cpu_to_be_16(RTE_ARP_OP_REPLY);
    rarp->arp_data.arp_sha = mac_;
    rarp->arp_data.arp_sip = rte_cpu_to_be_32(ip_);
    rarp->arp_data.arp_tha = arp->arp_data.arp_sha;
    rarp->arp_data.arp_tip = arp->arp_data.arp_sip;
    // replies go behind queued data so ordering of data packets is unchanged
    backlog_.push_back(r);
    bl_kind_.push_back(kBlInternal);
    bl_bytes_.push_back(0);
    arp_replies_++;
  }

  // rxBurst(): packets addressed to this port, as ArrayBuffers (meta in rxMeta: payload offset,
  // payload length, source IPv4, source UDP port). Everything else is counted and freed.
  Napi::Value RxBurst(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    CheckOpen(env);
    if (rx_meta_ == nullptr) throw Napi::Error::New(env, "rxBurst before setBuffers");
    rte_mbuf* pkts[kRxBurst];
    uint16_t want = static_cast<uint16_t>(std::min<size_t>(kRxBurst, rx_meta_cap_));
    uint16_t n = rte_eth_rx_burst(port_id_, 0, pkts, want);
    Napi::Array out = Napi::Array::New(env);
    uint32_t k = 0;
    for (uint16_t i = 0; i < n; i++) {
      rte_mbuf* m = pkts[i];
      uint32_t off, len, sip, sport;
      if (!Accept(m, &off, &len, &sip, &sport)) {
        rte_pktmbuf_free(m);
        continue;
      }
      Napi::ArrayBuffer ab;
      if (m->nb_segs == 1) {
        // zero copy: the view covers the mbuf's data; the mbuf is freed on rxRelease or GC
        RxSlot* slot = new RxSlot{m, pools_, false, st_};
        void* data = rte_pktmbuf_mtod(m, void*);
        ab = Napi::ArrayBuffer::New(env, data, m->data_len, RxFinalize, slot);
        st_->rx_slots[data] = slot;
      } else {
        // a chain (net_ring hands our own TX chains back): gather it into JS memory once
        ab = Napi::ArrayBuffer::New(env, len);
        const void* p = rte_pktmbuf_read(m, off, len, ab.Data());
        if (p != ab.Data()) memcpy(ab.Data(), p, len);
        rx_copied_bytes_ += len;
        rte_pktmbuf_free(m);
        off = 0;
      }
      uint32_t* meta = rx_meta_ + k * kRxMetaWords;
      meta[0] = off;
      meta[1] = len;
      meta[2] = sip;
      meta[3] = sport;
      out.Set(k++, ab);
    }
    if (!backlog_.empty()) FlushBacklog();  // ARP replies (and data waiting for ring space)
    ctl_[kCtlRxDropped] = static_cast<int32_t>(rx_dropped_);
    return out;
  }

  // Checks Ethernet/IPv4/UDP addressing; learns the sender's MAC.
  bool Accept(rte_mbuf* m, uint32_t* off, uint32_t* len, uint32_t* sip, uint32_t* sport) {
    if (unlikely(m->data_len < sizeof(rte_ether_hdr))) return Drop();
    auto* eth = rte_pktmbuf_mtod(m, rte_ether_hdr*);
    uint16_t et = rte_be_to_cpu_16(eth->ether_type);
    if (et == RTE_ETHER_TYPE_ARP) {
      HandleArp(m);
      return false;
    }
    if (et != RTE_ETHER_TYPE_IPV4 || m->data_len < kHdrBytes) return Drop();
    auto* ip = reinterpret_cast<rte_ipv4_hdr*>(eth + 1);
    if ((ip->version_ihl >> 4) != 4) return Drop();
    uint32_t ihl = (ip->version_ihl & 0x0f) * 4u;
    if (ihl < sizeof(rte_ipv4_hdr) || ip->next_proto_id != IPPROTO_UDP) return Drop();
    if (rte_be_to_cpu_32(ip->dst_addr) != ip_) return Drop();
    // fragments (MF set or an offset) are not reassembled
    if ((rte_be_to_cpu_16(ip->fragment_offset) & (RTE_IPV4_HDR_MF_FLAG | RTE_IPV4_HDR_OFFSET_MASK)) != 0) return Drop();
    uint32_t l4 = sizeof(rte_ether_hdr) + ihl;
    uint32_t ip_total = rte_be_to_cpu_16(ip->total_length);
    if (m->data_len < l4 + sizeof(rte_udp_hdr) || ip_total < ihl + sizeof(rte_udp_hdr) ||
        sizeof(rte_ether_hdr) + ip_total > m->pkt_len)
      return Drop();
    auto* udp = rte_pktmbuf_mtod_offset(m, rte_udp_hdr*, l4);
    if (rte_be_to_cpu_16(udp->dst_port) != udp_port_) return Drop();
    uint32_t ulen = rte_be_to_cpu_16(udp->dgram_len);
    if (ulen < sizeof(rte_udp_hdr) || ulen > ip_total - ihl) return Drop();
    *sip = rte_be_to_cpu_32(ip->src_addr);
    *sport = rte_be_to_cpu_16(udp->src_port);
    *off = l4 + sizeof(rte_udp_hdr);
    *len = ulen - sizeof(rte_udp_hdr);
    peers_[*sip] = eth->src_addr;
    return true;
  }

  bool Drop() {
    rx_dropped_++;
    return false;
  }

  Napi::Value RxRelease(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!info[0].IsArrayBuffer()) throw Napi::TypeError::New(env, "rxRelease(arrayBuffer)");
    Napi::ArrayBuffer ab = info[0].As<Napi::ArrayBuffer>();
    auto it = st_->rx_slots.find(ab.Data());
    if (it == st_->rx_slots.end()) return Napi::Boolean::New(env, false);  // a copied chain: JS memory
    RxSlot* slot = it->second;
    st_->rx_slots.erase(it);
    slot->released = true;
    // detach first: from here on no JavaScript view can reach the mbuf the pool will reuse
    ab.Detach();
    rte_pktmbuf_free(slot->m);
    slot->m = nullptr;
    slot->pools.reset();
    return Napi::Boolean::New(env, true);
  }

  Napi::Value AddPeer(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!info[0].IsNumber() || !info[1].IsString()) throw Napi::TypeError::New(env, "addPeer(ip, mac)");
    uint32_t ip = info[0].As<Napi::Number>().Uint32Value();
    std::string s = info[1].As<Napi::String>().Utf8Value();
    rte_ether_addr a;
    if (rte_ether_unformat_addr(s.c_str(), &a) != 0) throw Napi::RangeError::New(env, "addPeer: bad MAC address " + s);
    peers_[ip] = a;
    return env.Undefined();
  }

  Napi::Value HasPeer(const Napi::CallbackInfo& info) {
    if (!info[0].IsNumber()) throw Napi::TypeError::New(info.Env(), "hasPeer(ip)");
    return Napi::Boolean::New(info.Env(), peers_.count(info[0].As<Napi::Number>().Uint32Value()) != 0);
  }

  Napi::Value PoolCounts(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    Napi::Object o = Napi::Object::New(env);
    if (pools_) {
      o.Set("header", rte_mempool_avail_count(pools_->hdr));
      o.Set("ext", rte_mempool_avail_count(pools_->ext));
      o.Set("rx", rte_mempool_avail_count(pools_->rx));
      o.Set("headerSize", pools_->hdr->size);
      o.Set("extSize", pools_->ext->size);
      o.Set("rxSize", pools_->rx->size);
    }
    return o;
  }

  Napi::Value Xstats(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    Napi::Object o = Napi::Object::New(env);
    o.Set("txRingFull", static_cast<double>(ring_full_));
    o.Set("rxDropped", static_cast<double>(rx_dropped_));
    o.Set("rxCopiedBytes", static_cast<double>(rx_copied_bytes_));
    o.Set("arpReplies", static_cast<double>(arp_replies_));
    o.Set("backlog", static_cast<double>(BacklogSize()));
    o.Set("completionsUnreported", static_cast<double>(completed_.size()));
    rte_eth_stats st;
    if (vdev_up_ && rte_eth_stats_get(port_id_, &st) == 0) {
      o.Set("opackets", static_cast<double>(st.opackets));
      o.Set("ipackets", static_cast<double>(st.ipackets));
      o.Set("oerrors", static_cast<double>(st.oerrors));
      o.Set("imissed", static_cast<double>(st.imissed));
    }
    return o;
  }

  // rxMissed(): frames the device could not receive (no descriptor or no mbuf free: imissed +
  // rx_nombuf), as the driver counts them; 0 when the port is closed.
  Napi::Value RxMissed(const Napi::CallbackInfo& info) {
    rte_eth_stats st;
    if (!vdev_up_ || rte_eth_stats_get(port_id_, &st) != 0) return Napi::Number::New(info.Env(), 0);
    return Napi::Number::New(info.Env(), static_cast<double>(st.imissed + st.rx_nombuf));
  }

  Napi::Value Close(const Napi::CallbackInfo& info) {
    Cleanup();
    return info.Env().Undefined();
  }

  EnvPtr st_;
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
  Napi::ObjectReference refs_[5];
  uint32_t* desc_ = nullptr;
  size_t desc_words_ = 0;
  uint8_t* stage_ = nullptr;
  size_t stage_len_ = 0;
  int32_t* ctl_ = nullptr;
  uint32_t* compl_buf_ = nullptr;
  size_t compl_cap_ = 0;
  uint32_t* rx_meta_ = nullptr;
  size_t rx_meta_cap_ = 0;
};

namespace {

void StopEnvPorts(void* arg) {
  // this environment is ending (its thread exits): stop its devices so no driver keeps reading
  // memory being torn down. Other environments' ports are not touched.
  auto* st = static_cast<EnvPtr*>(arg);
  std::vector<NativePort*> ports((*st)->ports.begin(), (*st)->ports.end());
  for (NativePort* p : ports) p->Cleanup();
  delete st;
}

}  // namespace

void InitPort(Napi::Env env, Napi::Object exports) {
  exports.Set("NativePort", NativePort::Define(env));
  napi_add_env_cleanup_hook(env, StopEnvPorts, new EnvPtr(GetEnv(env)));
}

}  // namespace sgwire
