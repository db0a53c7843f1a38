// SPDX-License-Identifier: Apache-2.0
// tlog-witness add-checkpoint logic: verification outside the lock, then one
// compare-and-swap per request inside a group-committed LMDB write txn.
#include "witness/witness.h"

#include <set>
#include <utility>

#include "core/clock.h"
#include "core/cosignature.h"
#include "core/merkle.h"
#include "core/note.h"
#include "core/proof.h"
#include "witness/request.h"

namespace kt::witness {
namespace {

using core::Status;
using core::StatusOr;

Verdict Refuse(std::string why, std::optional<EvidenceKind> evidence = std::nullopt) {
  return Verdict{Status::VerificationFailed(std::move(why)), evidence};
}

// TrustedLogSignatures returns the signature lines of `note` made by one of
// `keys` (all of which VerifyParsedNote has verified).
std::vector<core::NoteSignature> TrustedLogSignatures(const core::Note& note,
                                                      std::span<const core::VerifierKey> keys) {
  std::vector<core::NoteSignature> out;
  for (const core::NoteSignature& sig : note.signatures) {
    for (const core::VerifierKey& k : keys) {
      if (k.name == sig.name && k.key_id == sig.key_id) out.push_back(sig);
    }
  }
  return out;
}

// SameSizeAndRoot is true when both are absent, or both present with equal
// tree size and root hash (the only parts of a stored checkpoint that
// CheckAgainstStored reads).
bool SameSizeAndRoot(const std::optional<StoredCheckpoint>& a,
                     const std::optional<StoredCheckpoint>& b) {
  if (a.has_value() != b.has_value()) return false;
  return !a || (a->checkpoint.size == b->checkpoint.size && a->checkpoint.root == b->checkpoint.root);
}

}  // namespace

Verdict CheckAgainstStored(const std::optional<StoredCheckpoint>& stored, uint64_t old_size,
                           std::span<const core::Hash> proof, const core::Checkpoint& checkpoint) {
  KT_CHECK(old_size <= checkpoint.size);
  // tlog-witness: old size must equal the size of the latest cosigned
  // checkpoint, "or zero if it never cosigned a checkpoint for that origin".
  const uint64_t stored_size = stored ? stored->checkpoint.size : 0;
  if (old_size != stored_size) {
    return Verdict{Status::Conflict("old size " + std::to_string(old_size) +
                                        " is not the stored size " + std::to_string(stored_size),
                                    stored_size),
                   std::nullopt};
  }
  // RFC 6962 §2.1: the empty tree's root is SHA-256(""). A log that signed
  // anything else for size 0 signed an impossible checkpoint.
  if (checkpoint.size == 0 && checkpoint.root != core::EmptyRoot()) {
    return Refuse("size 0 with a root other than SHA-256(\"\")", EvidenceKind::kBadEmptyRoot);
  }
  if (old_size == 0) {
    // Nothing stored to be consistent with (or only the empty tree, which
    // every tree extends). tlog-witness: "The proof MUST be empty if the old
    // size is zero."
    if (!proof.empty()) return Refuse("non-empty consistency proof with old size 0");
    return Verdict{};
  }
  // From here on old_size == stored size > 0, so `stored` is present.
  const StoredCheckpoint& prev = *stored;
  if (old_size == checkpoint.size) {
    // Two signed checkpoints of one size with different roots: a fork.
    if (checkpoint.root != prev.checkpoint.root) {
      return Refuse("same size as the stored checkpoint but a different root",
                    EvidenceKind::kSameSizeDifferentRoot);
    }
    if (!proof.empty()) return Refuse("non-empty consistency proof between equal sizes");
    return Verdict{};  // a resubmission of what we cosigned: cosign again
  }
  // RFC 6962 §2.1.2 proof from the stored root to the new root.
  core::ConsistencyProof p{old_size, checkpoint.size, {proof.begin(), proof.end()}};
  Status s = core::VerifyConsistency(p, prev.checkpoint.root, checkpoint.root);
  if (!s.ok()) {
    // A proof of the wrong length is just a bad request; one of the right
    // length that fails is (possible) evidence of a fork.
    std::optional<EvidenceKind> evidence;
    if (s.code() == Status::Code::kVerificationFailed) {
      evidence = EvidenceKind::kConsistencyProofFailed;
    }
    return Refuse("consistency proof does not verify: " + s.message(), evidence);
  }
  return Verdict{};
}

StatusOr<std::unique_ptr<Witness>> Witness::Create(std::vector<core::SignerKey> witness_keys,
                                                   std::vector<core::VerifierKey> log_keys,
                                                   StateStore* store, GroupCommitter* committer,
                                                   WitnessOptions options) {
  KT_CHECK(store != nullptr && committer != nullptr);
  if (witness_keys.empty()) return Status::InvalidArgument("no witness key configured");
  std::set<std::pair<std::string, uint32_t>> seen;
  for (const core::SignerKey& k : witness_keys) {
    if (k.type != core::kSigTypeCosignatureV1) {
      return Status::InvalidArgument("witness key " + k.name + " is not a cosignature/v1 key");
    }
    if (!seen.emplace(k.name, k.key_id).second) {
      return Status::InvalidArgument("witness key " + k.name + " configured twice");
    }
  }
  if (log_keys.empty()) return Status::InvalidArgument("no trusted log key configured");
  std::map<std::string, std::vector<core::VerifierKey>, std::less<>> logs;
  for (core::VerifierKey& k : log_keys) {
    if (k.type != core::kSigTypeEd25519) {
      return Status::InvalidArgument("log key " + k.name + " is not an Ed25519 (0x01) key");
    }
    auto& keys = logs[k.name];
    for (const core::VerifierKey& other : keys) {
      if (other.key_id == k.key_id) {
        return Status::InvalidArgument("log key " + k.name + " configured twice");
      }
    }
    keys.push_back(std::move(k));
  }
  if (!options.now) options.now = core::UnixSeconds;
  if (!options.now_ms) options.now_ms = core::UnixMillis;
  return std::unique_ptr<Witness>(new Witness(std::move(witness_keys), std::move(logs), store,
                                              committer, std::move(options)));
}

Witness::Witness(std::vector<core::SignerKey> witness_keys,
                 std::map<std::string, std::vector<core::VerifierKey>, std::less<>> logs,
                 StateStore* store, GroupCommitter* committer, WitnessOptions options)
    : witness_keys_(std::move(witness_keys)),
      logs_(std::move(logs)),
      store_(store),
      committer_(committer),
      options_(std::move(options)) {}

std::vector<core::NoteSignature> Witness::Cosign(std::string_view checkpoint_text,
                                                uint64_t now) const {
  std::vector<core::NoteSignature> out;
  out.reserve(witness_keys_.size());
  for (const core::SignerKey& key : witness_keys_) {
    out.push_back(core::Cosign(key, checkpoint_text, now));
  }
  return out;
}

StatusOr<std::string> Witness::AddCheckpoint(std::string_view body) {
  // 1. 400: the body and the checkpoint text must parse.
  KT_ASSIGN_OR_RETURN(AddCheckpointRequest req, ParseAddCheckpointRequest(body));
  auto parsed = core::ParseCheckpoint(req.checkpoint.text);
  if (!parsed.ok()) return Status::InvalidArgument("malformed: " + parsed.status().message());
  const core::Checkpoint checkpoint = std::move(*parsed);
  // 2. 404: tlog-witness "If the checkpoint origin is unknown".
  auto log = logs_.find(checkpoint.origin);
  if (log == logs_.end()) return Status::NotFound("unknown origin " + checkpoint.origin);
  if (options_.admit && !options_.admit(checkpoint.origin)) {
    return Status::ResourceExhausted("rate limit for origin " + checkpoint.origin);
  }
  // 3. 403: at least one trusted key's signature verifies and none fails.
  // Signature lines of unknown keys are ignored (signed-note §Signatures).
  auto verified = core::VerifyParsedNote(req.checkpoint, log->second, {});
  if (!verified.ok()) {
    if (verified.status().code() == Status::Code::kInvalidArgument) return verified.status();
    return Status::PermissionDenied(verified.status().message());
  }
  // 4. 400: tlog-witness "The old size MUST be equal to or lower than the
  // checkpoint size."
  if (req.old_size > checkpoint.size) {
    return Status::InvalidArgument("old size " + std::to_string(req.old_size) +
                                   " is greater than the checkpoint size " +
                                   std::to_string(checkpoint.size));
  }
  const std::string& text = req.checkpoint.text;
  const std::vector<core::NoteSignature> log_sigs =
      TrustedLogSignatures(req.checkpoint, log->second);

  // Optimistic check against a read snapshot, outside the write lock. A 409
  // here is a correct answer as of the snapshot (the stored size only moves
  // forward, and nothing is written or signed); anything else is decided
  // again below against the state inside the write txn. Passing here only
  // lets us sign before taking the lock, in parallel with other requests.
  KT_ASSIGN_OR_RETURN(std::optional<StoredCheckpoint> snapshot, store_->Get(checkpoint.origin));
  Verdict pre = CheckAgainstStored(snapshot, req.old_size, req.proof, checkpoint);
  if (pre.status.code() == Status::Code::kConflict) return pre.status;
  uint64_t cosign_time = options_.now();
  std::vector<core::NoteSignature> cosigs;
  if (pre.status.ok()) cosigs = Cosign(text, cosign_time);

  Status outcome = committer_->Run([&](store::Txn& txn, Status* result) -> Status {
    // THE COMPARE-AND-SWAP. Security reasoning:
    //  - A witness is only worth something if it never cosigns two
    //    checkpoints of one origin that are inconsistent. We uphold that by
    //    cosigning a checkpoint only if it is consistent with the stored one
    //    (the latest we cosigned) AND storing it as the new latest in the
    //    same write transaction. LMDB runs one write txn at a time, and the
    //    group committer runs ops in order inside it, so between this read
    //    and this write no other request can change the stored checkpoint:
    //    the check-then-update is atomic. Without that, request A (size N)
    //    and B (size N+K) could both pass against size M, B store N+K, then A
    //    store N: a rollback of K leaves (tlog-witness §add-checkpoint).
    //  - Consistency is transitive, so every checkpoint ever cosigned is
    //    consistent with every later one, and the stored size never
    //    decreases: a request passes only if its old size equals the stored
    //    size, and it stores a size >= its old size.
    //  - The cosignatures computed above were made before this decision but
    //    are released only if it passes and only after Update committed with
    //    a durable sync (the GroupCommitter answers after the commit), so a
    //    crash can never forget a checkpoint we have vouched for. A refused
    //    request's signatures are dropped unseen.
    //  - The stored checkpoint is re-read inside the txn; the snapshot check
    //    above is advisory only.
    KT_ASSIGN_OR_RETURN(std::optional<StoredCheckpoint> stored,
                        store_->Read(txn, checkpoint.origin));
    // CheckAgainstStored depends on the stored checkpoint only through its
    // presence, size and root: if those are what the snapshot had (the usual
    // case), its verdict is the one computed above, and the consistency
    // proof need not be verified again inside the write lock.
    Verdict v = SameSizeAndRoot(stored, snapshot)
                    ? pre
                    : CheckAgainstStored(stored, req.old_size, req.proof, checkpoint);
    if (!v.status.ok()) {
      if (v.evidence) {
        Evidence e{checkpoint.origin, *v.evidence, options_.now_ms(),
                   stored ? stored->note : std::string(), std::string(body)};
        KT_RETURN_IF_ERROR(store_->AddEvidence(txn, text, e));
      }
      *result = v.status;
      return Status();
    }
    // Rare: refused against the snapshot but accepted now (cannot happen
    // while sizes only grow, but signing here keeps this correct anyway).
    if (cosigs.empty()) {
      cosign_time = options_.now();
      cosigs = Cosign(text, cosign_time);
    }
    core::Note note{text, log_sigs};
    note.signatures.insert(note.signatures.end(), cosigs.begin(), cosigs.end());
    StoredCheckpoint next{checkpoint, core::FormatNote(note), cosign_time};
    KT_RETURN_IF_ERROR(store_->Write(txn, next));
    *result = Status();
    return Status();
  });
  if (!outcome.ok()) return outcome;

  std::string response;
  for (const core::NoteSignature& sig : cosigs) response += core::FormatSignatureLine(sig);
  return response;
}

StatusOr<std::string> Witness::GetCheckpoint(const core::Hash& origin_key) const {
  KT_ASSIGN_OR_RETURN(std::optional<StoredCheckpoint> stored, store_->GetByKey(origin_key));
  if (!stored) return Status::NotFound("no checkpoint cosigned for this origin");
  return stored->note;
}

StatusOr<std::vector<Evidence>> Witness::ListEvidence(size_t limit) const {
  return store_->ListEvidence(limit);
}

std::vector<std::string> Witness::Origins() const {
  std::vector<std::string> out;
  for (const auto& [origin, keys] : logs_) out.push_back(origin);
  return out;
}

}  // namespace kt::witness
