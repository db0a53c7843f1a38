// SPDX-License-Identifier: Apache-2.0
// The witness logic of c2sp.org/tlog-witness, without HTTP: verify an
// add-checkpoint request, compare-and-swap the stored checkpoint of its
// origin, and return cosignature/v1 lines (c2sp.org/tlog-cosignature) by every
// configured witness key.
//
// Errors, in the precedence DESIGN.md "Witness HTTP API" fixes (the first
// that applies wins); the HTTP layer maps codes through net::HttpStatusFor:
//   InvalidArgument     400  malformed body / checkpoint, > 63 proof lines
//   NotFound            404  unknown origin
//   ResourceExhausted   429  per-origin rate limit (only if configured)
//   PermissionDenied    403  no valid trusted log signature, or a trusted
//                            key's signature that fails
//   InvalidArgument     400  old size > checkpoint size
//   Conflict            409  old size != stored size (value() = stored size)
//   VerificationFailed  422  bad consistency proof, non-empty proof with old
//                            size 0, size 0 with a root other than
//                            SHA-256(""), same size as stored, other root
//   IOError/Corruption  500  storage failure (nothing was cosigned)
#ifndef KT_WITNESS_WITNESS_H_
#define KT_WITNESS_WITNESS_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/bytes.h"
#include "core/checkpoint.h"
#include "core/keys.h"
#include "core/status.h"
#include "witness/group_commit.h"
#include "witness/state_store.h"

namespace kt::witness {

// Verdict is the outcome of comparing a request with the stored state: OK
// (cosign), Conflict (409, carrying the stored size) or VerificationFailed
// (422), and whether the refused checkpoint is evidence of log misbehaviour.
struct Verdict {
  core::Status status;
  std::optional<EvidenceKind> evidence;
};

// CheckAgainstStored decides whether `checkpoint` (already signed by a
// trusted log key, with old_size <= checkpoint.size), submitted with a
// consistency proof from `old_size`, may be cosigned given `stored`, the
// latest checkpoint this witness cosigned for the origin (nullopt: none).
// Pure and thread-safe; the caller makes it atomic with the update. It reads
// only the presence, tree size and root of `stored` (AddCheckpoint relies on
// this to reuse a verdict when those have not changed).
Verdict CheckAgainstStored(const std::optional<StoredCheckpoint>& stored, uint64_t old_size,
                           std::span<const core::Hash> proof, const core::Checkpoint& checkpoint);

struct WitnessOptions {
  // now returns the cosignature time in POSIX seconds (default: system clock).
  std::function<uint64_t()> now;
  // admit is asked once per request for a known origin, before any signature
  // is verified; false refuses it with ResourceExhausted (429). Default: all.
  std::function<bool(std::string_view origin)> admit;
  // evidence_time_ms returns the evidence timestamp (default: system clock).
  std::function<uint64_t()> now_ms;
};

// Witness cosigns checkpoints of the logs it trusts. Thread-safe: any number
// of AddCheckpoint calls may run concurrently; the signature checks and the
// signing run in the caller's thread, the compare-and-swap in the batch of
// the GroupCommitter (run by whichever caller leads it).
class Witness {
 public:
  // Create checks the configuration: at least one witness key, each of type
  // 0x04 (cosignature/v1) with a distinct (name, key ID); at least one log
  // key, each of type 0x01. A log's origin is its key's name; several keys
  // may share an origin (key rotation). InvalidArgument otherwise. `store`
  // and `committer` (over store->env()) must outlive the Witness.
  static core::StatusOr<std::unique_ptr<Witness>> Create(std::vector<core::SignerKey> witness_keys,
                                                         std::vector<core::VerifierKey> log_keys,
                                                         StateStore* store,
                                                         GroupCommitter* committer,
                                                         WitnessOptions options = {});

  // AddCheckpoint handles a tlog-witness add-checkpoint body. On success the
  // new checkpoint is durably stored and the result is the response body: one
  // cosignature/v1 line per witness key, in configuration order. Errors as in
  // the table at the top of this file.
  core::StatusOr<std::string> AddCheckpoint(std::string_view body);

  // GetCheckpoint returns the stored signed checkpoint (log signature(s) and
  // our cosignature(s)) of the origin whose SHA-256 is `origin_key`; NotFound
  // when there is none.
  core::StatusOr<std::string> GetCheckpoint(const core::Hash& origin_key) const;

  // Evidence lists up to `limit` recorded evidence entries.
  core::StatusOr<std::vector<Evidence>> ListEvidence(size_t limit) const;

  // Origins are the trusted log origins, sorted.
  std::vector<std::string> Origins() const;
  const std::vector<core::SignerKey>& witness_keys() const { return witness_keys_; }

 private:
  Witness(std::vector<core::SignerKey> witness_keys,
          std::map<std::string, std::vector<core::VerifierKey>, std::less<>> logs,
          StateStore* store, GroupCommitter* committer, WitnessOptions options);
  std::vector<core::NoteSignature> Cosign(std::string_view checkpoint_text, uint64_t now) const;

  std::vector<core::SignerKey> witness_keys_;
  std::map<std::string, std::vector<core::VerifierKey>, std::less<>> logs_;  // origin -> keys
  StateStore* store_;
  GroupCommitter* committer_;
  WitnessOptions options_;
};

}  // namespace kt::witness

#endif  // KT_WITNESS_WITNESS_H_
