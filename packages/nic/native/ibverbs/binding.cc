// The ibverbs backend's N-API binding: the IbvPort class (argument checks, JS values), statusString and listDevices, calling ibverbs/port.h.
#include "binding.h"

#include "../common/napi-glue.h"
#include "port.h"

#include <memory>
#include <string>
#include <vector>

namespace sgwire {
namespace ibverbs {
namespace {

Napi::Value U32(Napi::Env env, uint32_t v) { return Napi::Number::New(env, v); }

void FreeRegionRef(Napi::Env, void*, RegionPtr* hint) { delete hint; }

// The calling environment's state (created by InitModule).
EnvPtr GetEnv(Napi::Env env) {
  return GetEnvState<EnvState>(env, "ibverbs");
}

// new IbvPort(config): one RDMA port (ibverbs/port.h) for JavaScript.
class IbvPort : public Napi::ObjectWrap<IbvPort> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "IbvPort",
                       {
                           InstanceMethod<&IbvPort::Info>("info"),
                           InstanceMethod<&IbvPort::SetBuffers>("setBuffers"),
                           InstanceMethod<&IbvPort::Stage>("stage"),
                           InstanceMethod<&IbvPort::AllocArena>("allocArena"),
                           InstanceMethod<&IbvPort::Connect>("connect"),
                           InstanceMethod<&IbvPort::CmPoll>("cmPoll"),
                           InstanceMethod<&IbvPort::Post>("post"),
                           InstanceMethod<&IbvPort::RxBurst>("rxBurst"),
                           InstanceMethod<&IbvPort::RxRelease>("rxRelease"),
                           InstanceMethod<&IbvPort::Counters>("counters"),
                           InstanceMethod<&IbvPort::Close>("close"),
                       });
  }

  // new IbvPort({ ip, port, ud, sendDepth, recvSlots, recvBytes, maxInline, stageBytes, device })
  IbvPort(const Napi::CallbackInfo& info) : Napi::ObjectWrap<IbvPort>(info) {
    Napi::Env env = info.Env();
    if (!info[0].IsObject()) throw Napi::TypeError::New(env, "IbvPort(config)");
    Napi::Object cfg = info[0].As<Napi::Object>();
    auto num = [&](const char* k, uint32_t lo, uint32_t hi) -> uint32_t {
      Napi::Value v = cfg.Get(k);
      if (!v.IsNumber()) throw Napi::TypeError::New(env, std::string("IbvPort config: ") + k + " must be a number");
      double d = v.As<Napi::Number>().DoubleValue();
      if (!(d >= lo && d <= hi)) throw Napi::RangeError::New(env, std::string("IbvPort config: ") + k + " out of range");
      return static_cast<uint32_t>(d);
    };
    PortConfig c;
    c.ip = num("ip", 0, UINT32_MAX);
    c.port = num("port", 0, 65535);
    c.ud = cfg.Get("ud").ToBoolean();
    c.send_depth = num("sendDepth", 1, 32768);
    c.recv_slots = num("recvSlots", 1, 65536);
    c.recv_bytes = num("recvBytes", 64, 1u << 30);
    c.max_inline = num("maxInline", 0, 4096);
    c.stage_bytes = num("stageBytes", 4096, 1u << 30);
    Napi::Value dv = cfg.Get("device");
    c.device = dv.IsString() ? dv.As<Napi::String>().Utf8Value() : "";
    EnvPtr st = GetEnv(env);
    CallSystem(env, [&] { port_.Open(st, c); });
  }

  ~IbvPort() override { port_.Cleanup(); }

 private:
  void CheckOpen(Napi::Env env) {
    if (!port_.open()) throw Napi::Error::New(env, "ibverbs port is closed");
  }

  Napi::Value Info(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    PortInfo i = port_.Info();
    Napi::Object o = Napi::Object::New(env);
    o.Set("device", i.device);
    o.Set("portNum", U32(env, i.port_num));
    o.Set("transport", i.ud ? "ud" : "rc");
    o.Set("localPort", U32(env, i.local_port));
    o.Set("maxSge", U32(env, i.max_sge));
    o.Set("maxInline", U32(env, i.max_inline));
    o.Set("mtu", U32(env, i.mtu));
    o.Set("maxMsgBytes", U32(env, i.max_msg_bytes));
    o.Set("recvBytes", U32(env, i.recv_bytes));
    o.Set("recvSlots", U32(env, i.recv_slots));
    o.Set("sendDepth", U32(env, i.send_depth));
    o.Set("sendCqEntries", U32(env, i.send_cq_entries));
    o.Set("qpn", U32(env, i.qpn));
    o.Set("stageBytes", U32(env, i.stage_bytes));
    return o;
  }

  // setBuffers(desc: Uint32Array, ctl: Int32Array, completions: Uint32Array, rxMeta: Uint32Array)
  Napi::Value SetBuffers(const Napi::CallbackInfo& info) {
    // completions: (wr_id, status) pairs
    port_.SetBuffers(TakeSharedWords(info, refs_, "setBuffers(desc, ctl, completions, rxMeta)", kCtlWords, 2, kRxMetaWords));
    return info.Env().Undefined();
  }

  // stage(): the registered staging region as an ArrayBuffer (scratch bytes are written there).
  Napi::Value Stage(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    CheckOpen(env);
    const RegionPtr& stage = port_.stage();
    return Napi::ArrayBuffer::New(env, stage->base, stage->len, FreeRegionRef, new RegionPtr(stage));
  }

