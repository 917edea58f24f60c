// ibverbs receive: SRQ slots of one registered region, receive completions, and slots lent to JavaScript until released.
#include "port.h"

#include <algorithm>

namespace sgwire {
namespace ibverbs {

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

// rxBurst(): received messages for ArrayBuffers over their receive slots (meta in rxMeta:
// length, source ip, source port). Failed receive completions are counted and reposted.
int Port::RxPoll(RxMsg* out) {
  ibv_wc wc[kRxBurst];
  int want = static_cast<int>(std::min<size_t>(kRxBurst, words_.rx_meta_cap));
  int n = ibv_poll_cq(recv_cq_, want, wc);
  int k = 0;
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
    out[k++] = RxMsg{base + recv_->data_off, len, slot, sip, sport};
  }
  return k;
}

RxHandle* Port::LendRx(const RxMsg& m) {
  return new RxHandle{recv_, m.slot, false, env_};
}

void Port::WriteRxMeta(uint32_t k, const RxMsg& msg) {
  uint32_t* m = RxMetaAt(words_, k, kRxMetaWords);
  m[0] = msg.len;
  m[1] = msg.sip;
  m[2] = msg.sport;
}

Counters Port::GetCounters() const {
  uint32_t held = 0;
  for (auto& kv : env_->rx) if (kv.second->recv == recv_) held++;
  return Counters{send_errors_, rx_errors_, last_rx_status_, cm_rejected_, total_outstanding_, recv_ ? recv_->repost_errors : 0, held};
}

}  // namespace ibverbs
}  // namespace sgwire
