// lf::Status and lf::Result<T>: the error type of liblf's API. No exception crosses liblf's API
// or a request path; callers test ok() and read message(). LF_CHECK aborts on a broken invariant
// (a bug, never bad input).
// Thread-safety: values; copy freely.
#pragma once

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace lf {

class Status {
 public:
  Status() = default;  // ok
  static Status ok_status() { return Status(); }
  static Status error(std::string message, int sys_errno = 0) {
    Status s;
    s.failed_ = true;
    s.message_ = std::move(message);
    s.errno_ = sys_errno;
    return s;
  }
  // An error from a failed system call: "what: strerror(errno)".
  static Status from_errno(std::string_view what, int err = errno);

  bool ok() const { return !failed_; }
  explicit operator bool() const { return ok(); }
  const std::string& message() const { return message_; }
  int sys_errno() const { return errno_; }

 private:
  bool failed_ = false;
  int errno_ = 0;
  std::string message_;
};

template <class T>
class Result {
 public:
  Result(T value) : v_(std::move(value)) {}  // NOLINT: implicit by design
  Result(Status error) : v_(std::move(error)) {}  // NOLINT

  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }
  T& value() & { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  const T& value() const& { return std::get<0>(v_); }
  T* operator->() { return &value(); }
  T& operator*() { return value(); }
  const T* operator->() const { return &value(); }
  const T& operator*() const { return value(); }
  const Status& status() const {
    static const Status kOk;
    return ok() ? kOk : std::get<1>(v_);
  }

 private:
  std::variant<T, Status> v_;
};

[[noreturn]] void check_failed(const char* expr, const char* file, int line, const char* msg);

}  // namespace lf

#define LF_CHECK(cond)                                                 \
  do {                                                                 \
    if (__builtin_expect(!(cond), 0)) ::lf::check_failed(#cond, __FILE__, __LINE__, nullptr); \
  } while (0)
#define LF_CHECK_MSG(cond, msg)                                        \
  do {                                                                 \
    if (__builtin_expect(!(cond), 0)) ::lf::check_failed(#cond, __FILE__, __LINE__, (msg)); \
  } while (0)
