// DPDK device and pools: creating, configuring and starting a port's device and mempools, closing it, and its counters.
#include "port.h"

#include <rte_bus_vdev.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_mempool.h>

#include <algorithm>
#include <atomic>
#include <mutex>
#include <unordered_set>

namespace sgwire {
namespace dpdk {
namespace {

// Process-wide (under DeviceMutex): ethdev ports open in any environment (a device is opened once).
std::unordered_set<uint16_t> g_ports_by_id;
std::atomic<uint32_t> g_pool_seq{0};  // mempool names are process-wide

// Mempool per-lcore cache: rte_mempool_create refuses (EINVAL) a cache whose flush threshold
// (1.5 x size) exceeds the pool, so small pools get a small cache, or none.
uint32_t CacheFor(uint32_t n) {
  return std::min<uint32_t>(kMaxMempoolCache, static_cast<uint32_t>(uint64_t(n) * 2 / 3));
}

}  // namespace

Pools::~Pools() {
  rte_mempool_free(hdr);
  rte_mempool_free(ext);
  rte_mempool_free(rx);
}

void Port::Open(EnvPtr st, const std::string& spec, const PortConfig& cfg) {
  env_ = std::move(st);
  ip_ = cfg.ip;
  udp_port_ = cfg.udp_port;
  std::lock_guard<std::mutex> lock(DeviceMutex());

  size_t comma = spec.find(',');
  name_ = spec.substr(0, comma);
  std::string args = comma == std::string::npos ? "" : spec.substr(comma + 1);
  // a device the EAL already created (--vdev in eal.extraArgs) is used as it is; closing the
  // port removes it like one we created, so a later open makes it anew
  uint16_t existing;
  bool created_by_eal = rte_eth_dev_get_port_by_name(name_.c_str(), &existing) == 0;
  if (created_by_eal && g_ports_by_id.count(existing) != 0) {
    ThrowFailure("DPDK device \"" + name_ + "\" is already open in this process");
  }
  int rc = created_by_eal ? 0 : rte_vdev_init(name_.c_str(), args.c_str());
  if (rc != 0) {
    int err = rc < -1 ? -rc : rte_errno;
    ThrowErrno("cannot create DPDK device \"" + spec + "\" (rte_vdev_init; is the driver name right and " +
                   "installed, and the interface there?)", err ? err : EINVAL);
  }
  vdev_up_ = true;
  if (rte_eth_dev_get_port_by_name(name_.c_str(), &port_id_) != 0) {
    CleanupLocked();
    ThrowFailure("device \"" + name_ + "\" was created but is not an ethdev (not a net_ driver?)");
  }
  try {
    Configure(cfg.mbufs, cfg.nb_txd, cfg.nb_rxd, cfg.mtu);
  } catch (...) {
    CleanupLocked();
    throw;
  }
  env_->ports.insert(this);
  g_ports_by_id.insert(port_id_);
}

void Port::Cleanup() {
  if (!vdev_up_ && !started_) {
    CleanupLocked();
    return;
  }
  std::lock_guard<std::mutex> lock(DeviceMutex());
  CleanupLocked();
}

void Port::CleanupLocked() {
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
  if (env_) env_->ports.erase(this);
}

void Port::Configure(uint32_t mbufs, uint16_t nb_txd, uint16_t nb_rxd, uint32_t mtu) {
  rte_eth_dev_info di;
  int rc = rte_eth_dev_info_get(port_id_, &di);
  if (rc != 0) ThrowErrno("rte_eth_dev_info_get", -rc);
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
      ThrowErrno("rte_pktmbuf_pool_create(" + n + ", " + std::to_string(mbufs) + " mbufs of " + std::to_string(room) +
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
  if (rc != 0) ThrowErrno("rte_eth_dev_configure", -rc);
  rc = rte_eth_dev_adjust_nb_rx_tx_desc(port_id_, &nb_rxd, &nb_txd);
  if (rc != 0) ThrowErrno("rte_eth_dev_adjust_nb_rx_tx_desc", -rc);
  rc = rte_eth_rx_queue_setup(port_id_, 0, nb_rxd, socket, nullptr, pools_->rx);
  if (rc != 0) ThrowErrno("rte_eth_rx_queue_setup", -rc);
  rte_eth_txconf txc = di.default_txconf;
  txc.offloads = conf.txmode.offloads;
  rc = rte_eth_tx_queue_setup(port_id_, 0, nb_txd, socket, &txc);
  if (rc != 0) ThrowErrno("rte_eth_tx_queue_setup", -rc);
  if (mtu != 0) {
    rc = rte_eth_dev_set_mtu(port_id_, static_cast<uint16_t>(mtu));
    if (rc != 0) ThrowErrno("rte_eth_dev_set_mtu(" + std::to_string(mtu) + ")", -rc);
  }
  rc = rte_eth_dev_start(port_id_);
  if (rc != 0) ThrowErrno("rte_eth_dev_start", -rc);
  started_ = true;
  if (rte_eth_dev_get_mtu(port_id_, &mtu_) != 0) mtu_ = RTE_ETHER_MTU;
  rte_eth_macaddr_get(port_id_, &mac_);
  if (di.device != nullptr) DmaMapArenas(env_.get(), di.device);
}

std::string Port::mac() const {
  char buf[RTE_ETHER_ADDR_FMT_SIZE];
  rte_ether_format_addr(buf, sizeof buf, &mac_);
  return buf;
}

bool Port::PoolCountsNow(PoolCounts* out) const {
  if (!pools_) return false;
  out->header = rte_mempool_avail_count(pools_->hdr);
  out->ext = rte_mempool_avail_count(pools_->ext);
  out->rx = rte_mempool_avail_count(pools_->rx);
  out->header_size = pools_->hdr->size;
  out->ext_size = pools_->ext->size;
  out->rx_size = pools_->rx->size;
  return true;
}

PortStats Port::Stats() const {
  PortStats s{ring_full_, rx_dropped_, rx_copied_bytes_, arp_replies_, BacklogSize(), completed_.size(), false, 0, 0, 0, 0};
  rte_eth_stats st;
  if (vdev_up_ && rte_eth_stats_get(port_id_, &st) == 0) {
    s.have_eth = true;
    s.opackets = st.opackets;
    s.ipackets = st.ipackets;
    s.oerrors = st.oerrors;
    s.imissed = st.imissed;
  }
  return s;
}

// frames the device could not receive (no descriptor or no mbuf free: imissed + rx_nombuf), as
// the driver counts them; 0 when the port is closed
uint64_t Port::RxMissed() const {
  rte_eth_stats st;
  if (!vdev_up_ || rte_eth_stats_get(port_id_, &st) != 0) return 0;
  return st.imissed + st.rx_nombuf;
}

}  // namespace dpdk
}  // namespace sgwire
