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

std::filesystem::path StatePath(const std::filesystem::path& dir, std::string_view origin) {
  return dir / ("monitor-" + core::HexEncode(core::Sha256(core::AsBytes(origin))) + ".state");
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

std::string FormatMonitorState(uint64_t position,
                               const std::map<std::string, std::unique_ptr<UserReplay>>& users) {
  std::string out = "kt-monitor/v2\nposition " + std::to_string(position) + "\n";
  for (const auto& [user, replay] : users) {
    if (!replay->last_index().has_value()) continue;
    out += "user " + core::Base64Encode(core::AsBytes(user)) + " " +
           std::to_string(*replay->last_index()) + "\n";
    for (const DeviceKey& d : replay->devices()) {
      out += "device " + core::Base64Encode(core::AsBytes(d.device)) + " " +
             core::Base64Encode(d.identity_key) + " " + std::to_string(d.index) + "\n";
    }
  }
  return out;
}

Status ParseMonitorState(std::string_view text, uint64_t* position,
                         std::map<std::string, std::unique_ptr<UserReplay>>* users) {
  auto bad = [](const std::string& why) { return Status::InvalidArgument("monitor state: " + why); };
  std::vector<std::string_view> lines;
  while (!text.empty()) {
    size_t nl = text.find('\n');
    if (nl == std::string_view::npos) return bad("last line without newline");
    lines.push_back(text.substr(0, nl));
    text.remove_prefix(nl + 1);
  }
  if (lines.size() < 2 || lines[0] != "kt-monitor/v2" || !lines[1].starts_with("position ")) {
    return bad("missing header");
  }
  auto pos = core::ParseDecimal(lines[1].substr(9));
  if (!pos.ok()) return bad("bad position");
  auto field = [](std::string_view line, size_t k) {
    for (size_t i = 0; i < k; i++) line.remove_prefix(std::min(line.size(), line.find(' ') + 1));
    return line.substr(0, line.find(' '));
  };
  auto text64 = [](std::string_view b64) -> std::optional<std::string> {
    auto b = core::Base64Decode(b64);
    if (!b.ok() || b->empty() || b->size() > core::kMaxIdLength) return std::nullopt;
    return core::ToString(*b);
  };
  std::map<std::string, std::unique_ptr<UserReplay>> out;
  for (size_t i = 2; i < lines.size();) {
    std::string_view line = lines[i++];
    auto user = text64(field(line, 1));
    auto last = core::ParseDecimal(field(line, 2));
    if (!line.starts_with("user ") || !user || !last.ok() || out.count(*user) > 0 || *last >= *pos) {
      return bad("bad user line " + std::to_string(i));
    }
    std::vector<DeviceKey> devices;
    for (; i < lines.size() && lines[i].starts_with("device "); i++) {
      auto dev = text64(field(lines[i], 1));
      auto key = core::Base64Decode(field(lines[i], 2));
      auto index = core::ParseDecimal(field(lines[i], 3));
      if (!dev || !key.ok() || key->size() != 32 || !index.ok()) {
        return bad("bad device line " + std::to_string(i + 1));
      }
      DeviceKey d{*dev, {}, *index};
      std::copy(key->begin(), key->end(), d.identity_key.begin());
      devices.push_back(std::move(d));
    }
    auto replay = UserReplay::Restored(*user, *last, std::move(devices));
    if (!replay.ok()) return bad(replay.status().message());
    out[*user] = std::make_unique<UserReplay>(std::move(replay).value());
  }
  *position = *pos;
  *users = std::move(out);
  return Status();
}

Status Monitor::LoadState(const std::string& origin) {
  auto state = store::ReadFile(StatePath(dir_, origin), size_t{1} << 34);
  if (state.ok()) {
    Status s = ParseMonitorState(*state, &position_, &users_);
    return s.ok() ? s : Status::Corruption(s.message());
  }
  if (state.status().code() != Status::Code::kNotFound) return Status::IOError(state.status().message());
  // An older monitor saved only its position (users are then rebuilt from
  // their verified histories when met).
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

Status Monitor::SaveState(const std::string& origin) {
  return store::WriteFileAtomic(StatePath(dir_, origin), FormatMonitorState(position_, users_), 0600);
}

StatusOr<UserReplay*> Monitor::StateFor(const core::Entry& entry, uint64_t index) {
  auto it = users_.find(entry.user);
  if (it != users_.end()) {
    // Kept as it was before this poll, until the poll is authenticated.
    if (undo_.count(entry.user) == 0) undo_.emplace(entry.user, *it->second);
    return it->second.get();
  }
  undo_.emplace(entry.user, std::nullopt);
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
    KT_RETURN_IF_ERROR(LoadState(cp.checkpoint.origin));
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
  undo_.clear();
  Status read = ReadEntries(log_.fetcher(), cp, position_, std::nullopt, so, on_entry);
  if (!read.ok()) {
    // What this poll applied was not authenticated: forget it.
    for (auto& [user, before] : undo_) {
      if (before.has_value()) {
        *users_[user] = std::move(*before);
      } else {
        users_.erase(user);
      }
    }
    undo_.clear();
    return read;
  }
  undo_.clear();
  // Authenticated: emit and advance.
  *alerts = std::move(pending);
  position_ = cp.checkpoint.size;
  return SaveState(cp.checkpoint.origin);
}

}  // namespace kt::client
