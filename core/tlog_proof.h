// SPDX-License-Identifier: Apache-2.0
// C2SP tlog-proof (c2sp.org/tlog-proof@v1): an offline-verifiable proof that
// a record is in a transparency log, as text:
//
//   c2sp.org/tlog-proof@v1
//   extra <base64 opaque data>        (optional; ours: the entry bytes)
//   index <decimal, 0-based>
//   <base64 hash>                     (zero or more: RFC 6962 §2.1.1 audit path,
//   ...                                from the leaf's sibling to the root's child)
//   <empty line>
//   <signed checkpoint note, verbatim (c2sp.org/tlog-checkpoint)>
#ifndef KT_CORE_TLOG_PROOF_H_
#define KT_CORE_TLOG_PROOF_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/bytes.h"
#include "core/checkpoint.h"
#include "core/policy.h"
#include "core/status.h"

namespace kt::core {

inline constexpr std::string_view kTlogProofHeader = "c2sp.org/tlog-proof@v1";
// kMaxTlogProofHashes: an audit path in a tree of < 2^64 leaves has at most
// 64 hashes.
inline constexpr size_t kMaxTlogProofHashes = 64;
// kMaxCosignatureSkewSeconds: cosignatures dated further than this in the
// future do not count toward the quorum (DESIGN.md "Trust policy").
inline constexpr uint64_t kMaxCosignatureSkewSeconds = 600;
// kMaxTlogProofSize bounds the whole text (an entry is at most 65535 bytes,
// so its base64 plus a checkpoint with many cosignatures fits easily).
inline constexpr size_t kMaxTlogProofSize = size_t{1} << 20;

// TlogProof is a parsed tlog-proof. `extra` is empty when the proof carries
// no extra line (an empty extra line is rejected, so the two never differ).
// `checkpoint` is the full signed checkpoint note, verbatim.
struct TlogProof {
  Bytes extra;
  uint64_t index = 0;
  std::vector<Hash> inclusion;
  std::string checkpoint;
  bool operator==(const TlogProof&) const = default;
};

// ParseTlogProof parses `text` strictly: lines end in '\n' only; the header
// line exactly; an optional "extra " line with non-empty canonical standard
// base64; "index " with a canonical decimal; at most 64 lines of canonical
// base64 of exactly 32 bytes; an empty line; then the checkpoint: a signed
// note (ParseNote) whose text is a checkpoint (ParseCheckpoint). Signatures
// are not verified here. At most kMaxTlogProofSize bytes. InvalidArgument
// with a reason otherwise. For every accepted text,
// FormatTlogProof(result) == text.
StatusOr<TlogProof> ParseTlogProof(std::string_view text);

// FormatTlogProof returns the text form; `checkpoint` is copied verbatim.
std::string FormatTlogProof(const TlogProof& proof);

// VerifiedTlogProof is a proof whose every check passed.
struct VerifiedTlogProof {
  TlogProof proof;
  Checkpoint checkpoint;
  // witnesses: policy names of the witnesses whose cosignatures counted.
  std::vector<std::string> witnesses;
};

// VerifyTlogProof parses `text` and checks, in this order:
//  1. the checkpoint note verifies against the policy's log and witness keys
//     with a log signature named after its origin (VerifyCheckpoint; its
//     errors are returned as they are: malformed / bad_signature /
//     unverified / bad_checkpoint);
//  2. the witnesses whose cosignatures verified, leaving out any dated more
//     than kMaxCosignatureSkewSeconds after `now_unix_seconds`, satisfy the
//     policy's quorum; PermissionDenied("unverified: ...") otherwise;
//  3. the audit path proves RecordHash(extra) at `index` in the checkpoint's
//     tree (RFC 6962 §2.1.1); InvalidArgument for a proof malformed for its
//     sizes (index >= tree size, wrong path length) or an empty `extra`,
//     VerificationFailed when the root differs.
// `extra` is the record itself (for us, the entry bytes). Thread-safe.
StatusOr<VerifiedTlogProof> VerifyTlogProof(std::string_view text, const Policy& policy,
                                            uint64_t now_unix_seconds);

}  // namespace kt::core

#endif  // KT_CORE_TLOG_PROOF_H_
