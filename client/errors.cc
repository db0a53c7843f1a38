// SPDX-License-Identifier: Apache-2.0
// Client error classes and their exit codes (see errors.h).
#include "client/errors.h"

#include <string_view>

namespace kt::client {
namespace {

constexpr std::string_view kFork = "fork: ";
constexpr std::string_view kRollback = "rollback: ";
constexpr std::string_view kKeyChange = "key_change: ";
constexpr std::string_view kUsage = "usage: ";

bool HasPrefix(const core::Status& s, std::string_view prefix) {
  return !s.ok() && s.message().starts_with(prefix);
}

}  // namespace

core::Status ForkError(const std::string& reason) {
  return core::Status::Conflict(std::string(kFork) + reason);
}
core::Status RollbackError(const std::string& reason) {
  return core::Status::Conflict(std::string(kRollback) + reason);
}
core::Status KeyChangeError(const std::string& reason) {
  return core::Status::Conflict(std::string(kKeyChange) + reason);
}
bool IsFork(const core::Status& s) {
  return s.code() == core::Status::Code::kConflict && HasPrefix(s, kFork);
}
bool IsRollback(const core::Status& s) {
  return s.code() == core::Status::Code::kConflict && HasPrefix(s, kRollback);
}
bool IsKeyChange(const core::Status& s) {
  return s.code() == core::Status::Code::kConflict && HasPrefix(s, kKeyChange);
}

int ExitCodeFor(const core::Status& s) {
  using Code = core::Status::Code;
  if (s.ok()) return kExitOk;
  if (IsFork(s)) return kExitFork;
  if (IsRollback(s)) return kExitRollback;
  if (IsKeyChange(s)) return kExitKeyChange;
  if (HasPrefix(s, kUsage)) return kExitUsage;
  switch (s.code()) {
    case Code::kUnavailable:
    case Code::kResourceExhausted:
    case Code::kNotFound:
      return kExitNetwork;
    case Code::kIOError:
    case Code::kCorruption:
      return kExitLocalState;
    default:
      return kExitVerification;
  }
}

}  // namespace kt::client
