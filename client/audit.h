// SPDX-License-Identifier: Apache-2.0
// The auditor behind `kt audit`: downloads a whole log through tlog-tiles
// entry bundles, recomputes the RFC 6962 tree and compares it with a trusted
// checkpoint that is consistent with state, checks every user's `prev` chain
// and, with verify_signatures, replays every user's history under the
// binding rules (replay.h: proofs of possession and endorsements).
// Resumable: it saves the position and the tree frontier about once a
// second (docs/client.md "Audit position file"; with signatures, only past
// entries whose signatures verified); a resumed run checks that saved
// frontier against hash tiles authenticated by the new checkpoint.
//
// Costs: bundles are fetched by `parallelism` threads into a bounded window
// ahead of the checking thread; the fetch threads also parse the entries in
// place (no copy) and hash each leaf once (entry_stream.h), so the checking
// thread does the node hashing, the user table (prefetched a bundle at a
// time) and the prev chains or replays; signatures are verified on every core (signature_pool.h) while the replay
// goes on. Memory: the O(log n) frontier, the window of bundles, the queue
// of pending signature checks, and per user: the user id and the index of
// its last entry (about 60 bytes for a 28-byte id, user_index.h), plus with
// signatures its current devices (ids and keys).
#ifndef KT_CLIENT_AUDIT_H_
#define KT_CLIENT_AUDIT_H_

#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "client/log_client.h"
#include "core/merkle.h"
#include "core/status.h"

namespace kt::client {

struct AuditOptions {
  std::optional<uint64_t> from;  // start here (0 = from scratch); default: resume
  bool verify_signatures = false;
  int parallelism = 8;
  std::function<void(uint64_t done, uint64_t total)> progress;
};

struct AuditReport {
  TrustedCheckpoint checkpoint;
  uint64_t start = 0;      // first entry read by this run
  uint64_t entries = 0;    // entries read by this run
  uint64_t users = 0;      // distinct users seen by this run
  uint64_t unendorsed = 0;     // key sets authorised by the operator
  uint64_t high_severity = 0;  // of those, users who already had devices
  uint64_t partial_chains = 0; // users first seen mid-chain (run did not start at 0)
  // With signatures and partial chains: checks that could not be made
  // (endorsements by, or revokes of, devices set before this run's start).
  uint64_t unchecked = 0;
  uint64_t signatures = 0;  // with signatures: Ed25519 verifications made
  uint64_t user_state_bytes = 0;  // memory held for per-user state at the end
};

// Audit position file: "kt-audit/v1\n" "size N\n" then one base64 frontier
// hash per line. FormatAuditPosition / ParseAuditPosition (strict,
// InvalidArgument) round-trip.
std::string FormatAuditPosition(const core::TreeBuilder& builder);
core::StatusOr<core::TreeBuilder> ParseAuditPosition(std::string_view text);

// RunAudit runs an audit. Errors: LogClient::Update's (rollback, fork,
// network), VerificationFailed for a tree that does not match, a broken
// prev chain or (with verify_signatures) a binding rule violation, naming
// the entry; IOError for the position file. When several entries fail, the
// error is the one a sequential run meets first (lowest index; within an
// entry, in UserReplay::Apply's order), although signatures are verified in
// parallel. A run that starts at N > 0 checks a user whose chain began
// before N as far as it can (UserReplay::Partial): its link into the part
// before N and endorsements by devices set before N are not checked (counted
// in `partial_chains` and `unchecked`), and never reported as failures.
core::StatusOr<AuditReport> RunAudit(LogClient& log, const std::filesystem::path& state_dir,
                                     const AuditOptions& options);

}  // namespace kt::client

#endif  // KT_CLIENT_AUDIT_H_
