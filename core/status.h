// SPDX-License-Identifier: Apache-2.0
// Status and StatusOr<T>: errors as values with a code and a reason. Our code
// never throws; bugs (broken invariants) go to KT_CHECK and abort.
#ifndef KT_CORE_STATUS_H_
#define KT_CORE_STATUS_H_

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace kt::core {

// Status is OK, or a code plus a human-readable reason. Const methods are
// thread-safe. kConflict may carry a number (e.g. the witness's stored size).
class [[nodiscard]] Status {
 public:
  enum class Code : uint8_t {
    kOk,
    kInvalidArgument,     // malformed input: HTTP 400
    kVerificationFailed,  // a proof or signature does not verify: 422 / 403
    kUnauthenticated,     // bad credentials: 401
    kPermissionDenied,    // no authority for this action: 403
    kNotFound,            // 404
    kConflict,            // state moved on (size mismatch, stale prev): 409
    kResourceExhausted,   // rate limited: 429
    kUnavailable,         // pushback, try later: 503
    kCorruption,          // stored data is inconsistent: fatal for a writer
    kIOError,
    kInternal,
  };

  Status() = default;
  static Status InvalidArgument(std::string m) { return {Code::kInvalidArgument, std::move(m)}; }
  static Status VerificationFailed(std::string m) { return {Code::kVerificationFailed, std::move(m)}; }
  static Status Unauthenticated(std::string m) { return {Code::kUnauthenticated, std::move(m)}; }
  static Status PermissionDenied(std::string m) { return {Code::kPermissionDenied, std::move(m)}; }
  static Status NotFound(std::string m) { return {Code::kNotFound, std::move(m)}; }
  static Status Conflict(std::string m, uint64_t value = 0) {
    Status s{Code::kConflict, std::move(m)};
    s.value_ = value;
    return s;
  }
  static Status ResourceExhausted(std::string m) { return {Code::kResourceExhausted, std::move(m)}; }
  static Status Unavailable(std::string m) { return {Code::kUnavailable, std::move(m)}; }
  static Status Corruption(std::string m) { return {Code::kCorruption, std::move(m)}; }
  static Status IOError(std::string m) { return {Code::kIOError, std::move(m)}; }
  static Status Internal(std::string m) { return {Code::kInternal, std::move(m)}; }

  bool ok() const { return code_ == Code::kOk; }
  Code code() const { return code_; }
  const std::string& message() const { return msg_; }
  // value is the number a kConflict carries (0 otherwise).
  uint64_t value() const { return value_; }
  // ToString is "OK" or "<code name>: <message>".
  std::string ToString() const;
  // Annotate returns a copy whose message is prefixed with `context: `.
  Status Annotate(std::string_view context) const {
    if (ok()) return *this;
    Status s = *this;
    s.msg_ = std::string(context) + ": " + msg_;
    return s;
  }

 private:
  Status(Code c, std::string m) : code_(c), msg_(std::move(m)) {}
  Code code_ = Code::kOk;
  uint64_t value_ = 0;
  std::string msg_;
};

// CodeName returns a stable lowercase name for a code, e.g. "invalid_argument".
std::string_view CodeName(Status::Code code);

[[noreturn]] void CheckFailed(const char* file, int line, const char* expr);

}  // namespace kt::core

// KT_CHECK aborts on a broken invariant (a bug), never on bad input.
#define KT_CHECK(cond)                                          \
  do {                                                          \
    if (!(cond)) ::kt::core::CheckFailed(__FILE__, __LINE__, #cond); \
  } while (0)

namespace kt::core {

// StatusOr<T> holds a T or a non-OK Status. value() on an error is a bug.
template <typename T>
class [[nodiscard]] StatusOr {
 public:
  StatusOr(const T& v) : v_(v) {}             // NOLINT(google-explicit-constructor)
  StatusOr(T&& v) : v_(std::move(v)) {}       // NOLINT(google-explicit-constructor)
  StatusOr(Status s) : v_(std::move(s)) {     // NOLINT(google-explicit-constructor)
    KT_CHECK(!std::get<Status>(v_).ok());
  }
  bool ok() const { return std::holds_alternative<T>(v_); }
  Status status() const { return ok() ? Status() : std::get<Status>(v_); }
  const T& value() const& { KT_CHECK(ok()); return std::get<T>(v_); }
  T& value() & { KT_CHECK(ok()); return std::get<T>(v_); }
  // value() on an rvalue returns by value, so `for (x : F().value())` does
  // not dangle when F returns a temporary StatusOr.
  T value() && { KT_CHECK(ok()); return std::get<T>(std::move(v_)); }
  const T& operator*() const& { return value(); }
  T& operator*() & { return value(); }
  const T* operator->() const { return &value(); }
  T* operator->() { return &value(); }

 private:
  std::variant<T, Status> v_;
};

}  // namespace kt::core

#define KT_STATUS_CONCAT_INNER_(a, b) a##b
#define KT_STATUS_CONCAT_(a, b) KT_STATUS_CONCAT_INNER_(a, b)

// KT_RETURN_IF_ERROR(expr) returns the Status of `expr` when it is not OK.
#define KT_RETURN_IF_ERROR(expr)                 \
  do {                                           \
    ::kt::core::Status _kt_s = (expr);           \
    if (!_kt_s.ok()) return _kt_s;               \
  } while (0)

// KT_ASSIGN_OR_RETURN(lhs, expr): evaluates a StatusOr, returns its Status on
// error, otherwise moves the value into `lhs` (which may be a declaration).
#define KT_ASSIGN_OR_RETURN(lhs, expr) \
  KT_ASSIGN_OR_RETURN_IMPL_(KT_STATUS_CONCAT_(_kt_or_, __LINE__), lhs, expr)
#define KT_ASSIGN_OR_RETURN_IMPL_(tmp, lhs, expr) \
  auto tmp = (expr);                              \
  if (!tmp.ok()) return tmp.status();             \
  lhs = std::move(tmp).value()

#endif  // KT_CORE_STATUS_H_
