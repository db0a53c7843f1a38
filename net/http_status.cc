// SPDX-License-Identifier: Apache-2.0
// Status <-> HTTP mapping; see net/http_status.h.
#include "net/http_status.h"

#include <nlohmann/json.hpp>

namespace kt::net {
namespace {

using core::Status;
using Code = Status::Code;

constexpr Code kAllCodes[] = {
    Code::kOk,          Code::kInvalidArgument,   Code::kVerificationFailed,
    Code::kUnauthenticated, Code::kPermissionDenied, Code::kNotFound,
    Code::kConflict,    Code::kResourceExhausted, Code::kUnavailable,
    Code::kCorruption,  Code::kIOError,           Code::kInternal,
};

Status Make(Code code, std::string msg, uint64_t value) {
  switch (code) {
    case Code::kOk:
    case Code::kInternal: return Status::Internal(std::move(msg));
    case Code::kInvalidArgument: return Status::InvalidArgument(std::move(msg));
    case Code::kVerificationFailed: return Status::VerificationFailed(std::move(msg));
    case Code::kUnauthenticated: return Status::Unauthenticated(std::move(msg));
    case Code::kPermissionDenied: return Status::PermissionDenied(std::move(msg));
    case Code::kNotFound: return Status::NotFound(std::move(msg));
    case Code::kConflict: return Status::Conflict(std::move(msg), value);
    case Code::kResourceExhausted: return Status::ResourceExhausted(std::move(msg));
    case Code::kUnavailable: return Status::Unavailable(std::move(msg));
    case Code::kCorruption: return Status::Corruption(std::move(msg));
    case Code::kIOError: return Status::IOError(std::move(msg));
  }
  return Status::Internal(std::move(msg));
}

Code CodeForHttp(int http_status) {
  switch (http_status) {
    case 400: return Code::kInvalidArgument;
    case 401: return Code::kUnauthenticated;
    case 403: return Code::kPermissionDenied;
    case 404: return Code::kNotFound;
    case 409: return Code::kConflict;
    case 422: return Code::kVerificationFailed;
    case 429: return Code::kResourceExhausted;
    case 503: return Code::kUnavailable;
    default: return http_status >= 500 ? Code::kInternal : Code::kInvalidArgument;
  }
}

}  // namespace

int HttpStatusFor(Code code) {
  switch (code) {
    case Code::kOk: return 200;
    case Code::kInvalidArgument: return 400;
    case Code::kUnauthenticated: return 401;
    case Code::kPermissionDenied: return 403;
    case Code::kNotFound: return 404;
    case Code::kConflict: return 409;
    case Code::kVerificationFailed: return 422;
    case Code::kResourceExhausted: return 429;
    case Code::kUnavailable: return 503;
    case Code::kCorruption:
    case Code::kIOError:
    case Code::kInternal: return 500;
  }
  return 500;
}

std::string JsonError(const Status& status) {
  nlohmann::json j;
  j["error"] = status.message();
  j["code"] = std::string(core::CodeName(status.code()));
  if (status.code() == Code::kConflict && status.value() != 0) j["value"] = status.value();
  // Replace invalid UTF-8 instead of throwing: messages may quote bad input.
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

Status StatusFromHttp(int http_status, std::string_view body) {
  if (http_status >= 200 && http_status < 300) return Status();
  Code code = CodeForHttp(http_status);
  std::string msg;
  uint64_t value = 0;
  auto j = nlohmann::json::parse(body, nullptr, false);
  if (!j.is_discarded() && j.is_object()) {
    if (auto it = j.find("error"); it != j.end() && it->is_string()) msg = it->get<std::string>();
    if (auto it = j.find("code"); it != j.end() && it->is_string()) {
      for (Code c : kAllCodes) {
        if (c != Code::kOk && core::CodeName(c) == it->get<std::string>()) code = c;
      }
    }
    if (auto it = j.find("value"); it != j.end() && it->is_number_unsigned()) {
      value = it->get<uint64_t>();
    }
  }
  if (msg.empty()) msg = std::string(body.substr(0, 512));
  return Make(code, "HTTP " + std::to_string(http_status) + ": " + msg, value);
}

}  // namespace kt::net
