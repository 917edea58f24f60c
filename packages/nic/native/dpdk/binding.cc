// The DPDK backend's N-API binding: ealInit, ealInitialized, allocArena and the NativePort class (argument checks, JS values), calling dpdk/eal.h and dpdk/port.h.
#include "binding.h"

#include "../common/napi-glue.h"
#include "eal.h"
#include "port.h"

#include <memory>
#include <string>
#include <vector>

namespace sgwire {
namespace dpdk {
namespace {

// The calling environment's state (created by InitEal).
EnvPtr GetEnv(Napi::Env env) {
  return GetEnvState<EnvState>(env, "DPDK");
}

Napi::Array ArgsArray(Napi::Env env, const std::vector<std::string>& args) {
  Napi::Array out = Napi::Array::New(env);
  for (size_t i = 0; i < args.size(); i++) out.Set(static_cast<uint32_t>(i), args[i]);
  return out;
}

// ealInit(args) -> { started, args }: starts the EAL with `args` unless it is already up in this
// process (another thread started it); either way returns the arguments it runs with.
Napi::Value EalInit(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsArray()) throw Napi::TypeError::New(env, "ealInit(args): args must be an array of strings");
  Napi::Array a = info[0].As<Napi::Array>();
  std::vector<std::string> want;
  for (uint32_t i = 0; i < a.Length(); i++) {
    Napi::Value v = a.Get(i);
    if (!v.IsString()) throw Napi::TypeError::New(env, "ealInit(args): args must be strings");
    want.push_back(v.As<Napi::String>().Utf8Value());
  }
  EalStart r = CallSystem(env, [&] { return StartEal(want); });
  Napi::Object out = Napi::Object::New(env);
  out.Set("started", r.started);
  out.Set("args", ArgsArray(env, r.args));
  return out;
}

Napi::Value EalInitialized(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), EalUp());
}

struct ArenaHint {
  Arena* arena;
  EnvPtr st;
};

void FinalizeArena(Napi::Env, void*, ArenaHint* h) {
  FreeArena(h->st.get(), h->arena);
  delete h;
}

// allocArena(bytes) -> [ArrayBuffer, id, attachable]. `attachable` is false when the memory has
// no IOVA (EAL not in IOVA-as-VA mode): a device cannot read it, so it is never sent by reference.
Napi::Value AllocArenaJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!EalUp()) throw Napi::Error::New(env, "allocArena: EAL is not initialized");
  if (!info[0].IsNumber()) throw Napi::TypeError::New(env, "allocArena(bytes): bytes must be a number");
  double want = info[0].As<Napi::Number>().DoubleValue();
  if (!(want >= 1 && want <= double(1u << 30))) throw Napi::RangeError::New(env, "allocArena: bytes must be 1..2^30");
  EnvPtr st = GetEnv(env);
  Arena* a = CallSystem(env, [&] { return AllocArena(st.get(), static_cast<size_t>(want)); });
  Napi::ArrayBuffer ab = Napi::ArrayBuffer::New(env, a->base, a->len, FinalizeArena, new ArenaHint{a, st});
  Napi::Array out = Napi::Array::New(env, 3);
  out.Set(0u, ab);
  out.Set(1u, Napi::Number::New(env, a->id));
  out.Set(2u, Napi::Boolean::New(env, a->iova != RTE_BAD_IOVA));
  return out;
}

}  // namespace

