// SPDX-License-Identifier: Apache-2.0
// Group commit: concurrent requests' compare-and-swap + persist steps run in
// arrival order inside one LMDB write transaction, committed with one durable
// sync, and each request is answered only after that commit returned.
//
// Why: a durable LMDB commit costs two flushes of the data file (pages, then
// the meta page), milliseconds on real disks. Committing each request alone
// caps a witness at a few hundred cosignatures per second; grouping the
// requests that queued up while the previous commit was syncing amortises
// that cost without weakening anything: every op still sees the effect of
// every op before it (same txn, in order), and nothing is acknowledged before
// the commit that contains it is on disk.
#ifndef KT_WITNESS_GROUP_COMMIT_H_
#define KT_WITNESS_GROUP_COMMIT_H_

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>

#include "core/status.h"
#include "store/lmdb.h"

namespace kt::witness {

// GroupCommitter runs ops on one committer thread, batching every op queued
// while the previous batch committed (up to max_batch) into one write txn.
// Thread-safe; Run may be called from any number of threads.
class GroupCommitter {
 public:
  // An Op runs inside the shared write txn. It sets *result to its request's
  // outcome (OK or a refusal such as Conflict); a refused op may still write
  // (e.g. evidence). It returns a non-OK Status only for a storage failure
  // (IOError, Corruption, ...): the whole batch is then aborted and every op
  // in it gets that error. An op must not begin txns on the Env, and must not
  // leave partial writes behind when it refuses.
  using Op = std::function<core::Status(store::Txn& txn, core::Status* result)>;

  struct Options {
    size_t max_batch = 256;
    // on_commit, if set, is called on the committer thread after each batch
    // with its number of ops (for metrics); it must not call Run.
    std::function<void(size_t ops)> on_commit;
  };

  // The committer thread starts here; `env` must outlive this object.
  GroupCommitter(store::Env* env, Options options);
  GroupCommitter(store::Env* env) : GroupCommitter(env, Options{}) {}
  // The destructor commits every op already queued, then joins the thread.
  ~GroupCommitter();
  GroupCommitter(const GroupCommitter&) = delete;
  GroupCommitter& operator=(const GroupCommitter&) = delete;

  // Run queues `op`, waits until the txn containing it has committed (and so
  // is durable unless the Env was opened with no_sync) or failed, and returns
  // the op's result, or the batch's storage error. Unavailable after shutdown
  // began.
  core::Status Run(Op op);

  // Stats for metrics: batches committed, ops they contained, and ops
  // queued but not yet taken into a batch.
  uint64_t batches() const;
  uint64_t ops() const;
  size_t pending() const;

 private:
  struct Pending {
    Op op;
    core::Status result;
    bool done = false;
  };
  void Loop();
  void CommitBatch(std::deque<Pending*>& batch);

  store::Env* env_;
  Options options_;
  mutable std::mutex mu_;
  std::condition_variable work_cv_;  // committer waits for ops
  std::condition_variable done_cv_;  // callers wait for their op
  std::deque<Pending*> queue_;
  bool stopping_ = false;
  uint64_t batches_ = 0;
  uint64_t ops_ = 0;
  std::thread thread_;
};

}  // namespace kt::witness

#endif  // KT_WITNESS_GROUP_COMMIT_H_
