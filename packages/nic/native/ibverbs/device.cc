// ibverbs device set-up and teardown: the rdma_cm listening id, PD, CQs, SRQ and QPs, registered regions (ibv_reg_mr), port info.
#include "port.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <sys/mman.h>

#include <algorithm>

namespace sgwire {
namespace ibverbs {

std::string IpString(uint32_t ip) {
  char b[INET_ADDRSTRLEN];
  in_addr a{htonl(ip)};
  inet_ntop(AF_INET, &a, b, sizeof b);
  return b;
}

void Port::Open(EnvPtr st, const PortConfig& cfg) {
  ip_ = cfg.ip;
  ud_ = cfg.ud;
  send_depth_ = cfg.send_depth;
  recv_slots_ = cfg.recv_slots;
  recv_bytes_ = cfg.recv_bytes;
  env_ = std::move(st);
  try {
    OpenDevice(cfg.port, cfg.max_inline, cfg.stage_bytes, cfg.device);
  } catch (...) {
    Cleanup();
    throw;
  }
  env_->ports.insert(this);
}

// Tears everything down in the order verbs requires (QPs, then SRQ and CQs, MRs, PD, ids,
// channel). Safe to call more than once: close(), environment teardown, GC.
void Port::Cleanup() {
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
  arenas_.Clear();
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

void Port::DeregRegion(const RegionPtr& r) {
  if (r && r->mr != nullptr) {
    ibv_dereg_mr(r->mr);
    r->mr = nullptr;
  }
}

void Port::OpenDevice(uint32_t want_port, uint32_t want_inline, uint32_t stage_bytes, const std::string& want_dev) {
  channel_ = rdma_create_event_channel();
  if (channel_ == nullptr) {
    int err = errno;
    ThrowErrno("rdma_create_event_channel (is the rdma_ucm kernel module loaded: /dev/infiniband/rdma_cm?)", err);
  }
  int fl = fcntl(channel_->fd, F_GETFL);
  fcntl(channel_->fd, F_SETFL, fl | O_NONBLOCK);
  if (rdma_create_id(channel_, &listen_, this, ud_ ? RDMA_PS_UDP : RDMA_PS_TCP) != 0)
    ThrowErrno("rdma_create_id", errno);
  sockaddr_in sin{};
  sin.sin_family = AF_INET;
  sin.sin_addr.s_addr = htonl(ip_);
  sin.sin_port = htons(static_cast<uint16_t>(want_port));
  if (rdma_bind_addr(listen_, reinterpret_cast<sockaddr*>(&sin)) != 0) {
    int err = errno;
    ThrowErrno("rdma_bind_addr(" + IpString(ip_) + ":" + std::to_string(want_port) +
                              "): no RDMA device has this address, or the port is taken", err);
  }
  if (listen_->verbs == nullptr)
    ThrowFailure("rdma_bind_addr(" + IpString(ip_) + "): the address is not on an RDMA device (no rxe/RoCE link on its interface?)");
  ctx_ = listen_->verbs;
  device_ = ibv_get_device_name(ctx_->device);
  if (!want_dev.empty() && want_dev != device_)
    ThrowFailure("address " + IpString(ip_) + " is on RDMA device " + device_ + ", not " + want_dev);
  port_num_ = listen_->port_num;
  local_port_ = ntohs(rdma_get_src_port(listen_));
  if (ibv_query_device(ctx_, &dev_attr_) != 0) ThrowErrno("ibv_query_device", errno);
  if (ibv_query_port(ctx_, port_num_, &port_attr_) != 0) ThrowErrno("ibv_query_port", errno);
  pd_ = ibv_alloc_pd(ctx_);
  if (pd_ == nullptr) ThrowErrno("ibv_alloc_pd", errno);
  int scq = std::min(kSendCqEntries, dev_attr_.max_cqe);
  send_cq_ = ibv_create_cq(ctx_, scq, nullptr, nullptr, 0);
  if (send_cq_ == nullptr) ThrowErrno("ibv_create_cq(send, " + std::to_string(scq) + ")", errno);
  send_cq_cap_ = static_cast<uint32_t>(scq);
  recv_slots_ = std::min<uint32_t>(recv_slots_, static_cast<uint32_t>(std::min(dev_attr_.max_srq_wr, dev_attr_.max_cqe)));
  recv_cq_ = ibv_create_cq(ctx_, static_cast<int>(recv_slots_), nullptr, nullptr, 0);
  if (recv_cq_ == nullptr) ThrowErrno("ibv_create_cq(recv, " + std::to_string(recv_slots_) + ")", errno);
  ibv_srq_init_attr sa{};
  sa.attr.max_wr = recv_slots_;
  sa.attr.max_sge = 1;
  srq_ = ibv_create_srq(pd_, &sa);
  if (srq_ == nullptr) ThrowErrno("ibv_create_srq(" + std::to_string(recv_slots_) + ")", errno);

  mtu_bytes_ = 128u << port_attr_.active_mtu;  // IBV_MTU_256 = 1 ... IBV_MTU_4096 = 5
  if (ud_) recv_bytes_ = mtu_bytes_;
  max_sge_ = static_cast<uint32_t>(std::min(dev_attr_.max_sge, 64));
  send_depth_ = std::min<uint32_t>(send_depth_, static_cast<uint32_t>(dev_attr_.max_qp_wr));

  recv_ = std::make_shared<RecvState>();
  recv_->data_off = ud_ ? kGrhBytes : 0;
  recv_->slot_bytes = recv_bytes_ + recv_->data_off;
  recv_->region = MapRegion(size_t(recv_->slot_bytes) * recv_slots_, "receive buffers");
  recv_->srq = srq_;
  for (uint32_t s = 0; s < recv_slots_; s++)
    if (!Repost(recv_.get(), s)) ThrowErrno("ibv_post_srq_recv", errno ? errno : EINVAL);
  stage_ = MapRegion(stage_bytes, "staging buffer");

  if (ud_) {
    // the port's one UD QP, made on the listening id so rdma_cm sets its P_Key and Q_Key
    ibv_qp_init_attr qa = QpAttr(IBV_QPT_UD, want_inline);
    if (rdma_create_qp(listen_, pd_, &qa) != 0) {
      qa = QpAttr(IBV_QPT_UD, 0);
      if (rdma_create_qp(listen_, pd_, &qa) != 0) ThrowErrno("rdma_create_qp(UD)", errno);
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
    if (probe == nullptr) ThrowErrno("ibv_create_qp(RC probe)", errno);
    max_inline_ = qa.cap.max_inline_data;
    max_sge_ = qa.cap.max_send_sge;
    rc_inline_ = max_inline_;
    ibv_destroy_qp(probe);
  }
  if (rdma_listen(listen_, 16) != 0) ThrowErrno("rdma_listen", errno);
  sges_.resize(size_t(kPostBatch) * max_sge_);
  open_ = true;
}

ibv_qp_init_attr Port::QpAttr(ibv_qp_type type, uint32_t inline_bytes) {
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

RegionPtr Port::MapRegion(size_t want, const char* what) {
  ibv_mr* mr = nullptr;
  Mapping m = MapRegistered(want, kPage, false, what, [&](void* p, size_t len) {
    mr = ibv_reg_mr(pd_, p, len, IBV_ACCESS_LOCAL_WRITE);
    if (mr == nullptr) {
      int err = errno;
      ThrowErrno(std::string(what) + ": ibv_reg_mr of " + std::to_string(len) +
                     " bytes failed (RLIMIT_MEMLOCK? `ulimit -l`)", err ? err : ENOMEM);
    }
  });
  auto r = std::make_shared<Region>();
  r->base = m.base;
  r->len = m.len;
  r->mr = mr;
  return r;
}

RegionPtr Port::AllocArena(size_t bytes, uint32_t* id) {
  RegionPtr r = MapRegion(bytes, "allocArena");
  *id = arenas_.Add(r);
  return r;
}

PortInfo Port::Info() const {
  PortInfo i;
  i.device = device_;
  i.port_num = port_num_;
  i.ud = ud_;
  i.local_port = local_port_;
  i.max_sge = max_sge_;
  i.max_inline = max_inline_;
  i.mtu = mtu_bytes_;
  i.max_msg_bytes = port_attr_.max_msg_sz;
  i.recv_bytes = recv_bytes_;
  i.recv_slots = recv_slots_;
  i.send_depth = send_depth_;
  i.send_cq_entries = send_cq_cap_;
  i.qpn = ud_qp_ != nullptr ? ud_qp_->qp_num : 0;
  i.stage_bytes = stage_ ? static_cast<uint32_t>(stage_->len) : 0;
  return i;
}

std::string StatusString(int status) {
  return ibv_wc_status_str(static_cast<ibv_wc_status>(status));
}

std::vector<std::string> ListDevices() {
  std::vector<std::string> out;
  int n = 0;
  ibv_device** list = ibv_get_device_list(&n);
  if (list == nullptr) return out;
  for (int i = 0; i < n; i++) out.push_back(ibv_get_device_name(list[i]));
  ibv_free_device_list(list);
  return out;
}

}  // namespace ibverbs
}  // namespace sgwire
