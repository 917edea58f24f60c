// DPDK transmit: the mbuf chain builder (AppendCopy, AppendExt, BuildOne), the backlog, and completion tokens handed back in the shared words.
#include "port.h"

#include <rte_ethdev.h>
#include <rte_mbuf.h>

#include <algorithm>

namespace sgwire {
namespace dpdk {

void Port::SetBuffers(const SharedWords& w, uint8_t* stage, size_t stage_len) {
  words_ = w;
  stage_ = stage;
  stage_len_ = stage_len;
}

TxShinfo* Port::Shinfo(uint32_t token) {
  uint32_t c = token / kShinfoChunk;
  while (shinfo_.size() <= c) {
    auto chunk = std::make_unique<TxShinfo[]>(kShinfoChunk);
    uint32_t base = static_cast<uint32_t>(shinfo_.size()) * kShinfoChunk;
    for (uint32_t i = 0; i < kShinfoChunk; i++) {
      chunk[i].info.free_cb = &Port::ExtFree;
      chunk[i].info.fcb_opaque = &chunk[i];
      rte_mbuf_ext_refcnt_set(&chunk[i].info, 0);
      chunk[i].port = this;
      chunk[i].token = base + i;
    }
    shinfo_.push_back(std::move(chunk));
  }
  return &shinfo_[c][token % kShinfoChunk];
}

void Port::ExtFree(void*, void* opaque) {
  TxShinfo* s = static_cast<TxShinfo*>(opaque);
  s->port->OnExtFree(s->token);
}

namespace {

// Appends `n` mbufs worth of chain bookkeeping.
inline void Chain(rte_mbuf* head, rte_mbuf*& tail, rte_mbuf* m) {
  tail->next = m;
  tail = m;
  head->nb_segs++;
}

}  // namespace

// Copies `len` bytes to the end of the chain: into the tail mbuf while it is a direct one
// with room, else into new mbufs. (Kept out of BuildOne: with `len` live across the loop GCC
// spilled it through a vector register, and the reloads stalled on store forwarding.)
StopReason Port::AppendCopy(rte_mbuf* head, rte_mbuf** tailp, bool* tail_direct, const uint8_t* src, uint32_t len) {
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
StopReason Port::AppendExt(rte_mbuf* head, rte_mbuf** tailp, Arena* a, uint32_t off, uint32_t len, TxShinfo* sh) {
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
StopReason Port::BuildOne(const uint32_t* d, uint32_t words_left, rte_mbuf** out, bool* has_token, uint32_t* payload_out) {
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
      if (unlikely(!InBounds(stage_len_, off, len))) goto bad;
      r = AppendCopy(head, &tail, &tail_direct, stage_ + off, len);
    } else {
      Arena* a = ArenaById(env_.get(), kind - 1);
      // memory with no IOVA (EAL not in VA mode) is never attached: a device could not read it
      if (unlikely(!chains_ok_ || a == nullptr || sh == nullptr || a->iova == RTE_BAD_IOVA || !InBounds(a->len, off, len))) goto bad;
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
void Port::FlushBacklog() {
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

// txBurst(count): builds `count` staged messages (fewer if mbufs, peers or backlog room run
// out), transmits, and reports completions and counters in ctl. count 0 only retries the
// backlog and reaps completions.
uint32_t Port::TxBurst(uint32_t count) {
  StopReason stop = kStopNone;
  FlushBacklog();
  uint32_t taken = 0;
  size_t w = 0;
  uint32_t* desc = words_.desc;
  while (taken < count) {
    if (BacklogSize() >= kBacklogMax) {
      stop = kStopBacklog;
      break;
    }
    rte_mbuf* m;
    bool has_token;
    uint32_t payload;
    stop = BuildOne(desc + w, static_cast<uint32_t>(words_.desc_words - w), &m, &has_token, &payload);
    if (stop != kStopNone) break;
    backlog_.push_back(m);
    bl_kind_.push_back(has_token ? kBlToken : kBlNoToken);
    bl_bytes_.push_back(payload);
    w += kMsgWords + desc[w + 2] * kSegWords;
    taken++;
    if (BacklogSize() >= kTxBurst) FlushBacklog();
  }
  FlushBacklog();
  if (count == 0) rte_eth_tx_done_cleanup(port_id_, 0, 0);  // drivers that free lazily (af_xdp) complete here
  // hand completions to JavaScript (what does not fit waits for the next call)
  size_t nc = DrainCompletions(completed_, words_.compl_buf, words_.compl_cap);
  int32_t* ctl = words_.ctl;
  SetCtl(ctl, kCtlCompletions, nc);
  SetCtl(ctl, kCtlBacklog, BacklogSize());
  SetCtl(ctl, kCtlStop, stop);
  SetCtl(ctl, kCtlSent, sent_);
  SetCtl(ctl, kCtlSentBytes, sent_bytes_);
  SetCtl(ctl, kCtlSentNoToken, sent_no_token_);
  SetCtl(ctl, kCtlUnreported, completed_.size());
  SetCtl(ctl, kCtlRxDropped, rx_dropped_);
  // reported: counting starts again (rxBurst may transmit backlog between two txBurst calls)
  sent_ = 0;
  sent_bytes_ = 0;
  sent_no_token_ = 0;
  return taken;
}

}  // namespace dpdk
}  // namespace sgwire
