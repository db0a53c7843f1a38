// SPDX-License-Identifier: Apache-2.0
// Sequencer: the log's single writer (DESIGN.md Part B "Sequencing").
// Submissions enter a bounded in-memory pool; every batch_interval, or as
// soon as batch_max submissions are pending, the sequencer thread takes a
// batch, runs each submission's check against the user's state (including
// earlier entries of the same batch), assigns indexes, timestamps and `prev`,
// encodes the entries, extends the RFC 6962 tree (core::TreeBuilder), signs
// the checkpoint and hands the batch to a commit thread, which stores
// everything with one durable LMDB commit (LogStorage::IntegrateGroup: the
// batches that queued up meanwhile share it) while the next batch is being
// prepared. Only then are the submitters answered,
// so an acknowledged entry is never lost and a size never gets two released
// checkpoints. Boost.Asio (an io_context and a steady_timer on one thread)
// drives the loop.
#ifndef KT_LOG_SEQUENCER_H_
#define KT_LOG_SEQUENCER_H_

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <future>
#include <memory>
#include <string>

#include "core/bytes.h"
#include "core/entry.h"
#include "core/keys.h"
#include "core/status.h"
#include "log/storage.h"
#include "net/metrics.h"

namespace kt::log {

// Submission is one entry offered to the log.
struct Submission {
  // entry is the candidate. The sequencer overwrites timestamp_ms (log
  // acceptance time) and, when !prev_given, prev (= the user's NextPrev()
  // at sequencing time).
  core::Entry entry;
  // prev_given says the submitter fixed entry.prev (e.g. endorsements are
  // bound to it); the check should then reject a stale prev (409).
  bool prev_given = false;
  // check runs on the sequencer thread at sequencing time with the final
  // candidate (timestamp and prev filled) and the user's state including the
  // entries accepted earlier in the same batch. A non-OK Status rejects the
  // submission and is what its submitter receives (e.g. Conflict for a stale
  // prev). May be empty (accept). Must be fast and must not call the
  // Sequencer.
  std::function<Status(const core::Entry& candidate, const UserState& current)> check;
};

// SequencedEntry is the answer for an accepted submission.
struct SequencedEntry {
  uint64_t index = 0;   // 0-based record index
  Bytes entry;          // the canonical entry bytes as logged
  uint64_t checkpoint_size = 0;  // size of the tree it was integrated in
  std::string checkpoint;        // the log-signed checkpoint of that size
};

// CheckpointSigner returns the log-signed checkpoint (a C2SP signed note,
// tlog-checkpoint body "<origin>\n<size>\n<base64 root>\n") for a tree.
// Called on the sequencer thread only. See MakeCheckpointSigner.
using CheckpointSigner =
    std::function<StatusOr<std::string>(uint64_t size, const core::Hash& root)>;

// MakeCheckpointSigner signs with core::SignCheckpoint using `log_key`
// (type 0x01), whose name is the log origin.
CheckpointSigner MakeCheckpointSigner(core::SignerKey log_key);

struct SequencerOptions {
  std::chrono::milliseconds batch_interval{100};
  size_t batch_max = 4096;  // most submissions per batch (>= 1)
  // max_pool bounds the submissions waiting (pending plus in the batch being
  // integrated, duplicates included); more get Unavailable("pool full").
  size_t max_pool = 65536;
  // now_ms returns the acceptance time in Unix milliseconds; default: the
  // system clock. Timestamps never decrease across entries.
  std::function<uint64_t()> now_ms;
  // metrics, when set (it must outlive the Sequencer), receives
  // kt_log_entries_integrated_total, kt_log_batch_entries (histogram),
  // kt_log_integration_seconds (one batch: check, hash, sign, durable
  // commit), kt_log_time_to_integrate_seconds (Submit to durable, per
  // submission) and kt_log_submissions_rejected_total{reason}.
  net::Registry* metrics = nullptr;
  // checkpoints_witnessed: every batch's checkpoint is also stored as the
  // witnessed checkpoint in the batch's own commit (IntegrationBatch::
  // witnessed); for a log whose witness policy needs no cosignature.
  bool checkpoints_witnessed = false;
};

// Sequencer owns the sequencer thread. Thread-safety: Submit, pending and
// status may be called from any thread; Create/Start/Stop from one owner.
class Sequencer {
 public:
  using DoneFn = std::function<void(StatusOr<SequencedEntry>)>;
  using IntegratedFn = std::function<void(const std::string& signed_checkpoint, uint64_t size)>;

  // Create restores the tree from `storage` (size, root: Corruption if the
  // stored hashes do not give the stored root) and, for a fresh log,
  // integrates the signed checkpoint of the empty tree. `storage` must
  // outlive the Sequencer. InvalidArgument for bad options.
  static StatusOr<std::unique_ptr<Sequencer>> Create(LogStorage& storage,
                                                     CheckpointSigner signer,
                                                     SequencerOptions options = {});
  ~Sequencer();  // Stop()
  Sequencer(const Sequencer&) = delete;
  Sequencer& operator=(const Sequencer&) = delete;

  // SetOnIntegrated installs the hook called on the commit thread after
  // each durable integration, in size order (before the submitters' done
  // callbacks), e.g. to start witness cosigning. Call before Start.
  void SetOnIntegrated(IntegratedFn fn);

  // Start launches the sequencer thread. Stop integrates what is pending,
  // answers it, and joins the thread; later Submits get
  // Unavailable("shutting down"). Both are idempotent.
  void Start();
  void Stop();

  // Submit queues a submission. `done` is called exactly once: immediately
  // with Unavailable("pool full") when the pool is full (or "shutting down"
  // / the fatal error after a storage failure), otherwise on the sequencer
  // thread (during Stop: the thread calling Stop) after the batch that holds
  // it is durable (or with the check's error, or the storage error). A submission whose entry equals (ignoring
  // timestamp_ms, and prev when !prev_given) one that is still pending or
  // being integrated shares its result: one index, both are answered.
  // `done` must not block for long; it may call Submit.
  void Submit(Submission submission, DoneFn done);
  // Submit, future-returning form.
  std::future<StatusOr<SequencedEntry>> Submit(Submission submission);

  // pending is the number of submissions waiting (pool occupancy).
  size_t pending() const;
  // status is OK, or the fatal storage error that stopped sequencing (a
  // Corruption or failed commit): after it every Submit gets Unavailable.
  Status status() const;

 private:
  class Impl;
  explicit Sequencer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace kt::log

#endif  // KT_LOG_SEQUENCER_H_
