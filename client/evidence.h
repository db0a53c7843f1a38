// SPDX-License-Identifier: Apache-2.0
// Fork evidence: two checkpoints signed by the same log key that cannot both
// be heads of one append-only tree (DESIGN.md "Trust policy and proofs on the
// client"). Anyone holding the policy can check a file with
// `kt verify-evidence FILE`; it needs no network and no trust in the client
// that wrote it. File format (docs/client.md):
//
//   kt-fork-evidence/v1
//   checkpoint <base64 of signed note A>
//   checkpoint <base64 of signed note B>
//   prefix-root <base64 hash>         only when the sizes differ
//   proof <base64 hash>               zero or more, only when the sizes differ
//
// Same size: the roots differ. Different sizes (m < n): `prefix-root` is the
// root of the first m leaves of the larger tree, and the proof lines are an
// RFC 6962 §2.1.2 consistency proof from (m, prefix-root) to the larger
// checkpoint's root; a valid proof with prefix-root different from the
// smaller checkpoint's root shows that the larger tree does not extend the
// smaller one (SHA-256 collision resistance).
#ifndef KT_CLIENT_EVIDENCE_H_
#define KT_CLIENT_EVIDENCE_H_

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "client/trust.h"
#include "core/bytes.h"
#include "core/status.h"

namespace kt::client {

inline constexpr std::string_view kEvidenceHeader = "kt-fork-evidence/v1";
inline constexpr size_t kMaxEvidenceSize = size_t{4} << 20;

struct ForkEvidence {
  std::string first;   // signed checkpoint note
  std::string second;  // signed checkpoint note
  std::optional<core::Hash> prefix_root;
  std::vector<core::Hash> proof;
  bool operator==(const ForkEvidence&) const = default;
};

// FormatEvidence returns the file text (lines end in '\n').
std::string FormatEvidence(const ForkEvidence& evidence);

// ParseEvidence parses a file strictly (format above; canonical base64, at
// most 64 proof lines, proof lines only after a prefix-root, nothing else).
// InvalidArgument with a reason otherwise. For every accepted text t,
// FormatEvidence(ParseEvidence(t)) == t.
core::StatusOr<ForkEvidence> ParseEvidence(std::string_view text);

// EvidenceVerdict describes evidence that proves a fork.
struct EvidenceVerdict {
  std::string origin;
  core::Checkpoint first;
  core::Checkpoint second;
  std::string reason;
};

// VerifyEvidence checks that both notes carry a valid signature by a policy
// log key for the same origin (witness quorum is not required: the log key
// alone is at fault) and that the two checkpoints cannot be consistent (see
// the file comment). OK with the verdict; VerificationFailed("not a fork: ...")
// when they are consistent or the evidence proves nothing; the signature
// errors of Trust::VerifyLogSigned.
core::StatusOr<EvidenceVerdict> VerifyEvidence(const ForkEvidence& evidence, const Trust& trust);

// WriteEvidenceFile writes `evidence` under dir/evidence/ with a fresh name
// and returns its path. IOError on failure.
core::StatusOr<std::filesystem::path> WriteEvidenceFile(const std::filesystem::path& dir,
                                                        const ForkEvidence& evidence);

}  // namespace kt::client

#endif  // KT_CLIENT_EVIDENCE_H_
