// DPDK receive: the Ethernet/IPv4/UDP parser, ARP (answers and learned peers), and received mbufs lent to JavaScript.
#include "port.h"

#include <rte_arp.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>

#include <algorithm>
#include <cstring>

namespace sgwire {
namespace dpdk {

bool RxSlot::Return() {
  rte_pktmbuf_free(m);
  m = nullptr;
  pools.reset();
  return true;
}

// Answers ARP requests for our address; learns the sender either way.
void Port::HandleArp(rte_mbuf* m) {
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

// rxBurst(): packets addressed to this port, for ArrayBuffers (meta in rxMeta: payload offset,
// payload length, source IPv4, source UDP port). Everything else is counted and freed.
uint16_t Port::RxPoll(RxPacket* out) {
  rte_mbuf* pkts[kRxBurst];
  uint16_t want = static_cast<uint16_t>(std::min<size_t>(kRxBurst, words_.rx_meta_cap));
  uint16_t n = rte_eth_rx_burst(port_id_, 0, pkts, want);
  uint16_t k = 0;
  for (uint16_t i = 0; i < n; i++) {
    rte_mbuf* m = pkts[i];
    RxPacket& p = out[k];
    if (!Accept(m, &p.off, &p.len, &p.sip, &p.sport)) {
      rte_pktmbuf_free(m);
      continue;
    }
    p.m = m;
    if (m->nb_segs == 1) {
      // zero copy: the view covers the mbuf's data; the mbuf is freed on rxRelease or GC
      p.data = rte_pktmbuf_mtod(m, void*);
      p.data_len = m->data_len;
    } else {
      // a chain (net_ring hands our own TX chains back): gathered into JS memory once (GatherRx)
      p.data = nullptr;
      p.data_len = 0;
    }
    k++;
  }
  return k;
}

RxSlot* Port::LendRx(const RxPacket& p) {
  return new RxSlot{p.m, pools_, false, env_};
}

void Port::GatherRx(RxPacket* p, void* dst) {
  const void* src = rte_pktmbuf_read(p->m, p->off, p->len, dst);
  if (src != dst) memcpy(dst, src, p->len);
  rx_copied_bytes_ += p->len;
  rte_pktmbuf_free(p->m);
  p->m = nullptr;
  p->off = 0;
}

void Port::WriteRxMeta(uint32_t k, const RxPacket& p) {
  uint32_t* meta = RxMetaAt(words_, k, kRxMetaWords);
  meta[0] = p.off;
  meta[1] = p.len;
  meta[2] = p.sip;
  meta[3] = p.sport;
}

void Port::RxDone() {
  if (!backlog_.empty()) FlushBacklog();  // ARP replies (and data waiting for ring space)
  SetCtl(words_.ctl, kCtlRxDropped, rx_dropped_);
}

// Checks Ethernet/IPv4/UDP addressing; learns the sender's MAC.
bool Port::Accept(rte_mbuf* m, uint32_t* off, uint32_t* len, uint32_t* sip, uint32_t* sport) {
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

bool Port::AddPeer(uint32_t ip, const std::string& mac) {
  rte_ether_addr a;
  if (rte_ether_unformat_addr(mac.c_str(), &a) != 0) return false;
  peers_[ip] = a;
  return true;
}

}  // namespace dpdk
}  // namespace sgwire
