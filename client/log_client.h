// SPDX-License-Identifier: Apache-2.0
// LogClient keeps the client's view of one log consistent (DESIGN.md "Trust
// policy and proofs on the client"): every checkpoint it accepts is trusted
// (trust.h) and consistent with the largest one it stored before
// (RFC 6962 §2.1.2 consistency proofs), and state only ever moves forward,
// only after every check passed.
//
//  - larger than stored: needs a verified consistency proof, then stored;
//  - same size: must have the same root;
//  - smaller (from /checkpoint): a rollback, reported, state kept;
//  - smaller (inside a lookup answer): must be consistent with the stored one;
//  - same size with another root, or a consistency proof that fails: a fork.
//    The client refuses and writes an evidence file (evidence.h). When the
//    log's proof fails, the client asks the tiles of the larger checkpoint
//    (authenticated against its root) for the root at the smaller size: the
//    evidence then proves the fork to anyone. If the tiles prove the two
//    consistent after all, the checkpoint is accepted (the proof endpoint
//    misbehaved, the tree did not).
#ifndef KT_CLIENT_LOG_CLIENT_H_
#define KT_CLIENT_LOG_CLIENT_H_

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

#include "client/evidence.h"
#include "client/fetcher.h"
#include "client/state_store.h"
#include "client/trust.h"
#include "core/status.h"

namespace kt::client {

// CheckpointUpdate is the outcome of a successful update.
struct CheckpointUpdate {
  TrustedCheckpoint checkpoint;  // the latest trusted checkpoint (now stored)
  bool had_previous = false;
  uint64_t previous_size = 0;
  bool advanced = false;  // state moved to a larger checkpoint
};

// LogClient talks to one log through `fetcher`. Not thread-safe; several
// processes may share a state directory (updates hold its lock).
class LogClient {
 public:
  LogClient(const Trust& trust, StateStore& state, Fetcher& fetcher)
      : trust_(trust), state_(state), fetcher_(fetcher) {}

  // Update fetches /checkpoint and accepts it as the log's latest. Errors:
  // Trust::VerifyCheckpoint's; RollbackError when it is smaller than the
  // stored checkpoint; ForkError (evidence written, path in the message);
  // fetch errors (Unavailable, NotFound ...); IOError for state. On any
  // error the stored state is unchanged.
  core::StatusOr<CheckpointUpdate> Update();

  // Accept verifies a checkpoint the log served with an answer (lookup,
  // history, proof) and reconciles it with state as above, except that a
  // smaller checkpoint is no rollback: it must be consistent with the stored
  // one and leaves state unchanged. Returns the trusted checkpoint.
  core::StatusOr<TrustedCheckpoint> Accept(std::string_view signed_note);

  // Stored returns the stored checkpoint of `origin` (nullopt if none).
  core::StatusOr<std::optional<StoredCheckpoint>> Stored(std::string_view origin) const {
    return state_.Load(origin);
  }

  // last_evidence is the path of the evidence file the last fork wrote.
  const std::filesystem::path& last_evidence() const { return last_evidence_; }
  const Trust& trust() const { return trust_; }
  Fetcher& fetcher() { return fetcher_; }

 private:
  core::StatusOr<CheckpointUpdate> Reconcile(const TrustedCheckpoint& cp, bool from_latest);
  // CheckConsistent proves `newer` extends `older` (sizes older < newer).
  core::Status CheckConsistent(const StoredCheckpoint& older, const StoredCheckpoint& newer);
  core::Status Fork(ForkEvidence evidence, const std::string& why);

  const Trust& trust_;
  StateStore& state_;
  Fetcher& fetcher_;
  std::filesystem::path last_evidence_;
};

}  // namespace kt::client

#endif  // KT_CLIENT_LOG_CLIENT_H_
