// ibverbs connection handling (rdma_cm): connecting, accepting, and the events cmPoll reports.
#include "port.h"

#include <arpa/inet.h>

#include <cstring>
#include <string>

namespace sgwire {
namespace ibverbs {

Conn* Port::NewConn() {
  auto c = std::make_unique<Conn>();
  c->index = static_cast<uint32_t>(conns_.size());
  Conn* p = c.get();
  conns_.push_back(std::move(c));
  return p;
}

PrivData Port::MyPrivData() const {
  PrivData pd{};
  pd.magic = kMagic;
  pd.port = local_port_;
  pd.transport = ud_ ? 1 : 0;
  pd.recv_bytes = recv_bytes_;
  pd.qpn = ud_qp_ != nullptr ? ud_qp_->qp_num : 0;
  return pd;
}

// connect(ip, port) -> connection index; progress and the outcome arrive through cmPoll().
uint32_t Port::Connect(uint32_t ip, uint32_t port) {
  Conn* c = NewConn();
  c->peer_ip = ip;
  c->peer_port = static_cast<uint16_t>(port);
  if (rdma_create_id(channel_, &c->id, c, ud_ ? RDMA_PS_UDP : RDMA_PS_TCP) != 0) {
    c->state = ConnState::kClosed;
    ThrowErrno("rdma_create_id", errno);
  }
  sockaddr_in src{}, dst{};
  src.sin_family = dst.sin_family = AF_INET;
  src.sin_addr.s_addr = htonl(ip_);
  dst.sin_addr.s_addr = htonl(ip);
  dst.sin_port = htons(static_cast<uint16_t>(port));
  if (rdma_resolve_addr(c->id, reinterpret_cast<sockaddr*>(&src), reinterpret_cast<sockaddr*>(&dst), kResolveMs) != 0) {
    int err = errno;
    c->state = ConnState::kClosed;
    ThrowErrno("rdma_resolve_addr(" + IpString(ip) + ")", err);
  }
  return c->index;
}

bool Port::ReadPriv(const void* data, uint8_t len, PrivData* out) {
  if (data == nullptr || len < sizeof(PrivData)) return false;
  memcpy(out, data, sizeof(PrivData));
  return out->magic == kMagic;
}

void Port::Report(std::vector<CmEvent>* out, Conn* c, const char* kind, const std::string& message) {
  out->push_back(CmEvent{c->index, kind, c->peer_ip, c->peer_port, c->peer_recv_bytes, message});
}

// cmPoll(): handles pending rdma_cm events; appends what JavaScript must know
// ({ conn, kind: "established" | "accepted" | "failed" | "disconnected", ip, port, message }).
void Port::CmPoll(std::vector<CmEvent>* out) {
  if (!open_) return;
  rdma_cm_event* ev;
  while (rdma_get_cm_event(channel_, &ev) == 0) {
    rdma_cm_id* id = ev->id;
    rdma_cm_event_type type = ev->event;
    int status = ev->status;
    std::string what = std::string(rdma_event_str(type)) + " (status " + std::to_string(status) + ")";
    if (type == RDMA_CM_EVENT_CONNECT_REQUEST) {
      OnConnectRequest(out, ev);
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
          Report(out, c, "failed", std::string("rdma_resolve_route: ") + strerror(errno));
        }
        break;
      case RDMA_CM_EVENT_ROUTE_RESOLVED: {
        if (!ud_) {
          ibv_qp_init_attr qa = QpAttr(IBV_QPT_RC, rc_inline_);
          if (rdma_create_qp(id, pd_, &qa) != 0) {
            Fail(c);
            Report(out, c, "failed", std::string("rdma_create_qp: ") + strerror(errno));
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
          Report(out, c, "failed", std::string("rdma_connect: ") + strerror(errno));
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
            Report(out, c, "failed", std::string("ibv_create_ah: ") + strerror(errno));
            break;
          }
          c->remote_qpn = ud.qp_num;
          c->remote_qkey = ud.qkey;
          ud_peer_[c->remote_qpn] = c;
        }
        if (have_pd) c->peer_recv_bytes = pd.recv_bytes;
        c->state = ConnState::kEstablished;
        Report(out, c, c->passive ? "accepted" : "established", "");
        break;
      case RDMA_CM_EVENT_DISCONNECTED:
        if (c->state != ConnState::kClosed) rdma_disconnect(id);  // moves our QP to error: sends flush
        c->state = ConnState::kClosed;
        Report(out, c, "disconnected", what);
        break;
      case RDMA_CM_EVENT_TIMEWAIT_EXIT:
        break;
      case RDMA_CM_EVENT_REJECTED:
        Fail(c);
        Report(out, c, "failed", "connection rejected: nothing listens there (" + what + ")");
        break;
      default:
        // ADDR_ERROR, ROUTE_ERROR, CONNECT_ERROR, UNREACHABLE, DEVICE_REMOVAL, ...
        Fail(c);
        Report(out, c, "failed", what + (status < 0 ? std::string(": ") + strerror(-status) : ""));
        break;
    }
  }
}

void Port::OnConnectRequest(std::vector<CmEvent>* out, rdma_cm_event* ev) {
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
      Report(out, c, "failed", std::string("accept: rdma_create_qp: ") + strerror(err));
      return;
    }
    c->qp = id->qp;
    qp_conn_[c->qp->qp_num] = c;
  }
  if (rdma_accept(id, &cp) != 0) {
    int err = errno;
    Fail(c);
    Report(out, c, "failed", std::string("rdma_accept: ") + strerror(err));
    return;
  }
  if (ud_) {
    // SIDR has no ESTABLISHED on this side: the peer is known now
    c->state = ConnState::kEstablished;
    Report(out, c, "accepted", "");
  } else {
    c->state = ConnState::kConnecting;
  }
}

}  // namespace ibverbs
}  // namespace sgwire
