// io_uring over the raw system calls (see uring.h).
#include "uring.h"

#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

namespace sgwire {
namespace kernel {
namespace {

int Setup(unsigned entries, io_uring_params* p) { return static_cast<int>(syscall(__NR_io_uring_setup, entries, p)); }
int Enter(int fd, unsigned submit, unsigned wait, unsigned flags) {
  return static_cast<int>(syscall(__NR_io_uring_enter, fd, submit, wait, flags, nullptr, 0));
}
int Register(int fd, unsigned op, const void* arg, unsigned n) { return static_cast<int>(syscall(__NR_io_uring_register, fd, op, arg, n)); }

template <typename T>
T LoadAcquire(const T* p) {
  return __atomic_load_n(p, __ATOMIC_ACQUIRE);
}
template <typename T>
void StoreRelease(T* p, T v) {
  __atomic_store_n(p, v, __ATOMIC_RELEASE);
}

}  // namespace

std::string UringMissing() {
  io_uring_params p;
  std::memset(&p, 0, sizeof p);
  const int fd = Setup(4, &p);
  if (fd < 0) {
    const int err = errno;
    if (err == ENOSYS) return "this kernel has no io_uring";
    if (err == EPERM) return "io_uring is disabled here (kernel.io_uring_disabled, or a seccomp filter)";
    return std::string("io_uring_setup failed: ") + std::strerror(err);
  }
  std::string missing;
  if (!(p.features & IORING_FEAT_SINGLE_MMAP)) missing = "IORING_FEAT_SINGLE_MMAP (Linux 5.4)";
  if (!(p.features & IORING_FEAT_CQE_SKIP)) missing += std::string(missing.empty() ? "" : ", ") + "IORING_FEAT_CQE_SKIP (Linux 5.17)";
  // the operations the engine uses
  const size_t n = 256;
  std::vector<uint8_t> buf(sizeof(io_uring_probe) + n * sizeof(io_uring_probe_op), 0);
  auto* probe = reinterpret_cast<io_uring_probe*>(buf.data());
  if (Register(fd, IORING_REGISTER_PROBE, probe, n) < 0) {
    missing = "IORING_REGISTER_PROBE (Linux 5.6)";
  } else {
    const struct {
      unsigned op;
      const char* name;
    } need[] = {{IORING_OP_SENDMSG, "SENDMSG"}, {IORING_OP_RECVMSG, "RECVMSG"}, {IORING_OP_POLL_ADD, "POLL_ADD"},
                {IORING_OP_ASYNC_CANCEL, "ASYNC_CANCEL"}, {IORING_OP_PROVIDE_BUFFERS, "PROVIDE_BUFFERS"}, {IORING_OP_SENDMSG_ZC, "SENDMSG_ZC (Linux 6.1)"}};
    for (const auto& x : need) {
      if (x.op > probe->last_op || !(probe->ops[x.op].flags & IO_URING_OP_SUPPORTED)) {
        missing += (missing.empty() ? "" : ", ") + std::string("IORING_OP_") + x.name;
      }
    }
  }
  close(fd);
  return missing.empty() ? "" : "this kernel's io_uring lacks " + missing;
}

int Uring::Open(unsigned entries) {
  io_uring_params p;
  std::memset(&p, 0, sizeof p);
  p.flags = IORING_SETUP_CQSIZE;
  p.cq_entries = entries * 4;
  fd_ = Setup(entries, &p);
  if (fd_ < 0) return errno;
  if (!(p.features & IORING_FEAT_SINGLE_MMAP)) {
    Close();
    return ENOSYS;
  }
  sq_len_ = p.sq_off.array + p.sq_entries * sizeof(unsigned);
  const size_t cq_len = p.cq_off.cqes + p.cq_entries * sizeof(io_uring_cqe);
  if (cq_len > sq_len_) sq_len_ = cq_len;
  sq_ptr_ = mmap(nullptr, sq_len_, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd_, IORING_OFF_SQ_RING);
  if (sq_ptr_ == MAP_FAILED) {
    sq_ptr_ = nullptr;
    const int err = errno;
    Close();
    return err;
  }
  cq_ptr_ = sq_ptr_;
  sqes_len_ = p.sq_entries * sizeof(io_uring_sqe);
  void* s = mmap(nullptr, sqes_len_, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd_, IORING_OFF_SQES);
  if (s == MAP_FAILED) {
    const int err = errno;
    Close();
    return err;
  }
  sqes_ = static_cast<io_uring_sqe*>(s);
  auto* sq = static_cast<uint8_t*>(sq_ptr_);
  sq_head_ = reinterpret_cast<unsigned*>(sq + p.sq_off.head);
  sq_tail_ = reinterpret_cast<unsigned*>(sq + p.sq_off.tail);
  sq_array_ = reinterpret_cast<unsigned*>(sq + p.sq_off.array);
  sq_mask_ = *reinterpret_cast<unsigned*>(sq + p.sq_off.ring_mask);
  sq_entries_ = p.sq_entries;
  cq_head_ = reinterpret_cast<unsigned*>(sq + p.cq_off.head);
  cq_tail_ = reinterpret_cast<unsigned*>(sq + p.cq_off.tail);
  cq_mask_ = *reinterpret_cast<unsigned*>(sq + p.cq_off.ring_mask);
  cqes_ = reinterpret_cast<io_uring_cqe*>(sq + p.cq_off.cqes);
  efd_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (efd_ < 0 || Register(fd_, IORING_REGISTER_EVENTFD, &efd_, 1) < 0) {
    const int err = errno;
    Close();
    return err;
  }
  return 0;
}

void Uring::Close() {
  if (sqes_ != nullptr) munmap(sqes_, sqes_len_);
  sqes_ = nullptr;
  if (sq_ptr_ != nullptr) munmap(sq_ptr_, sq_len_);
  sq_ptr_ = cq_ptr_ = nullptr;
  if (fd_ >= 0) close(fd_);
  fd_ = -1;
  if (efd_ >= 0) close(efd_);
  efd_ = -1;
  pending_ = 0;
}

io_uring_sqe* Uring::Sqe() {
  const unsigned head = LoadAcquire(sq_head_);
  const unsigned tail = *sq_tail_ + pending_;
  if (tail - head >= sq_entries_) return nullptr;
  io_uring_sqe* e = &sqes_[tail & sq_mask_];
  std::memset(e, 0, sizeof *e);
  sq_array_[tail & sq_mask_] = tail & sq_mask_;
  pending_++;
  return e;
}

int Uring::Submit(unsigned wait) {
  const unsigned n = pending_;
  StoreRelease(sq_tail_, *sq_tail_ + n);
  pending_ = 0;
  for (;;) {
    const int r = Enter(fd_, n, wait, wait > 0 ? IORING_ENTER_GETEVENTS : 0);
    if (r < 0 && errno == EINTR) continue;
    return r < 0 ? -errno : r;
  }
}

io_uring_cqe* Uring::Peek() {
  const unsigned head = *cq_head_;
  if (head == LoadAcquire(cq_tail_)) return nullptr;
  return &cqes_[head & cq_mask_];
}

void Uring::Seen() { StoreRelease(cq_head_, *cq_head_ + 1); }

void Uring::DrainEventfd() {
  uint64_t v;
  while (read(efd_, &v, sizeof v) == static_cast<ssize_t>(sizeof v)) {
  }
}

int Uring::ProvideBuffers(uint8_t* base, unsigned count, unsigned size, uint16_t group) {
  br_base_ = base;
  br_size_ = size;
  br_group_ = group;
  io_uring_sqe* e = Sqe();
  if (e == nullptr) return EBUSY;
  e->opcode = IORING_OP_PROVIDE_BUFFERS;
  e->fd = static_cast<int>(count);
  e->addr = reinterpret_cast<uint64_t>(base);
  e->len = size;
  e->off = 0;
  e->buf_group = group;
  e->user_data = kProvideTag;
  const int r = Submit(1);
  if (r < 0) return -r;
  io_uring_cqe* c = Peek();
  const int res = c == nullptr ? -EIO : c->res;
  if (c != nullptr) Seen();
  return res < 0 ? -res : 0;
}

void Uring::ReturnBuffer(unsigned id) {
  io_uring_sqe* e = Sqe();
  if (e == nullptr) {
    Submit(0);
    e = Sqe();
    if (e == nullptr) return;  // cannot happen: the ring was just submitted
  }
  e->opcode = IORING_OP_PROVIDE_BUFFERS;
  e->fd = 1;
  e->addr = reinterpret_cast<uint64_t>(br_base_ + static_cast<size_t>(id) * br_size_);
  e->len = br_size_;
  e->off = id;
  e->buf_group = br_group_;
  // no completion when it works (a failure still posts one, with kProvideTag)
  e->flags = IOSQE_CQE_SKIP_SUCCESS;
  e->user_data = kProvideTag;
}

}  // namespace kernel
}  // namespace sgwire
