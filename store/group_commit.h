// SPDX-License-Identifier: Apache-2.0
// Group commit: concurrent requests' write steps (the witness's
// compare-and-swap + persist, ktlog's OPK pops and mailbox writes) run in
// arrival order inside one LMDB write transaction, committed with one durable
// sync, and each request is answered only after that commit returned.
//
// Why: a durable LMDB commit costs two flushes of the data file (pages, then
// the meta page), milliseconds on real disks. Committing each request alone
// caps a writer at a few hundred cosignatures per second; grouping the
// requests that queued up while the previous commit was syncing amortises
// that cost without weakening anything: every op still sees the effect of
// every op before it (same txn, in order), and nothing is acknowledged before
// the commit that contains it is on disk.
//
// How (leader/follower, as in database group commit): there is no committer
// thread. A caller that finds no batch running becomes the leader: it takes
// the queued ops in arrival order, runs them in one txn, commits, and wakes
// exactly the callers whose ops were in the batch; if more ops queued
// meanwhile, it wakes the oldest of their callers to lead the next batch. A
// request whose caller leads costs no thread hand-off, and a follower is
// woken once, when its answer is ready (each waits on its own condition
// variable, so a commit does not wake callers of later batches).
#ifndef KT_STORE_GROUP_COMMIT_H_
#define KT_STORE_GROUP_COMMIT_H_

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <vector>

#include "core/status.h"
#include "store/lmdb.h"

namespace kt::store {

// GroupCommitter batches every op queued while the previous batch committed
// (up to max_batch) into one write txn, run by one of the waiting callers.
// Thread-safe; Run may be called from any number of threads. Batches never
// overlap: ops run one at a time, in arrival order.
class GroupCommitter {
 public:
  // An Op runs inside the shared write txn. It sets *result to its request's
  // outcome (OK or a refusal such as Conflict); a refused op may still write
  // (e.g. evidence). It returns a non-OK Status only for a storage failure
  // (IOError, Corruption, ...): the txn is then aborted, that op gets the
  // error and the others are retried in a fresh txn (so an op may run more
  // than once and must reset its outputs when it starts). An op must not
  // begin txns on the Env, and must not leave partial writes behind when it
  // refuses.
  using Op = std::function<core::Status(Txn& txn, core::Status* result)>;

  struct Options {
    size_t max_batch = 256;
    // on_commit, if set, is called by the leader after each batch (one call
    // at a time) with its number of ops (for metrics); it must not call Run.
    std::function<void(size_t ops)> on_commit;
  };

  // `env` must outlive this object.
  GroupCommitter(Env* env, Options options);
  GroupCommitter(Env* env) : GroupCommitter(env, Options{}) {}
  // The destructor refuses new ops and waits until every op already queued
  // has been committed (their callers are still inside Run).
  ~GroupCommitter();
  GroupCommitter(const GroupCommitter&) = delete;
  GroupCommitter& operator=(const GroupCommitter&) = delete;

  // Run queues `op`, waits until the txn containing it has committed (and so
  // is durable unless the Env was opened with no_sync) or failed, and returns
  // the op's result, or its storage error. The calling thread may run
  // other callers' ops (as the leader of their batch). Unavailable after
  // shutdown began.
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
    bool done = false;           // guarded by mu_
    std::condition_variable cv;  // notified (under mu_) when done or asked to lead
  };
  // Lead runs batches while `self` is not done; called and returns with mu_
  // held via `lock`.
  void Lead(std::unique_lock<std::mutex>& lock, Pending* self);
  void CommitBatch(std::vector<Pending*>& batch);

  Env* env_;
  Options options_;
  mutable std::mutex mu_;
  std::condition_variable idle_cv_;  // the destructor waits for an empty queue
  std::deque<Pending*> queue_;
  bool committing_ = false;  // a leader is running a batch
  bool stopping_ = false;
  uint64_t batches_ = 0;
  uint64_t ops_ = 0;
};

}  // namespace kt::store

#endif  // KT_STORE_GROUP_COMMIT_H_
