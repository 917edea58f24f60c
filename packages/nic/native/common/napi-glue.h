// N-API glue both bindings share: SysError to JS errors, per-environment state and its cleanup hook, received buffers lent as external ArrayBuffers, setBuffers' typed arrays.
#pragma once
#include <napi.h>

#include "errors.h"
#include "shared-words.h"

#include <cstddef>
#include <memory>
#include <string>
#include <utility>

namespace sgwire {

// The JS Error for a SysError: the same message, and `errno` when a system call failed.
inline Napi::Error ToJsError(Napi::Env env, const SysError& s) {
  Napi::Error e = Napi::Error::New(env, s.message());
  if (s.has_errno()) e.Value().Set("errno", Napi::Number::New(env, s.err()));
  return e;
}

// Runs system code `f` for a binding: a SysError it throws becomes the JS Error it describes.
template <typename F>
auto CallSystem(Napi::Env env, F&& f) -> decltype(f()) {
  try {
    return f();
  } catch (const SysError& s) {
    throw ToJsError(env, s);
  }
}

// The calling environment's state, kept as napi instance data; `backend` names it in the error
// JavaScript sees once the environment is shutting down.
template <typename State>
std::shared_ptr<State> GetEnvState(Napi::Env env, const char* backend) {
  auto* p = env.GetInstanceData<std::shared_ptr<State>>();
  if (p == nullptr)
    throw Napi::Error::New(env, std::string("@sgwire/nic: ") + backend + " state of this environment is gone (environment shutting down)");
  return *p;
}

// Makes `st` this environment's state; deleted (the last reference dropped) when the environment ends.
template <typename State>
void SetEnvState(Napi::Env env, std::shared_ptr<State> st) {
  env.SetInstanceData<std::shared_ptr<State>>(new std::shared_ptr<State>(std::move(st)));
}

template <typename State>
void CloseEnvPorts(void* arg) {
  auto* st = static_cast<std::shared_ptr<State>*>(arg);
  (*st)->CloseAll();
  delete st;
}

// When the environment ends (its thread exits), its ports are stopped (EnvPorts::CloseAll).
template <typename State>
void AddEnvCleanup(Napi::Env env, std::shared_ptr<State> st) {
  napi_add_env_cleanup_hook(env, CloseEnvPorts<State>, new std::shared_ptr<State>(std::move(st)));
}

// A received buffer lent to JavaScript as an external ArrayBuffer over native memory (no copy).
// `Held` has `released`, `env` (the environment whose rx table lists it) and Return(), which
// gives the memory back to the device (DPDK frees the mbuf, ibverbs reposts the slot) and says
// whether it could.
template <typename Held>
void FinalizeHeld(Napi::Env, void* data, Held* h) {
  // the ArrayBuffer is gone; a buffer the application never released goes back now
  if (!h->released) {
    h->env->rx.erase(data);
    h->Return();
  }
  delete h;
}

template <typename Held>
Napi::ArrayBuffer LendHeld(Napi::Env env, void* data, size_t len, Held* h) {
  Napi::ArrayBuffer ab = Napi::ArrayBuffer::New(env, data, len, FinalizeHeld<Held>, h);
  h->env->rx[data] = h;
  return ab;
}

// rxRelease(arrayBuffer): gives a lent buffer back; false for one this environment did not lend
// (a copied message: JavaScript memory), else what Return() says.
template <typename State>
Napi::Value ReleaseHeld(const Napi::CallbackInfo& info, State* st) {
  Napi::Env env = info.Env();
  if (!info[0].IsArrayBuffer()) throw Napi::TypeError::New(env, "rxRelease(arrayBuffer)");
  Napi::ArrayBuffer ab = info[0].As<Napi::ArrayBuffer>();
  auto it = st->rx.find(ab.Data());
  if (it == st->rx.end()) return Napi::Boolean::New(env, false);
  auto* h = it->second;
  st->rx.erase(it);
  h->released = true;
  // detach first: from here on no JavaScript view can reach memory the device hands to a later message
  ab.Detach();
  return Napi::Boolean::New(env, h->Return());
}

// setBuffers(desc, ..., ctl, completions, rxMeta): checks that the N arguments are typed arrays
// (else a TypeError saying `usage`) and that ctl holds `ctl_words` words, holds the arrays in
// `refs` so their memory stays put while the port keeps raw pointers, and returns the words.
// Completions take `compl_words` words per entry, rxMeta `meta_words` per message. (The DPDK
// port's staged bytes, between desc and ctl, are the binding's own.)
template <size_t N>
SharedWords TakeSharedWords(const Napi::CallbackInfo& info, Napi::ObjectReference (&refs)[N], const char* usage,
                            size_t ctl_words, size_t compl_words, size_t meta_words) {
  static_assert(N >= 4, "desc, ctl, completions, rxMeta");
  Napi::Env env = info.Env();
  bool typed = info.Length() >= N;
  for (size_t i = 0; typed && i < N; i++) typed = info[i].IsTypedArray();
  if (!typed) throw Napi::TypeError::New(env, usage);
  auto desc = info[0].As<Napi::Uint32Array>();
  auto ctl = info[N - 3].As<Napi::Int32Array>();
  auto compl_ = info[N - 2].As<Napi::Uint32Array>();
  auto rxm = info[N - 1].As<Napi::Uint32Array>();
  if (ctl.ElementLength() < ctl_words) throw Napi::RangeError::New(env, "setBuffers: ctl needs 8 words");
  for (size_t i = 0; i < N; i++) refs[i] = Napi::Persistent(info[i].As<Napi::Object>());
  SharedWords w;
  w.desc = desc.Data();
  w.desc_words = desc.ElementLength();
  w.ctl = ctl.Data();
  w.compl_buf = compl_.Data();
  w.compl_cap = compl_.ElementLength() / compl_words;
  w.rx_meta = rxm.Data();
  w.rx_meta_cap = rxm.ElementLength() / meta_words;
  return w;
}

}  // namespace sgwire
