// SPDX-License-Identifier: Apache-2.0
// Log monitor: alerts on watched users' key changes, forks and rollbacks.
#include "client/monitor.h"

#include <nlohmann/json.hpp>

#include "client/entry_stream.h"
#include "client/errors.h"
#include "client/lookup.h"
#include "core/crypto.h"
#include "core/encoding.h"
#include "store/file_util.h"

namespace kt::client {

using core::Status;
using core::StatusOr;

namespace {

std::filesystem::path PositionPath(const std::filesystem::path& dir, std::string_view origin) {
  return dir / ("monitor-" + core::HexEncode(core::Sha256(core::AsBytes(origin))) + ".pos");
}

Alert FromEvent(const BindingEvent& ev) {
  Alert a;
  a.kind = EventKindName(ev.kind);
  a.user = ev.entry.user;
  a.device = ev.entry.device;
  a.index = ev.index;
  const std::string by = ev.unendorsed ? "NOT endorsed by any of the user's devices (operator)"
                                       : "endorsed by " + [&] {
                                           std::string s;
                                           for (const auto& d : ev.endorsed_by) s += (s.empty() ? "" : ",") + d;
                                           return s;
                                         }();
  const std::string key = core::Base64Encode(ev.entry.identity_key);
  switch (ev.kind) {
    case EventKind::kAddDevice:
      a.message = "device " + ev.entry.device + " added with key " + key + ", " + by;
      break;
    case EventKind::kRotate:
      a.message = "device " + ev.entry.device + " key changed from " +
                  core::Base64Encode(ev.previous_key) + " to " + key + ", " + by;
      break;
    case EventKind::kRevoke:
      a.message = "device " + ev.entry.device + " revoked, " + by;
      break;
  }
  a.severity = ev.HighSeverity() ? "high" : "info";
  return a;
}

}  // namespace

std::string Alert::Line() const {
  std::string s = "[" + std::string(severity == "high" ? "HIGH" : "info") + "] " + kind;
  if (!user.empty()) s += " user=" + user;
  if (!device.empty()) s += " device=" + device;
  if (kind != "fork" && kind != "rollback" && kind != "error") s += " index=" + std::to_string(index);
  return s + ": " + message;
}

std::string Alert::Json() const {
  nlohmann::json j = {{"severity", severity}, {"kind", kind},   {"user", user},
                      {"device", device},     {"index", index}, {"message", message}};
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

Status Monitor::LoadPosition(const std::string& origin) {
  auto text = store::ReadFile(PositionPath(dir_, origin), 64);
  if (!text.ok()) {
    if (text.status().code() == Status::Code::kNotFound) return Status();
    return Status::IOError(text.status().message());
  }
  std::string_view t = *text;
  if (!t.ends_with('\n')) return Status::Corruption("monitor position file: malformed");
  auto v = core::ParseDecimal(t.substr(0, t.size() - 1));
  if (!v.ok()) return Status::Corruption("monitor position file: malformed");
  position_ = *v;
  return Status();
}

Status Monitor::SavePosition(const std::string& origin) {
  return store::WriteFileAtomic(PositionPath(dir_, origin), std::to_string(position_) + "\n", 0600);
}

StatusOr<UserReplay*> Monitor::StateFor(const core::Entry& entry, uint64_t index) {
  auto it = users_.find(entry.user);
  if (it != users_.end()) return it->second.get();
  auto replay = std::make_unique<UserReplay>(entry.user);
  if (entry.prev != 0) {
    // The user's earlier entries precede our position (a restart, or a user
    // first met in --all mode): rebuild their state from the verified history.
    Lookup lookup(log_);
    KT_ASSIGN_OR_RETURN(HistoryAnswer h, lookup.History(entry.user));
    for (const VerifiedEntry& e : h.entries) {
      if (e.index >= index) break;
      auto ev = replay->Apply(e.index, e.entry);
      if (!ev.ok()) return ev.status();
    }
  }
  UserReplay* p = replay.get();
  users_[entry.user] = std::move(replay);
  return p;
}

Status Monitor::Poll(std::vector<Alert>* alerts) {
  alerts->clear();
  auto update = log_.Update();
  if (!update.ok()) {
    const Status& s = update.status();
    if (IsFork(s) || IsRollback(s)) {
      Alert a;
      a.severity = "high";
      a.kind = IsFork(s) ? "fork" : "rollback";
      a.message = s.message();
      alerts->push_back(a);
    }
    return s;
  }
  const TrustedCheckpoint& cp = update->checkpoint;
  if (!loaded_) {
    KT_RETURN_IF_ERROR(LoadPosition(cp.checkpoint.origin));
    loaded_ = true;
  }
  if (position_ > cp.checkpoint.size) {
    return Status::Corruption("monitor position beyond the trusted checkpoint");
  }
  if (position_ == cp.checkpoint.size) return Status();
  std::vector<Alert> pending;
  EntryStreamOptions so;
  so.parallelism = options_.parallelism;
  auto on_entry = [&](uint64_t index, core::ByteSpan bytes) -> Status {
    auto entry = core::DecodeEntry(bytes);
    if (!entry.ok()) {
      return Status::VerificationFailed("entry " + std::to_string(index) + " does not decode");
    }
    if (!Watched(entry->user)) return Status();
    KT_ASSIGN_OR_RETURN(UserReplay * replay, StateFor(*entry, index));
    KT_ASSIGN_OR_RETURN(BindingEvent ev, replay->Apply(index, *entry));
    pending.push_back(FromEvent(ev));
    return Status();
  };
  // Start from scratch (no frontier) unless we have read before: then the
  // frontier at position_ comes from authenticated tiles.
  KT_RETURN_IF_ERROR(ReadEntries(log_.fetcher(), cp, position_, std::nullopt, so, on_entry));
  // Authenticated: emit and advance.
  *alerts = std::move(pending);
  position_ = cp.checkpoint.size;
  return SavePosition(cp.checkpoint.origin);
}

}  // namespace kt::client
