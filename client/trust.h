// SPDX-License-Identifier: Apache-2.0
// Client trust: a C2SP tlog-policy (c2sp.org/tlog-policy) and the checks that
// make a checkpoint trusted (DESIGN.md "Trust policy and proofs on the
// client"): a valid log signature by a policy log key named after the origin
// (c2sp.org/tlog-checkpoint) and a quorum of valid cosignature/v1 lines
// (c2sp.org/tlog-cosignature), not counting cosignatures dated more than
// 10 minutes in the future. Verified checkpoints are remembered by the
// SHA-256 of their exact text so that the same checkpoint (e.g. repeated in
// every proof of a lookup answer) is not verified again.
#ifndef KT_CLIENT_TRUST_H_
#define KT_CLIENT_TRUST_H_

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/checkpoint.h"
#include "core/policy.h"
#include "core/status.h"
#include "core/tlog_proof.h"

namespace kt::client {

// Clock returns the current POSIX time in seconds.
using Clock = std::function<uint64_t()>;
uint64_t SystemClockSeconds();

// TrustedCheckpoint is a checkpoint whose log signature and witness quorum
// verified under the policy.
struct TrustedCheckpoint {
  std::string note;  // the signed note, verbatim
  core::Checkpoint checkpoint;
  // witnesses: policy names of the witnesses whose cosignatures counted.
  std::vector<std::string> witnesses;
};

// TrustedRecord is a record (entry bytes) proven included at `index` in a
// trusted checkpoint by a tlog-proof.
struct TrustedRecord {
  core::Bytes record;
  uint64_t index = 0;
  TrustedCheckpoint checkpoint;
};

// Trust holds a policy and a cache of verified checkpoints. Thread-safe.
class Trust {
 public:
  // kMaxCached bounds the cache; when full it is cleared (checkpoints are
  // then verified again, which is only slower).
  static constexpr size_t kMaxCached = 4096;

  explicit Trust(core::Policy policy, Clock clock = SystemClockSeconds);

  // LoadPolicyFile reads and parses a tlog-policy file. NotFound, IOError or
  // InvalidArgument (with the parser's reason).
  static core::StatusOr<std::unique_ptr<Trust>> LoadPolicyFile(const std::filesystem::path& path,
                                                               Clock clock = SystemClockSeconds);

  // VerifyCheckpoint returns the checkpoint of `signed_note` if it is
  // trusted. Errors (core/note.h mapping): InvalidArgument("malformed: ..." /
  // "bad_checkpoint: ..."), VerificationFailed("bad_signature: ...") when a
  // policy key's line does not verify, PermissionDenied("unverified: ...")
  // when no log signature verified or the witness quorum does not hold.
  // A success is cached by the note's exact text.
  core::StatusOr<TrustedCheckpoint> VerifyCheckpoint(std::string_view signed_note) const;

  // VerifyLogSigned checks only the log signature of `signed_note` (no
  // quorum): what fork evidence needs, since a log key that signed two
  // inconsistent checkpoints is at fault whether or not witnesses cosigned.
  core::StatusOr<core::VerifiedCheckpoint> VerifyLogSigned(std::string_view signed_note) const;

  // VerifyTlogProof parses a c2sp.org/tlog-proof@v1 text, checks its
  // checkpoint as VerifyCheckpoint does (cached) and the inclusion of its
  // `extra` record at its index. InvalidArgument for a malformed proof or an
  // empty extra, VerificationFailed for a failing inclusion proof, and
  // VerifyCheckpoint's errors.
  core::StatusOr<TrustedRecord> VerifyTlogProof(std::string_view text) const;

  const core::Policy& policy() const { return policy_; }
  uint64_t Now() const { return clock_(); }
  // full_verifications counts checkpoints verified without the cache.
  uint64_t full_verifications() const;

 private:
  core::Policy policy_;
  Clock clock_;
  std::vector<core::VerifierKey> log_keys_;
  std::vector<core::VerifierKey> witness_keys_;
  mutable std::mutex mu_;
  mutable std::unordered_map<std::string, TrustedCheckpoint> cache_;  // key: SHA-256 of note
  mutable uint64_t full_verifications_ = 0;
};

}  // namespace kt::client

#endif  // KT_CLIENT_TRUST_H_
