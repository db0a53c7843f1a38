// SPDX-License-Identifier: Apache-2.0
// The witness's persistent state in LMDB (layout in docs/formats.md
// "Witness state"): for each origin the latest checkpoint it cosigned, with the
// log signature(s) it verified and its own cosignature(s); and an evidence
// table of log-signed requests that were refused as inconsistent
// (c2sp.org/tlog-witness: "the witness MAY log the request ... as it might be
// proof of log misbehavior").
#ifndef KT_WITNESS_STATE_STORE_H_
#define KT_WITNESS_STATE_STORE_H_

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/bytes.h"
#include "core/checkpoint.h"
#include "core/status.h"
#include "store/lmdb.h"

namespace kt::witness {

// StoredCheckpoint is the latest cosigned checkpoint of one origin.
struct StoredCheckpoint {
  core::Checkpoint checkpoint;  // parsed from `note`
  // note is the signed note: the checkpoint text, the log signature line(s)
  // that verified against a trusted key, then this witness's cosignature
  // line(s) — what GET /<hex sha256(origin)>/checkpoint serves.
  std::string note;
  uint64_t cosigned_at = 0;  // POSIX seconds of the cosignature

  bool operator==(const StoredCheckpoint&) const = default;
};

// EvidenceKind says why a log-signed checkpoint was refused.
enum class EvidenceKind : uint8_t {
  kConsistencyProofFailed = 1,  // the proof from the stored checkpoint does not verify
  kSameSizeDifferentRoot = 2,   // a fork: two signed checkpoints of one size
  kBadEmptyRoot = 3,            // a signed size-0 checkpoint whose root is not SHA-256("")
};
std::string_view EvidenceKindName(EvidenceKind kind);

// Evidence is one refused request whose checkpoint carried a valid signature
// by a trusted log key.
struct Evidence {
  std::string origin;
  EvidenceKind kind = EvidenceKind::kConsistencyProofFailed;
  uint64_t time_ms = 0;     // when it was recorded (POSIX milliseconds)
  std::string stored_note;  // the stored signed checkpoint it conflicts with ("" if none)
  std::string request;      // the add-checkpoint body as received

  bool operator==(const Evidence&) const = default;
};

// OriginKey is the LMDB key of an origin's state: SHA-256(origin), the same
// hash the monitoring URL /<hex sha256(origin)>/checkpoint carries.
core::Hash OriginKey(std::string_view origin);

// StateStore owns the witness's LMDB environment. Reads run in their own
// snapshot (Get*, ListEvidence); writes run inside a write Txn the caller owns
// (Read/Write/AddEvidence with a Txn), so that the compare-and-swap and the
// persist are one transaction. Thread-safe as store::Env is.
//
// Decoding a stored record (which re-parses and cross-checks its signed note)
// is memoised per origin by the record's exact bytes: a read whose bytes equal
// the last ones decoded (or written) for that origin reuses that result, any
// other read decodes and checks in full. Decoding is a pure function of the
// bytes, so this changes no outcome, only the cost of re-reading the record
// every request touches.
class StateStore {
 public:
  // Open opens or creates the environment in `dir` (mode 0700).
  static core::StatusOr<std::unique_ptr<StateStore>> Open(const std::filesystem::path& dir,
                                                          const store::EnvOptions& options = {});

  store::Env& env() { return *env_; }

  // Get returns the stored checkpoint of `origin` (nullopt if none) from a
  // fresh read snapshot. Corruption for a value that does not parse.
  core::StatusOr<std::optional<StoredCheckpoint>> Get(std::string_view origin) const;
  // GetByKey is Get by OriginKey(origin).
  core::StatusOr<std::optional<StoredCheckpoint>> GetByKey(const core::Hash& origin_key) const;

  // Read is Get inside `txn` (which sees its own earlier writes).
  core::StatusOr<std::optional<StoredCheckpoint>> Read(const store::Txn& txn,
                                                       std::string_view origin) const;
  // Write replaces the origin's state inside write txn `txn`. InvalidArgument
  // if `state.note` is not a signed note whose text is `state.checkpoint`.
  core::Status Write(store::Txn& txn, const StoredCheckpoint& state) const;

  // AddEvidence records `evidence` inside write txn `txn`, keyed by
  // (SHA-256(origin), SHA-256(checkpoint text)); the first record of a
  // checkpoint text wins. Only the log can make new signed checkpoint texts,
  // so a submitter replaying or re-wrapping one (other proof, extra unknown
  // signature lines) cannot grow the table. `checkpoint_text` is the refused
  // checkpoint's note text.
  core::Status AddEvidence(store::Txn& txn, std::string_view checkpoint_text,
                           const Evidence& evidence) const;
  // ListEvidence returns up to `limit` records in key order.
  core::StatusOr<std::vector<Evidence>> ListEvidence(size_t limit) const;
  core::StatusOr<uint64_t> EvidenceCount() const;

 private:
  StateStore(std::unique_ptr<store::Env> env, store::Dbi state, store::Dbi evidence)
      : env_(std::move(env)), state_(state), evidence_(evidence) {}
  core::StatusOr<std::optional<StoredCheckpoint>> ReadKey(const store::Txn& txn,
                                                          const core::Hash& key) const;
  // Decode is DecodeStoredCheckpoint(value) plus the check that the record
  // belongs under `key`, memoised (see the class comment).
  core::StatusOr<StoredCheckpoint> Decode(const core::Hash& key, std::string_view value) const;
  void Remember(const core::Hash& key, std::string value, const StoredCheckpoint& state) const;

  struct Decoded {
    std::string value;  // the record's exact bytes
    StoredCheckpoint state;
  };

  std::unique_ptr<store::Env> env_;
  store::Dbi state_;
  store::Dbi evidence_;
  mutable std::mutex memo_mu_;
  // One entry per origin that has a record (only trusted origins are ever
  // written), so this stays as small as the configuration.
  mutable std::map<core::Hash, Decoded> memo_;
};

// EncodeStoredCheckpoint / DecodeStoredCheckpoint are the value format of the
// "witness_state" table (docs/formats.md). Decode fails with Corruption.
std::string EncodeStoredCheckpoint(const StoredCheckpoint& state);
core::StatusOr<StoredCheckpoint> DecodeStoredCheckpoint(std::string_view value);
// EncodeEvidence / DecodeEvidence: the "witness_evidence" value format.
std::string EncodeEvidence(const Evidence& evidence);
core::StatusOr<Evidence> DecodeEvidence(std::string_view value);

}  // namespace kt::witness

#endif  // KT_WITNESS_STATE_STORE_H_
