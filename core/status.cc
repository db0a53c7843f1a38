// SPDX-License-Identifier: Apache-2.0
// Status names and the KT_CHECK failure path.
#include "core/status.h"

namespace kt::core {

std::string_view CodeName(Status::Code code) {
  switch (code) {
    case Status::Code::kOk: return "ok";
    case Status::Code::kInvalidArgument: return "invalid_argument";
    case Status::Code::kVerificationFailed: return "verification_failed";
    case Status::Code::kUnauthenticated: return "unauthenticated";
    case Status::Code::kPermissionDenied: return "permission_denied";
    case Status::Code::kNotFound: return "not_found";
    case Status::Code::kConflict: return "conflict";
    case Status::Code::kResourceExhausted: return "resource_exhausted";
    case Status::Code::kUnavailable: return "unavailable";
    case Status::Code::kCorruption: return "corruption";
    case Status::Code::kIOError: return "io_error";
    case Status::Code::kInternal: return "internal";
  }
  return "unknown";
}

std::string Status::ToString() const {
  if (ok()) return "OK";
  return std::string(CodeName(code_)) + ": " + msg_;
}

void CheckFailed(const char* file, int line, const char* expr) {
  std::fprintf(stderr, "KT_CHECK failed at %s:%d: %s\n", file, line, expr);
  std::abort();
}

}  // namespace kt::core
