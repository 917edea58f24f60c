// The words JavaScript and a port exchange through shared typed arrays (layouts: protocol.h), and the helpers that write them.
#pragma once
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace sgwire {

// What setBuffers hands a port: descriptor words JavaScript writes; control words, completions
// and receive metadata the native side writes. The binding holds the typed arrays, so the
// memory stays put while the port keeps these pointers.
struct SharedWords {
  uint32_t* desc = nullptr;
  size_t desc_words = 0;
  int32_t* ctl = nullptr;
  uint32_t* compl_buf = nullptr;
  size_t compl_cap = 0;  // completion entries (DPDK: a token each; ibverbs: a (wr_id, status) pair each)
  uint32_t* rx_meta = nullptr;
  size_t rx_meta_cap = 0;  // received messages whose metadata fits
};

// Writes control word `w` (JavaScript reads the low 32 bits as an int32).
template <typename Word>
inline void SetCtl(int32_t* ctl, Word w, int64_t v) {
  ctl[w] = static_cast<int32_t>(v);
}

// Hands completions to JavaScript: as many of `pending` as fit in `cap` are copied to `out` and
// dropped from `pending` (what does not fit waits for the next call); returns how many.
inline size_t DrainCompletions(std::vector<uint32_t>& pending, uint32_t* out, size_t cap) {
  size_t n = std::min(pending.size(), cap);
  std::copy(pending.begin(), pending.begin() + n, out);
  pending.erase(pending.begin(), pending.begin() + n);
  return n;
}

// Receive metadata of the k-th message of a burst (`words` per message).
inline uint32_t* RxMetaAt(const SharedWords& w, uint32_t k, uint32_t words) { return w.rx_meta + size_t(k) * words; }

}  // namespace sgwire
