// SPDX-License-Identifier: Apache-2.0
// The monitor behind `kt monitor` (DESIGN.md "Trust policy and proofs on the
// client": monitors report every new entry for a watched user since their
// stored position). Each poll updates the trusted checkpoint (consistency,
// rollback and fork detection), reads the new entries through entry bundles
// authenticated against it (entry_stream.h) and turns every entry of a
// watched user (or of every user) into an alert: key set, rotation, device
// addition, revocation; unendorsed additions and key changes while the user
// had devices are high severity. Alerts of a poll are emitted only after its
// entries were authenticated. After each poll the position and the replay
// state of every user met so far (last entry, current devices and keys) are
// saved (FormatMonitorState), so a restarted monitor needs no history
// lookups for them; with --all that is every user of the log.
#ifndef KT_CLIENT_MONITOR_H_
#define KT_CLIENT_MONITOR_H_

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "client/log_client.h"
#include "client/replay.h"
#include "core/status.h"

namespace kt::client {

struct Alert {
  std::string severity;  // "info" or "high"
  std::string kind;      // add-device, rotate, revoke, fork, rollback, error
  std::string user;
  std::string device;
  uint64_t index = 0;
  std::string message;
  // Line is the one-line human form; Json the machine form.
  std::string Line() const;
  std::string Json() const;
};

struct MonitorOptions {
  std::set<std::string> watch;
  bool all = false;
  int parallelism = 8;
};

// Monitor state file: "kt-monitor/v2\n" "position N\n", then per user
// "user <base64 id> <last index>\n" followed by its devices, one
// "device <base64 id> <base64 key> <index>\n" each (sorted). Format /
// Parse (strict: InvalidArgument) round-trip.
std::string FormatMonitorState(uint64_t position,
                               const std::map<std::string, std::unique_ptr<UserReplay>>& users);
core::Status ParseMonitorState(std::string_view text, uint64_t* position,
                               std::map<std::string, std::unique_ptr<UserReplay>>* users);

// Monitor is not thread-safe.
class Monitor {
 public:
  Monitor(LogClient& log, std::filesystem::path state_dir, MonitorOptions options)
      : log_(log), dir_(std::move(state_dir)), options_(std::move(options)) {}

  // Poll runs one round and returns its alerts. A fork or rollback is
  // returned as an alert *and* as the error (the caller decides to stop);
  // `alerts` is filled in either case.
  core::Status Poll(std::vector<Alert>* alerts);

  // position is the index of the next entry to read (after Poll).
  uint64_t position() const { return position_; }

 private:
  core::Status LoadState(const std::string& origin);
  core::Status SaveState(const std::string& origin);
  core::StatusOr<UserReplay*> StateFor(const core::Entry& entry, uint64_t index);
  bool Watched(const std::string& user) const {
    return options_.all || options_.watch.count(user) > 0;
  }

  LogClient& log_;
  std::filesystem::path dir_;
  MonitorOptions options_;
  bool loaded_ = false;
  uint64_t position_ = 0;
  std::map<std::string, std::unique_ptr<UserReplay>> users_;
  // undo_: the state before this poll of each user it touched (nullopt: new).
  std::map<std::string, std::optional<UserReplay>> undo_;
};

}  // namespace kt::client

#endif  // KT_CLIENT_MONITOR_H_
