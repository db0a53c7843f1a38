// SPDX-License-Identifier: Apache-2.0
// LMDB tables of the witness (docs/formats.md "Witness state").
#include "witness/state_store.h"

#include <algorithm>
#include <utility>

#include "core/crypto.h"
#include "core/encoding.h"
#include "core/note.h"

namespace kt::witness {
namespace {

using core::Status;
using core::StatusOr;

constexpr uint8_t kStateVersion = 1;
constexpr uint8_t kEvidenceVersion = 1;
constexpr char kStateDb[] = "witness_state";
constexpr char kEvidenceDb[] = "witness_evidence";

Status Corrupt(std::string_view what) {
  return Status::Corruption("witness state: " + std::string(what));
}

// PutString writes a uint32 length prefix and the bytes.
void PutString(core::Writer& w, std::string_view s) {
  KT_CHECK(s.size() <= UINT32_MAX);
  w.U32(static_cast<uint32_t>(s.size()));
  w.Raw(s);
}

bool GetString(core::Reader& r, std::string* out) {
  uint32_t n = 0;
  core::ByteSpan b;
  if (!r.U32(&n) || !r.Raw(n, &b)) return false;
  *out = core::ToString(b);
  return true;
}

// CheckNoteMatches verifies that `note` is a signed note whose text parses
// as `checkpoint`.
Status CheckNoteMatches(std::string_view note, const core::Checkpoint& checkpoint) {
  KT_ASSIGN_OR_RETURN(core::Note parsed, core::ParseNote(note));
  KT_ASSIGN_OR_RETURN(core::Checkpoint cp, core::ParseCheckpoint(parsed.text));
  if (!(cp == checkpoint)) return Status::InvalidArgument("stored note is not the checkpoint");
  return Status();
}

}  // namespace

std::string_view EvidenceKindName(EvidenceKind kind) {
  switch (kind) {
    case EvidenceKind::kConsistencyProofFailed:
      return "consistency_proof_failed";
    case EvidenceKind::kSameSizeDifferentRoot:
      return "same_size_different_root";
    case EvidenceKind::kBadEmptyRoot:
      return "bad_empty_root";
  }
  return "unknown";
}

core::Hash OriginKey(std::string_view origin) { return core::Sha256(core::AsBytes(origin)); }

// Value layout (big-endian): u8 version = 1 || u64 tree size || 32-byte root
// || u64 cosigned_at || u32 length || signed note. Size and root duplicate the
// note's text so that a reader can cross-check the record.
std::string EncodeStoredCheckpoint(const StoredCheckpoint& state) {
  core::Writer w;
  w.U8(kStateVersion);
  w.U64(state.checkpoint.size);
  w.Raw(state.checkpoint.root);
  w.U64(state.cosigned_at);
  PutString(w, state.note);
  return core::ToString(w.bytes());
}

StatusOr<StoredCheckpoint> DecodeStoredCheckpoint(std::string_view value) {
  core::Reader r(core::AsBytes(value));
  uint8_t version = 0;
  uint64_t size = 0;
  core::ByteSpan root;
  StoredCheckpoint out;
  if (!r.U8(&version) || version != kStateVersion) return Corrupt("unknown record version");
  if (!r.U64(&size) || !r.Raw(32, &root) || !r.U64(&out.cosigned_at) ||
      !GetString(r, &out.note) || !r.empty()) {
    return Corrupt("truncated or oversized record");
  }
  auto note = core::ParseNote(out.note);
  if (!note.ok()) return Corrupt("stored note does not parse");
  auto cp = core::ParseCheckpoint(note->text);
  if (!cp.ok()) return Corrupt("stored checkpoint does not parse");
  if (cp->size != size || !std::equal(root.begin(), root.end(), cp->root.begin())) {
    return Corrupt("stored size/root differ from the stored note");
  }
  out.checkpoint = std::move(*cp);
  return out;
}

// Evidence layout: u8 version = 1 || u8 kind || u64 time_ms || u32-length
// origin || u32-length stored note || u32-length request body.
std::string EncodeEvidence(const Evidence& e) {
  core::Writer w;
  w.U8(kEvidenceVersion);
  w.U8(static_cast<uint8_t>(e.kind));
  w.U64(e.time_ms);
  PutString(w, e.origin);
  PutString(w, e.stored_note);
  PutString(w, e.request);
  return core::ToString(w.bytes());
}

StatusOr<Evidence> DecodeEvidence(std::string_view value) {
  core::Reader r(core::AsBytes(value));
  uint8_t version = 0;
  uint8_t kind = 0;
  Evidence e;
  if (!r.U8(&version) || version != kEvidenceVersion) return Corrupt("unknown evidence version");
  if (!r.U8(&kind) || kind < 1 || kind > 3) return Corrupt("unknown evidence kind");
  e.kind = static_cast<EvidenceKind>(kind);
  if (!r.U64(&e.time_ms) || !GetString(r, &e.origin) || !GetString(r, &e.stored_note) ||
      !GetString(r, &e.request) || !r.empty()) {
    return Corrupt("truncated or oversized evidence record");
  }
  return e;
}

StatusOr<std::unique_ptr<StateStore>> StateStore::Open(const std::filesystem::path& dir,
                                                       const store::EnvOptions& options) {
  KT_ASSIGN_OR_RETURN(std::unique_ptr<store::Env> env, store::Env::Open(dir, options));
  KT_ASSIGN_OR_RETURN(store::Dbi state, env->OpenDb(kStateDb));
  KT_ASSIGN_OR_RETURN(store::Dbi evidence, env->OpenDb(kEvidenceDb));
  return std::unique_ptr<StateStore>(new StateStore(std::move(env), state, evidence));
}

StatusOr<StoredCheckpoint> StateStore::Decode(const core::Hash& key,
                                              std::string_view value) const {
  {
    std::lock_guard<std::mutex> lock(memo_mu_);
    auto it = memo_.find(key);
    if (it != memo_.end() && it->second.value == value) return it->second.state;
  }
  KT_ASSIGN_OR_RETURN(StoredCheckpoint state, DecodeStoredCheckpoint(value));
  if (OriginKey(state.checkpoint.origin) != key) return Corrupt("record under another origin's key");
  Remember(key, std::string(value), state);
  return state;
}

void StateStore::Remember(const core::Hash& key, std::string value,
                          const StoredCheckpoint& state) const {
  std::lock_guard<std::mutex> lock(memo_mu_);
  Decoded& d = memo_[key];
  d.value = std::move(value);
  d.state = state;
}

StatusOr<std::optional<StoredCheckpoint>> StateStore::ReadKey(const store::Txn& txn,
                                                              const core::Hash& key) const {
  auto value = txn.Get(state_, key);
  if (!value.ok()) {
    if (value.status().code() == Status::Code::kNotFound) return std::optional<StoredCheckpoint>();
    return value.status();
  }
  KT_ASSIGN_OR_RETURN(StoredCheckpoint state, Decode(key, *value));
  return std::optional<StoredCheckpoint>(std::move(state));
}

StatusOr<std::optional<StoredCheckpoint>> StateStore::Read(const store::Txn& txn,
                                                           std::string_view origin) const {
  return ReadKey(txn, OriginKey(origin));
}

StatusOr<std::optional<StoredCheckpoint>> StateStore::GetByKey(const core::Hash& key) const {
  std::optional<StoredCheckpoint> out;
  KT_RETURN_IF_ERROR(env_->View([&](const store::Txn& txn) -> Status {
    KT_ASSIGN_OR_RETURN(out, ReadKey(txn, key));
    return Status();
  }));
  return out;
}

StatusOr<std::optional<StoredCheckpoint>> StateStore::Get(std::string_view origin) const {
  return GetByKey(OriginKey(origin));
}

Status StateStore::Write(store::Txn& txn, const StoredCheckpoint& state) const {
  KT_RETURN_IF_ERROR(CheckNoteMatches(state.note, state.checkpoint));
  const core::Hash key = OriginKey(state.checkpoint.origin);
  std::string value = EncodeStoredCheckpoint(state);
  KT_RETURN_IF_ERROR(txn.Put(state_, key, core::AsBytes(value)));
  // DecodeStoredCheckpoint(value) would parse state.note, find the checkpoint
  // CheckNoteMatches just found equal to state.checkpoint, cross-check the
  // size and root copied from it, and so return exactly `state` under `key`.
  // Remembering that saves the next request of this origin a full decode.
  // (If this txn aborts, the entry is merely unused: it is keyed by bytes.)
  Remember(key, std::move(value), state);
  return Status();
}

Status StateStore::AddEvidence(store::Txn& txn, std::string_view checkpoint_text,
                               const Evidence& evidence) const {
  const core::Hash origin_key = OriginKey(evidence.origin);
  const core::Hash text_hash = core::Sha256(core::AsBytes(checkpoint_text));
  core::Bytes key(origin_key.begin(), origin_key.end());
  key.insert(key.end(), text_hash.begin(), text_hash.end());
  Status s = txn.Put(evidence_, key, core::AsBytes(EncodeEvidence(evidence)),
                     store::PutMode::kNoOverwrite);
  if (s.code() == Status::Code::kConflict) return Status();  // already recorded
  return s;
}

StatusOr<std::vector<Evidence>> StateStore::ListEvidence(size_t limit) const {
  std::vector<Evidence> out;
  Status decode_error;
  KT_RETURN_IF_ERROR(env_->View([&](const store::Txn& txn) -> Status {
    return txn.ForEach(evidence_, {}, [&](std::string_view, std::string_view value) {
      if (out.size() >= limit) return false;
      auto e = DecodeEvidence(value);
      if (!e.ok()) {
        decode_error = e.status();
        return false;
      }
      out.push_back(std::move(*e));
      return true;
    });
  }));
  if (!decode_error.ok()) return decode_error;
  return out;
}

StatusOr<uint64_t> StateStore::EvidenceCount() const {
  uint64_t n = 0;
  KT_RETURN_IF_ERROR(env_->View([&](const store::Txn& txn) -> Status {
    KT_ASSIGN_OR_RETURN(n, txn.Count(evidence_));
    return Status();
  }));
  return n;
}

}  // namespace kt::witness
