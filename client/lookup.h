// SPDX-License-Identifier: Apache-2.0
// Verified lookups (DESIGN.md "Log HTTP API": GET /v1/lookup and
// /v1/history): every entry is proven included (c2sp.org/tlog-proof@v1 with
// the entry as `extra`) in a trusted checkpoint that is consistent with the
// client's state, every entry is replayed under the binding rules
// (replay.h: prev chain, proof of possession, endorsements over `prev`), and
// the lookup's device set must be exactly what the verified history yields.
#ifndef KT_CLIENT_LOOKUP_H_
#define KT_CLIENT_LOOKUP_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "client/log_client.h"
#include "client/replay.h"
#include "client/trust.h"
#include "core/entry.h"
#include "core/status.h"

namespace kt::client {

// VerifiedEntry is an entry proven included at `index`.
struct VerifiedEntry {
  uint64_t index = 0;
  core::Bytes bytes;
  core::Entry entry;
};

// LookupAnswer is a verified /v1/lookup body: devices sorted by name.
struct LookupAnswer {
  std::string user;
  std::vector<TrustedCheckpoint> checkpoints;  // distinct, answer's first
  std::vector<VerifiedEntry> devices;
};

// VerifyLookupAnswer checks a /v1/lookup body for `user` with `trust` alone
// (no state): each device's tlog-proof verifies (trusted checkpoint,
// inclusion of `extra` at `index`), `extra` equals the `entry` field, the
// entry decodes, is a key set of this user and device with a valid proof of
// possession, and no device appears twice. InvalidArgument for a malformed
// answer, VerificationFailed / PermissionDenied for a failed check.
core::StatusOr<LookupAnswer> VerifyLookupAnswer(std::string_view body, std::string_view user,
                                                const Trust& trust);

// HistoryAnswer is a verified /v1/history body: entries oldest first, each
// with its replayed event, and the current devices after the last one.
struct HistoryAnswer {
  std::string user;
  std::vector<TrustedCheckpoint> checkpoints;
  std::vector<VerifiedEntry> entries;
  std::vector<BindingEvent> events;
  UserReplay replay{""};
};

// VerifyHistoryAnswer checks a /v1/history body: each entry proven as in
// VerifyLookupAnswer, then all of them replayed in order (UserReplay::Apply).
core::StatusOr<HistoryAnswer> VerifyHistoryAnswer(std::string_view body, std::string_view user,
                                                  const Trust& trust);

// LookupResult is a user's verified current devices with their history.
struct LookupResult {
  LookupAnswer lookup;
  HistoryAnswer history;
};

// Lookup runs lookups through a LogClient, so every checkpoint seen is
// reconciled with state (consistency, fork detection). Not thread-safe.
class Lookup {
 public:
  explicit Lookup(LogClient& client) : client_(client) {}

  // Get fetches /v1/lookup and /v1/history, verifies both, reconciles their
  // checkpoints with state, and requires the lookup's devices to equal the
  // devices the history yields up to the lookup's checkpoint (same device
  // names, indexes and entry bytes): a swapped key, a hidden device or a
  // history with an entry left out all fail. NotFound for an unknown user.
  core::StatusOr<LookupResult> Get(std::string_view user);

  // History fetches and verifies /v1/history alone.
  core::StatusOr<HistoryAnswer> History(std::string_view user);

 private:
  core::Status Reconcile(const std::vector<TrustedCheckpoint>& checkpoints);
  LogClient& client_;
};

}  // namespace kt::client

#endif  // KT_CLIENT_LOOKUP_H_
