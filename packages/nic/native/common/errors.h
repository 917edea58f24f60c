// The failure system code throws (SysError): a message and, when a system call failed, its errno; no N-API here.
#pragma once
#include <cerrno>
#include <cstring>
#include <exception>
#include <string>
#include <utility>

namespace sgwire {

// A failure of system code: the message a user reads and, when a system call failed, its errno.
// The binding that called the code throws it to JavaScript as an Error (common/napi-glue.h,
// CallSystem), with `errno` set when there is one.
class SysError : public std::exception {
 public:
  SysError(std::string message, int err, bool has_errno) : message_(std::move(message)), err_(err), has_errno_(has_errno) {}
  const char* what() const noexcept override { return message_.c_str(); }
  const std::string& message() const { return message_; }
  int err() const { return err_; }
  bool has_errno() const { return has_errno_; }

 private:
  std::string message_;
  int err_;
  bool has_errno_;
};

// A failed system call, for native failures a user can act on: the message names errno (its
// strerror and number) and the JS Error carries it as `errno`.
[[noreturn]] inline void ThrowErrno(const std::string& what, int err) {
  throw SysError(what + ": " + std::strerror(err) + " (errno " + std::to_string(err) + ")", err, true);
}

// A failure a user acts on from its message alone (a plain Error in JavaScript, no errno).
[[noreturn]] inline void ThrowFailure(const std::string& message) { throw SysError(message, 0, false); }

}  // namespace sgwire
