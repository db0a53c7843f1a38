// SPDX-License-Identifier: Apache-2.0
// Checkpoint updates with consistency, rollback and fork detection.
#include "client/log_client.h"

#include <utility>

#include "client/errors.h"
#include "client/json_util.h"
#include "client/tile_reader.h"
#include "core/encoding.h"
#include "core/merkle.h"
#include "core/proof.h"
#include "core/tile.h"

namespace kt::client {

using core::Status;
using core::StatusOr;

namespace {

StoredCheckpoint AsStored(const TrustedCheckpoint& cp) { return {cp.note, cp.checkpoint}; }

// FetchConsistencyProof asks GET /v1/proof/consistency for old -> size.
StatusOr<std::vector<core::Hash>> FetchConsistencyProof(Fetcher& fetcher, uint64_t old_size,
                                                        uint64_t size) {
  KT_ASSIGN_OR_RETURN(std::string body,
                      fetcher.Get("v1/proof/consistency?old=" + std::to_string(old_size) +
                                  "&size=" + std::to_string(size)));
  constexpr std::string_view kWhat = "consistency proof answer";
  KT_ASSIGN_OR_RETURN(nlohmann::json j, ParseJsonObject(body, kWhat));
  KT_ASSIGN_OR_RETURN(uint64_t got_old, GetU64(j, "old", kWhat));
  KT_ASSIGN_OR_RETURN(uint64_t got_size, GetU64(j, "size", kWhat));
  if (got_old != old_size || got_size != size) {
    return Status::VerificationFailed("consistency proof answer is for other sizes");
  }
  return GetHashes(j, "proof", kWhat);
}

bool IsNetworkError(const Status& s) {
  return s.code() == Status::Code::kUnavailable ||
         s.code() == Status::Code::kResourceExhausted;
}

}  // namespace

StatusOr<CheckpointUpdate> LogClient::Update() {
  KT_ASSIGN_OR_RETURN(std::string note, fetcher_.Get("checkpoint"));
  auto cp = trust_.VerifyCheckpoint(note);
  if (!cp.ok()) return cp.status().Annotate("/checkpoint");
  return Reconcile(*cp, /*from_latest=*/true);
}

StatusOr<TrustedCheckpoint> LogClient::Accept(std::string_view signed_note) {
  KT_ASSIGN_OR_RETURN(TrustedCheckpoint cp, trust_.VerifyCheckpoint(signed_note));
  KT_ASSIGN_OR_RETURN(CheckpointUpdate u, Reconcile(cp, /*from_latest=*/false));
  (void)u;
  return cp;
}

StatusOr<CheckpointUpdate> LogClient::Reconcile(const TrustedCheckpoint& cp, bool from_latest) {
  // The lock makes load -> verify -> store one step for every process
  // sharing the state directory, so state never moves backwards.
  KT_ASSIGN_OR_RETURN(std::unique_ptr<StateLock> lock, state_.Lock());
  KT_ASSIGN_OR_RETURN(std::optional<StoredCheckpoint> stored, state_.Load(cp.checkpoint.origin));
  CheckpointUpdate out;
  out.checkpoint = cp;
  if (!stored.has_value()) {
    // Trust on first use of the log's view: nothing to be consistent with.
    KT_RETURN_IF_ERROR(state_.Store(cp.note));
    out.advanced = true;
    return out;
  }
  out.had_previous = true;
  out.previous_size = stored->checkpoint.size;
  const uint64_t old_size = stored->checkpoint.size;
  const uint64_t new_size = cp.checkpoint.size;
  if (new_size == old_size) {
    if (cp.checkpoint.root != stored->checkpoint.root) {
      ForkEvidence e{stored->note, cp.note, std::nullopt, {}};
      return Fork(std::move(e), "two roots for tree size " + std::to_string(new_size));
    }
    return out;
  }
  if (new_size < old_size) {
    if (from_latest) {
      return RollbackError("the log served checkpoint size " + std::to_string(new_size) +
                           " but size " + std::to_string(old_size) +
                           " was verified before; state kept");
    }
    KT_RETURN_IF_ERROR(CheckConsistent(AsStored(cp), *stored));
    return out;
  }
  KT_RETURN_IF_ERROR(CheckConsistent(*stored, AsStored(cp)));
  KT_RETURN_IF_ERROR(state_.Store(cp.note));
  out.advanced = true;
  return out;
}

Status LogClient::CheckConsistent(const StoredCheckpoint& older, const StoredCheckpoint& newer) {
  const core::Checkpoint& o = older.checkpoint;
  const core::Checkpoint& n = newer.checkpoint;
  KT_CHECK(o.size < n.size);
  auto proof = FetchConsistencyProof(fetcher_, o.size, n.size);
  if (!proof.ok() && IsNetworkError(proof.status())) {
    return proof.status().Annotate("consistency proof");
  }
  Status verdict = proof.ok() ? core::VerifyConsistency({o.size, n.size, *proof}, o.root, n.root)
                              : proof.status();
  if (verdict.ok()) return verdict;
  // The log's proof failed (or it refused one). Ask the newer tree itself:
  // tiles authenticated against its root give its root at the older size
  // and an honest proof from there.
  FetcherTileReader tiles(fetcher_);
  core::TileHashReader reader(n.size, n.root, tiles);
  auto prefix_root = core::TreeHash(o.size, reader);
  StatusOr<std::vector<core::Hash>> tile_proof =
      prefix_root.ok() ? core::ProveTree(n.size, o.size, reader)
                       : StatusOr<std::vector<core::Hash>>(prefix_root.status());
  if (tile_proof.ok() && *prefix_root == o.root) {
    // Consistent after all (the tree hashes are authenticated against n.root).
    return core::VerifyConsistency({o.size, n.size, *tile_proof}, o.root, n.root);
  }
  if (!tile_proof.ok() && IsNetworkError(tile_proof.status())) {
    return tile_proof.status().Annotate("consistency proof (" + verdict.message() + "); tiles");
  }
  ForkEvidence e{older.note, newer.note, std::nullopt, {}};
  if (tile_proof.ok()) {
    e.prefix_root = *prefix_root;
    e.proof = *tile_proof;
  }
  return Fork(std::move(e), "checkpoint size " + std::to_string(n.size) +
                                " is not consistent with size " + std::to_string(o.size) + " (" +
                                verdict.message() + ")");
}

Status LogClient::Fork(ForkEvidence evidence, const std::string& why) {
  auto path = WriteEvidenceFile(state_.dir(), evidence);
  if (!path.ok()) {
    return ForkError(why + "; writing the evidence file failed: " + path.status().message());
  }
  last_evidence_ = *path;
  return ForkError(why + "; evidence written to " + path->string());
}

}  // namespace kt::client
