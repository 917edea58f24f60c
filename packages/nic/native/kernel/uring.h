// A minimal io_uring (Linux 6.1+ for what the native UDP engine asks of it) over the raw system
// calls and the kernel's own header, so the addon needs no liburing: one submission and one
// completion ring mapped into this process, receive buffers provided to the kernel
// (IORING_OP_PROVIDE_BUFFERS: on the kernel this was written on, 6.18, a registered buffer ring,
// IORING_REGISTER_PBUF_RING, was accepted but never handed its buffers out), an eventfd the
// kernel signals on every completion (libuv watches it).
#pragma once
#include <linux/io_uring.h>

#include <cstddef>
#include <cstdint>
#include <string>

namespace sgwire {
namespace kernel {

// What this kernel's io_uring offers the engine: empty when all of it is there, else what is not
// (io_uring disabled, or an operation or feature missing).
std::string UringMissing();

class Uring {
 public:
  Uring() = default;
  Uring(const Uring&) = delete;
  Uring& operator=(const Uring&) = delete;
  ~Uring() { Close(); }

  // Sets the rings up (entries submissions, 4x completions) and an eventfd signalled on every
  // completion; returns 0 or an errno.
  int Open(unsigned entries);
  void Close();
  bool open() const { return fd_ >= 0; }
  int eventfd() const { return efd_; }

  // A zeroed submission entry, or nullptr when the ring is full (submit first).
  io_uring_sqe* Sqe();
  // Submits what was prepared; waits for `wait` completions (0: none). Returns submitted or -errno.
  int Submit(unsigned wait = 0);
  // The next completion, or nullptr; Seen() consumes it.
  io_uring_cqe* Peek();
  void Seen();
  // Clears the eventfd's count.
  void DrainEventfd();

  // Gives the kernel `count` buffers of `size` bytes each from `base` as buffer group `group`
  // (waits for it); returns 0 or an errno. Buffer ids are 0..count-1.
  int ProvideBuffers(uint8_t* base, unsigned count, unsigned size, uint16_t group);
  // Prepares the return of buffer `id` to the kernel (it goes with the next Submit; no completion
  // unless it fails, tagged kProvideTag).
  void ReturnBuffer(unsigned id);
  // Submissions prepared and not submitted yet.
  unsigned pending() const { return pending_; }

  // user_data of the buffer returns
  static constexpr uint64_t kProvideTag = 0xffull << 56;

 private:
  int fd_ = -1;
  int efd_ = -1;
  void* sq_ptr_ = nullptr;
  size_t sq_len_ = 0;
  void* cq_ptr_ = nullptr;
  size_t cq_len_ = 0;
  io_uring_sqe* sqes_ = nullptr;
  size_t sqes_len_ = 0;
  unsigned* sq_head_ = nullptr;
  unsigned* sq_tail_ = nullptr;
  unsigned* sq_array_ = nullptr;
  unsigned sq_mask_ = 0;
  unsigned sq_entries_ = 0;
  unsigned* cq_head_ = nullptr;
  unsigned* cq_tail_ = nullptr;
  io_uring_cqe* cqes_ = nullptr;
  unsigned cq_mask_ = 0;
  // submissions prepared, not yet submitted
  unsigned pending_ = 0;
  // the provided buffers
  uint8_t* br_base_ = nullptr;
  unsigned br_size_ = 0;
  uint16_t br_group_ = 0;
};

}  // namespace kernel
}  // namespace sgwire
