// ibverbs transmit: staged messages posted as chained send WRs (SGEs over the staging region and arenas), send completions reaped into the shared words.
#include "port.h"

#include <algorithm>

namespace sgwire {
namespace ibverbs {

// Reaps send completions into the completion words as (wr_id, status) pairs.
uint32_t Port::ReapSends() {
  uint32_t n = 0;
  ibv_wc wc[32];
  uint32_t* compl_buf = words_.compl_buf;
  while (n < words_.compl_cap) {
    int want = static_cast<int>(std::min<uint32_t>(32, words_.compl_cap - n));
    int got = ibv_poll_cq(send_cq_, want, wc);
    if (got <= 0) break;
    for (int i = 0; i < got; i++) {
      compl_buf[2 * n] = static_cast<uint32_t>(wc[i].wr_id);
      compl_buf[2 * n + 1] = wc[i].status;
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
uint32_t Port::PostChain(Conn* c, ibv_send_wr* first, uint32_t n, int* err) {
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
uint32_t Port::Post(uint32_t count) {
  const uint32_t* desc = words_.desc;
  const size_t desc_words = words_.desc_words;
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
    const uint32_t* d = desc + w;
    if (unlikely(w + kMsgWords > desc_words)) { stop = kStopBadDesc; break; }
    uint32_t ci = d[0], nseg = d[1], wr_id = d[2], flags = d[3];
    if (unlikely(nseg > max_sge_ || w + kMsgWords + size_t(nseg) * kSegWords > desc_words || ci >= conns_.size())) {
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
      Region* r = kind == 0 ? stage_.get() : arenas_.Find(kind - 1);
      if (unlikely(r == nullptr || r->mr == nullptr || !InBounds(r->len, off, len))) { bad = true; break; }
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
  int32_t* ctl = words_.ctl;
  SetCtl(ctl, kCtlCompletions, nc);
  SetCtl(ctl, kCtlStop, stop);
  SetCtl(ctl, kCtlPosted, taken);
  SetCtl(ctl, kCtlPostedBytes, bytes);
  SetCtl(ctl, kCtlPostErrno, post_err);
  return taken;
}

}  // namespace ibverbs
}  // namespace sgwire