  // allocArena(bytes) -> [ArrayBuffer, id]: memory registered with ibv_reg_mr on this port's PD.
  Napi::Value AllocArena(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    CheckOpen(env);
    if (!info[0].IsNumber()) throw Napi::TypeError::New(env, "allocArena(bytes): bytes must be a number");
    double want = info[0].As<Napi::Number>().DoubleValue();
    if (!(want >= 1 && want <= double(1u << 30))) throw Napi::RangeError::New(env, "allocArena: bytes must be 1..2^30");
    uint32_t id = 0;
    RegionPtr r = CallSystem(env, [&] { return port_.AllocArena(static_cast<size_t>(want), &id); });
    Napi::Array out = Napi::Array::New(env, 2);
    out.Set(0u, Napi::ArrayBuffer::New(env, r->base, r->len, FreeRegionRef, new RegionPtr(r)));
    out.Set(1u, U32(env, id));
    return out;
  }

  // connect(ip, port) -> connection index; progress and the outcome arrive through cmPoll().
  Napi::Value Connect(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    CheckOpen(env);
    uint32_t ip = info[0].As<Napi::Number>().Uint32Value();
    uint32_t port = info[1].As<Napi::Number>().Uint32Value();
    return U32(env, CallSystem(env, [&] { return port_.Connect(ip, port); }));
  }

  // cmPoll(): handles pending rdma_cm events; returns what JavaScript must know
  // ({ conn, kind: "established" | "accepted" | "failed" | "disconnected", ip, port, message }).
  Napi::Value CmPoll(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    Napi::Array out = Napi::Array::New(env);
    std::vector<CmEvent> events;
    port_.CmPoll(&events);
    for (const CmEvent& ev : events) {
      Napi::Object e = Napi::Object::New(env);
      e.Set("conn", U32(env, ev.conn));
      e.Set("kind", ev.kind);
      e.Set("ip", U32(env, ev.ip));
      e.Set("port", U32(env, ev.port));
      e.Set("recvBytes", U32(env, ev.recv_bytes));
      if (!ev.message.empty()) e.Set("message", ev.message);
      out.Set(out.Length(), e);
    }
    return out;
  }

  // post(count): posts `count` staged messages (fewer if a send queue is full) and reaps send
  // completions. count 0 only reaps. Returns how many messages were posted.
  Napi::Value Post(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    CheckOpen(env);
    if (!port_.has_buffers()) throw Napi::Error::New(env, "post before setBuffers");
    uint32_t count = info[0].As<Napi::Number>().Uint32Value();
    return U32(env, port_.Post(count));
  }

  // rxBurst(): received messages as ArrayBuffers over their receive slots (meta in rxMeta:
  // length, source ip, source port). Failed receive completions are counted and reposted.
  Napi::Value RxBurst(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    Napi::Array out = Napi::Array::New(env);
    if (!port_.open()) return out;
    if (!port_.has_rx_meta()) throw Napi::Error::New(env, "rxBurst before setBuffers");
    RxMsg msgs[kRxBurst];
    int n = port_.RxPoll(msgs);
    for (int i = 0; i < n; i++) {
      uint32_t k = static_cast<uint32_t>(i);
      Napi::ArrayBuffer ab = LendHeld(env, msgs[i].data, msgs[i].len, port_.LendRx(msgs[i]));
      port_.WriteRxMeta(k, msgs[i]);
      out.Set(k, ab);
    }
    return out;
  }

  Napi::Value RxRelease(const Napi::CallbackInfo& info) {
    return ReleaseHeld(info, port_.env().get());
  }

  Napi::Value Counters(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    ibverbs::Counters c = port_.GetCounters();
    Napi::Object o = Napi::Object::New(env);
    o.Set("sendErrors", static_cast<double>(c.send_errors));
    o.Set("rxErrors", static_cast<double>(c.rx_errors));
    o.Set("lastRxStatus", c.last_rx_status ? StatusString(c.last_rx_status) : "");
    o.Set("cmRejected", static_cast<double>(c.cm_rejected));
    o.Set("outstanding", static_cast<double>(c.outstanding));
    o.Set("repostErrors", static_cast<double>(c.repost_errors));
    o.Set("rxHeld", c.rx_held);
    return o;
  }

  Napi::Value Close(const Napi::CallbackInfo& info) {
    port_.Cleanup();
    return info.Env().Undefined();
  }

  Port port_;
  Napi::ObjectReference refs_[4];
};

Napi::Value StatusStringJs(const Napi::CallbackInfo& info) {
  return Napi::String::New(info.Env(), StatusString(info[0].As<Napi::Number>().Int32Value()));
}

Napi::Value ListDevicesJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Array out = Napi::Array::New(env);
  std::vector<std::string> names = ListDevices();
  for (size_t i = 0; i < names.size(); i++) out.Set(static_cast<uint32_t>(i), names[i]);
  return out;
}

}  // namespace

Napi::Object InitModule(Napi::Env env, Napi::Object exports) {
  exports.Set("hasIbverbs", Napi::Boolean::New(env, true));
  exports.Set("IbvPort", IbvPort::Define(env));
  exports.Set("statusString", Napi::Function::New(env, StatusStringJs, "statusString"));
  exports.Set("listDevices", Napi::Function::New(env, ListDevicesJs, "listDevices"));
  EnvPtr st = std::make_shared<EnvState>();
  SetEnvState(env, st);
  // this environment is ending (its thread exits): stop its QPs before the memory they read is
  // torn down. Other environments' ports are not touched.
  AddEnvCleanup(env, st);
  return exports;
}

}  // namespace ibverbs
}  // namespace sgwire