// new NativePort(vdev, config): one ethdev port (dpdk/port.h) for JavaScript.
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
    EnvPtr st = GetEnv(env);
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
    PortConfig c;
    c.ip = num("ip", 0, UINT32_MAX);
    c.udp_port = static_cast<uint16_t>(num("udpPort", 0, 65535));
    c.mbufs = num("mbufs", 1, 1u << 20);
    c.nb_txd = static_cast<uint16_t>(num("txDescriptors", 1, 32768));
    c.nb_rxd = static_cast<uint16_t>(num("rxDescriptors", 1, 32768));
    c.mtu = num("mtu", 0, kMaxMtu);
    CallSystem(env, [&] { port_.Open(st, spec, c); });
  }

  ~NativePort() override { port_.Cleanup(); }

 private:
  void CheckOpen(Napi::Env env) {
    if (!port_.open()) throw Napi::Error::New(env, "DPDK port \"" + port_.name() + "\" is closed");
  }

  Napi::Value Info(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    Napi::Object o = Napi::Object::New(env);
    o.Set("portId", port_.port_id());
    o.Set("driver", port_.driver());
    o.Set("mac", port_.mac());
    o.Set("mtu", port_.mtu());
    o.Set("maxSegments", port_.max_segs());
    o.Set("multiSegs", port_.multi_segs());
    o.Set("chains", port_.chains_ok());
    o.Set("maxSinglePayload", port_.single_payload());
    o.Set("maxTokens", kMaxTokens);
    return o;
  }

  // setBuffers(desc, stage, ctl, completions, rxMeta)
  Napi::Value SetBuffers(const Napi::CallbackInfo& info) {
    SharedWords w = TakeSharedWords(info, refs_, "setBuffers(desc, stage, ctl, completions, rxMeta)", kCtlWords, 1, kRxMetaWords);
    auto stage = info[1].As<Napi::Uint8Array>();
    port_.SetBuffers(w, stage.Data(), stage.ElementLength());
    return info.Env().Undefined();
  }

  // txBurst(count): builds `count` staged messages (fewer if mbufs, peers or backlog room run
  // out), transmits, and reports completions and counters in ctl. count 0 only retries the
  // backlog and reaps completions.
  Napi::Value TxBurst(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    CheckOpen(env);
    if (!port_.has_buffers()) throw Napi::Error::New(env, "txBurst before setBuffers");
    if (!info[0].IsNumber()) throw Napi::TypeError::New(env, "txBurst(count): count must be a number");
    uint32_t count = info[0].As<Napi::Number>().Uint32Value();
    return Napi::Number::New(env, port_.TxBurst(count));
  }

  // rxBurst(): packets addressed to this port, as ArrayBuffers (meta in rxMeta: payload offset,
  // payload length, source IPv4, source UDP port). Everything else is counted and freed.
  Napi::Value RxBurst(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    CheckOpen(env);
    if (!port_.has_rx_meta()) throw Napi::Error::New(env, "rxBurst before setBuffers");
    RxPacket pkts[kRxBurst];
    uint16_t n = port_.RxPoll(pkts);
    Napi::Array out = Napi::Array::New(env);
    for (uint32_t k = 0; k < n; k++) {
      RxPacket& p = pkts[k];
      Napi::ArrayBuffer ab;
      if (p.data != nullptr) {
        // zero copy: the view covers the mbuf's data; the mbuf is freed on rxRelease or GC
        ab = LendHeld(env, p.data, p.data_len, port_.LendRx(p));
      } else {
        // a chain (net_ring hands our own TX chains back): gather it into JS memory once
        ab = Napi::ArrayBuffer::New(env, p.len);
        port_.GatherRx(&p, ab.Data());
      }
      port_.WriteRxMeta(k, p);
      out.Set(k, ab);
    }
    port_.RxDone();
    return out;
  }

  Napi::Value RxRelease(const Napi::CallbackInfo& info) {
    return ReleaseHeld(info, port_.env().get());
  }

  Napi::Value AddPeer(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!info[0].IsNumber() || !info[1].IsString()) throw Napi::TypeError::New(env, "addPeer(ip, mac)");
    uint32_t ip = info[0].As<Napi::Number>().Uint32Value();
    std::string s = info[1].As<Napi::String>().Utf8Value();
    if (!port_.AddPeer(ip, s)) throw Napi::RangeError::New(env, "addPeer: bad MAC address " + s);
    return env.Undefined();
  }

  Napi::Value HasPeer(const Napi::CallbackInfo& info) {
    if (!info[0].IsNumber()) throw Napi::TypeError::New(info.Env(), "hasPeer(ip)");
    return Napi::Boolean::New(info.Env(), port_.HasPeer(info[0].As<Napi::Number>().Uint32Value()));
  }

  Napi::Value PoolCounts(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    Napi::Object o = Napi::Object::New(env);
    dpdk::PoolCounts c;
    if (port_.PoolCountsNow(&c)) {
      o.Set("header", c.header);
      o.Set("ext", c.ext);
      o.Set("rx", c.rx);
      o.Set("headerSize", c.header_size);
      o.Set("extSize", c.ext_size);
      o.Set("rxSize", c.rx_size);
    }
    return o;
  }

  Napi::Value Xstats(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    Napi::Object o = Napi::Object::New(env);
    PortStats s = port_.Stats();
    o.Set("txRingFull", static_cast<double>(s.ring_full));
    o.Set("rxDropped", static_cast<double>(s.rx_dropped));
    o.Set("rxCopiedBytes", static_cast<double>(s.rx_copied_bytes));
    o.Set("arpReplies", static_cast<double>(s.arp_replies));
    o.Set("backlog", static_cast<double>(s.backlog));
    o.Set("completionsUnreported", static_cast<double>(s.completions_unreported));
    if (s.have_eth) {
      o.Set("opackets", static_cast<double>(s.opackets));
      o.Set("ipackets", static_cast<double>(s.ipackets));
      o.Set("oerrors", static_cast<double>(s.oerrors));
      o.Set("imissed", static_cast<double>(s.imissed));
    }
    return o;
  }

  // rxMissed(): frames the device could not receive (no descriptor or no mbuf free: imissed +
  // rx_nombuf), as the driver counts them; 0 when the port is closed.
  Napi::Value RxMissed(const Napi::CallbackInfo& info) {
    return Napi::Number::New(info.Env(), static_cast<double>(port_.RxMissed()));
  }

  Napi::Value Close(const Napi::CallbackInfo& info) {
    port_.Cleanup();
    return info.Env().Undefined();
  }

  Port port_;
  Napi::ObjectReference refs_[5];
};

void InitEal(Napi::Env env, Napi::Object exports) {
  // this environment's state; deleted (the last reference dropped) when the environment ends
  SetEnvState(env, std::make_shared<EnvState>());
  exports.Set("ealInit", Napi::Function::New(env, EalInit, "ealInit"));
  exports.Set("ealInitialized", Napi::Function::New(env, EalInitialized, "ealInitialized"));
  exports.Set("allocArena", Napi::Function::New(env, AllocArenaJs, "allocArena"));
}

void InitPort(Napi::Env env, Napi::Object exports) {
  exports.Set("NativePort", NativePort::Define(env));
  // this environment is ending (its thread exits): stop its devices so no driver keeps reading
  // memory being torn down. Other environments' ports are not touched.
  AddEnvCleanup(env, GetEnv(env));
}

}  // namespace dpdk
}  // namespace sgwire
